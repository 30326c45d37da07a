package segment

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/vfs"
)

func newWriter(t *testing.T, fs vfs.FS, policy SyncPolicy, segSize int64) *Writer {
	t.Helper()
	w, err := Create(WriterOptions{FS: fs, Dir: "/db", Sync: policy, SegmentSize: segSize, Logger: slog.New(slog.DiscardHandler)}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func memFS(t *testing.T) *vfs.Mem {
	m := vfs.NewMem()
	if err := m.MkdirAll("/db", 0o755); err != nil {
		t.Fatal(err)
	}
	return m
}

func set(seq uint64, k, v string) Record {
	return Record{Type: TypeSet, Seq: seq, Key: []byte(k), Value: []byte(v)}
}

// TestAlwaysAcksOnlyAfterCoveringFsync: under SyncAlways, when Commit
// returns, the record's bytes are within what an fsync made durable. Many
// concurrent writers check it for their own records.
func TestAlwaysAcksOnlyAfterCoveringFsync(t *testing.T) {
	m := memFS(t)
	w := newWriter(t, m, SyncAlways, 1<<20)
	var seq atomic.Uint64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var pos [1]Pos
				lsn, err := w.Append(pos[:], set(seq.Add(1), "k", "value"))
				if err == nil {
					err = w.Commit(lsn)
				}
				if err != nil {
					errs <- err
					return
				}
				durable := m.SyncedSize(Path("/db", pos[0].FileID))
				if end := pos[0].Offset + int64(pos[0].Size); durable < end {
					errs <- fmt.Errorf("acknowledged record ends at %d, only %d bytes fsynced", end, durable)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestGroupCommitSharesFsync: while one fsync is in progress, every writer
// that appends waits for the next one, and that one fsync covers them all.
func TestGroupCommitSharesFsync(t *testing.T) {
	const writers = 64
	var appended sync.WaitGroup
	appended.Add(writers)
	var first sync.Once
	var syncs atomic.Int64
	var armed atomic.Bool
	fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
		if op == vfs.OpSync && armed.Load() {
			syncs.Add(1)
			// The first data fsync waits until every other writer has
			// appended: they must all be covered by one more fsync.
			first.Do(appended.Wait)
		}
		return nil
	})
	w := newWriter(t, fs, SyncAlways, 1<<20)
	armed.Store(true)
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var pos [1]Pos
			lsn, err := w.Append(pos[:], set(uint64(g+1), "k", "v"))
			if err != nil {
				t.Error(err)
				return
			}
			appended.Done()
			if err := w.Commit(lsn); err != nil {
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	if n := syncs.Load(); n > 2 || n < 1 {
		t.Fatalf("%d writers used %d fsyncs, want 1 or 2", writers, n)
	}
}

func TestEverySecAndNoWriteBeforeAck(t *testing.T) {
	for _, p := range []SyncPolicy{SyncEverySec, SyncNo} {
		t.Run(p.String(), func(t *testing.T) {
			m := memFS(t)
			w := newWriter(t, m, p, 1<<20)
			var pos [1]Pos
			lsn, err := w.Append(pos[:], set(1, "k", "v"))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(lsn); err != nil {
				t.Fatal(err)
			}
			b, _ := m.ReadFile(Path("/db", 1))
			end := pos[0].Offset + int64(pos[0].Size)
			if int64(len(b)) < end {
				t.Fatalf("file is %d bytes, record ends at %d", len(b), end)
			}
			if v, err := ReadValue(b[pos[0].Offset:end], DefaultLimits()); err != nil || string(v) != "v" {
				t.Fatalf("acknowledged record not handed to the OS: %q, %v", v, err)
			}
		})
	}
}

func TestRotationAndIteration(t *testing.T) {
	m := memFS(t)
	var rotations [][2]uint32
	w, err := Create(WriterOptions{FS: m, Dir: "/db", Sync: SyncNo, SegmentSize: 200,
		OnRotate: func(s, c uint32) { rotations = append(rotations, [2]uint32{s, c}) }}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := 1; i <= n; i++ {
		var pos [1]Pos
		lsn, err := w.Append(pos[:], set(uint64(i), fmt.Sprintf("key%02d", i), "value"))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(lsn); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rotations) < 3 {
		t.Fatalf("only %d rotations for %d records in 200-byte segments", len(rotations), n)
	}
	names, _ := m.List("/db")
	next := uint64(1)
	for _, name := range names {
		it, err := ReadFile(m, "/db/"+name, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if it.Header().FirstSeq != next {
			t.Fatalf("%s: first seq %d, want %d", name, it.Header().FirstSeq, next)
		}
		for it.Next() {
			if got := it.Record().Seq; got != next {
				t.Fatalf("%s: seq %d, want %d", name, got, next)
			}
			next++
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		if size, _ := m.Stat("/db/" + name); size > 200 {
			t.Fatalf("%s is %d bytes, over the segment size", name, size)
		}
	}
	if next != n+1 {
		t.Fatalf("read %d records, want %d", next-1, n)
	}
}

// TestFailedFsyncIsSticky: after an fsync error, the writer refuses every
// later write; it never retries the fsync and carries on.
func TestFailedFsyncIsSticky(t *testing.T) {
	var fail atomic.Bool
	var syncsAfterFailure atomic.Int64
	fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
		if op == vfs.OpSync && fail.Load() {
			syncsAfterFailure.Add(1)
			return syscall.EIO
		}
		return nil
	})
	w := newWriter(t, fs, SyncAlways, 1<<20)
	var pos [1]Pos
	lsn, _ := w.Append(pos[:], set(1, "a", "1"))
	if err := w.Commit(lsn); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	lsn, _ = w.Append(pos[:], set(2, "b", "2"))
	if err := w.Commit(lsn); !errors.Is(err, syscall.EIO) {
		t.Fatalf("commit after failed fsync: %v", err)
	}
	fail.Store(false)
	if _, err := w.Append(pos[:], set(3, "c", "3")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append after failed fsync: %v, want the sticky EIO", err)
	}
	if n := syncsAfterFailure.Load(); n != 1 {
		t.Fatalf("fsync attempted %d times after the failure, want exactly 1", n)
	}
}

func TestFailedWriteIsSticky(t *testing.T) {
	var fail atomic.Bool
	fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
		if op == vfs.OpWrite && fail.Load() {
			return syscall.ENOSPC
		}
		return nil
	})
	w := newWriter(t, fs, SyncNo, 1<<20)
	fail.Store(true)
	var pos [1]Pos
	lsn, _ := w.Append(pos[:], set(1, "a", "1"))
	if err := w.Commit(lsn); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("commit: %v", err)
	}
	fail.Store(false)
	if _, err := w.Append(pos[:], set(2, "b", "2")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append after failed write: %v", err)
	}
}

func TestReadPendingServesBufferedRecords(t *testing.T) {
	m := memFS(t)
	w := newWriter(t, m, SyncNo, 1<<20)
	var pos [1]Pos
	if _, err := w.Append(pos[:], set(1, "key", "buffered")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, pos[0].Size)
	if ok, err := w.ReadPending(pos[0].FileID, buf, pos[0].Offset); !ok || err != nil {
		t.Fatalf("buffered record not served from memory: %v", err)
	}
	if v, err := ReadValue(buf, DefaultLimits()); err != nil || string(v) != "buffered" {
		t.Fatalf("value %q, %v", v, err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := w.ReadPending(pos[0].FileID, buf, pos[0].Offset); ok {
		t.Fatal("a written record is still served from memory")
	}
}

func BenchmarkAppendCommit(b *testing.B) {
	for _, p := range []SyncPolicy{SyncNo, SyncEverySec, SyncAlways} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", p, writers), func(b *testing.B) {
				w, err := Create(WriterOptions{FS: vfs.Default, Dir: b.TempDir(), Sync: p}, 1, 1)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				var seq atomic.Uint64
				val := make([]byte, 100)
				b.SetParallelism((writers + 1) / 2)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var pos [1]Pos
					for pb.Next() {
						lsn, err := w.Append(pos[:], Record{Type: TypeSet, Seq: seq.Add(1), Key: []byte("key:000001"), Value: val})
						if err == nil {
							err = w.Commit(lsn)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(w.Syncs())/float64(b.N), "fsyncs/op")
			})
		}
	}
}

