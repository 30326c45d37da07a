package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// contents returns every live key of db with its value and expiry.
func contents(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	var cursor uint64
	for range 100000 {
		next, keys, err := db.Scan(cursor, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			v, err := db.Get(k)
			if err != nil {
				t.Fatalf("GET %q after SCAN: %v", k, err)
			}
			ttl, _ := db.PTTL(k)
			exp := "none"
			if ttl >= 0 {
				exp = "ttl"
			}
			out[string(k)] = string(v) + "/" + exp
		}
		if cursor = next; cursor == 0 {
			return out
		}
	}
	t.Fatal("SCAN did not end")
	return nil
}

// stream applies what feed returns to follower until follower has every
// record up to seq.
func stream(t *testing.T, feed *Feed, follower *DB, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var batch []segment.Record
	for follower.LastSeq() < seq {
		buf, _, err := feed.Next(ctx, nil, 64<<10)
		if err != nil {
			t.Fatalf("feed at seq %d, want %d: %v", feed.Last(), seq, err)
		}
		for len(buf) > 0 {
			r, n, err := segment.DecodeRecord(buf, segment.FormatLimits)
			if err != nil {
				t.Fatal(err)
			}
			r.Key, r.Value = append([]byte(nil), r.Key...), append([]byte(nil), r.Value...)
			batch = append(batch, r)
			if !r.More {
				if err := follower.Apply(batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
			buf = buf[n:]
		}
	}
	if err := follower.WaitDurable(follower.LastSeq()); err != nil {
		t.Fatal(err)
	}
}

// fullSync copies leader's dataset into follower.
func fullSync(t *testing.T, leader, follower *DB) {
	t.Helper()
	s, err := leader.FullSync()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := follower.BeginInstall(leader.DatasetID(), s.Covered)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Records(func(r segment.Record) error { return in.Add(&r) }); err != nil {
		t.Fatal(err)
	}
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	stream(t, s.Feed, follower, leader.LastSeq())
}

// load writes a mix of every kind of record into db: sets, overwrites,
// MSET batches, deletes, INCR and expiries.
func load(t *testing.T, db *DB, round int) {
	t.Helper()
	for i := range 60 {
		k := []byte(fmt.Sprintf("k%02d", i))
		if _, err := db.Set(k, []byte(fmt.Sprintf("v%d-%d", round, i)), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.MSet([]byte("m1"), []byte(fmt.Sprint(round)), []byte("m2"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Del([]byte(fmt.Sprintf("k%02d", round%60)), []byte("m2")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IncrBy([]byte("counter"), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Expire([]byte("k59"), db.Now().Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
}

// TestFullSyncThenPartialSync: a follower with data of its own takes a
// full sync from a leader whose log has been merged, holds exactly the
// leader's data, keeps it and the leader's dataset id and seq across a
// restart, then follows the leader's later writes from its own seq.
func TestFullSyncThenPartialSync(t *testing.T) {
	lfs, ffs := vfs.NewMem(), vfs.NewMem()
	leader := openMem(t, lfs, Options{SegmentSize: 2048, NoHousekeeper: true})
	defer leader.Close()
	for round := range 5 {
		load(t, leader, round)
	}
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	load(t, leader, 5) // log after the snapshot

	follower := openMem(t, ffs, Options{SegmentSize: 2048, NoHousekeeper: true})
	for i := range 300 { // a history of its own, longer than the leader's
		mustSet(t, follower, fmt.Sprintf("own%d", i), "x")
	}
	follower.SetReplica(true)
	if _, err := follower.Set([]byte("mine"), []byte("x"), SetOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("a write of its own on a replica: %v, want ErrReadOnly", err)
	}
	fullSync(t, leader, follower)
	want := contents(t, leader)
	if got := contents(t, follower); !maps.Equal(got, want) {
		t.Fatalf("after full sync:\n got  %v\n want %v", got, want)
	}
	if follower.DatasetID() != leader.DatasetID() || follower.LastSeq() != leader.LastSeq() {
		t.Fatalf("follower dataset %s seq %d, leader %s seq %d", follower.DatasetID(), follower.LastSeq(), leader.DatasetID(), leader.LastSeq())
	}
	if n, _ := follower.files.backlogUsage(); n != 0 {
		t.Fatalf("the follower keeps %d segments of the history the full sync replaced", n)
	}
	if _, err := follower.Feed(0); !errors.Is(err, ErrNotRetained) {
		t.Fatalf("a feed of the follower from seq 0 after its full sync: %v, want ErrNotRetained", err)
	}

	follower.Close()
	follower = openMem(t, ffs, Options{SegmentSize: 2048, NoHousekeeper: true})
	defer follower.Close()
	follower.SetReplica(true)
	if got := contents(t, follower); !maps.Equal(got, want) {
		t.Fatalf("after restart:\n got  %v\n want %v", got, want)
	}
	if follower.DatasetID() != leader.DatasetID() || follower.LastSeq() != leader.LastSeq() {
		t.Fatalf("after restart: dataset %s seq %d, leader %s seq %d", follower.DatasetID(), follower.LastSeq(), leader.DatasetID(), leader.LastSeq())
	}

	feed, err := leader.Feed(follower.LastSeq())
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	load(t, leader, 6)
	stream(t, feed, follower, leader.LastSeq())
	if got, want := contents(t, follower), contents(t, leader); !maps.Equal(got, want) {
		t.Fatalf("after partial sync:\n got  %v\n want %v", got, want)
	}
}

// TestFeedKeepsWhatItNeeds: a feed opened before a merge reads every
// record after its seq even though the merge retired the segments that
// hold them; once it is closed they go. A feed asked for a seq the merge
// folded away says so.
func TestFeedKeepsWhatItNeeds(t *testing.T) {
	lfs := vfs.NewMem()
	noBacklog := Backlog{Bytes: -1}
	leader := openMem(t, lfs, Options{SegmentSize: 2048, NoHousekeeper: true, Backlog: noBacklog})
	defer leader.Close()
	load(t, leader, 0)
	// An uncapped feed, as a full sync's: no backlog bound applies.
	leader.merges.mu.Lock()
	feed, err := leader.feedLocked(0, false)
	leader.merges.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for round := 1; round < 4; round++ {
		load(t, leader, round)
	}
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	follower := openMem(t, vfs.NewMem(), Options{NoHousekeeper: true})
	defer follower.Close()
	follower.SetReplica(true)
	if err := writeDataset(follower.opts.FS, follower.dir, History{ID: leader.DatasetID()}); err != nil {
		t.Fatal(err)
	}
	stream(t, feed, follower, leader.LastSeq())
	if got, want := contents(t, follower), contents(t, leader); !maps.Equal(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	before := len(segments(t, lfs))
	feed.Close()
	if after := len(segments(t, lfs)); after >= before {
		t.Fatalf("closing the feed left %d segments of %d", after, before)
	}
	if _, err := leader.Feed(0); !errors.Is(err, ErrNotRetained) {
		t.Fatalf("Feed(0) after a merge: %v, want ErrNotRetained", err)
	}
	if _, err := leader.Feed(leader.LastSeq() + 1); !errors.Is(err, ErrAhead) {
		t.Fatalf("Feed past the end: %v, want ErrAhead", err)
	}
}

// TestFeedWaitsForDurability: a feed returns nothing a power cut could
// take back: under fsync always it waits for the fsync of a record
// before returning it.
func TestFeedWaitsForDurability(t *testing.T) {
	mem := vfs.NewMem()
	var hold atomic.Bool
	release := make(chan struct{})
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if op == vfs.OpSync && hold.Load() {
			<-release
		}
		return nil
	})
	leader := openMem(t, fs, Options{NoHousekeeper: true})
	defer leader.Close()
	feed, err := leader.Feed(0)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	hold.Store(true)
	done := make(chan error, 1)
	go func() { _, err := leader.Set([]byte("k"), []byte("v"), SetOptions{}); done <- err }()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	buf, _, err := feed.Next(ctx, nil, 1<<20)
	cancel()
	if len(buf) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("before the fsync the feed returned %d bytes, %v", len(buf), err)
	}
	hold.Store(false)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf, last, err := feed.Next(ctx, nil, 1<<20)
	if err != nil || last != 1 {
		t.Fatalf("after the fsync: %d bytes, last %d, %v", len(buf), last, err)
	}
	r, _, err := segment.DecodeRecord(buf, segment.FormatLimits)
	if err != nil || string(r.Key) != "k" || string(r.Value) != "v" {
		t.Fatalf("record %+v, %v", r, err)
	}
}

// TestApplyRefusesOutOfOrder: a replica never skips back or repeats a
// seq.
func TestApplyRefusesOutOfOrder(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{NoHousekeeper: true})
	defer db.Close()
	set := func(seq uint64) segment.Record {
		return segment.Record{Type: segment.TypeSet, Seq: seq, Key: []byte("k"), Value: []byte(fmt.Sprint(seq))}
	}
	if err := db.Apply([]segment.Record{set(5)}); err != nil {
		t.Fatal(err)
	}
	for _, batch := range [][]segment.Record{{set(5)}, {set(4)}, {set(7), set(6)}} {
		if err := db.Apply(batch); !errors.Is(err, ErrSeqOrder) {
			t.Errorf("Apply seqs %d..: %v, want ErrSeqOrder", batch[0].Seq, err)
		}
	}
	if err := db.Apply([]segment.Record{set(9)}); err != nil || db.LastSeq() != 9 {
		t.Fatalf("Apply 9: %v, last seq %d", err, db.LastSeq())
	}
	mustGet(t, db, "k", "9")
}

// TestReplicaExpiresNothingByItself: a key past its time reads as
// missing on a replica, but neither a read, the expiry cycle nor a merge
// logs its delete: the replica's log holds the leader's records only.
func TestReplicaExpiresNothingByItself(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(1_700_000_000_000)
	db := openMem(t, vfs.NewMem(), Options{Clock: clock.Now, ExpiryInterval: -1, NoHousekeeper: true})
	defer db.Close()
	db.SetReplica(true)
	at := clock.Now().Add(time.Second).UnixMilli()
	if err := db.Apply([]segment.Record{{Type: segment.TypeSet, Seq: 1, Key: []byte("k"), Value: []byte("v"), ExpireAt: at}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2000)
	if _, err := db.Get([]byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GET of an expired key: %v", err)
	}
	db.ExpireCycle()
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if db.LastSeq() != 1 {
		t.Fatalf("the replica logged records of its own: last seq %d", db.LastSeq())
	}
	if err := db.Apply([]segment.Record{{Type: segment.TypeDel, Seq: 2, Key: []byte("k")}}); err != nil {
		t.Fatal(err)
	}
	if db.DBSize() != 0 {
		t.Fatalf("dbsize %d after the leader's delete", db.DBSize())
	}
}

// installSetup returns the leader of the install step tests (three rounds
// of writes, merged), its data, and a setup that makes a follower with
// data of its own whose file system calls hook from the moment the
// returned Install, holding the leader's full sync, is ready to Commit.
func installSetup(t *testing.T) (*DB, map[string]string, func(hook vfs.Hook) (*vfs.Mem, *DB, *Install, map[string]string)) {
	t.Helper()
	leader := openMem(t, vfs.NewMem(), Options{SegmentSize: 2048, NoHousekeeper: true})
	for round := range 3 {
		load(t, leader, round)
	}
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	return leader, contents(t, leader), func(hook vfs.Hook) (*vfs.Mem, *DB, *Install, map[string]string) {
		mem := vfs.NewMem()
		var armed atomic.Bool
		fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
			if !armed.Load() {
				return nil
			}
			return hook(op, path)
		})
		f := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
		for i := range 50 {
			mustSet(t, f, fmt.Sprintf("old%d", i), "o")
		}
		f.SetReplica(true)
		old := contents(t, f)
		s, err := leader.FullSync()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		in, err := f.BeginInstall(leader.DatasetID(), s.Covered)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Records(func(r segment.Record) error { return in.Add(&r) }); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		return mem, f, in, old
	}
}

// TestCrashAtEveryInstallStep cuts the power at each file operation of a
// full sync's Commit in turn: the follower's directory then opens to its
// old data or to exactly the leader's, never to a mix.
func TestCrashAtEveryInstallStep(t *testing.T) {
	leader, newData, setup := installSetup(t)
	defer leader.Close()
	var ops atomic.Int64
	_, f, in, _ := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	total := int(ops.Load())
	sawOld, sawNew := false, false
	for at := 1; at <= total; at++ {
		var n atomic.Int64
		var mem *vfs.Mem
		var crashed atomic.Bool
		mem, f, in, old := setup(func(op vfs.Op, path string) error {
			if crashed.Load() {
				return errors.New("power is off")
			}
			if n.Add(1) == int64(at) {
				crashed.Store(true)
				mem.Crash()
				return fmt.Errorf("power cut at %s of %s", op, path)
			}
			return nil
		})
		in.Commit() // fails at step at
		if crashed.Load() {
			f.abandon()
		} else {
			f.Close() // the cut would have come after the install
		}
		f2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("power cut at operation %d of %d: reopen: %v", at, total, err)
		}
		got := contents(t, f2)
		switch {
		case maps.Equal(got, old):
			sawOld = true
		case maps.Equal(got, newData):
			sawNew = true
		default:
			t.Fatalf("power cut at operation %d of %d: neither the old data nor the new:\n%v", at, total, got)
		}
		f2.Close()
	}
	if !sawOld || !sawNew {
		t.Fatalf("over %d cuts: old data seen %v, new data seen %v", total, sawOld, sawNew)
	}
}

// TestHistory: a new history continues the old one up to the last seq,
// survives a restart in DATASET version 2, and tells a follower that may
// continue from one that holds more than the two share.
func TestHistory(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{NoHousekeeper: true})
	first := db.History()
	if first.Prev != "" {
		t.Fatalf("a new directory's history continues %q", first.Prev)
	}
	mustSet(t, db, "a", "1")
	mustSet(t, db, "b", "2")
	h, err := db.NewHistory()
	if err != nil {
		t.Fatal(err)
	}
	if h.ID == first.ID || h.Prev != first.ID || h.PrevEnd != 2 {
		t.Fatalf("new history %+v after %+v at seq 2", h, first)
	}
	db.Close()
	raw, err := fs.ReadFile("/data/DATASET")
	if err != nil || len(raw) != datasetSizeV2 || raw[6] != 2 {
		t.Fatalf("DATASET: %d bytes, version %d, %v", len(raw), raw[6], err)
	}
	db = openMem(t, fs, Options{NoHousekeeper: true})
	defer db.Close()
	if got := db.History(); got != h {
		t.Fatalf("after a restart the history is %+v, want %+v", got, h)
	}
	tests := []struct {
		id   string
		seq  uint64
		want bool
	}{
		{h.ID, 0, true}, {h.ID, 1 << 40, true}, // its own: any seq (Feed says if it is past the end)
		{first.ID, 0, true}, {first.ID, 2, true}, // the old one, up to where they split
		{first.ID, 3, false}, // holds a record the new history does not share
		{"0123456789abcdef0123456789abcdef", 1, false},
	}
	for _, tt := range tests {
		if got := h.Continues(tt.id, tt.seq); got != tt.want {
			t.Errorf("Continues(%s, %d) = %v", tt.id, tt.seq, got)
		}
	}
	// A damaged version 2 file is refused, naming the offset of its crc.
	raw[30] ^= 1
	fs.WriteFile("/data2/DATASET", raw)
	if _, err := readDataset(fs, "/data2/DATASET"); err == nil || !strings.Contains(err.Error(), "offset 48") {
		t.Fatalf("damaged DATASET: %v", err)
	}
}

// TestBacklog: after a merge the newest segments stay on disk within the
// backlog's bytes, so a follower that was away continues with a partial
// sync; one further behind is told to take a full sync. A streaming
// follower that falls behind by more than the backlog is evicted, while a
// full sync's log is kept, whatever the backlog, until it has caught up.
func TestBacklog(t *testing.T) {
	lfs := vfs.NewMem()
	leader := openMem(t, lfs, Options{SegmentSize: 2048, NoHousekeeper: true, Backlog: Backlog{Bytes: 3 * 2048, Age: time.Hour}})
	defer leader.Close()
	load(t, leader, 0)
	early := leader.LastSeq()
	for round := 1; round < 6; round++ {
		load(t, leader, round)
	}
	late := leader.LastSeq() - 5
	streaming, err := leader.Feed(early) // a connected follower, capped
	if err != nil {
		t.Fatal(err)
	}
	defer streaming.Close()
	syncing, err := leader.FullSync() // a full sync under way, uncapped
	if err != nil {
		t.Fatal(err)
	}
	defer syncing.Close()
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	// The full sync completes: its log was kept for it.
	follower := openMem(t, vfs.NewMem(), Options{NoHousekeeper: true})
	defer follower.Close()
	follower.SetReplica(true)
	in, err := follower.BeginInstall(leader.DatasetID(), syncing.Covered)
	if err != nil {
		t.Fatal(err)
	}
	if err := syncing.Records(func(r segment.Record) error { return in.Add(&r) }); err != nil {
		t.Fatal(err)
	}
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	stream(t, syncing.Feed, follower, leader.LastSeq())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	syncing.Feed.Next(ctx, nil, 1<<20) // caught up: from now on the backlog's bounds apply to it
	cancel()
	if n, bytes := leader.files.backlogUsage(); n == 0 || bytes > 3*2048 {
		t.Fatalf("backlog: %d segments, %d bytes, want some within %d", n, bytes, 3*2048)
	}
	if f, err := leader.Feed(late); err != nil {
		t.Fatalf("a follower a few records behind: %v", err)
	} else {
		f.Close()
	}
	if _, err := leader.Feed(early); !errors.Is(err, ErrNotRetained) {
		t.Fatalf("a follower far behind: %v, want ErrNotRetained", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := streaming.Next(ctx, nil, 1<<20); !errors.Is(err, ErrNotRetained) {
		t.Fatalf("the streaming follower past the backlog: %v, want ErrNotRetained", err)
	}
	if got, want := contents(t, follower), contents(t, leader); !maps.Equal(got, want) {
		t.Fatalf("after the full sync:\n got  %v\n want %v", got, want)
	}
}

// TestErrorAtEveryInstallStep: an I/O error (not a crash) at each file
// operation of a full sync's Commit leaves a directory that a restart
// opens to the old data or the new one, even when the error came after
// the manifest's rename (its directory fsync).
func TestErrorAtEveryInstallStep(t *testing.T) {
	leader, newData, setup := installSetup(t)
	defer leader.Close()
	var ops atomic.Int64
	_, f, in, _ := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	total := int(ops.Load())
	for at := 1; at <= total; at++ {
		var n atomic.Int64
		var what atomic.Value
		mem, f, in, old := setup(func(op vfs.Op, path string) error {
			if n.Add(1) == int64(at) {
				what.Store(fmt.Sprintf("%s of %s", op, path))
				return fmt.Errorf("injected error at %s of %s", op, path)
			}
			return nil
		})
		in.Commit() // fails at step at
		f.Close()
		f2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("error at operation %d of %d (%v): reopen: %v", at, total, what.Load(), err)
		}
		if got := contents(t, f2); !maps.Equal(got, old) && !maps.Equal(got, newData) {
			t.Fatalf("error at operation %d of %d (%v): neither the old data nor the new:\n%v", at, total, what.Load(), got)
		}
		f2.Close()
	}
}

// TestFullSyncAfterDeadNewestFileDropped: when a policy merge drops the
// newest snapshot file (all its records dead) and leaves an older one as
// the whole set, the log that file covered is gone; a full sync must
// start its feed where the set's covered seq is, not at the older file's
// own, or it asks for log no longer retained.
func TestFullSyncAfterDeadNewestFileDropped(t *testing.T) {
	leader := openMem(t, vfs.NewMem(), Options{SegmentSize: 1024, NoHousekeeper: true, Backlog: Backlog{Bytes: -1}})
	defer leader.Close()
	for i := range 20 {
		mustSet(t, leader, fmt.Sprintf("a%02d", i), "a")
	}
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		mustSet(t, leader, fmt.Sprintf("b%02d", i), "b")
	}
	partialMerge(t, leader) // the log into a second file
	if n := len(leader.files.snapshots()); n != 2 {
		t.Fatalf("%d snapshot files, want 2", n)
	}
	for i := range 20 {
		mustSet(t, leader, fmt.Sprintf("b%02d", i), "again") // the second file is all dead
	}
	// A merge of snapshot files alone: the dead one goes, unread.
	leader.SetMergeThresholds(MergeThresholds{SealedSegments: 1000, DeadBytes: 1, DeadRatio: 0.5, MinInterval: -1})
	if _, err := leader.MergeByPolicy(); err != nil {
		t.Fatal(err)
	}
	if n := len(leader.files.snapshots()); n != 1 {
		t.Fatalf("%d snapshot files after the dead one was dropped, want 1", n)
	}
	follower := openMem(t, vfs.NewMem(), Options{SegmentSize: 1024, NoHousekeeper: true})
	defer follower.Close()
	follower.SetReplica(true)
	fullSync(t, leader, follower)
	if got, want := contents(t, follower), contents(t, leader); !maps.Equal(got, want) {
		t.Fatalf("after full sync:\n got  %v\n want %v", got, want)
	}
}

// TestFullSyncKeysCountsRecords: a full sync from a set whose one file
// holds tombstones (the older file they hid was dropped) announces as
// many keys as Records passes, tombstones not among them.
func TestFullSyncKeysCountsRecords(t *testing.T) {
	leader := openMem(t, vfs.NewMem(), Options{SegmentSize: 1024, NoHousekeeper: true})
	defer leader.Close()
	for i := range 20 {
		mustSet(t, leader, fmt.Sprintf("a%02d", i), "a")
	}
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := leader.Del([]byte(fmt.Sprintf("a%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(t, leader, "b", "b")
	partialMerge(t, leader) // a second file, with 5 tombstones
	for i := 5; i < 20; i++ {
		mustSet(t, leader, fmt.Sprintf("a%02d", i), "again") // the first file is all dead
	}
	leader.SetMergeThresholds(MergeThresholds{SealedSegments: 1000, DeadBytes: 1, DeadRatio: 0.5, MinInterval: -1})
	if _, err := leader.MergeByPolicy(); err != nil {
		t.Fatal(err)
	}
	files := leader.files.snapshots()
	if len(files) != 1 || files[0].tombs == 0 {
		t.Fatalf("%d snapshot files; want one, with tombstones", len(files))
	}
	s, err := leader.FullSync()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n uint64
	if err := s.Records(func(segment.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if s.Keys() != n {
		t.Fatalf("Keys() = %d, Records passed %d", s.Keys(), n)
	}
}

// TestInstallLoadFails: when a full sync's snapshot is in place but
// loading its index into the keydir fails, the follower serves neither a
// part of the new dataset nor anything as if the install had not
// happened: it refuses reads and writes until a restart, which loads the
// installed data.
func TestInstallLoadFails(t *testing.T) {
	leader := openMem(t, vfs.NewMem(), Options{SegmentSize: 1 << 20, NoHousekeeper: true})
	defer leader.Close()
	for i := range 3000 {
		mustSet(t, leader, fmt.Sprintf("key-%05d", i), strings.Repeat("v", 20))
	}
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	want := contents(t, leader)
	mem := vfs.NewMem()
	var armed atomic.Bool
	var reads atomic.Int64
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if armed.Load() && op == vfs.OpRead && strings.HasSuffix(path, snapshot.Ext) && reads.Add(1) == 2 {
			return errors.New("injected read error")
		}
		return nil
	})
	f := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	for i := range 50 {
		mustSet(t, f, fmt.Sprintf("old%d", i), "o")
	}
	f.SetReplica(true)
	s, err := leader.FullSync()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := f.BeginInstall(leader.DatasetID(), s.Covered)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Records(func(r segment.Record) error { return in.Add(&r) }); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	if err := in.Commit(); err == nil {
		t.Fatal("Commit succeeded though the load of its index failed")
	}
	armed.Store(false)
	if n := f.DBSize(); n != 0 && n != int64(len(want)) {
		if _, err := f.Get([]byte("key-00000")); err == nil {
			t.Errorf("after a failed load the follower serves %d keys of the %d installed", n, len(want))
		}
	}
	for _, seq := range []uint64{f.LastSeq() + 1, leader.LastSeq() + 1} {
		if err := f.Apply([]segment.Record{{Type: segment.TypeSet, Seq: seq, Key: []byte("next"), Value: []byte("x")}}); err == nil {
			t.Errorf("after a failed load the follower applies a record of seq %d", seq)
		}
	}
	if _, err := f.Merge(); err == nil {
		t.Errorf("after a failed load the follower merges (and would drop the unloaded file as dead)")
	}
	if n := len(f.files.snapshots()); n != 0 {
		t.Errorf("after a failed load %d snapshot files are registered; their mapping is gone", n)
	}
	f.Close()
	f2 := openMem(t, mem, Options{NoHousekeeper: true})
	defer f2.Close()
	if got := contents(t, f2); !maps.Equal(got, want) {
		t.Fatalf("after a restart the follower holds %d keys, want the %d installed", len(got), len(want))
	}
}
