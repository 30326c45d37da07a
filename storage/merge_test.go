package storage

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// fill writes a data set spread over several segments: keys overwritten,
// deleted, and some with an expiry. It returns what must be read back.
func fill(t *testing.T, db *DB) map[string]string {
	t.Helper()
	want := map[string]string{}
	for round := 0; round < 3; round++ {
		for i := 0; i < 40; i++ {
			k, v := fmt.Sprintf("key-%02d", i), fmt.Sprintf("value-%d-%d", round, i)
			mustSet(t, db, k, v)
			want[k] = v
		}
	}
	for i := 0; i < 40; i += 5 {
		k := fmt.Sprintf("key-%02d", i)
		if _, err := db.Del([]byte(k)); err != nil {
			t.Fatal(err)
		}
		delete(want, k)
	}
	now := db.nowMs()
	for i := 1; i < 40; i += 7 {
		k := fmt.Sprintf("key-%02d", i)
		if _, err := db.Expire([]byte(k), now+1_000_000); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func checkData(t *testing.T, db *DB, want map[string]string) {
	t.Helper()
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("key-%02d", i)
		v, err := db.Get([]byte(k))
		w, ok := want[k]
		if ok != (err == nil) || (ok && string(v) != w) {
			t.Fatalf("key %s: %q, %v; want %q (present %v)", k, v, err, w, ok)
		}
	}
	if n := db.DBSize(); n != int64(len(want)) {
		t.Fatalf("dbsize %d, want %d", n, len(want))
	}
}

func TestMergeThenRestartFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: quiet(), SegmentSize: 1024, NoHousekeeper: true}
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := fill(t, db)
	before := db.Stats()
	st, err := db.Merge()
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != uint64(len(want)) || st.Reclaimed <= 0 || st.Files < 3 {
		t.Fatalf("merge stats %+v; want %d keys, bytes reclaimed, several files", st, len(want))
	}
	after := db.Stats()
	if after.Snapshots != 1 || after.Segments != 1 || after.DiskBytes >= before.DiskBytes {
		t.Fatalf("after merge: %d snapshots, %d segments, %d bytes (before %d)", after.Snapshots, after.Segments, after.DiskBytes, before.DiskBytes)
	}
	// Overwrites and deletes made dead bytes; the merge reclaimed them.
	if before.DeadBytes <= 0 || after.DeadBytes >= before.DeadBytes || after.LiveBytes <= 0 {
		t.Fatalf("dead bytes %d before the merge, %d after (live %d)", before.DeadBytes, after.DeadBytes, after.LiveBytes)
	}
	checkData(t, db, want)
	checkIndexInHashOrder(t, db, st.Snapshot)
	db.Close()

	db, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.recovery.snapshotKeys != int64(len(want)) || db.recovery.records != 0 {
		t.Fatalf("restart loaded %d keys from the snapshot and replayed %d records", db.recovery.snapshotKeys, db.recovery.records)
	}
	checkData(t, db, want) // cold reads through the mapping
	if ttl, _ := db.PTTL([]byte("key-01")); ttl <= 0 {
		t.Fatalf("expiry lost in the snapshot: pttl %d", ttl)
	}
	// A second merge folds the snapshot with newer segments.
	mustSet(t, db, "key-02", "newer")
	want["key-02"] = "newer"
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	checkData(t, db, want)
	if st := db.Stats(); st.Snapshots != 1 {
		t.Fatalf("%d snapshots after the second merge", st.Snapshots)
	}
}

