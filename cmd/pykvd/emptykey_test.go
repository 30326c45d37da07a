package main

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// TestEmptyKeyLifecycle: the empty key lives the whole life of a key. Set
// through the Go client over the native protocol, merged into a snapshot
// (COMPACT), carried by a follower's full sync, rewritten in the log and
// streamed to the follower; the leader killed with SIGKILL is sound to
// pykv-check and replays it from its log and its snapshot; the follower
// killed too resumes with it. At every stage GET and PEXPIRETIME of ""
// give its last value and expiry, on both daemons.
func TestEmptyKeyLifecycle(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	check := testdaemon.Tool(t, "pykv-check")
	leader := testdaemon.Start(t, testdaemon.Options{Fsync: "always"})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)

	// The Go client sends "" over the native protocol: a zero-length arg.
	nc, err := client.New(client.Options{Addr: leader.Addr(), PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	at1 := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if _, err := nc.Set(ctx, "", "in the snapshot", client.SetArgs{ExpireAt: at1}).Result(); err != nil {
		t.Fatalf("client Set of the empty key: %v", err)
	}
	if v, err := nc.Get(ctx, "").Result(); err != nil || string(v) != "in the snapshot" {
		t.Fatalf("client Get of the empty key = %q, %v", v, err)
	}
	if n, err := nc.Exists(ctx, "", "", "nope").Result(); err != nil || n != 2 {
		t.Fatalf("client Exists of the empty key twice = %d, %v", n, err)
	}
	mustDo(t, ctx, lc, "SET", "other", "o")

	// want checks "" on c: its value and expiry.
	want := func(what string, c *redis.Client, value string, at time.Time) {
		t.Helper()
		v, err := c.Get(ctx, "").Result()
		if err != nil || v != value {
			t.Fatalf("%s: GET \"\" = %q, %v; want %q", what, v, err, value)
		}
		if got, err := c.Do(ctx, "PEXPIRETIME", "").Int64(); err != nil || got != at.UnixMilli() {
			t.Fatalf("%s: PEXPIRETIME \"\" = %d, %v; want %d", what, got, err, at.UnixMilli())
		}
		if keys, err := c.Keys(ctx, "").Result(); err != nil || len(keys) != 1 || keys[0] != "" {
			t.Fatalf("%s: KEYS \"\" = %q, %v; want the empty key", what, keys, err)
		}
	}

	mustDo(t, ctx, lc, "COMPACT")
	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--replicaof", leader.Addr()}})
	fc := newRedis(t, follower.RESPAddr(), 2, nil)
	waitCaughtUp(t, ctx, lc, fc)
	if n := replInfo(t, ctx, fc)["pykv_full_syncs_received"]; n != "1" {
		t.Fatalf("the follower took %s full syncs, want 1 (the snapshot carries the empty key)", n)
	}
	want("follower, after the full sync", fc, "in the snapshot", at1)

	// Written again, after the snapshot: the log holds it, the stream
	// carries it. RENAME and COPY move it out and back.
	at2 := at1.Add(time.Hour)
	mustDo(t, ctx, lc, "SET", "", "in the log", "PXAT", strconv.FormatInt(at2.UnixMilli(), 10))
	mustDo(t, ctx, lc, "RENAME", "", "moved")
	mustDo(t, ctx, lc, "COPY", "moved", "")
	mustDo(t, ctx, lc, "DEL", "moved")
	mustDo(t, ctx, lc, "APPEND", "", "!")
	waitCaughtUp(t, ctx, lc, fc)
	want("leader", lc, "in the log!", at2)
	want("follower, streamed", fc, "in the log!", at2)

	pykvCheck := func(d *testdaemon.Daemon) {
		t.Helper()
		out, err := exec.Command(check, "-q", d.DataDir()).CombinedOutput()
		if err != nil || strings.Contains(string(out), "DAMAGE") {
			t.Fatalf("pykv-check %s: %v\n%s", d.DataDir(), err, out)
		}
	}

	// kill -9: the log replays it after the snapshot's version.
	leader.Kill()
	pykvCheck(leader)
	leader.Restart()
	lc = newRedis(t, leader.RESPAddr(), 2, nil)
	want("leader, restarted from its log after kill -9", lc, "in the log!", at2)

	// Merged, then killed: the snapshot alone holds it.
	mustDo(t, ctx, lc, "COMPACT")
	leader.Kill()
	pykvCheck(leader)
	snapHolds(t, leader.DataDir(), "in the log!", at2)
	leader.Restart()
	lc = newRedis(t, leader.RESPAddr(), 2, nil)
	want("leader, restarted from its snapshot after kill -9", lc, "in the log!", at2)

	follower.Kill()
	pykvCheck(follower)
	follower.Restart()
	fc = newRedis(t, follower.RESPAddr(), 2, nil)
	waitCaughtUp(t, ctx, lc, fc)
	want("follower, restarted after kill -9", fc, "in the log!", at2)

	// Deleted on the leader, gone everywhere, after restarts too.
	mustDo(t, ctx, lc, "DEL", "")
	waitCaughtUp(t, ctx, lc, fc)
	for _, c := range []*redis.Client{lc, fc} {
		if n, err := c.Exists(ctx, "").Result(); err != nil || n != 0 {
			t.Fatalf("EXISTS \"\" after DEL = %d, %v", n, err)
		}
	}
	leader.Kill()
	leader.Restart()
	lc = newRedis(t, leader.RESPAddr(), 2, nil)
	if n, err := lc.Exists(ctx, "").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS \"\" after DEL and kill -9 = %d, %v", n, err)
	}
	if v, err := lc.Get(ctx, "other").Result(); err != nil || v != "o" {
		t.Fatalf("GET other = %q, %v", v, err)
	}
}

// snapHolds fails t unless the stopped daemon's data directory dir has
// the empty key in its snapshot, with value and expiry, and nowhere in its
// log after it.
func snapHolds(t *testing.T, dir, value string, at time.Time) {
	t.Helper()
	path, segs := dataFiles(t, dir)
	if path == "" {
		t.Fatalf("%s has no snapshot after COMPACT", dir)
	}
	s, err := snapshot.Open(vfs.Default, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if errs := s.Verify(segment.FormatLimits); len(errs) > 0 {
		t.Fatalf("verify %s: %v", path, errs)
	}
	found := 0
	err = s.Records(segment.FormatLimits, func(_ int64, r segment.Record) error {
		if len(r.Key) == 0 {
			found++
			if string(r.Value) != value || r.ExpireAt != at.UnixMilli() {
				t.Errorf("%s: the empty key's record holds %q expiring at %d, want %q at %d", path, r.Value, r.ExpireAt, value, at.UnixMilli())
			}
		}
		return nil
	})
	if err != nil || found != 1 {
		t.Fatalf("%s holds %d records of the empty key (%v), want 1", path, found, err)
	}
	for _, r := range logRecords(t, segs) {
		if len(r.Key) == 0 && r.Type == segment.TypeSet {
			t.Fatalf("the log after the snapshot still sets the empty key (seq %d)", r.Seq)
		}
	}
}

// mustDo runs a command through c, failing t on an error.
func mustDo(t *testing.T, ctx context.Context, c *redis.Client, args ...any) {
	t.Helper()
	if err := c.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}