// TestEverySecSyncsInTheBackground: under SyncEverySec a record is on disk
// within about a second without anyone asking (bounded wait, polled).
func TestEverySecSyncsInTheBackground(t *testing.T) {
	m := memFS(t)
	w := newWriter(t, m, SyncEverySec, 1<<20)
	var pos [1]Pos
	lsn, _ := w.Append(pos[:], set(1, "k", "v"))
	if err := w.Commit(lsn); err != nil {
		t.Fatal(err)
	}
	end := pos[0].Offset + int64(pos[0].Size)
	deadline := time.Now().Add(5 * time.Second)
	for m.SyncedSize(Path("/db", 1)) < end {
		if time.Now().After(deadline) {
			t.Fatalf("record not fsynced 5 s after an everysec commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConcurrentAppendsAcrossRotations: writers appending at once while
// segments rotate under them each find their record, whole, where Append
// said it is.
func TestConcurrentAppendsAcrossRotations(t *testing.T) {
	m := memFS(t)
	w := newWriter(t, m, SyncNo, 256)
	var seq atomic.Uint64
	var wg sync.WaitGroup
	type placed struct {
		pos Pos
		val string
	}
	results := make(chan placed, 8*100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				var pos [1]Pos
				v := fmt.Sprintf("g%d-%d", g, i)
				if g%2 == 0 { // large records trigger rotations, small ones fit around them
					v += strings.Repeat(".", 90)
				}
				lsn, err := w.Append(pos[:], set(seq.Add(1), "k", v))
				if err == nil {
					err = w.Commit(lsn)
				}
				if err != nil {
					t.Error(err)
					return
				}
				results <- placed{pos[0], v}
			}
		}(g)
	}
	wg.Wait()
	close(results)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for r := range results {
		b, err := m.ReadFile(Path("/db", r.pos.FileID))
		if err != nil {
			t.Fatal(err)
		}
		end := r.pos.Offset + int64(r.pos.Size)
		if end > int64(len(b)) {
			t.Fatalf("%s: position %+v past the end of its file (%d bytes)", r.val, r.pos, len(b))
		}
		if v, err := ReadValue(b[r.pos.Offset:end], DefaultLimits()); err != nil || string(v) != r.val {
			t.Fatalf("%s at %+v: %q, %v", r.val, r.pos, v, err)
		}
	}
}

// TestCommitAcksWhatWasDurableBeforeAFailure: a record fsynced before a
// later write failed is acknowledged: Commit looks at what is durable
// before it looks at the writer's sticky error.
func TestCommitAcksWhatWasDurableBeforeAFailure(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncEverySec, SyncNo} {
		t.Run(policy.String(), func(t *testing.T) {
			var fail atomic.Bool
			fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
				if (op == vfs.OpSync || op == vfs.OpWrite) && fail.Load() {
					return syscall.EIO
				}
				return nil
			})
			w := newWriter(t, fs, policy, 1<<20)
			var pos [1]Pos
			first, _ := w.Append(pos[:], set(1, "a", "1"))
			if err := w.Commit(first); err != nil {
				t.Fatal(err)
			}
			fail.Store(true)
			second, _ := w.Append(pos[:], set(2, "b", "2"))
			if err := w.Commit(second); !errors.Is(err, syscall.EIO) {
				t.Fatalf("commit of the failed record: %v, want EIO", err)
			}
			if err := w.Commit(first); err != nil {
				t.Fatalf("commit of a record durable before the failure: %v, want nil", err)
			}
			if err := w.CommitSeq(1); err != nil {
				t.Fatalf("CommitSeq(1): %v, want nil", err)
			}
			if err := w.CommitSeq(2); !errors.Is(err, syscall.EIO) {
				t.Fatalf("CommitSeq(2): %v, want EIO", err)
			}
			if got := w.DurableSeq(); got != 1 {
				t.Fatalf("DurableSeq = %d, want 1", got)
			}
		})
	}
}