// checkIndexInHashOrder checks that the snapshot at path lists its keys in
// the keydir's hash order, the order start-up loads fastest in.
func checkIndexInHashOrder(t *testing.T, db *DB, path string) {
	t.Helper()
	s, err := snapshot.Open(vfs.Default, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var prev uint64
	n := 0
	err = s.Index(segment.DefaultMaxKey, func(e snapshot.IndexEntry) error {
		h := db.keydir.Hash(e.Key)
		if n > 0 && h < prev {
			return fmt.Errorf("index entry %d, key %q, hash %#x after %#x", n, e.Key, h, prev)
		}
		prev = h
		n++
		return nil
	})
	if err != nil || n < 2 {
		t.Fatalf("%s: %d entries: %v", path, n, err)
	}
}

// TestWriteDuringMergeWins: a key written or deleted while a merge runs
// keeps its newer state; the merge never moves it backwards (invariant 7).
func TestWriteDuringMergeWins(t *testing.T) {
	var db *DB
	var once sync.Once
	fs := vfs.Inject(vfs.NewMem(), func(op vfs.Op, path string) error {
		if op == vfs.OpRename && strings.HasSuffix(path, snapshot.Ext+".tmp") {
			// The merge has chosen its records and is about to publish
			// the snapshot: write over one of them, delete another.
			once.Do(func() {
				if _, err := db.Set([]byte("key-03"), []byte("written during merge"), SetOptions{}); err != nil {
					t.Error(err)
				}
				if _, err := db.Del([]byte("key-04")); err != nil {
					t.Error(err)
				}
			})
		}
		return nil
	})
	db = openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	want := fill(t, db)
	want["key-03"] = "written during merge"
	delete(want, "key-04")
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	checkData(t, db, want)
	if e, _ := db.keydir.Get([]byte("key-03")); e.FileID&snapFlag != 0 {
		t.Fatal("key-03 was repointed at the snapshot's older version")
	}
	db.Close()
	db = openMem(t, fs, Options{NoHousekeeper: true})
	defer db.Close()
	checkData(t, db, want)
}

// TestMergeUnderLoad merges again and again while writers and readers run
// (with -race), then checks the engine against what the writers did.
func TestMergeUnderLoad(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet(), SegmentSize: 4096, Sync: 1, MergeSealedSegments: 2, MergeMinInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	const writers, keysEach, ops = 4, 30, 1500
	final := make([]map[string]string, writers)
	var done atomic.Bool
	var wg, readers sync.WaitGroup
	for w := 0; w < writers; w++ {
		final[w] = map[string]string{}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < ops; i++ {
				k := fmt.Sprintf("w%d-%d", w, rng.Intn(keysEach))
				if rng.Intn(5) == 0 {
					if _, err := db.Del([]byte(k)); err != nil {
						t.Error(err)
						return
					}
					delete(final[w], k)
					continue
				}
				v := fmt.Sprintf("%d-%d", w, i)
				if _, err := db.Set([]byte(k), []byte(v), SetOptions{}); err != nil {
					t.Error(err)
					return
				}
				final[w][k] = v
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func(r int) {
			defer readers.Done()
			rng := rand.New(rand.NewSource(int64(100 + r)))
			for !done.Load() {
				k := fmt.Sprintf("w%d-%d", rng.Intn(writers), rng.Intn(keysEach))
				if _, err := db.Get([]byte(k)); err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("get %s during merges: %v", k, err)
					return
				}
			}
		}(r)
	}
	merges := 0
	for !done.Load() {
		if _, err := db.Merge(); err != nil && !errors.Is(err, ErrMergeRunning) {
			t.Fatal(err)
		}
		merges++
		if merges%4 == 0 {
			wg.Wait()
			done.Store(true)
		}
	}
	readers.Wait()
	check := func(db *DB) {
		for w := 0; w < writers; w++ {
			for i := 0; i < keysEach; i++ {
				k := fmt.Sprintf("w%d-%d", w, i)
				v, err := db.Get([]byte(k))
				want, ok := final[w][k]
				if ok != (err == nil) || (ok && string(v) != want) {
					t.Fatalf("%s: %q, %v; want %q (present %v)", k, v, err, want, ok)
				}
			}
		}
	}
	check(db)
	dir := db.Dir()
	db.Close()
	db, err = Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db)
}

