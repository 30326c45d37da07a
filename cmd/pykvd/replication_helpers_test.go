package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// This file holds what the replication tests (replication_*_test.go)
// share: a dump of a daemon's data that compares expiry instants, a
// seeded write load, waits on INFO replication, a reader of a stopped
// daemon's log, and a chaos proxy.

// readKey is one key as a client reads it: its value, and when it has a
// TTL the instant it expires (unix ms), known within [expLo, expHi]: PTTL
// answers the time left at an instant between the request's write and its
// reply's read.
type readKey struct {
	value        string
	ttl          bool
	expLo, expHi int64
}

// dataOf reads every key of c with its value and expiry: SCAN, then each
// page's GETs and PTTLs in one pipeline. A key that SCAN named and GET
// no longer finds has expired meanwhile and is left out.
func dataOf(t testing.TB, ctx context.Context, c *redis.Client) map[string]readKey {
	t.Helper()
	out := map[string]readKey{}
	var cursor uint64
	for range 1_000_000 {
		keys, next, err := c.Scan(ctx, cursor, "", 1000).Result()
		if err != nil {
			t.Fatalf("SCAN %d: %v", cursor, err)
		}
		if len(keys) > 0 {
			pipe := c.Pipeline()
			gets := make([]*redis.StringCmd, len(keys))
			ttls := make([]*redis.Cmd, len(keys))
			for i, k := range keys {
				gets[i] = pipe.Get(ctx, k)
				ttls[i] = pipe.Do(ctx, "PTTL", k)
			}
			before := time.Now().UnixMilli()
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				t.Fatalf("GET and PTTL of %d keys: %v", len(keys), err)
			}
			after := time.Now().UnixMilli()
			for i, k := range keys {
				v, err := gets[i].Result()
				if errors.Is(err, redis.Nil) {
					continue
				}
				if err != nil {
					t.Fatalf("GET %q: %v", k, err)
				}
				p, err := ttls[i].Int64()
				switch {
				case err != nil:
					t.Fatalf("PTTL %q: %v", k, err)
				case p >= 0:
					// The server's now, in whole ms, lies in [before, after].
					out[k] = readKey{value: v, ttl: true, expLo: before + p - 1, expHi: after + p + 1}
				case p == -1:
					out[k] = readKey{value: v}
				default:
					t.Fatalf("PTTL %q = %d after GET found it", k, p)
				}
			}
		}
		if cursor = next; cursor == 0 {
			return out
		}
	}
	t.Fatal("SCAN did not end")
	return nil
}

// dataDiff describes how got differs from want, at most limit differences
// (and how many more), or "" when they hold the same keys, values, TTL
// presence and expiry instants (within the bounds each read leaves).
func dataDiff(want, got map[string]readKey, limit int) string {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			add("%q missing (want %.40q)", k, w.value)
		case g.value != w.value:
			add("%q = %.40q, want %.40q", k, g.value, w.value)
		case g.ttl != w.ttl:
			add("%q has a TTL: %v, want %v", k, g.ttl, w.ttl)
		case g.ttl && (g.expHi < w.expLo || w.expHi < g.expLo):
			add("%q expires within [%d, %d] ms, want [%d, %d]", k, g.expLo, g.expHi, w.expLo, w.expHi)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			add("%q = %.40q should not exist", k, g.value)
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	sort.Strings(diffs)
	more := ""
	if len(diffs) > limit {
		more = fmt.Sprintf("\n  ... and %d more", len(diffs)-limit)
		diffs = diffs[:limit]
	}
	return fmt.Sprintf("%d keys, want %d:\n  %s%s", len(got), len(want), strings.Join(diffs, "\n  "), more)
}

// sameData fails t when got differs from want.
func sameData(t testing.TB, what string, want, got map[string]readKey) {
	t.Helper()
	if d := dataDiff(want, got, 20); d != "" {
		t.Fatalf("%s holds %s", what, d)
	}
}

// replSeq reads an unsigned field of INFO replication.
func replSeq(t testing.TB, ctx context.Context, c *redis.Client, field string) uint64 {
	t.Helper()
	info := replInfo(t, ctx, c)
	n, err := strconv.ParseUint(info[field], 10, 64)
	if err != nil {
		t.Fatalf("INFO replication %s: %v (%v)", field, err, info)
	}
	return n
}