// TestDurableSeqFollowsThePolicy: DurableSeq moves with the fsync under
// SyncAlways and with the write to the OS under the other policies, and a
// writer created at firstSeq starts durable at firstSeq-1.
func TestDurableSeqFollowsThePolicy(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncEverySec, SyncNo} {
		t.Run(policy.String(), func(t *testing.T) {
			var syncs atomic.Int64
			fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
				if op == vfs.OpSync {
					syncs.Add(1)
				}
				return nil
			})
			w, err := Create(WriterOptions{FS: fs, Dir: "/db", Sync: policy, Logger: slog.New(slog.DiscardHandler)}, 1, 41)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if got := w.DurableSeq(); got != 40 {
				t.Fatalf("DurableSeq of a fresh writer at first seq 41 = %d, want 40", got)
			}
			var pos [2]Pos
			if _, err := w.Append(pos[:], set(41, "a", "1"), set(42, "b", "2")); err != nil {
				t.Fatal(err)
			}
			if got := w.DurableSeq(); got != 40 {
				t.Fatalf("DurableSeq before the commit = %d, want 40", got)
			}
			before := syncs.Load()
			if err := w.CommitSeq(42); err != nil {
				t.Fatal(err)
			}
			if got := w.DurableSeq(); got != 42 {
				t.Fatalf("DurableSeq after the commit = %d, want 42", got)
			}
			if synced := syncs.Load() > before; synced != (policy == SyncAlways) {
				t.Fatalf("commit fsynced: %v, want %v under %s", synced, policy == SyncAlways, policy)
			}
		})
	}
}

