package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestReplicationFullSyncAfterCompact: a follower that was down while its
// leader merged away the segments holding the records after its seq
// asks for a partial sync on restart, is refused, and takes a full sync,
// after which it holds exactly the leader's data and follows new writes.
// The leader keeps no backlog (repl_backlog_bytes = 0), which would
// otherwise have kept that log for it (TestReplication covers that).
func TestReplicationFullSyncAfterCompact(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	leader := testdaemon.Start(t, testdaemon.Options{Args: []string{"--segment-size", "65536", "--repl-backlog-bytes", "0"}})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	writeMix(t, ctx, lc, "first", 300)
	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "everysec", Args: []string{"--replicaof", leader.Addr()}})
	fc := newRedis(t, follower.RESPAddr(), 2, nil)
	waitFollowers(t, ctx, 20*time.Second, lc, fc)
	down := replSeq(t, ctx, fc, "slave_repl_offset")
	if code := follower.Stop(); code != 0 {
		t.Fatalf("follower exited with code %d", code)
	}

	// Enough writes to fill several segments, then a merge of them all:
	// the segment that held seq down+1 is gone.
	writeMix(t, ctx, lc, "while-down", 1500)
	segsBefore := infoInt(t, dialNative(t, leader.Addr()), "persistence", "pykv_segments")
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	if segsBefore < 3 {
		t.Fatalf("the leader had %d segments before COMPACT, want several", segsBefore)
	}
	// What the leader now retains starts past the follower's seq.
	snap, segs := dataFiles(t, leader.DataDir())
	if snap == "" {
		t.Fatalf("no snapshot after COMPACT: %v", dataFileNames(t, leader.DataDir()))
	}
	if recs := logRecords(t, segs); len(recs) > 0 && recs[0].Seq <= down+1 {
		t.Fatalf("the leader still holds seq %d in its log, the follower needs seq %d: the merge left it", recs[0].Seq, down+1)
	}

	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 2, nil)
	waitLogCount(t, follower, 20*time.Second, "full sync: installed", 2)
	waitFollowers(t, ctx, 20*time.Second, lc, fc)
	sameData(t, "the follower after its full sync", dataOf(t, ctx, lc), dataOf(t, ctx, fc))
	li := replInfo(t, ctx, lc)
	if li["pykv_full_syncs_served"] != "2" || li["pykv_partial_syncs_served"] != "0" || li["pykv_partial_syncs_refused"] != "1" {
		t.Fatalf("leader INFO replication after the restart: %v", li)
	}
	if fi := replInfo(t, ctx, fc); fi["pykv_full_syncs_received"] != "1" || fi["pykv_partial_syncs_received"] != "0" {
		t.Fatalf("follower INFO replication after the restart: %v", fi)
	}
	if log := leader.Stderr(); !strings.Contains(log, "partial sync not possible; full sync") ||
		!strings.Contains(log, "after_seq="+strconv.FormatUint(down, 10)) {
		t.Fatalf("the leader did not log the refused partial sync after seq %d", down)
	}

	// It follows the writes made after the full sync.
	writeMix(t, ctx, lc, "after", 200)
	waitFollowers(t, ctx, 20*time.Second, lc, fc)
	sameData(t, "the follower after more writes", dataOf(t, ctx, lc), dataOf(t, ctx, fc))
}

