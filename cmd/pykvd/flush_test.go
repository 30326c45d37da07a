package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// writeAfterFlush writes n keys under prefix through c and returns what
// a reader must find.
func writeAfterFlush(t testing.TB, ctx context.Context, c *redis.Client, prefix string, n int) map[string]string {
	t.Helper()
	want := map[string]string{}
	for i := range n {
		k, v := fmt.Sprintf("%s:%d", prefix, i), strconv.Itoa(i)
		if err := c.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	return want
}

// holdsExactly fails t unless c's keyspace is exactly want.
func holdsExactly(t testing.TB, ctx context.Context, what string, c *redis.Client, want map[string]string) {
	t.Helper()
	got := dataOf(t, ctx, c)
	if len(got) != len(want) {
		t.Fatalf("%s holds %d keys, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g.value != v {
			t.Fatalf("%s: %s = %q (present %v), want %q", what, k, g.value, ok, v)
		}
	}
}

// TestFlushAllSurvivesKill: FLUSHALL on a real pykvd whose data lies in a
// snapshot and in several segments, then writes, then kill -9: the
// directory passes the offline check, and the restarted daemon holds the
// writes after the flush and nothing of before, having removed the files
// the flush made dead. A FLUSHALL ASYNC acknowledged just before a kill
// -9 holds too.
func TestFlushAllSurvivesKill(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	d := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--segment-size", "65536"}})
	c := newRedis(t, d.RESPAddr(), 2, nil)
	writeMix(t, ctx, c, "before", 600)
	if err := c.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	writeMix(t, ctx, c, "before-2", 600)
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("DBSIZE after FLUSHALL: %d, %v", n, err)
	}
	want := writeAfterFlush(t, ctx, c, "after", 50)
	d.Kill()
	if rep := storage.Check(d.DataDir(), storage.Options{}, nil); len(rep.Problems) > 0 {
		t.Fatalf("check after kill -9: %v", rep.Problems)
	}
	d.Restart()
	c = newRedis(t, d.RESPAddr(), 2, nil)
	holdsExactly(t, ctx, "after FLUSHALL, writes and kill -9, the restarted daemon", c, want)
	info := parseInfo(t, c.Info(ctx, "keyspace").Val())
	if db0, err := info.Sub("db0"); err != nil || db0["keys"] != "50" {
		t.Fatalf("INFO keyspace db0 = %v, %v; want keys=50", db0, err)
	}
	d.Stop()
	snap, segs := dataFiles(t, d.DataDir())
	if snap != "" || len(segs) != 2 {
		t.Fatalf("after the restart the directory holds snapshot %q and segments %q; want only the flush's segment and the new one", snap, segs)
	}
	it, err := segment.ReadFile(vfs.Default, segs[0], segment.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if it.Header().Version != segment.VersionFlush || !it.Next() || it.Record().Type != segment.TypeFlush {
		t.Fatalf("%s: header %+v; want a version 2 segment opened by the flush record", segs[0], it.Header())
	}

	d.Restart()
	c = newRedis(t, d.RESPAddr(), 2, nil)
	if err := c.FlushAllAsync(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL ASYNC: %v", err)
	}
	d.Kill()
	d.Restart()
	c = newRedis(t, d.RESPAddr(), 2, nil)
	holdsExactly(t, ctx, "after FLUSHALL ASYNC and kill -9, the restarted daemon", c, nil)
}

// TestReplicationFlush: a follower applies its leader's FLUSHALL (alone,
// and inside a transaction) and holds exactly the leader's data after;
// one that was down while a merge removed the log it needed and a
// FLUSHDB followed continues with a partial sync from the flush (which
// subsumes that log), and holds exactly the leader's data.
func TestReplicationFlush(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// No backlog: a merge removes the log it folds, so only the flush
	// lets a follower that was down continue with a partial sync.
	leader := testdaemon.Start(t, testdaemon.Options{Fsync: "always",
		Args: []string{"--segment-size", "65536", "--repl-backlog-bytes", "0"}})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	writeMix(t, ctx, lc, "before", 300)
	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--replicaof", leader.Addr()}})
	fc := newRedis(t, follower.RESPAddr(), 2, nil)
	waitCaughtUp(t, ctx, lc, fc)
	sameData(t, "before the flush the follower", dataOf(t, ctx, lc), dataOf(t, ctx, fc))

	if err := lc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	want := writeAfterFlush(t, ctx, lc, "after", 40)
	waitCaughtUp(t, ctx, lc, fc)
	holdsExactly(t, ctx, "after the leader's FLUSHALL the follower", fc, want)

	// FLUSHALL inside a transaction: the flush and the writes after it
	// reach the follower as one batch.
	pipe := lc.TxPipeline()
	pipe.Set(ctx, "tx:gone", "x", 0)
	pipe.FlushAll(ctx)
	pipe.Set(ctx, "tx:kept", "y", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, ctx, lc, fc)
	holdsExactly(t, ctx, "after the leader's MULTI/FLUSHALL/EXEC the follower", fc, map[string]string{"tx:kept": "y"})

	// Down across a merge that removed the log the follower needs, and a
	// FLUSHDB after it: the feed starts at the flush.
	follower.Kill()
	writeMix(t, ctx, lc, "while-down", 300)
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	if err := lc.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	want = writeAfterFlush(t, ctx, lc, "after-2", 30)
	full := replInfo(t, ctx, lc)["pykv_full_syncs_served"]
	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 2, nil)
	waitCaughtUp(t, ctx, lc, fc)
	holdsExactly(t, ctx, "after a restart past the leader's FLUSHDB the follower", fc, want)
	if li := replInfo(t, ctx, lc); li["pykv_full_syncs_served"] != full {
		t.Fatalf("the follower took a full sync (%s, before %s); want a partial sync from the flush", li["pykv_full_syncs_served"], full)
	}
	sameData(t, "at the end the follower", dataOf(t, ctx, lc), dataOf(t, ctx, fc))

	// A new follower's full sync after a flush: the snapshot before the
	// flush is dead and not sent; the log from the flush on is.
	writeMix(t, ctx, lc, "before-3", 200)
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	if err := lc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	want = writeAfterFlush(t, ctx, lc, "after-3", 20)
	second := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--replicaof", leader.Addr()}})
	sc := newRedis(t, second.RESPAddr(), 2, nil)
	waitCaughtUp(t, ctx, lc, sc)
	holdsExactly(t, ctx, "a follower that took a full sync after a FLUSHALL", sc, want)
	for _, line := range strings.Split(second.WaitLog("full sync: installed"), "\n") {
		if strings.Contains(line, "full sync: installed") && !strings.Contains(line, " keys=0 ") {
			t.Fatalf("the full sync after a FLUSHALL sent snapshot keys: %s", line)
		}
	}
}