// TestFailedFsyncCutsTheFileBack: after a failed fsync under SyncAlways,
// the active file ends at its last durable record, so the failed record,
// never acknowledged, cannot come back at the next start.
func TestFailedFsyncCutsTheFileBack(t *testing.T) {
	var fail atomic.Bool
	m := memFS(t)
	fs := vfs.Inject(m, func(op vfs.Op, path string) error {
		if op == vfs.OpSync && fail.Load() {
			return syscall.EIO
		}
		return nil
	})
	w := newWriter(t, fs, SyncAlways, 1<<20)
	var pos [1]Pos
	lsn, _ := w.Append(pos[:], set(1, "a", "1"))
	if err := w.Commit(lsn); err != nil {
		t.Fatal(err)
	}
	durableEnd := pos[0].Offset + int64(pos[0].Size)
	fail.Store(true)
	lsn, _ = w.Append(pos[:], set(2, "b", "2"))
	if err := w.Commit(lsn); !errors.Is(err, syscall.EIO) {
		t.Fatalf("commit: %v, want EIO", err)
	}
	data, err := m.ReadFile(Path("/db", 1))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != durableEnd {
		t.Fatalf("segment is %d bytes after the failed fsync, want %d (the end of the last durable record)", len(data), durableEnd)
	}
}

// TestNoSpaceToPreallocate: a full disk refuses the reservation of a new
// segment and of its growth, yet the writer starts and writes go on while
// the bytes themselves fit.
func TestNoSpaceToPreallocate(t *testing.T) {
	fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
		if op == vfs.OpTruncate { // Preallocate and Truncate
			return syscall.ENOSPC
		}
		return nil
	})
	w := newWriter(t, fs, SyncAlways, 64<<20)
	var pos [1]Pos
	big := strings.Repeat("v", 1<<20)
	for i := 1; i <= 6; i++ { // past the first 4 MiB reservation
		lsn, err := w.Append(pos[:], set(uint64(i), fmt.Sprint("k", i), big))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(lsn); err != nil {
			t.Fatalf("commit %d without preallocation: %v", i, err)
		}
	}
	if got := w.DurableSeq(); got != 6 {
		t.Fatalf("DurableSeq = %d, want 6", got)
	}
}

