package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// TestFlushAllThenRestart: FLUSHALL empties the keyspace at once, the
// writes after it are kept, and a restart finds exactly those: the
// snapshot and the segments before the flush are removed without being
// loaded.
func TestFlushAllThenRestart(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	fill(t, db)
	if _, err := db.Merge(); err != nil { // a snapshot, then more log
		t.Fatal(err)
	}
	fill(t, db)
	if err := db.FlushAll(); err != nil {
		t.Fatal(err)
	}
	checkData(t, db, map[string]string{})
	if v, err := db.Get([]byte("key-01")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after FLUSHALL: key-01 = %q, %v", v, err)
	}
	want := map[string]string{"key-03": "after", "key-07": "flush"}
	for k, v := range want {
		mustSet(t, db, k, v)
	}
	checkData(t, db, want)
	db.Close()

	db = openMem(t, fs, Options{NoHousekeeper: true})
	checkData(t, db, want)
	if db.recovery.snapshotKeys != 0 || db.recovery.records != 3 {
		t.Fatalf("recovery loaded %d snapshot keys and %d records; want none and the flush and the 2 sets",
			db.recovery.snapshotKeys, db.recovery.records)
	}
	files := dataFiles(t, fs)
	sort.Strings(files)
	if len(files) != 2 {
		t.Fatalf("after the restart the directory holds %v; want the flush's segment and the new one", files)
	}
	it, err := segment.ReadFile(fs, filepath.Join("/data", files[0]), segment.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if it.Header().Version != segment.VersionFlush || !it.Next() || it.Record().Type != segment.TypeFlush {
		t.Fatalf("%s: header %+v; want a version 2 segment opened by the flush record", files[0], it.Header())
	}
	db.Close()
	if rep := Check("/data", Options{FS: fs}, nil); len(rep.Problems) > 0 {
		t.Fatalf("check: %v", rep.Problems)
	}
}

// TestDirectoryWithoutFlushStaysVersion1: a directory that never flushed
// holds version 1 segments only, which older pykv reads.
func TestDirectoryWithoutFlushStaysVersion1(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	fill(t, db)
	db.Close()
	for _, name := range dataFiles(t, fs) {
		h, err := segmentHeader(fs, filepath.Join("/data", name))
		if err != nil {
			t.Fatal(err)
		}
		if h.Version != segment.VersionPlain {
			t.Fatalf("%s has version %d", name, h.Version)
		}
	}
}

// TestCrashAtEveryFlushStep cuts the power at each file operation of a
// FLUSHALL in turn (then of the first start after it, which removes the
// files the flush made dead): the directory opens to all the keys or to
// none, never a mix, and to none once FLUSHALL returned.
func TestCrashAtEveryFlushStep(t *testing.T) {
	setup := func(hook vfs.Hook) (*vfs.Mem, *DB, map[string]string) {
		mem := vfs.NewMem()
		var armed atomic.Bool
		fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
			if !armed.Load() {
				return nil
			}
			return hook(op, path)
		})
		db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
		fill(t, db)
		if _, err := db.Merge(); err != nil {
			t.Fatal(err)
		}
		want := fill(t, db)
		armed.Store(true)
		return mem, db, want
	}
	var ops atomic.Int64
	_, db, _ := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	if err := db.FlushAll(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	total := int(ops.Load())
	if total < 3 {
		t.Fatalf("a flush took only %d file operations", total)
	}
	cut := func(mem **vfs.Mem) (vfs.Hook, *atomic.Bool, *atomic.Int64, *int) {
		var n atomic.Int64
		var crashed atomic.Bool
		at := new(int)
		return func(op vfs.Op, path string) error {
			if crashed.Load() {
				return errors.New("power is off")
			}
			if n.Add(1) == int64(*at) {
				crashed.Store(true)
				(*mem).Crash()
				return fmt.Errorf("power cut at %s of %s", op, path)
			}
			return nil
		}, &crashed, &n, at
	}
	for at := 1; at <= total; at++ {
		var mem *vfs.Mem
		hook, crashed, _, step := cut(&mem)
		*step = at
		mem, db, want := setup(hook)
		err := db.FlushAll()
		if crashed.Load() {
			db.abandon()
		} else {
			db.Close()
		}
		db2, oerr := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if oerr != nil {
			t.Fatalf("power cut at operation %d of %d: reopen: %v", at, total, oerr)
		}
		switch n := db2.DBSize(); {
		case n == 0:
		case err != nil && n == int64(len(want)):
			checkData(t, db2, want)
		default:
			t.Fatalf("power cut at operation %d of %d (FLUSHALL: %v): %d keys; want 0, or all %d when it failed", at, total, err, n, len(want))
		}
		db2.Close()
		if rep := Check("/data", Options{FS: mem}, nil); len(rep.Problems) > 0 {
			t.Fatalf("power cut at operation %d: check: %v", at, rep.Problems)
		}
	}

	// The start after a flush removes the files it made dead: a power cut
	// at any step of that leaves a directory that opens empty.
	flushed := func() *vfs.Mem {
		mem, db, _ := setup(func(vfs.Op, string) error { return nil })
		if err := db.FlushAll(); err != nil {
			t.Fatal(err)
		}
		db.Close()
		return mem
	}
	var opens atomic.Int64
	counted := openMem(t, vfs.Inject(flushed(), func(vfs.Op, string) error { opens.Add(1); return nil }), Options{NoHousekeeper: true})
	counted.Close()
	for at := 1; at <= int(opens.Load()); at++ {
		m := flushed()
		var n atomic.Int64
		fs := vfs.Inject(m, func(op vfs.Op, path string) error {
			switch k := n.Add(1); {
			case k == int64(at):
				m.Crash()
				return fmt.Errorf("power cut at %s of %s", op, path)
			case k > int64(at):
				return errors.New("power is off")
			}
			return nil
		})
		if db3, err := Open("/data", Options{FS: fs, Logger: quiet(), NoHousekeeper: true}); err == nil {
			if n.Load() >= int64(at) {
				db3.abandon()
			} else {
				db3.Close()
			}
		}
		db4, err := Open("/data", Options{FS: m, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("power cut at operation %d of the start after a flush: reopen: %v", at, err)
		}
		if n := db4.DBSize(); n != 0 {
			t.Fatalf("power cut at operation %d of the start after a flush: %d keys", at, n)
		}
		db4.Close()
	}
}

// TestMergeAfterFlush: a merge after a flush never brings back a flushed
// key, reads none of the files before the flush, and keeps the writes
// after it, across a restart.
func TestMergeAfterFlush(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	fill(t, db)
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	if err := db.FlushAll(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i < 40; i += 3 {
		k := fmt.Sprintf("key-%02d", i)
		mustSet(t, db, k, "new")
		want[k] = "new"
	}
	st, err := db.Merge()
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != uint64(len(want)) || st.Expired != 0 {
		t.Fatalf("merge after a flush: %+v; want %d keys", st, len(want))
	}
	checkData(t, db, want)
	db.Close()
	db = openMem(t, fs, Options{NoHousekeeper: true})
	defer db.Close()
	checkData(t, db, want)
}

// TestFlushInTransaction: a FLUSHALL queued in a transaction hides every
// key from the rest of it, and the transaction is one batch: the flush
// and the writes after it, found whole after a restart.
func TestFlushInTransaction(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	fill(t, db)
	var inside []string
	ran, err := db.Atomic(nil, func(tx *Tx) {
		tx.Set([]byte("before"), []byte("x"), SetOptions{})
		if err := tx.FlushAll(); err != nil {
			t.Error(err)
		}
		if _, err := tx.Get([]byte("key-01")); !errors.Is(err, ErrNotFound) {
			inside = append(inside, "key-01 still there")
		}
		if _, err := tx.Get([]byte("before")); !errors.Is(err, ErrNotFound) {
			inside = append(inside, "a write before the flush still there")
		}
		tx.Set([]byte("key-01"), []byte("after"), SetOptions{})
		tx.Set([]byte("other"), []byte("y"), SetOptions{})
		tx.Del([]byte("other"))
		if n := tx.DBSize(); n != 1 {
			inside = append(inside, fmt.Sprintf("dbsize %d", n))
		}
		if keys, _ := tx.Keys(nil); len(keys) != 1 {
			inside = append(inside, fmt.Sprintf("keys %q", keys))
		}
		if _, keys, _ := tx.Scan(0, nil, 100); len(keys) != 1 {
			inside = append(inside, fmt.Sprintf("scan %q", keys))
		}
	})
	if err != nil || !ran || len(inside) > 0 {
		t.Fatalf("transaction: ran %v, err %v, inside: %v", ran, err, inside)
	}
	want := map[string]string{"key-01": "after"}
	checkData(t, db, want)
	db.Close()
	db = openMem(t, fs, Options{NoHousekeeper: true})
	defer db.Close()
	checkData(t, db, want)
}

// TestCrashAtEveryFlushTransactionStep: a power cut at any step of an
// EXEC that flushes and writes leaves all of it or none.
func TestCrashAtEveryFlushTransactionStep(t *testing.T) {
	run := func(db *DB) error {
		_, err := db.Atomic(nil, func(tx *Tx) {
			tx.FlushAll()
			tx.Set([]byte("key-01"), []byte("after"), SetOptions{})
			tx.Set([]byte("key-02"), []byte("after"), SetOptions{})
		})
		return err
	}
	for at := 1; ; at++ {
		mem := vfs.NewMem()
		var armed, crashed atomic.Bool
		var n atomic.Int64
		fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
			if !armed.Load() {
				return nil
			}
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
		db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
		before := fill(t, db)
		armed.Store(true)
		err := run(db)
		if crashed.Load() {
			db.abandon()
		} else {
			db.Close()
		}
		db2, oerr := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if oerr != nil {
			t.Fatalf("power cut at operation %d: reopen: %v", at, oerr)
		}
		after := map[string]string{"key-01": "after", "key-02": "after"}
		if db2.DBSize() == 2 {
			checkData(t, db2, after)
		} else if err != nil {
			checkData(t, db2, before)
		} else {
			t.Fatalf("power cut at operation %d: EXEC succeeded but %d keys", at, db2.DBSize())
		}
		db2.Close()
		if !crashed.Load() {
			if at < 3 {
				t.Fatalf("the EXEC took only %d file operations", at)
			}
			return
		}
	}
}

// TestWatchSeesFlush: a FLUSHALL is a change of every watched key that
// existed, and of no key that was missing or had already expired when
// watched (Redis 7.0's touchAllWatchedKeysInDb).
func TestWatchSeesFlush(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(1_800_000_000_000)
	db := openMem(t, vfs.NewMem(), Options{Clock: clock.Now, ExpiryInterval: -1, NoHousekeeper: true})
	defer db.Close()
	mustSet(t, db, "live", "1")
	if _, err := db.Set([]byte("gone"), []byte("1"), SetOptions{ExpireAt: clock.ms.Load() + 10}); err != nil {
		t.Fatal(err)
	}
	clock.ms.Add(20) // "gone" has expired, not yet removed
	for _, tc := range []struct {
		key     string
		changed bool
	}{{"live", true}, {"missing", false}, {"gone", false}} {
		vs, err := db.Watch([]byte(tc.key))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.FlushAll(); err != nil {
			t.Fatal(err)
		}
		ran, err := db.Atomic(vs, func(tx *Tx) {})
		db.Unwatch(vs)
		if err != nil || ran == tc.changed {
			t.Fatalf("WATCH %s, FLUSHALL, EXEC: ran %v, err %v; want ran %v", tc.key, ran, err, !tc.changed)
		}
		mustSet(t, db, "live", "1")
		if _, err := db.Set([]byte("gone"), []byte("1"), SetOptions{ExpireAt: clock.ms.Load() + 10}); err != nil {
			t.Fatal(err)
		}
		clock.ms.Add(20)
	}
}

// TestReplicaAppliesFlush: a replica applies a leader's flush record as
// the leader did, and a feed from before a flush whose earlier log is no
// longer retained starts at the flush instead of asking for a full sync.
func TestReplicaAppliesFlush(t *testing.T) {
	leader := openMem(t, vfs.NewMem(), Options{SegmentSize: 1024, NoHousekeeper: true, Backlog: Backlog{Bytes: -1}})
	defer leader.Close()
	fill(t, leader)
	if _, err := leader.Merge(); err != nil { // retires the log, and no backlog keeps it
		t.Fatal(err)
	}
	if _, err := leader.Feed(1); !errors.Is(err, ErrNotRetained) {
		t.Fatalf("feed after seq 1 before the flush: %v, want ErrNotRetained", err)
	}
	if err := leader.FlushAll(); err != nil {
		t.Fatal(err)
	}
	mustSet(t, leader, "key-05", "after")
	feed, err := leader.Feed(1)
	if err != nil {
		t.Fatalf("feed after seq 1 past a flush: %v", err)
	}
	defer feed.Close()
	replica := openMem(t, vfs.NewMem(), Options{Replica: true, NoHousekeeper: true})
	defer replica.Close()
	if err := replica.Apply([]segment.Record{{Type: segment.TypeSet, Seq: 1, Key: []byte("stale"), Value: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	buf, _, err := feed.Next(t.Context(), nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var batch []segment.Record
	for len(buf) > 0 {
		r, n, err := segment.DecodeRecord(buf, segment.FormatLimits)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, r)
		buf = buf[n:]
		if !r.More {
			if err := replica.Apply(batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	want := map[string]string{"key-05": "after"}
	checkData(t, replica, want)
	if replica.LastSeq() != leader.LastSeq() {
		t.Fatalf("replica at seq %d, leader at %d", replica.LastSeq(), leader.LastSeq())
	}
	if err := replica.Apply([]segment.Record{{Type: segment.TypeSet, Seq: leader.LastSeq() + 1, Key: []byte("a")},
		{Type: segment.TypeFlush, Seq: leader.LastSeq() + 2}}); err == nil {
		t.Fatal("a batch with a flush record second was applied")
	}
}

// TestFullSyncAfterFlush: a full sync of a leader that flushed since its
// last merge sends no snapshot (it is dead) but the log from the flush on,
// and the follower holds exactly the leader's keys, across a restart.
func TestFullSyncAfterFlush(t *testing.T) {
	leader := openMem(t, vfs.NewMem(), Options{SegmentSize: 1024, NoHousekeeper: true})
	defer leader.Close()
	fill(t, leader)
	if _, err := leader.Merge(); err != nil {
		t.Fatal(err)
	}
	fill(t, leader)
	if err := leader.FlushAll(); err != nil {
		t.Fatal(err)
	}
	flushSeq := leader.LastSeq()
	want := map[string]string{"key-04": "after"}
	mustSet(t, leader, "key-04", "after")
	s, err := leader.FullSync()
	if err != nil {
		t.Fatal(err)
	}
	if s.Keys() != 0 || s.Covered != flushSeq-1 {
		t.Fatalf("full sync after a flush: %d snapshot keys, covered seq %d; want none, and the seq before the flush's (%d)",
			s.Keys(), s.Covered, flushSeq)
	}
	s.Close()
	fs := vfs.NewMem()
	follower := openMem(t, fs, Options{Replica: true, NoHousekeeper: true})
	mustApply := func(seq uint64, k string) {
		if err := follower.Apply([]segment.Record{{Type: segment.TypeSet, Seq: seq, Key: []byte(k), Value: []byte("own")}}); err != nil {
			t.Fatal(err)
		}
	}
	mustApply(1, "own")
	fullSync(t, leader, follower)
	checkData(t, follower, want)
	if _, err := follower.Get([]byte("own")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the follower's own key survived the full sync: %v", err)
	}
	follower.Close()
	follower = openMem(t, fs, Options{Replica: true, NoHousekeeper: true})
	defer follower.Close()
	checkData(t, follower, want)
	if follower.LastSeq() != leader.LastSeq() {
		t.Fatalf("follower at seq %d after a restart, leader at %d", follower.LastSeq(), leader.LastSeq())
	}
}

// TestFailedFlushShowsNothing: when the log fails at any fsync of a
// FLUSHALL (the seal of the old segment, the new one's header, the flush
// record), FLUSHALL fails, every key still reads as before, and a restart
// finds them all: the keydir is cleared only for a durable flush.
func TestFailedFlushShowsNothing(t *testing.T) {
	for at := 1; ; at++ {
		mem := vfs.NewMem()
		var armed atomic.Bool
		var n atomic.Int64
		fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
			if armed.Load() && op == vfs.OpSync && n.Add(1) == int64(at) {
				return fmt.Errorf("injected fsync failure of %s", path)
			}
			return nil
		})
		db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
		want := fill(t, db)
		armed.Store(true)
		err := db.FlushAll()
		if err == nil {
			db.Close()
			if at < 3 {
				t.Fatalf("a flush took only %d fsyncs", at-1)
			}
			return
		}
		if !errors.Is(err, ErrLogFailed) {
			t.Fatalf("fsync %d failed: FLUSHALL: %v, want ErrLogFailed", at, err)
		}
		checkData(t, db, want)
		db.Close()
		db = openMem(t, mem, Options{NoHousekeeper: true})
		checkData(t, db, want)
		db.Close()
	}
}

// TestGoldenDataDirV2 opens a data directory as a pykv that flushed wrote
// it (a snapshot and segments of version 1, then a FLUSHALL's version 2
// segment and writes after it) and finds exactly the writes after the
// flush. The directory was written with -update and is kept as it
// is: a later pykv must read it.
func TestGoldenDataDirV2(t *testing.T) {
	dir := filepath.Join("testdata", "v2")
	if *updateGolden {
		os.RemoveAll(dir)
		clock := &fakeClock{}
		clock.ms.Store(1_800_000_000_000)
		db, err := Open(dir, Options{Logger: quiet(), Clock: clock.Now, ExpiryInterval: -1, NoHousekeeper: true})
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, db, "greeting", "hello")
		db.MSet([]byte("a"), []byte("1"), []byte("b"), []byte("2"))
		if _, err := db.Merge(); err != nil { // a snapshot, then more log
			t.Fatal(err)
		}
		mustSet(t, db, "before", "flush")
		if err := db.FlushAll(); err != nil {
			t.Fatal(err)
		}
		mustSet(t, db, "after", "flush")
		db.Set([]byte("session"), []byte("abc"), SetOptions{ExpireAt: 4_000_000_000_000})
		db.Close()
		os.Remove(filepath.Join(dir, lockFile))
	}
	var versions []uint16
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir() // opening writes: work on a copy
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644)
		if filepath.Ext(e.Name()) == ".log" {
			h, err := segmentHeader(vfs.Default, filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			versions = append(versions, h.Version)
		}
	}
	if fmt.Sprint(versions) != "[1 2]" {
		t.Fatalf("golden directory's segments have versions %v; want a version 1 one, then the flush's", versions)
	}
	db, err := Open(tmp, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustGet(t, db, "after", "flush")
	mustGet(t, db, "session", "abc")
	for _, k := range []string{"greeting", "a", "b", "before"} {
		if _, err := db.Get([]byte(k)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("flushed key %s: %v", k, err)
		}
	}
	if db.DBSize() != 2 || db.recovery.snapshotKeys != 0 {
		t.Fatalf("dbsize %d, %d keys from the snapshot; want 2 and none (the flush made it dead)", db.DBSize(), db.recovery.snapshotKeys)
	}
}

// TestFlushedDirectoryIsVersion1AfterMerge: once a merge has folded the
// flush's segment into a snapshot and a restart has removed what the
// snapshot covers, a flushed directory holds version 1 segments only
// again (docs/operations.md says a downgrade is possible then).
func TestFlushedDirectoryIsVersion1AfterMerge(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	fill(t, db)
	if err := db.FlushAll(); err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "key-01", "after")
	versions := func() []uint16 {
		var vs []uint16
		for _, name := range dataFiles(t, fs) {
			if filepath.Ext(name) == ".log" {
				h, err := segmentHeader(fs, filepath.Join("/data", name))
				if err != nil {
					t.Fatal(err)
				}
				vs = append(vs, h.Version)
			}
		}
		return vs
	}
	if !slices.Contains(versions(), segment.VersionFlush) {
		t.Fatalf("after a flush the segments have versions %v; want one of version 2", versions())
	}
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openMem(t, fs, Options{NoHousekeeper: true})
	checkData(t, db, map[string]string{"key-01": "after"})
	db.Close()
	if vs := versions(); slices.Contains(vs, segment.VersionFlush) {
		t.Fatalf("after a merge and a restart the segments have versions %v; want version 1 only", vs)
	}
}
