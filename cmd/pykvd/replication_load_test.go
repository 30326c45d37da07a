package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestReplicationTwoFollowersUnderLoad: a leader under write load, from
// go-redis goroutines mixing SET, MSET (some larger than a replication
// frame), INCR, DEL, EXPIRE, PEXPIREAT, PERSIST and keys expiring during
// the load, and from pykv-bench's SETs and INCRs over the native
// protocol, has two followers: one that took its full sync before the
// load and one that took it in the middle. Once the load stops and the
// short TTLs have passed, both hold exactly the leader's data: every key,
// value, and expiry instant (PTTL read within the bounds of its request
// and reply).
func TestReplicationTwoFollowersUnderLoad(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bench := testdaemon.Tool(t, "pykv-bench")
	leader := testdaemon.Start(t, testdaemon.Options{})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	// A snapshot for the first follower's full sync to carry.
	pre := &mixLoad{Seed: 1, Workers: 1}
	preStop := make(chan struct{})
	preDone := make(chan error, 1)
	go func() { preDone <- pre.Run(ctx, lc, preStop) }()
	waitFor(t, 10*time.Second, "2000 writes before the followers", func() bool { return pre.Ops() >= 2000 })
	close(preStop)
	if err := <-preDone; err != nil {
		t.Fatal(err)
	}
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}

	f1 := testdaemon.Start(t, testdaemon.Options{Args: []string{"--replicaof", leader.Addr()}})
	f1c := newRedis(t, f1.RESPAddr(), 2, nil)
	waitFollowers(t, ctx, 20*time.Second, lc, f1c)

	seed := replSeed(t)
	load := &mixLoad{Seed: seed, Workers: 4, ShortTTL: true, BigMSetEvery: 400}
	stop := make(chan struct{})
	loadDone := make(chan error, 1)
	go func() { loadDone <- load.Run(ctx, lc, stop) }()
	benchDone := make(chan error, 1)
	go func() {
		// SETs and INCRs over the native protocol, on keys of their own.
		out, err := exec.CommandContext(ctx, bench, "--addr", leader.Addr(), "-c", "2", "-P", "8",
			"-n", "20000", "-r", "3000", "-d", "64", "-t", "set,incr", "--seed", strconv.FormatUint(seed, 10)).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("pykv-bench: %v\n%s", err, out)
		}
		benchDone <- err
	}()
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
	}
	defer stopLoad()
	failed := func() bool {
		select {
		case err := <-loadDone:
			loadDone <- err
			return true
		default:
			return false
		}
	}
	waitFor(t, 10*time.Second, "the load to write 3000 commands", func() bool { return load.Ops() >= 3000 || failed() })

	// The second follower joins in the middle of the load.
	f2 := testdaemon.Start(t, testdaemon.Options{Fsync: "everysec", Args: []string{"--replicaof", leader.Addr()}})
	f2c := newRedis(t, f2.RESPAddr(), 2, nil)
	waitLogCount(t, f2, 20*time.Second, "full sync: installed", 1)
	at := load.Ops()
	waitFor(t, 15*time.Second, "8000 more commands after the second follower's full sync", func() bool {
		return load.Ops() >= at+8000 || failed()
	})
	stopLoad()
	if err := <-loadDone; err != nil {
		t.Fatal(err)
	}
	if err := <-benchDone; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d commands of the mix, 40000 of pykv-bench", load.Ops())

	// Keys with a short TTL are past it on the wall clock (see
	// TestLifecycle: PXAT's instant, truncated to its ms, is the expiry),
	// so that the leader and the followers read them as gone whatever
	// delete the leader has logged yet.
	time.Sleep(time.Until(load.LastExpiry().Round(0)))
	waitFollowers(t, ctx, 20*time.Second, lc, f1c, f2c)
	want := dataOf(t, ctx, lc)
	if len(want) < 500 {
		t.Fatalf("the leader holds only %d keys", len(want))
	}
	sameData(t, "follower 1", want, dataOf(t, ctx, f1c))
	sameData(t, "follower 2", want, dataOf(t, ctx, f2c))
	ttls := 0
	for _, k := range want {
		if k.ttl {
			ttls++
		}
	}
	if ttls == 0 {
		t.Fatal("no key with a TTL: the test compares no expiry")
	}

	li := replInfo(t, ctx, lc)
	if li["connected_slaves"] != "2" || li["pykv_full_syncs_served"] != "2" || li["pykv_partial_syncs_served"] != "0" ||
		!strings.Contains(li["slave0"], "state=online") || !strings.Contains(li["slave1"], "state=online") {
		t.Fatalf("leader INFO replication: %v", li)
	}
	for i, c := range []string{f1.Stderr(), f2.Stderr()} {
		if strings.Contains(c, "link to the leader lost") {
			t.Errorf("follower %d lost its link under load", i+1)
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the test ran out of time")
	}
}