// TestPanicInAFlushFailsTheLog: a panic in the file system during a flush,
// from a committing writer or from the everysec syncer's goroutine, fails
// the log as an I/O error would: the process goes on, every waiter is
// answered with the error, and later writes are refused.
func TestPanicInAFlushFailsTheLog(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncEverySec} {
		t.Run(policy.String(), func(t *testing.T) {
			var boom atomic.Bool
			fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
				if op == vfs.OpSync && boom.Load() {
					panic("injected panic in fsync")
				}
				return nil
			})
			w := newWriter(t, fs, policy, 1<<20)
			var pos [1]Pos
			lsn, _ := w.Append(pos[:], set(1, "a", "1"))
			if err := w.Commit(lsn); err != nil {
				t.Fatal(err)
			}
			boom.Store(true)
			lsn, _ = w.Append(pos[:], set(2, "b", "2"))
			if policy == SyncAlways {
				if err := w.Commit(lsn); err == nil || !strings.Contains(err.Error(), "panic") {
					t.Fatalf("commit through a panicking fsync: %v, want an error naming the panic", err)
				}
			} else {
				if err := w.Commit(lsn); err != nil { // written to the OS: acknowledged
					t.Fatal(err)
				}
				deadline := time.Now().Add(10 * time.Second)
				for w.Err() == nil && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond) // polls for the syncer's tick, about a second away
				}
			}
			if err := w.Err(); err == nil || !strings.Contains(err.Error(), "panic") {
				t.Fatalf("writer error after the panic: %v, want one naming the panic", err)
			}
			if _, err := w.Append(pos[:], set(3, "c", "3")); err == nil {
				t.Fatal("append accepted after a panic failed the log")
			}
			boom.Store(false)
		})
	}
}

