package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
)

// httpGet returns the body of a GET of url, failing on any status but 200.
func httpGet(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(body)
}

// replInfo returns INFO replication of c as fields.
func replInfo(t testing.TB, ctx context.Context, c *redis.Client) map[string]string {
	t.Helper()
	text, err := c.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	return parseInfo(t, text).Fields
}

// writeMix writes n rounds of SET, MSET, INCR, DEL and EXPIRE through c.
func writeMix(t testing.TB, ctx context.Context, c *redis.Client, prefix string, n int) {
	t.Helper()
	for i := range n {
		k := fmt.Sprintf("%s:%d", prefix, i%200)
		must := func(err error) {
			if err != nil {
				t.Fatalf("%s round %d: %v", prefix, i, err)
			}
		}
		must(c.Set(ctx, k, strconv.Itoa(i), 0).Err())
		must(c.MSet(ctx, prefix+":m1", i, prefix+":m2", -i).Err())
		must(c.Incr(ctx, prefix+":counter").Err())
		if i%7 == 0 {
			must(c.Del(ctx, fmt.Sprintf("%s:%d", prefix, (i+3)%200)).Err())
		}
		if i%11 == 0 {
			must(c.Expire(ctx, k, time.Hour).Err())
		}
	}
}

// waitCaughtUp waits until the follower has applied every record the
// leader has logged.
func waitCaughtUp(t testing.TB, ctx context.Context, leader, follower *redis.Client) {
	t.Helper()
	want := replInfo(t, ctx, leader)["master_repl_offset"]
	waitFor(t, 20*time.Second, "the follower to reach the leader's seq "+want, func() bool {
		f := replInfo(t, ctx, follower)
		return f["slave_repl_offset"] == want && f["master_link_status"] == "up"
	})
}

// TestReplication: a follower started after the leader's log was merged
// takes a full sync, follows the writes made during and after it, holds
// exactly the leader's data, refuses writes, resumes with a partial sync
// after a kill -9 even though the leader merged meanwhile (the backlog),
// and takes writes once promoted.
func TestReplication(t *testing.T) {
	t.Parallel()
	// More than testCtx's 30 s: the test writes a few thousand commands
	// under fsync on two daemons, on a machine that may be busy.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	leaderHTTP, followerHTTP := freeAddr(t), freeAddr(t)
	leader := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--segment-size", "65536", "--http-addr", leaderHTTP}})
	lc := newRedis(t, leader.RESPAddr(), 4, nil)
	writeMix(t, ctx, lc, "before", 800)
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	writeMix(t, ctx, lc, "after-merge", 300)

	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--replicaof", leader.Addr(), "--http-addr", followerHTTP}})
	fc := newRedis(t, follower.RESPAddr(), 4, nil)
	var wg sync.WaitGroup
	wg.Go(func() { writeMix(t, ctx, lc, "during", 500) })
	wg.Wait()
	// One batch larger than a frame of the stream (256 KiB): it reaches
	// the follower whole, across frames.
	var pairs []any
	for i := range 3000 {
		pairs = append(pairs, fmt.Sprintf("big-batch:%04d", i), strings.Repeat(string(rune('a'+i%26)), 200))
	}
	if err := lc.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, ctx, lc, fc)
	sameData(t, "after the full sync the follower", dataOf(t, ctx, lc), dataOf(t, ctx, fc))
	li := replInfo(t, ctx, lc)
	if li["role"] != "master" || li["connected_slaves"] != "1" || li["pykv_full_syncs_served"] != "1" ||
		!strings.Contains(li["slave0"], "state=online") {
		t.Fatalf("leader INFO replication: %v", li)
	}
	fi := replInfo(t, ctx, fc)
	if fi["role"] != "slave" || fi["master_port"] != strconv.Itoa(leader.NativePort()) || fi["pykv_full_syncs_received"] != "1" {
		t.Fatalf("follower INFO replication: %v", fi)
	}

	// The same on /metrics.
	for addr, want := range map[string][]string{
		leaderHTTP:   {"pykv_repl_connected_followers 1", "pykv_repl_full_syncs_served_total 1", "pykv_repl_following 0"},
		followerHTTP: {"pykv_repl_following 1", "pykv_repl_link_up 1", "pykv_repl_full_syncs_received_total 1", "pykv_repl_lag_records 0"},
	} {
		text := httpGet(t, "http://"+addr+"/metrics")
		for _, line := range want {
			if !slices.Contains(strings.Split(text, "\n"), line) {
				t.Errorf("%s/metrics has no line %q", addr, line)
			}
		}
	}

	// Writes are refused, with Redis's text over RESP and the leader
	// named over the native protocol.
	if err := fc.Set(ctx, "x", "y", 0).Err(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
		t.Fatalf("SET on the follower: %v", err)
	}
	n := dialNative(t, follower.Addr())
	if r := n.do("SET", "x", "y"); r.Code != "READONLY" || !strings.Contains(r.Msg, leader.Addr()) {
		t.Fatalf("native SET on the follower: %+v", r)
	}
	if role, err := fc.Do(ctx, "ROLE").Slice(); err != nil || role[0] != "slave" || role[3] != "connected" {
		t.Fatalf("ROLE on the follower: %v %v", role, err)
	}

	// WAIT counts the follower once it has logged the write.
	if err := lc.Set(ctx, "waited", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := lc.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || got != 1 {
		t.Fatalf("WAIT 1 10000: %d, %v", got, err)
	}
	if got, err := lc.Do(ctx, "WAIT", 2, 100).Int(); err != nil || got != 1 {
		t.Fatalf("WAIT 2 100 with one follower: %d, %v", got, err)
	}

	// kill -9 the follower, and merge on the leader while it is down:
	// the backlog kept the log it needs, and it comes back with a partial
	// sync.
	follower.Kill()
	writeMix(t, ctx, lc, "while-down", 300)
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	if li := replInfo(t, ctx, lc); li["pykv_repl_backlog_segments"] == "0" {
		t.Fatalf("the merge kept no backlog: %v", li)
	}
	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 4, nil)
	waitCaughtUp(t, ctx, lc, fc)
	sameData(t, "after the restart the follower", dataOf(t, ctx, lc), dataOf(t, ctx, fc))
	if li := replInfo(t, ctx, lc); li["pykv_partial_syncs_served"] != "1" || li["pykv_full_syncs_served"] != "1" {
		t.Fatalf("after the follower's restart the leader served: %v", li)
	}
	follower.WaitLog("partial sync: resuming")

	// Promotion: REPLICAOF NO ONE, then writes are taken and the seq
	// goes on from the leader's.
	seq, _ := strconv.ParseUint(replInfo(t, ctx, fc)["slave_repl_offset"], 10, 64)
	if err := fc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := fc.Set(ctx, "promoted", "yes", 0).Err(); err != nil {
		t.Fatalf("SET after REPLICAOF NO ONE: %v", err)
	}
	after, _ := strconv.ParseUint(replInfo(t, ctx, fc)["master_repl_offset"], 10, 64)
	if after != seq+1 {
		t.Fatalf("promoted follower's seq %d after %d, want %d", after, seq, seq+1)
	}
}