// TestCrashAtEveryMergeStep fails the merge at each of its file operations
// in turn, with a simulated power loss at that instant: the directory opens
// to exactly the acknowledged data every time.
func TestCrashAtEveryMergeStep(t *testing.T) {
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
		want := fill(t, db)
		armed.Store(true)
		return mem, db, want
	}
	// Count the operations of one merge.
	var ops atomic.Int64
	_, db, _ := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	total := int(ops.Load())
	if total < 10 {
		t.Fatalf("a merge took only %d file operations", total)
	}
	for at := 1; at <= total; at++ {
		var n atomic.Int64
		var mem *vfs.Mem
		var crashed atomic.Bool
		mem, db, want := setup(func(op vfs.Op, path string) error {
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
		db.Merge() // fails at step at
		if crashed.Load() {
			db.abandon()
		} else {
			db.Close() // the cut would have come after the merge
		}
		db2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("power cut at operation %d of %d: reopen: %v", at, total, err)
		}
		checkData(t, db2, want)
		db2.Close()
		if rep := Check("/data", Options{FS: mem}, nil); len(rep.Problems) > 0 || rep.Torn != nil {
			t.Fatalf("power cut at operation %d: check: %v %v", at, rep.Problems, rep.Torn)
		}
	}
}

// TestMergeKeepsDurableVersionUntilNewerIsDurable: a merge that skips a
// durable version because a newer, not yet durable one replaced it must
// not publish before the newer one is durable; else a power cut after the
// merge loses both.
func TestMergeKeepsDurableVersionUntilNewerIsDurable(t *testing.T) {
	mem := vfs.NewMem()
	var db *DB
	var d *Deferred
	var once sync.Once
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if op == vfs.OpCreate && strings.HasSuffix(path, snapshot.Ext+".tmp") {
			once.Do(func() {
				// Appended, not waited for: the client has no reply yet.
				if _, err := d.Set([]byte("key-03"), []byte("v2"), SetOptions{}); err != nil {
					t.Error(err)
				}
			})
		}
		return nil
	})
	db = openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true})
	d = db.Deferred()
	fill(t, db) // key-03 is durable with an older value
	db.wmu.Lock()
	db.log.Rotate(db.seq + 1) // seal everything, as the housekeeper finds it
	db.wmu.Unlock()
	if _, err := db.mergeSealed(true); err != nil {
		t.Fatal(err)
	}
	db.abandon()
	mem.Crash()
	db = openMem(t, mem, Options{NoHousekeeper: true})
	defer db.Close()
	if v, err := db.Get([]byte("key-03")); err != nil {
		t.Fatalf("key-03 lost by a merge and a power cut: %v (had a durable value, then v2 pending)", err)
	} else if string(v) != "v2" {
		t.Logf("key-03 = %q after the power cut", v)
	}
}