// TestFlushOpensVersion2Segment: a batch that starts with a flush record
// seals the active segment and opens a version 2 segment whose first
// record it is; later rotations go back to version 1; a flush record
// anywhere else in a batch is refused.
func TestFlushOpensVersion2Segment(t *testing.T) {
	m := memFS(t)
	w := newWriter(t, m, SyncAlways, 1<<20)
	var pos [2]Pos
	commit := func(recs ...Record) {
		t.Helper()
		lsn, err := w.Append(pos[:], recs...)
		if err == nil {
			err = w.Commit(lsn)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	commit(set(1, "a", "1"))
	commit(Record{Type: TypeFlush, Seq: 2}, set(3, "b", "2"))
	if pos[0].FileID != 2 || pos[0].Offset != HeaderSize || pos[1].FileID != 2 {
		t.Fatalf("flush batch at %+v, want the start of segment 2", pos)
	}
	if _, err := w.Append(pos[:], set(4, "c", "3"), Record{Type: TypeFlush, Seq: 5}); err == nil {
		t.Fatal("a flush record second in its batch was accepted")
	}
	if err := w.Rotate(4); err != nil {
		t.Fatal(err)
	}
	commit(set(4, "c", "3"))
	for id, want := range map[uint32]struct {
		version uint16
		seqs    []uint64
	}{1: {VersionPlain, []uint64{1}}, 2: {VersionFlush, []uint64{2, 3}}, 3: {VersionPlain, []uint64{4}}} {
		it, err := ReadFile(m, Path("/db", id), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for it.Next() {
			seqs = append(seqs, it.Record().Seq)
		}
		if it.Header().Version != want.version || fmt.Sprint(seqs) != fmt.Sprint(want.seqs) {
			t.Fatalf("segment %d: version %d, seqs %v (err %v); want version %d, seqs %v",
				id, it.Header().Version, seqs, it.Err(), want.version, want.seqs)
		}
	}
}

// blockingSyncs wraps a memory file system so that, once armed, the next
// fsync of a segment stops before it runs: entered is closed when it is
// reached, and it goes on once release is closed. While it is held, a
// truncate or close of the same file is recorded as a violation.
type blockingSyncs struct {
	once             sync.Once
	armed            atomic.Bool
	holding          atomic.Bool
	entered, release chan struct{}
	violations       atomic.Int64
}

func newBlockingSyncs(t *testing.T) (*blockingSyncs, vfs.FS) {
	b := &blockingSyncs{entered: make(chan struct{}), release: make(chan struct{})}
	fs := vfs.Inject(memFS(t), func(op vfs.Op, path string) error {
		switch {
		case op == vfs.OpSync && strings.HasSuffix(path, Ext) && b.armed.CompareAndSwap(true, false):
			b.holding.Store(true)
			close(b.entered)
			<-b.release
			b.holding.Store(false)
		case (op == vfs.OpTruncate || op == vfs.OpClose) && b.holding.Load():
			b.violations.Add(1)
		}
		return nil
	})
	t.Cleanup(b.unblock) // registered before the writer's Close, so it runs first
	return b, fs
}

// unblock lets the held fsync go on; it may be called more than once.
func (b *blockingSyncs) unblock() { b.once.Do(func() { close(b.release) }) }

// TestEverySecCommitsBesideTheBackgroundFsync: under SyncEverySec a commit
// waits for the write of its record, not for the syncer's fsync: while
// that fsync is held, records are appended and committed, and their bytes
// reach the file. Once it ends, only what was written before it began
// counts as fsynced; the next tick covers the rest. A rotation and a
// close wait for the fsync before they cut or close the file.
func TestEverySecCommitsBesideTheBackgroundFsync(t *testing.T) {
	b, fs := newBlockingSyncs(t)
	w := newWriter(t, fs, SyncEverySec, 1<<20)
	var pos [1]Pos
	commit := func(seq uint64) LSN {
		t.Helper()
		lsn, err := w.Append(pos[:], set(seq, fmt.Sprint("k", seq), "v"))
		if err == nil {
			err = w.Commit(lsn)
		}
		if err != nil {
			t.Fatal(err)
		}
		return lsn
	}
	first := commit(1)
	b.armed.Store(true)
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		w.syncBehind()
	}()
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the background fsync never started")
	}
	committed := make(chan LSN)
	go func() {
		var last LSN
		for seq := uint64(2); seq <= 20; seq++ {
			lsn, err := w.Append(make([]Pos, 1), set(seq, fmt.Sprint("k", seq), "v"))
			if err == nil {
				err = w.Commit(lsn)
			}
			if err != nil {
				t.Error(err)
				break
			}
			last = lsn
		}
		committed <- last
	}()
	var last LSN
	select {
	case last = <-committed:
	case <-time.After(10 * time.Second):
		b.unblock()
		t.Fatal("commits waited for the background fsync")
	}
	if got := w.DurableSeq(); got != 20 {
		t.Fatalf("DurableSeq = %d while the fsync is held, want 20", got)
	}
	rotated := make(chan error, 1)
	go func() { rotated <- w.Rotate(21) }()
	b.unblock()
	<-syncDone
	if err := <-rotated; err != nil {
		t.Fatal(err)
	}
	if n := b.violations.Load(); n != 0 {
		t.Fatalf("the file was cut or closed %d times while its fsync ran", n)
	}
	w.mu.Lock()
	synced := w.synced
	w.mu.Unlock()
	if synced < first || synced < last {
		// The rotation sealed everything; before it, the fsync covered
		// at least the first record.
		t.Fatalf("synced LSN %d after the fsync and a rotation, want at least %d", synced, last)
	}
}

// TestEverySecBackgroundFsyncCoversOnlyWhatWasWritten: the syncer's fsync
// counts as durable only the bytes written before it began.
func TestEverySecBackgroundFsyncCoversOnlyWhatWasWritten(t *testing.T) {
	b, fs := newBlockingSyncs(t)
	w := newWriter(t, fs, SyncEverySec, 1<<20)
	var pos [1]Pos
	lsn1, _ := w.Append(pos[:], set(1, "a", "1"))
	if err := w.Commit(lsn1); err != nil {
		t.Fatal(err)
	}
	b.armed.Store(true)
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		w.syncBehind()
	}()
	<-b.entered
	lsn2, _ := w.Append(pos[:], set(2, "b", "2"))
	if err := w.Commit(lsn2); err != nil {
		t.Fatal(err)
	}
	b.unblock()
	<-syncDone
	w.mu.Lock()
	synced, syncedSeq := w.synced, w.syncedSeq
	w.mu.Unlock()
	if synced != lsn1 || syncedSeq != 1 {
		t.Fatalf("after the fsync: synced LSN %d seq %d, want %d and 1", synced, syncedSeq, lsn1)
	}
	w.syncBehind()
	w.mu.Lock()
	synced, syncedSeq = w.synced, w.syncedSeq
	w.mu.Unlock()
	if synced != lsn2 || syncedSeq != 2 {
		t.Fatalf("after the next tick: synced LSN %d seq %d, want %d and 2", synced, syncedSeq, lsn2)
	}
}

