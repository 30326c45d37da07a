package storage

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

var updateGolden = flag.Bool("update", false, "rewrite golden data under testdata/")

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openMem(t *testing.T, fs vfs.FS, opts Options) *DB {
	t.Helper()
	opts.FS = fs
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	db, err := Open("/data", opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustSet(t *testing.T, db *DB, k, v string) {
	t.Helper()
	if _, err := db.Set([]byte(k), []byte(v), SetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, db *DB, k, want string) {
	t.Helper()
	v, err := db.Get([]byte(k))
	if err != nil || string(v) != want {
		t.Fatalf("get %q = %q, %v; want %q", k, v, err, want)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Open(dir, Options{Logger: quiet()})
	if !errors.Is(err, vfs.ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

func TestDatasetIDSurvivesRestart(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	id := db.DatasetID()
	db.Close()
	db = openMem(t, fs, Options{})
	defer db.Close()
	if len(id) != 32 || db.DatasetID() != id {
		t.Fatalf("dataset id %q then %q", id, db.DatasetID())
	}
	other := openMemAt(t, vfs.NewMem())
	defer other.Close()
	if other.DatasetID() == id {
		t.Fatal("two directories got the same dataset id")
	}
}

func openMemAt(t *testing.T, fs vfs.FS) *DB { return openMem(t, fs, Options{}) }

// TestSeqNeverGoesBack: seqs grow across writes, restarts and crashes,
// including a crash that cuts the log's tail.
func TestSeqNeverGoesBack(t *testing.T) {
	fs := vfs.NewMem()
	var last uint64
	for round := 0; round < 6; round++ {
		db := openMem(t, fs, Options{SegmentSize: 300, NoHousekeeper: true})
		if s := db.Stats().LastSeq; s < last {
			t.Fatalf("round %d: last seq %d after reopen, was %d", round, s, last)
		}
		for i := 0; i < 20; i++ {
			mustSet(t, db, fmt.Sprintf("k%d", i%5), "v")
			s := db.Stats().LastSeq
			if s <= last {
				t.Fatalf("seq %d after seq %d", s, last)
			}
			last = s
		}
		switch round % 3 {
		case 0:
			db.Close()
		case 1:
			db.abandon()
			fs.Crash()
		case 2: // a merge folds every seq into a snapshot
			if _, err := db.Merge(); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
	}
}

// TestRecordsHoldResults: INCR logs the value it produced and a TTL is
// logged as an absolute unix-ms time, so a replay never re-executes.
func TestRecordsHoldResults(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	db := openMem(t, fs, Options{Clock: clock.Now, ExpiryInterval: -1})
	mustSet(t, db, "n", "41")
	if _, err := db.IncrBy([]byte("n"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Expire([]byte("n"), clock.ms.Load()+5000); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var recs []segment.Record
	names, _ := fs.List("/data")
	for _, name := range names {
		if _, ok := segment.ParseFileName(name); !ok {
			continue
		}
		it, err := segment.ReadFile(fs, "/data/"+name, segment.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			recs = append(recs, it.Record())
		}
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if string(recs[1].Value) != "42" || recs[1].Type != segment.TypeSet {
		t.Fatalf("INCR logged %q, want the result 42", recs[1].Value)
	}
	if recs[2].ExpireAt != 1_005_000 || string(recs[2].Value) != "42" {
		t.Fatalf("EXPIRE logged expire_at %d value %q, want absolute 1005000", recs[2].ExpireAt, recs[2].Value)
	}
	// Replay later, when the clock has moved: the result is the same.
	clock.Advance(1000)
	db = openMem(t, fs, Options{Clock: clock.Now, ExpiryInterval: -1})
	defer db.Close()
	mustGet(t, db, "n", "42")
	if ttl, _ := db.PTTL([]byte("n")); ttl != 4000 {
		t.Fatalf("pttl after replay %d, want 4000", ttl)
	}
}

// TestCacheEvictionLosesNothing: with a cache far smaller than the data,
// every key is still read back, from disk, and promoted.
func TestCacheEvictionLosesNothing(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{CacheBytes: 4096, SegmentSize: 8192})
	defer db.Close()
	const n = 500
	for i := 0; i < n; i++ {
		mustSet(t, db, fmt.Sprintf("key-%d", i), strings.Repeat(fmt.Sprint(i%10), 100))
	}
	for i := 0; i < n; i++ {
		mustGet(t, db, fmt.Sprintf("key-%d", i), strings.Repeat(fmt.Sprint(i%10), 100))
	}
	st := db.Stats()
	if st.CacheMisses == 0 || st.CacheBytes > 4096 {
		t.Fatalf("cache misses %d, bytes %d: the cache did not evict", st.CacheMisses, st.CacheBytes)
	}
	before := st.CacheHits
	mustGet(t, db, "key-499", strings.Repeat("9", 100))
	if db.Stats().CacheHits != before+1 {
		t.Fatal("a value read from disk was not promoted into the cache")
	}
}

// TestColdGetAfterRestart: values are not loaded at recovery; a Get reads
// them from disk.
func TestColdGetAfterRestart(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	mustSet(t, db, "k", "cold value")
	db.Close()
	db = openMem(t, fs, Options{})
	defer db.Close()
	if st := db.Stats(); st.CacheBytes != 0 || st.Keys != 1 {
		t.Fatalf("after recovery: cache %d bytes, %d keys", st.CacheBytes, st.Keys)
	}
	mustGet(t, db, "k", "cold value")
	if db.Stats().CacheMisses != 1 {
		t.Fatal("cold get did not miss the cache")
	}
}

// newestSegment returns the path of the newest segment with records.
func segments(t *testing.T, fs vfs.FS) []string {
	names, err := fs.List("/data")
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, n := range names {
		if _, ok := segment.ParseFileName(n); ok {
			segs = append(segs, "/data/"+n)
		}
	}
	return segs
}

// TestTornTailEveryOffset: cut the newest segment at every byte offset of
// its last records; Open recovers exactly the whole records before the cut.
func TestTornTailEveryOffset(t *testing.T) {
	base := vfs.NewMem()
	db := openMem(t, base, Options{})
	const n = 5
	for i := 0; i < n; i++ {
		mustSet(t, db, fmt.Sprintf("k%d", i), fmt.Sprintf("value-%d", i))
	}
	db.Close()
	segs := segments(t, base)
	path := segs[len(segs)-1]
	full, _ := base.ReadFile(path)
	// Record ends: walk the file.
	it, _ := segment.NewIterator(path, full, segment.DefaultLimits())
	var ends []int
	for it.Next() {
		ends = append(ends, int(it.End()))
	}
	for cut := ends[1]; cut <= len(full); cut++ {
		fs := vfs.NewMem()
		for _, name := range []string{"DATASET", filepath.Base(path)} {
			b, _ := base.ReadFile("/data/" + name)
			fs.WriteFile("/data/"+name, b)
		}
		fs.MkdirAll("/data", 0o755)
		fs.WriteFile(path, append(full[:cut:cut], make([]byte, 7)...))
		whole := 0
		for whole < len(ends) && ends[whole] <= cut {
			whole++
		}
		db := openMem(t, fs, Options{})
		for i := 0; i < n; i++ {
			_, err := db.Get([]byte(fmt.Sprintf("k%d", i)))
			if (i < whole) != (err == nil) {
				t.Fatalf("cut at %d: key k%d present=%v, want %v", cut, i, err == nil, i < whole)
			}
		}
		db.Close()
		if size, _ := fs.Stat(path); int(size) != ends[whole-1] {
			t.Fatalf("cut at %d: segment is %d bytes after recovery, want %d", cut, size, ends[whole-1])
		}
	}
}

// TestBitFlipInMiddleStopsOpen: damage followed by valid records stops
// Open with the file and offset; Repair cuts it and keeps the bytes.
func TestBitFlipInMiddleStopsOpen(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	for i := 0; i < 5; i++ {
		mustSet(t, db, fmt.Sprintf("k%d", i), "value")
	}
	db.Close()
	path := segments(t, fs)[0]
	b, _ := fs.ReadFile(path)
	it, _ := segment.NewIterator(path, b, segment.DefaultLimits())
	it.Next()
	it.Next()
	off := it.End() // start of the third record
	b[off+30] ^= 0x01
	fs.WriteFile(path, b)
	_, err := Open("/data", Options{FS: fs, Logger: quiet()})
	want := fmt.Sprintf("%s at offset %d", path, off)
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, segment.ErrCorrupt) || !strings.Contains(err.Error(), want) {
		t.Fatalf("open of damaged log: %v; want ErrDamaged naming %q", err, want)
	}
	db, err = Open("/data", Options{FS: fs, Logger: quiet(), Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustGet(t, db, "k1", "value")
	if _, err := db.Get([]byte("k2")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k2 after repair: %v", err)
	}
	if kept, _ := fs.ReadFile(path + ".broken"); int64(len(kept)) != int64(len(b))-off {
		t.Fatalf(".broken holds %d bytes, want %d", len(kept), int64(len(b))-off)
	}
}

// TestIncompleteBatchIsDropped: an MSET cut mid-batch by a crash comes back
// all or nothing.
func TestIncompleteBatchIsDropped(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	mustSet(t, db, "before", "1")
	if err := db.MSet([]byte("a"), []byte("1"), []byte("b"), []byte("2"), []byte("c"), []byte("3")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	path := segments(t, fs)[0]
	full, _ := fs.ReadFile(path)
	it, _ := segment.NewIterator(path, full, segment.DefaultLimits())
	var ends []int
	for it.Next() {
		ends = append(ends, int(it.End()))
	}
	// Cut exactly after the batch's first and second records: whole records,
	// but an incomplete batch.
	for _, cut := range ends[1:3] {
		fs2 := vfs.NewMem()
		fs2.MkdirAll("/data", 0o755)
		ds, _ := fs.ReadFile("/data/DATASET")
		fs2.WriteFile("/data/DATASET", ds)
		fs2.WriteFile(path, full[:cut])
		db := openMem(t, fs2, Options{})
		n, _ := db.Exists([]byte("a"), []byte("b"), []byte("c"))
		if n != 0 {
			t.Fatalf("cut at %d: %d keys of an incomplete batch survived", cut, n)
		}
		mustGet(t, db, "before", "1")
		db.Close()
	}
}

func TestNewerFormatRefused(t *testing.T) {
	fs := vfs.NewMem()
	fs.MkdirAll("/data", 0o755)
	fs.WriteFile(segment.Path("/data", 1), segment.AppendHeader(nil, segment.Header{Version: segment.Version + 1, ID: 1, FirstSeq: 1}))
	_, err := Open("/data", Options{FS: fs, Logger: quiet()})
	if !errors.Is(err, segment.ErrNewerVersion) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", segment.Version+1)) {
		t.Fatalf("open: %v", err)
	}
}

// TestGoldenDataDirV1 opens a data directory written by the first format
// version and finds exactly its data.
func TestGoldenDataDirV1(t *testing.T) {
	dir := filepath.Join("testdata", "v1")
	if *updateGolden {
		os.RemoveAll(dir)
		clock := &fakeClock{}
		clock.ms.Store(1_800_000_000_000)
		db, err := Open(dir, Options{Logger: quiet(), Clock: clock.Now, ExpiryInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, db, "greeting", "hello")
		db.Set([]byte("session"), []byte("abc"), SetOptions{ExpireAt: 4_000_000_000_000})
		db.MSet([]byte("a"), []byte("1"), []byte("b"), []byte("2"))
		if _, err := db.Merge(); err != nil { // a snapshot, then more log
			t.Fatal(err)
		}
		db.IncrBy([]byte("a"), 41)
		db.Del([]byte("b"))
		db.Close()
		os.Remove(filepath.Join(dir, lockFile))
	}
	// Work on a copy: opening writes a new segment.
	tmp := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644)
	}
	db, err := Open(tmp, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustGet(t, db, "greeting", "hello")
	mustGet(t, db, "session", "abc")
	mustGet(t, db, "a", "42")
	if _, err := db.Get([]byte("b")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key b: %v", err)
	}
	if ttl, _ := db.PTTL([]byte("session")); ttl <= 0 {
		t.Fatalf("session ttl %d", ttl)
	}
	if db.DBSize() != 3 {
		t.Fatalf("dbsize %d, want 3", db.DBSize())
	}
	if st := db.Stats(); st.Snapshots != 1 || db.recovery.snapshotKeys != 4 {
		t.Fatalf("golden directory: %d snapshots, %d keys from the snapshot; want 1 and 4", st.Snapshots, db.recovery.snapshotKeys)
	}
}

// TestSetWaitsForCoveringFsync: under SyncAlways, Set returns only after an
// fsync that covers its record (checked through the seam's record of what
// was synced).
func TestSetWaitsForCoveringFsync(t *testing.T) {
	mem := vfs.NewMem()
	db := openMem(t, mem, Options{Sync: segment.SyncAlways})
	defer db.Close()
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := []byte(fmt.Sprintf("w%d-%d", w, i))
				if _, err := db.Set(k, []byte("v"), SetOptions{}); err != nil {
					t.Error(err)
					return
				}
				e, _ := db.keydir.Get(k)
				end := int64(e.Offset) + int64(e.Size)
				if synced := mem.SyncedSize(db.segPath(e.FileID)); synced < end {
					t.Errorf("Set of %s returned with %d bytes synced, record ends at %d", k, synced, end)
				}
			}
		}(w)
	}
	wg.Wait()
}

// TestConcurrentSetsShareFsync: while one fsync runs, every other writer
// appends and waits; one more fsync then covers all of them.
func TestConcurrentSetsShareFsync(t *testing.T) {
	const writers = 32
	var armed atomic.Bool
	var syncs atomic.Int64
	var db *DB
	fs := vfs.Inject(vfs.NewMem(), func(op vfs.Op, path string) error {
		if op != vfs.OpSync || !armed.Load() {
			return nil
		}
		if syncs.Add(1) == 1 {
			// Hold the first fsync until every writer has appended.
			deadline := time.Now().Add(10 * time.Second)
			for db.writes.Load() < writers && time.Now().Before(deadline) {
				runtime.Gosched()
			}
		}
		return nil
	})
	db = openMem(t, fs, Options{Sync: segment.SyncAlways})
	defer db.Close()
	armed.Store(true)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if _, err := db.Set([]byte(fmt.Sprint("k", w)), []byte("v"), SetOptions{}); err != nil {
				t.Error(err)
			}
		}(w)
	}
	wg.Wait()
	if n := syncs.Load(); n < 1 || n > 2 {
		t.Fatalf("%d concurrent writers used %d fsyncs, want 1 or 2", writers, n)
	}
}

// TestFsyncFailureRefusesWrites: after a failed fsync, writes fail with a
// clear error until restart; reads go on.
func TestFsyncFailureRefusesWrites(t *testing.T) {
	var fail atomic.Bool
	fs := vfs.Inject(vfs.NewMem(), func(op vfs.Op, path string) error {
		if op == vfs.OpSync && fail.Load() {
			return errors.New("injected EIO")
		}
		return nil
	})
	db := openMem(t, fs, Options{})
	defer db.Close()
	mustSet(t, db, "a", "1")
	fail.Store(true)
	if _, err := db.Set([]byte("b"), []byte("2"), SetOptions{}); err == nil {
		t.Fatal("a write whose fsync failed was acknowledged")
	}
	fail.Store(false)
	_, err := db.Set([]byte("c"), []byte("3"), SetOptions{})
	if !errors.Is(err, ErrLogFailed) || !strings.Contains(err.Error(), "refuses writes until restart") {
		t.Fatalf("write after failed fsync: %v", err)
	}
	if err := db.Healthy(); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Healthy after a failed fsync: %v", err)
	}
	mustGet(t, db, "a", "1")
}

func TestActiveExpiry(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{Clock: clock.Now, ExpiryInterval: -1})
	for i := 0; i < 200; i++ {
		if _, err := db.Set([]byte(fmt.Sprintf("t%d", i)), []byte("v"), SetOptions{ExpireAt: 1_000_500}); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(t, db, "forever", "v")
	clock.Advance(1000)
	total := 0
	for i := 0; i < 100 && db.DBSize() > 1; i++ {
		total += db.ExpireCycle()
	}
	if db.DBSize() != 1 || total != 200 || db.Stats().ExpiredKeys != 200 {
		t.Fatalf("after expiry cycles: dbsize %d, removed %d, expired stat %d", db.DBSize(), total, db.Stats().ExpiredKeys)
	}
	// No client waited for the deletes: the cycle made them durable itself,
	// so nothing of them stays buffered, or in the undo log, while idle.
	if durable, applied := db.log.DurableSeq(), db.applied.Load(); durable != applied {
		t.Fatalf("after expiry cycles: durable seq %d, applied %d: the cycle's deletes are not durable", durable, applied)
	}
	mustSet(t, db, "trim", "v") // the next append drops the durable prefix
	db.wmu.Lock()
	pending := len(db.undo.recs) - db.undo.head
	db.wmu.Unlock()
	if pending > 1 {
		t.Fatalf("undo log holds %d records after the deletes became durable", pending)
	}
	db.Close()
	// Expiry was logged as deletes: after a restart with the clock set back,
	// the keys are still gone.
	clock.Advance(-1000)
	db = openMem(t, fs, Options{Clock: clock.Now, ExpiryInterval: -1})
	defer db.Close()
	if db.DBSize() != 2 { // forever and trim
		t.Fatalf("after restart: dbsize %d, want 2 (expiry must be logged)", db.DBSize())
	}
}

func TestLimitsAndErrors(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{MaxKeySize: 8, MaxValueSize: 16})
	defer db.Close()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"empty key", setErr(db, "", "v"), nil}, // a key like any other, as in Redis
		{"key too large", setErr(db, "123456789", "v"), ErrKeyTooLarge},
		{"value too large", setErr(db, "k", strings.Repeat("x", 17)), ErrValueTooLarge},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	mustGet(t, db, "", "v")
	mustSet(t, db, "s", "abc")
	if _, err := db.IncrBy([]byte("s"), 1); !errors.Is(err, ErrNotInteger) {
		t.Fatalf("incr of non-integer: %v", err)
	}
	mustGet(t, db, "s", "abc")
}

func setErr(db *DB, k, v string) error {
	_, err := db.Set([]byte(k), []byte(v), SetOptions{})
	return err
}

// TestFailedWriteIsNeverVisible: writes whose fsync (or write) failed are
// taken back: no read shows them (Get, Exists, Scan, DBSize, PTTL, the
// cache), what they replaced or deleted is back, reads of durable values go
// on, and a restart finds the same state.
func TestFailedWriteIsNeverVisible(t *testing.T) {
	for _, tc := range []struct {
		name  string
		op    vfs.Op
		sync  segment.SyncPolicy
		cache int64
	}{
		{"fsync/always/cache", vfs.OpSync, segment.SyncAlways, 0},
		{"fsync/always/nocache", vfs.OpSync, segment.SyncAlways, -1},
		{"write/always", vfs.OpWrite, segment.SyncAlways, 0},
		{"write/everysec", vfs.OpWrite, segment.SyncEverySec, 0},
		{"write/no", vfs.OpWrite, segment.SyncNo, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fail atomic.Bool
			mem := vfs.NewMem()
			fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
				if op == tc.op && fail.Load() && strings.HasSuffix(path, segment.Ext) {
					return syscall.EIO
				}
				return nil
			})
			opts := Options{CacheBytes: tc.cache, Sync: tc.sync, NoHousekeeper: true}
			db := openMem(t, fs, opts)
			mustSet(t, db, "durable", "1")
			mustSet(t, db, "overwritten", "old")
			mustSet(t, db, "deleted", "kept")
			fail.Store(true)
			if err := db.MSet([]byte("lost"), []byte("2"), []byte("overwritten"), []byte("new")); err == nil {
				t.Fatal("MSET acknowledged after a failed write")
			}
			if _, err := db.Del([]byte("deleted")); err == nil {
				t.Fatal("DEL acknowledged after a failed write")
			}
			fail.Store(false)
			check := func(when string, db *DB) {
				t.Helper()
				if _, err := db.Get([]byte("lost")); !errors.Is(err, ErrNotFound) {
					t.Fatalf("%s: GET of a failed write: %v, want ErrNotFound", when, err)
				}
				if n, err := db.Exists([]byte("lost")); err != nil || n != 0 {
					t.Fatalf("%s: EXISTS of a failed write = %d, %v; want 0", when, n, err)
				}
				if ms, err := db.PTTL([]byte("lost")); err != nil || ms != -2 {
					t.Fatalf("%s: PTTL of a failed write = %d, %v; want -2", when, ms, err)
				}
				mustGet(t, db, "durable", "1")
				mustGet(t, db, "overwritten", "old")
				mustGet(t, db, "deleted", "kept")
				vals, err := db.MGet([]byte("lost"), []byte("overwritten"), []byte("deleted"))
				if err != nil || vals[0] != nil || string(vals[1]) != "old" || string(vals[2]) != "kept" {
					t.Fatalf("%s: MGET = %q, %v; want [nil old kept]", when, vals, err)
				}
				var all []string
				for cursor := uint64(0); ; {
					next, keys, err := db.Scan(cursor, nil, 100)
					if err != nil {
						t.Fatalf("%s: SCAN: %v", when, err)
					}
					for _, k := range keys {
						all = append(all, string(k))
					}
					if cursor = next; cursor == 0 {
						break
					}
				}
				sort.Strings(all)
				if want := []string{"deleted", "durable", "overwritten"}; !slices.Equal(all, want) {
					t.Fatalf("%s: SCAN = %q, want %q", when, all, want)
				}
				if n := db.DBSize(); n != 3 {
					t.Fatalf("%s: DBSIZE = %d, want 3", when, n)
				}
			}
			check("before restart", db)
			if _, err := db.Set([]byte("more"), []byte("x"), SetOptions{}); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("write on a failed log: %v, want ErrLogFailed", err)
			}
			db.Close()
			db = openMem(t, fs, opts)
			defer db.Close()
			check("after restart", db)
		})
	}
}