// TestReplicationKillDuringFullSync: a follower killed (kill -9) in the
// middle of receiving a full sync restarts with its old data, exactly,
// and none of the snapshot it was receiving; one killed just after
// installing it restarts with the new data, exactly. Then it syncs and
// holds the leader's data. The follower reaches its leader through a
// proxy (chaosProxy, without chaos), which stops forwarding the snapshot
// after 4 MiB of its 21 MiB, so that the kill falls mid-transfer for
// sure, and refuses connections while the restarted follower's data is
// read, so that no sync can change it meanwhile.
func TestReplicationKillDuringFullSync(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bench := testdaemon.Tool(t, "pykv-bench")
	leader := testdaemon.Start(t, testdaemon.Options{Args: []string{"--repl-backlog-bytes", "0"}})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	writeMix(t, ctx, lc, "k", 300)
	proxy := startProxy(t, leader.Addr(), 0)
	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--replicaof", proxy.Addr()}})
	fc := newRedis(t, follower.RESPAddr(), 2, nil)
	waitFollowers(t, ctx, 20*time.Second, lc, fc)
	old := dataOf(t, ctx, fc)
	sameData(t, "the follower before", dataOf(t, ctx, lc), old)
	if code := follower.Stop(); code != 0 {
		t.Fatalf("follower exited with code %d", code)
	}

	// Meanwhile the leader changes the old keys and gains 20000 keys of
	// 1 KiB, and COMPACT merges away the log after the follower's seq.
	writeMix(t, ctx, lc, "k", 300)
	if out, err := exec.CommandContext(ctx, bench, "--addr", leader.Addr(), "-c", "2", "-P", "64",
		"--preload", "20000", "-d", "1024", "-t", "none").CombinedOutput(); err != nil {
		t.Fatalf("pykv-bench --preload: %v\n%s", err, out)
	}
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	fresh := dataOf(t, ctx, lc)
	if d := dataDiff(fresh, old, 0); d == "" || len(fresh) < 20000 {
		t.Fatalf("the leader's data (%d keys) should differ from the follower's (%d keys)", len(fresh), len(old))
	}

	// Kill it in the middle of the snapshot.
	paused := proxy.PauseAfter(4 << 20)
	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 2, nil)
	waitLogCount(t, follower, 10*time.Second, "full sync: receiving", 2)
	select {
	case <-paused:
	case <-time.After(20 * time.Second):
		t.Fatal("the proxy did not forward 4 MiB of the full sync within 20s")
	}
	waitFor(t, 10*time.Second, "the follower to have received 1000 keys of the snapshot", func() bool {
		info := replInfo(t, ctx, fc)
		n, _ := strconv.Atoi(info["pykv_sync_keys_received"])
		return info["master_sync_in_progress"] == "1" && n >= 1000
	})
	follower.Kill()
	if tmp := tempFiles(t, follower.DataDir()); len(tmp) == 0 {
		t.Fatalf("no snapshot being received in the data directory at the kill: %v", dataFileNames(t, follower.DataDir()))
	}
	proxy.Refuse(true)
	proxy.Resume()
	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 2, nil)
	sameData(t, "the follower restarted after a kill during its full sync", old, dataOf(t, ctx, fc))
	if tmp := tempFiles(t, follower.DataDir()); len(tmp) > 0 {
		t.Fatalf("the restarted follower kept the partial snapshot: %v", tmp)
	}

	// Kill it as soon as it has installed the next one.
	proxy.Refuse(false)
	waitLogCount(t, follower, 20*time.Second, "full sync: installed", 2)
	follower.Kill()
	proxy.Refuse(true)
	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 2, nil)
	sameData(t, "the follower restarted after a kill after its full sync", fresh, dataOf(t, ctx, fc))

	// Let through, it resumes with a partial sync, and follows.
	proxy.Refuse(false)
	waitLogCount(t, follower, 20*time.Second, "partial sync: resuming", 1)
	writeMix(t, ctx, lc, "after", 100)
	waitFollowers(t, ctx, 20*time.Second, lc, fc)
	sameData(t, "the follower at the end", dataOf(t, ctx, lc), dataOf(t, ctx, fc))
	li := replInfo(t, ctx, lc)
	if got := fmt.Sprintf("%s/%s/%s", li["pykv_full_syncs_served"], li["pykv_partial_syncs_served"], li["pykv_partial_syncs_refused"]); got != "3/1/2" {
		t.Fatalf("leader served full/partial/refused %s, want 3/1/2: %v", got, li)
	}
	if n := proxy.accepted.Load(); n < 4 {
		t.Fatalf("the proxy forwarded %d connections, want at least 4", n)
	}
}