// TestCloseWaitsForReaderOfASnapshot: Close does not unmap a snapshot a
// reader still holds (a request cut off by a shutdown deadline); the
// reader's release does.
func TestCloseWaitsForReaderOfASnapshot(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet(), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "k", "mapped value")
	st, err := db.Merge()
	if err != nil {
		t.Fatal(err)
	}
	e, _ := db.keydir.Get([]byte("k"))
	df, err := db.files.acquire(e.FileID)
	if err != nil || df.snap == nil {
		t.Fatalf("acquire the snapshot %s: %v", st.Snapshot, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := df.snap.RecordAt(&snapshot.IndexEntry{Key: []byte("k"), Offset: e.Offset, Size: e.Size, Seq: e.Seq}, segment.DefaultLimits()) // would fault if unmapped
	if err != nil || string(r.Value) != "mapped value" {
		t.Fatalf("%q %v", r.Value, err)
	}
	db.files.release(df)
}

// TestMergeThatCannotRepointKeepsFiles: when reading the new snapshot's
// index fails while keys are being repointed to it, the merge reports an
// error and keeps the files it merged, so every key stays readable; no
// merge runs until a restart, which completes the merge.
func TestMergeThatCannotRepointKeepsFiles(t *testing.T) {
	var armed atomic.Bool
	var snapReads atomic.Int64
	fs := vfs.Inject(vfs.NewMem(), func(op vfs.Op, path string) error {
		// The merge reads the new .snap three times: to map it, to check
		// its index at Open, and to repoint the keys. Fail the third.
		if armed.Load() && op == vfs.OpRead && strings.HasSuffix(path, ".snap") && snapReads.Add(1) == 3 {
			return errors.New("injected read error")
		}
		return nil
	})
	opts := Options{SegmentSize: 1024, NoHousekeeper: true, CacheBytes: -1}
	db := openMem(t, fs, opts)
	want := fill(t, db)
	armed.Store(true)
	if _, err := db.Merge(); err == nil || !strings.Contains(err.Error(), "injected read error") {
		t.Fatalf("merge: %v, want the injected error", err)
	}
	armed.Store(false)
	checkData(t, db, want) // cold reads: some from the snapshot, some from the kept files
	if _, err := db.Merge(); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("second merge: %v, want an error saying a restart is needed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openMem(t, fs, opts)
	defer db.Close()
	checkData(t, db, want)
	if _, err := db.Merge(); err != nil {
		t.Fatalf("merge after restart: %v", err)
	}
	checkData(t, db, want)
}

// TestMergeAndExpiryShareOneNow: the merge decides with one reading of the
// clock that a key has expired and so does not copy it; the delete it then
// logs must be decided with that same reading. With a wall clock that
// steps back between two readings, a second reading would find the key
// alive and keep it, pointing at a file the merge removes: neither copied
// nor deleted.
func TestMergeAndExpiryShareOneNow(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_000)
	expireAt := base.Add(time.Hour)
	var stepping atomic.Bool
	var calls atomic.Int64
	clock := func() time.Time {
		if !stepping.Load() {
			return base
		}
		// From just past the expiry, an hour further back at every reading.
		return expireAt.Add(30*time.Minute - time.Duration(calls.Add(1)-1)*time.Hour)
	}
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{Clock: clock, NoHousekeeper: true, ExpiryInterval: -1})
	if _, err := db.Set([]byte("ttl"), []byte("v"), SetOptions{ExpireAt: expireAt.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "plain", "p")
	stepping.Store(true)
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("ttl")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GET of the key the merge found expired = %q, %v; want ErrNotFound (deleted, not left pointing at a merged file)", v, err)
	}
	mustGet(t, db, "plain", "p")
	db.Close()
	db = openMem(t, fs, Options{Clock: clock, NoHousekeeper: true, ExpiryInterval: -1})
	defer db.Close()
	if v, err := db.Get([]byte("ttl")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after restart: GET = %q, %v; want ErrNotFound", v, err)
	}
	mustGet(t, db, "plain", "p")
}

// TestMergeStatsSayBeforeAndAfter: the engine's merge figures are the
// bytes read and written, whose difference is negative when a merge grew
// the files (a tiny segment becomes a snapshot with an index and a footer),
// never a reclaimed count that hides it.
func TestMergeStatsSayBeforeAndAfter(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{NoHousekeeper: true})
	defer db.Close()
	mustSet(t, db, "k", "v")
	st, err := db.Merge()
	if err != nil {
		t.Fatal(err)
	}
	s := db.Stats()
	if s.MergeRead != st.BytesRead || s.MergeWritten != st.BytesWritten || s.MergeRead <= 0 || s.MergeWritten <= 0 {
		t.Fatalf("stats read %d written %d, the merge read %d and wrote %d", s.MergeRead, s.MergeWritten, st.BytesRead, st.BytesWritten)
	}
	if s.MergeReclaimed != s.MergeRead-s.MergeWritten || s.MergeReclaimed >= 0 {
		t.Fatalf("reclaimed %d, want read-written = %d, negative for a merge that grew the files", s.MergeReclaimed, s.MergeRead-s.MergeWritten)
	}
}