// waitFollowers waits until every follower's link is up and it has
// applied at least every record the leader had logged when the wait
// began. At least, not exactly: a leader logs deletes of expired keys by
// itself, and may have logged more by the time a follower is asked.
func waitFollowers(t testing.TB, ctx context.Context, timeout time.Duration, leader *redis.Client, followers ...*redis.Client) uint64 {
	t.Helper()
	want := replSeq(t, ctx, leader, "master_repl_offset")
	for i, f := range followers {
		waitFor(t, timeout, fmt.Sprintf("follower %d to apply the leader's seq %d with its link up", i, want), func() bool {
			info := replInfo(t, ctx, f)
			seq, _ := strconv.ParseUint(info["slave_repl_offset"], 10, 64)
			return seq >= want && info["master_link_status"] == "up"
		})
	}
	return want
}

// waitLogCount waits until d's log (over all its runs) holds text n
// times, and fails t after timeout.
func waitLogCount(t testing.TB, d *testdaemon.Daemon, timeout time.Duration, text string, n int) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d lines of %q in the log", n, text), func() bool {
		return strings.Count(d.Stderr(), text) >= n
	})
}

// replSeed returns the seed of a randomised replication test, logged
// with how to replay it: $PYKV_REPL_SEED when set, else one from the
// clock. A seed replays the test's choices; the timing of the goroutines
// and the daemons is not replayed.
func replSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(envInt(t, "PYKV_REPL_SEED", int(time.Now().UnixNano()%1e12)))
	t.Logf("seed %d (replay: PYKV_REPL_SEED=%d go test -count=1 -run '^%s$' ./cmd/pykvd/)", seed, seed, t.Name())
	return seed
}

// mixLoad is a seeded write load of go-redis goroutines mixing SET (with
// and without EX, KEEPTTL or PXAT), MSET (now and then one of 300 KiB,
// more than one replication frame holds), INCR, DEL, EXPIRE, PEXPIREAT
// and PERSIST over a small keyspace ("" among its keys), so that the
// writers overwrite one another's keys and the leader's order decides.
type mixLoad struct {
	// Seed seeds worker w's choices with (Seed, w).
	Seed uint64
	// Workers is the number of goroutines.
	Workers int
	// ShortTTL adds writes that expire within 300 ms, during the load;
	// LastExpiry then returns the latest such instant.
	ShortTTL bool
	// BigMSetEvery, when not 0, makes every BigMSetEvery-th round of a
	// worker a 300-key MSET of 1 KiB values.
	BigMSetEvery int

	ops        atomic.Int64
	lastExpiry atomic.Int64 // unix ms
}