// TestEverySecFailedBackgroundFsync: a failed background fsync fails the
// log: records committed before it stay acknowledged and in the file, the
// durable seq stops, and later appends are refused with the fsync's error.
func TestEverySecFailedBackgroundFsync(t *testing.T) {
	var failSync atomic.Bool
	m := memFS(t)
	fs := vfs.Inject(m, func(op vfs.Op, path string) error {
		if op == vfs.OpSync && failSync.Load() {
			return syscall.EIO
		}
		return nil
	})
	w := newWriter(t, fs, SyncEverySec, 1<<20)
	var pos [1]Pos
	lsn, _ := w.Append(pos[:], set(1, "a", "1"))
	if err := w.Commit(lsn); err != nil {
		t.Fatal(err)
	}
	end := pos[0].Offset + int64(pos[0].Size)
	failSync.Store(true)
	w.syncBehind()
	if err := w.Err(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("writer error after a failed fsync: %v, want EIO", err)
	}
	if got := w.DurableSeq(); got != 1 {
		t.Fatalf("DurableSeq = %d after the failure, want 1", got)
	}
	if _, err := w.Append(pos[:], set(2, "b", "2")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append after a failed fsync: %v, want EIO", err)
	}
	if size, _ := m.Stat(Path("/db", 1)); size != end {
		t.Fatalf("segment is %d bytes after the failure, want %d (cut to the acknowledged end)", size, end)
	}
	failSync.Store(false)
}

// TestEverySecSyncsANearlyFullSegment: under SyncEverySec, a segment that
// passes seven eighths of its size is fsynced by the syncer at once, not
// at its next tick (here an hour away), once per segment; so its seal
// has only the rest to sync.
func TestEverySecSyncsANearlyFullSegment(t *testing.T) {
	defer func(d time.Duration) { syncInterval = d }(syncInterval)
	syncInterval = time.Hour
	b, fs := newBlockingSyncs(t)
	const segSize = 64 << 10
	w := newWriter(t, fs, SyncEverySec, segSize)
	value := strings.Repeat("v", 1000)
	var pos [1]Pos
	seq := uint64(0)
	appendOne := func() {
		t.Helper()
		seq++
		lsn, err := w.Append(pos[:], set(seq, fmt.Sprint("k", seq), value))
		if err == nil {
			err = w.Commit(lsn)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	kicks := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.kicks
	}
	for pos[0].Offset+int64(pos[0].Size) < segSize*7/8-1100 {
		appendOne()
	}
	if n := kicks(); n != 0 {
		t.Fatalf("%d kicks below seven eighths of the segment, want 0", n)
	}
	b.armed.Store(true)
	appendOne()
	appendOne()
	if n := kicks(); n != 1 {
		t.Fatalf("%d kicks past seven eighths of the segment, want 1", n)
	}
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no fsync after the segment passed seven eighths, with the tick an hour away")
	}
	b.unblock()
	for pos[0].FileID == 1 {
		appendOne()
	}
	if n := kicks(); n != 1 {
		t.Fatalf("%d kicks after the rotation, before the new segment filled, want 1", n)
	}
	for pos[0].FileID == 2 && pos[0].Offset+int64(pos[0].Size) < segSize*7/8+1100 {
		appendOne()
	}
	if n := kicks(); n != 2 {
		t.Fatalf("%d kicks once the second segment passed seven eighths, want 2", n)
	}
}