// TestPromotionAndTheOldLeadersReturn: a follower promoted with REPLICAOF
// NO ONE starts a history of its own that continues its leader's up to
// where it was. The old leader, which took writes the follower never got,
// comes back as the new leader's follower: it is told apart (its seq is
// past the split) and takes a full sync, so those writes are gone from
// it rather than served. A follower that holds nothing past the split
// goes on with a partial sync.
func TestPromotionAndTheOldLeadersReturn(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	old := testdaemon.Start(t, testdaemon.Options{})
	oc := newRedis(t, old.RESPAddr(), 2, nil)
	writeMix(t, ctx, oc, "shared", 300)
	promoted := testdaemon.Start(t, testdaemon.Options{Args: []string{"--replicaof", old.Addr()}})
	pc := newRedis(t, promoted.RESPAddr(), 2, nil)
	other := testdaemon.Start(t, testdaemon.Options{Args: []string{"--replicaof", old.Addr()}})
	xc := newRedis(t, other.RESPAddr(), 2, nil)
	waitCaughtUp(t, ctx, oc, pc)
	waitCaughtUp(t, ctx, oc, xc)

	// The promotion, and the other follower moves to the new leader
	// before the old one takes another write: it holds nothing past the
	// split.
	if err := pc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := xc.Do(ctx, "REPLICAOF", "127.0.0.1", promoted.NativePort()).Err(); err != nil {
		t.Fatal(err)
	}
	writeMix(t, ctx, oc, "lost", 50) // the old leader's, after the split
	writeMix(t, ctx, pc, "new", 50)  // the new leader's
	if err := oc.Do(ctx, "REPLICAOF", "127.0.0.1", promoted.NativePort()).Err(); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, ctx, pc, oc)
	waitCaughtUp(t, ctx, pc, xc)
	want := dataOf(t, ctx, pc)
	sameData(t, "the old leader", want, dataOf(t, ctx, oc))
	sameData(t, "the other follower", want, dataOf(t, ctx, xc))
	if n, err := oc.Exists(ctx, "lost:1").Result(); err != nil || n != 0 {
		t.Fatalf("the old leader still serves a write of the diverged history: %d %v", n, err)
	}
	pi := replInfo(t, ctx, pc)
	if pi["pykv_full_syncs_served"] != "1" || pi["pykv_partial_syncs_served"] != "1" {
		t.Fatalf("the new leader served: %v (want one full sync, the old leader's, and one partial)", pi)
	}
	promoted.WaitLog("follower's history diverged from this one; full sync")
}