// Run writes through c until stop is closed or an error, and returns the
// first error.
func (l *mixLoad) Run(ctx context.Context, c *redis.Client, stop <-chan struct{}) error {
	var wg sync.WaitGroup
	errs := make(chan error, l.Workers)
	for w := range l.Workers {
		wg.Go(func() {
			if err := l.worker(ctx, c, uint64(w), stop); err != nil {
				errs <- fmt.Errorf("worker %d: %w", w, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Ops returns the number of commands sent so far.
func (l *mixLoad) Ops() int64 { return l.ops.Load() }

// LastExpiry returns the latest expiry instant of a ShortTTL write.
func (l *mixLoad) LastExpiry() time.Time { return time.UnixMilli(l.lastExpiry.Load()) }

func (l *mixLoad) short(r *rand.Rand) int64 {
	at := time.Now().Add(time.Duration(50+r.IntN(250)) * time.Millisecond).UnixMilli()
	for {
		old := l.lastExpiry.Load()
		if at <= old || l.lastExpiry.CompareAndSwap(old, at) {
			return at
		}
	}
}

func (l *mixLoad) worker(ctx context.Context, c *redis.Client, w uint64, stop <-chan struct{}) error {
	r := rand.New(rand.NewPCG(l.Seed, w))
	key := func() string {
		if n := r.IntN(501); n < 500 {
			return "k:" + strconv.Itoa(n)
		}
		return "" // the empty key, replicated as any other
	}
	counter := func() string { return "ctr:" + strconv.Itoa(r.IntN(20)) }
	value := func() string {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.Uint32()) // any byte, CR, LF and NUL included
		}
		return string(b)
	}
	for round := 0; ; round++ {
		select {
		case <-stop:
			return nil
		default:
		}
		var err error
		switch n := r.IntN(100); {
		case l.BigMSetEvery > 0 && round%l.BigMSetEvery == l.BigMSetEvery/2:
			args := []any{}
			v := strings.Repeat(strconv.Itoa(round), 1024)[:1024]
			for i := range 300 {
				args = append(args, "big:"+strconv.Itoa(i), v)
			}
			err = c.MSet(ctx, args...).Err()
		case n < 25:
			err = c.Set(ctx, key(), value(), 0).Err()
		case n < 30:
			err = c.Set(ctx, key(), value(), time.Hour).Err()
		case n < 33:
			err = c.SetArgs(ctx, key(), value(), redis.SetArgs{KeepTTL: true}).Err()
		case n < 45:
			err = c.Incr(ctx, counter()).Err()
		case n < 58:
			args := []any{}
			for range 2 + r.IntN(5) {
				args = append(args, key(), value())
			}
			err = c.MSet(ctx, args...).Err()
		case n < 68:
			err = c.Del(ctx, key(), key(), counter()).Err()
		case n < 78:
			err = c.Expire(ctx, key(), time.Duration(1+r.IntN(3))*time.Hour).Err()
		case n < 84:
			err = c.Persist(ctx, key()).Err()
		case n < 92 && l.ShortTTL:
			err = c.Do(ctx, "SET", key(), value(), "PXAT", l.short(r)).Err()
		case n < 100 && l.ShortTTL:
			err = c.Do(ctx, "PEXPIREAT", key(), l.short(r)).Err()
		default:
			err = c.Do(ctx, "PEXPIREAT", counter(), time.Now().Add(2*time.Hour).UnixMilli()).Err()
		}
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		l.ops.Add(1)
	}
}

// dataFiles returns the live files of a stopped daemon's data directory,
// as Open reads them: its one snapshot ("" when none; more than one fails
// t) and the live segments, in order.
func dataFiles(t testing.TB, dir string) (snap string, segs []string) {
	t.Helper()
	snaps, segs, err := storage.LiveFiles(vfs.Default, dir)
	if err != nil {
		t.Fatal(err)
	}
	switch len(snaps) {
	case 0:
	case 1:
		snap = snaps[0]
	default:
		t.Fatalf("%s holds %d live snapshot files, %v; want one", dir, len(snaps), snaps)
	}
	return snap, segs
}

// logRecords reads every record of segs in order. Damage fails t; the
// zeros of space preallocated past the last record are not damage.
func logRecords(t testing.TB, segs []string) []segment.Record {
	t.Helper()
	var out []segment.Record
	for _, path := range segs {
		it, err := segment.ReadFile(vfs.Default, path, segment.FormatLimits)
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			out = append(out, it.Record())
		}
		var serr *segment.Error
		if err := it.Err(); err != nil && !(errors.As(err, &serr) && serr.Torn && serr.Zeros) {
			t.Fatalf("%s: %v", path, err)
		}
		if it.IncompleteBatch() >= 0 {
			t.Fatalf("%s ends in a batch cut short at offset %d", path, it.IncompleteBatch())
		}
	}
	return out
}

// snapshotRecords reads the snapshot at path: the seq it covers and its
// records by key.
func snapshotRecords(t testing.TB, path string) (uint64, map[string]segment.Record) {
	t.Helper()
	s, err := snapshot.Open(vfs.Default, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := map[string]segment.Record{}
	err = s.Records(segment.FormatLimits, func(_ int64, r segment.Record) error {
		r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value) // they alias the mapping
		if _, dup := recs[string(r.Key)]; dup {
			return fmt.Errorf("key %q twice", r.Key)
		}
		recs[string(r.Key)] = r
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s.Header.CoveredSeq, recs
}

// sameRecord reports whether a and b are the same record: type, seq,
// expiry, key, value and batch flag.
func sameRecord(a, b segment.Record) bool {
	return a.Type == b.Type && a.Seq == b.Seq && a.ExpireAt == b.ExpireAt && a.More == b.More &&
		bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value)
}

func recordString(r segment.Record) string {
	return fmt.Sprintf("{seq %d type %d key %.40q value %d bytes expire_at %d more %v}",
		r.Seq, r.Type, r.Key, len(r.Value), r.ExpireAt, r.More)
}

// dataFileNames lists the names in dir, for messages.
func dataFileNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// tempFiles lists the names in dir ending in .tmp: the files of a write
// in progress, such as a full sync's snapshot before its install.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range dataFileNames(t, dir) {
		if filepath.Ext(n) == ".tmp" {
			out = append(out, n)
		}
	}
	return out
}