// TestDeferredReadWaitsForDurability: a connection that reads another
// connection's write before it is durable must wait for it before
// replying, as a write would.
func TestDeferredReadWaitsForDurability(t *testing.T) {
	mem := vfs.NewMem()
	db := openMem(t, mem, Options{Sync: segment.SyncAlways})
	defer db.Close()
	writer, reader := db.Deferred(), db.Deferred()
	if _, err := writer.Set([]byte("k"), []byte("v"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, err := reader.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("get %q %v", v, err)
	}
	if !reader.Pending() {
		t.Fatal("a read of a version not yet durable does not make the reader wait")
	}
	if err := reader.Wait(); err != nil {
		t.Fatal(err)
	}
	e, _ := db.keydir.Get([]byte("k"))
	if synced := mem.SyncedSize(db.segPath(e.FileID)); synced < int64(e.Offset)+int64(e.Size) {
		t.Fatal("the reader's wait returned before the version it read was durable")
	}
	// Once durable, reading it again costs no wait.
	reader.Get([]byte("k"))
	if reader.Pending() {
		t.Fatal("a read of a durable version made the reader wait")
	}
}

// TestLoweredLimitKeepsOlderRecords: lowering the value limit refuses new
// large values but reads, replays and merges older ones whole.
func TestLoweredLimitKeepsOlderRecords(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	big := strings.Repeat("x", 4096)
	mustSet(t, db, "big", big)
	db.Close()
	db = openMem(t, fs, Options{MaxValueSize: 1024, NoHousekeeper: true})
	defer db.Close()
	mustGet(t, db, "big", big)
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	mustGet(t, db, "big", big)
	if err := setErr(db, "big2", big); !errors.Is(err, ErrValueTooLarge) {
		t.Fatalf("new value over the lowered limit: %v", err)
	}
}
