package vfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func write(t *testing.T, f File, s string) {
	t.Helper()
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// TestMemCrashKeepsOnlySyncedState: bytes survive a crash only up to the
// last Sync, and a new name only once its directory was synced.
func TestMemCrashKeepsOnlySyncedState(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f, _ := m.Create("/d/a")
	write(t, f, "durable")
	f.Sync()
	write(t, f, "-lost")
	m.SyncDir("/d")
	g, _ := m.Create("/d/b") // never dir-synced
	write(t, g, "x")
	g.Sync()
	m.Rename("/d/a", "/d/c") // rename not dir-synced
	m.Crash()
	if b, err := m.ReadFile("/d/a"); err != nil || string(b) != "durable" {
		t.Fatalf("a after crash: %q %v", b, err)
	}
	for _, gone := range []string{"/d/b", "/d/c"} {
		if _, err := m.ReadFile(gone); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s survived a crash without a directory sync: %v", gone, err)
		}
	}
	if _, err := f.Write([]byte("late")); err == nil {
		t.Fatal("a file opened before the crash still writes")
	}
}

func TestMemRemoveNeedsDirSync(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f, _ := m.Create("/d/a")
	f.Sync()
	m.SyncDir("/d")
	m.Remove("/d/a")
	m.Crash()
	if _, err := m.Stat("/d/a"); err != nil {
		t.Fatal("a removal survived a crash without a directory sync")
	}
	m.Remove("/d/a")
	m.SyncDir("/d")
	m.Crash()
	if _, err := m.Stat("/d/a"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a synced removal was undone")
	}
}

func TestLocks(t *testing.T) {
	for name, fs := range map[string]FS{"mem": NewMem(), "os": Default} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if name == "mem" {
				dir = "/d"
				fs.MkdirAll(dir, 0o755)
			}
			l, err := fs.Lock(filepath.Join(dir, "LOCK"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fs.Lock(filepath.Join(dir, "LOCK")); !errors.Is(err, ErrLocked) {
				t.Fatalf("second lock: %v", err)
			}
			l.Close()
			l2, err := fs.Lock(filepath.Join(dir, "LOCK"))
			if err != nil {
				t.Fatalf("lock after release: %v", err)
			}
			l2.Close()
		})
	}
}

func TestInjectFailsChosenOperation(t *testing.T) {
	boom := errors.New("boom")
	var seen []Op
	fs := Inject(NewMem(), func(op Op, path string) error {
		seen = append(seen, op)
		if op == OpSync {
			return boom
		}
		return nil
	})
	fs.MkdirAll("/d", 0o755)
	f, err := fs.Create("/d/a")
	if err != nil {
		t.Fatal(err)
	}
	write(t, f, "x")
	if err := f.Sync(); !errors.Is(err, boom) {
		t.Fatalf("sync: %v", err)
	}
	want := []Op{OpMkdir, OpCreate, OpWrite, OpSync}
	if len(seen) != len(want) {
		t.Fatalf("hook saw %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("hook saw %v, want %v", seen, want)
		}
	}
}

func TestMemReadWrite(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f, _ := m.Create("/d/a")
	write(t, f, "hello world")
	f.Close()
	r, _ := m.OpenReadWrite("/d/a")
	write(t, r, "!") // appends
	buf := make([]byte, 5)
	if n, err := r.ReadAt(buf, 6); n != 5 || err != nil || string(buf) != "world" {
		t.Fatalf("ReadAt: %q %d %v", buf, n, err)
	}
	if n, err := r.ReadAt(buf, 10); n != 2 || err != io.EOF {
		t.Fatalf("short ReadAt: %d %v", n, err)
	}
	r.Truncate(5)
	if size, _ := r.Size(); size != 5 {
		t.Fatalf("size after truncate %d", size)
	}
	names, _ := m.List("/d")
	if len(names) != 1 || names[0] != "a" {
		t.Fatalf("list %v", names)
	}
}

// heapAfterGC returns the live heap once garbage is collected.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemPreallocateCostsNoMemory: reserved space is a size, not bytes; it
// stays so through Sync and Crash, and it reads as zeros.
func TestMemPreallocateCostsNoMemory(t *testing.T) {
	const size = 64 << 20
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	before := heapAfterGC()
	f, _ := m.Create("/d/a")
	write(t, f, "hdr")
	if err := f.Preallocate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	m.SyncDir("/d")
	write(t, f, "record")
	f.Sync()
	if got, _ := f.Size(); got != size {
		t.Fatalf("Size %d, want %d", got, size)
	}
	if got, _ := m.Stat("/d/a"); got != size {
		t.Fatalf("Stat %d, want %d", got, size)
	}
	m.Crash()
	g, err := m.OpenReadWrite("/d/a")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Size(); got != size {
		t.Fatalf("Size after crash %d, want %d", got, size)
	}
	buf := []byte("xxxxxxxxxx")
	if n, err := g.ReadAt(buf, size-5); n != 5 || err != io.EOF || string(buf[:5]) != "\x00\x00\x00\x00\x00" {
		t.Fatalf("ReadAt at the end of the reservation: %q %d %v", buf, n, err)
	}
	if n, err := g.ReadAt(buf, 0); n != len(buf) || err != nil || string(buf) != "hdrrecord\x00" {
		t.Fatalf("ReadAt at the start: %q %d %v", buf, n, err)
	}
	if grew := int64(heapAfterGC()) - int64(before); grew > 1<<20 {
		t.Fatalf("a %d MiB preallocation grew the heap by %d bytes", size>>20, grew)
	}
	runtime.KeepAlive(m)
}

// TestMemSyncCopiesOnlyNewBytes: small appends to a large preallocated
// file, each synced, allocate about what they write, not the file's size
// per Sync (nor once).
func TestMemSyncCopiesOnlyNewBytes(t *testing.T) {
	const size, rounds = 4 << 20, 10000
	rec := []byte("0123456789abcdef")
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	f, _ := m.Create("/d/a")
	f.Preallocate(size)
	f.Sync()
	for i := 0; i < rounds; i++ {
		if _, err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&ms)
	written := uint64(rounds * len(rec))
	if alloc := ms.TotalAlloc - before; alloc > 16*written || alloc > size/2 {
		t.Fatalf("%d appends of %d bytes, each synced, to a %d MiB file allocated %d bytes",
			rounds, len(rec), size>>20, alloc)
	}
	if got := m.SyncedSize("/d/a"); got != size {
		t.Fatalf("SyncedSize %d after Sync, want the whole file, %d", got, size)
	}
}

// TestMemCrashWithReservedSpace: a crash keeps the bytes and the size of
// the last Sync; the reserved region reads as zeros again.
func TestMemCrashWithReservedSpace(t *testing.T) {
	const size = 1 << 20
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f, _ := m.Create("/d/a")
	write(t, f, "hdr")
	f.Preallocate(size)
	f.Sync()
	m.SyncDir("/d")
	if got := m.SyncedSize("/d/a"); got != size {
		t.Fatalf("SyncedSize %d after Sync, want %d", got, size)
	}
	write(t, f, "rec1")
	if got := m.SyncedSize("/d/a"); got != 3 {
		t.Fatalf("SyncedSize %d with rec1 unsynced, want 3", got)
	}
	f.Sync()
	write(t, f, "rec2")
	f.Preallocate(2 * size) // unsynced too
	if got := m.SyncedSize("/d/a"); got != 7 {
		t.Fatalf("SyncedSize %d with rec2 unsynced, want 7", got)
	}
	m.Crash()
	want := make([]byte, size)
	copy(want, "hdrrec1")
	if b, _ := m.ReadFile("/d/a"); !bytes.Equal(b, want) {
		t.Fatalf("after crash: %d bytes, %q..., want hdrrec1 and zeros up to %d", len(b), b[:min(len(b), 16)], size)
	}
	if got := m.SyncedSize("/d/a"); got != size {
		t.Fatalf("SyncedSize %d right after a crash, want %d", got, size)
	}
	// Appends go after the reservation, as on a real file.
	g, _ := m.OpenReadWrite("/d/a")
	write(t, g, "tail")
	if got, _ := g.Size(); got != size+4 {
		t.Fatalf("size after appending to the reopened file %d, want %d", got, size+4)
	}

	// Zeros written over reserved zeros count as unsynced (see SyncedSize).
	h, _ := m.Create("/d/z")
	write(t, h, "h")
	h.Preallocate(100)
	h.Sync()
	write(t, h, "\x00\x00")
	if got := m.SyncedSize("/d/z"); got != 1 {
		t.Fatalf("SyncedSize %d after writing unsynced zeros at 1, want 1", got)
	}
}

// TestMemTruncateThenCrash: an unsynced truncation is undone by a crash, a
// synced one is not; writing past a shrunk end fills the gap with zeros.
func TestMemTruncateThenCrash(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f, _ := m.Create("/d/a")
	write(t, f, "abcdef")
	f.Preallocate(64)
	f.Sync()
	m.SyncDir("/d")
	f.Truncate(2)
	if got := m.SyncedSize("/d/a"); got != 2 {
		t.Fatalf("SyncedSize %d after an unsynced truncate to 2", got)
	}
	m.Crash()
	want := append([]byte("abcdef"), make([]byte, 58)...)
	if b, _ := m.ReadFile("/d/a"); !bytes.Equal(b, want) {
		t.Fatalf("unsynced truncate survived a crash: %q", b)
	}

	f, _ = m.OpenReadWrite("/d/a")
	f.Truncate(2)
	f.Sync()
	f.Truncate(4) // grows: zeros, unsynced
	if got := m.SyncedSize("/d/a"); got != 2 {
		t.Fatalf("SyncedSize %d after growing by truncate, want 2", got)
	}
	f.Sync()
	write(t, f, "X") // f's offset is still 64: the gap 4..64 reads as zeros
	want = append([]byte("ab"), make([]byte, 62)...)
	want = append(want, 'X')
	if b, _ := m.ReadFile("/d/a"); !bytes.Equal(b, want) {
		t.Fatalf("write past a shrunk end: %q", b)
	}
	if got := m.SyncedSize("/d/a"); got != 4 {
		t.Fatalf("SyncedSize %d after writing past the end, want 4", got)
	}
	f.Sync()
	m.Crash()
	if b, _ := m.ReadFile("/d/a"); !bytes.Equal(b, want) {
		t.Fatalf("after a synced truncate and write, crash left %q", b)
	}
}

// refFile is the straightforward model Mem used to be: every byte,
// reserved zeros included, held in full in both images.
type refFile struct {
	data, synced []byte
	pos          int
	low          int // lowest offset changed since the last sync; -1 if none
}

func (r *refFile) touch(off int) {
	if r.low < 0 || off < r.low {
		r.low = off
	}
}

func (r *refFile) resize(n int) {
	if n < len(r.data) {
		r.data = r.data[:n]
	} else {
		r.data = append(r.data, make([]byte, n-len(r.data))...)
	}
}

// TestMemMatchesFullModel drives Mem and the full model with the same
// random operations and checks that they agree on everything observable.
func TestMemMatchesFullModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		m := NewMem()
		m.MkdirAll("/d", 0o755)
		f, _ := m.Create("/d/a")
		m.SyncDir("/d")
		ref := &refFile{low: -1}
		for step := 0; step < 60; step++ {
			switch op := rng.IntN(10); {
			case op < 4:
				p := make([]byte, 1+rng.IntN(40))
				for i := range p {
					p[i] = byte(rng.IntN(3)) // zeros are common, as in the log
				}
				write(t, f, string(p))
				ref.touch(min(ref.pos, len(ref.data)))
				if end := ref.pos + len(p); end > len(ref.data) {
					ref.resize(end)
				}
				copy(ref.data[ref.pos:], p)
				ref.pos += len(p)
			case op == 4:
				n := rng.IntN(300)
				f.Preallocate(int64(n))
				if n > len(ref.data) {
					ref.touch(len(ref.data))
					ref.resize(n)
				}
			case op == 5:
				n := rng.IntN(300)
				f.Truncate(int64(n))
				if n != len(ref.data) {
					ref.touch(min(n, len(ref.data)))
					ref.resize(n)
				}
			case op == 6:
				p := make([]byte, rng.IntN(50))
				n, _ := f.Read(p)
				want := max(0, min(len(p), len(ref.data)-ref.pos))
				if n != want || !bytes.Equal(p[:n], ref.data[ref.pos:ref.pos+n]) {
					t.Fatalf("iter %d step %d: Read %d bytes %v, want %v", iter, step, n, p[:n], ref.data[ref.pos:ref.pos+want])
				}
				ref.pos += n
			case op < 9:
				f.Sync()
				ref.synced = append(ref.synced[:0], ref.data...)
				ref.low = -1
			default:
				m.Crash()
				f, _ = m.OpenReadWrite("/d/a")
				ref.data = append(ref.data[:0], ref.synced...)
				ref.pos, ref.low = len(ref.data), -1
			}
			if b, _ := m.ReadFile("/d/a"); !bytes.Equal(b, ref.data) {
				t.Fatalf("iter %d step %d: contents %v, want %v", iter, step, b, ref.data)
			}
			if size, _ := f.Size(); size != int64(len(ref.data)) {
				t.Fatalf("iter %d step %d: size %d, want %d", iter, step, size, len(ref.data))
			}
			prefix := 0 // the old byte-by-byte measure
			for prefix < len(ref.data) && prefix < len(ref.synced) && ref.data[prefix] == ref.synced[prefix] {
				prefix++
			}
			want := int64(prefix)
			if ref.low >= 0 {
				want = int64(min(prefix, ref.low))
			}
			if got := m.SyncedSize("/d/a"); got != want {
				t.Fatalf("iter %d step %d: SyncedSize %d, want %d (byte-equal prefix %d)", iter, step, got, want, prefix)
			}
		}
	}
}

// TestFreeSpace: the OS file system reports statfs's available bytes, Mem
// the value a test set, and Inject passes the call through its hook.
func TestFreeSpace(t *testing.T) {
	dir := t.TempDir()
	n, err := Default.FreeSpace(dir)
	if err != nil || n <= 0 {
		t.Fatalf("Default.FreeSpace(%s) = %d, %v; want a positive size", dir, n, err)
	}
	if _, err := Default.FreeSpace(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("FreeSpace of a missing directory: %v", err)
	}

	m := NewMem()
	m.MkdirAll("/d", 0o750)
	if n, err := m.FreeSpace("/d"); err != nil || n != MemUnlimited {
		t.Fatalf("new Mem: %d, %v", n, err)
	}
	m.SetFreeSpace(12345)
	if n, err := m.FreeSpace("/d"); err != nil || n != 12345 {
		t.Fatalf("after SetFreeSpace: %d, %v", n, err)
	}
	if _, err := m.FreeSpace("/nowhere"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Mem.FreeSpace of a missing directory: %v", err)
	}

	var seen []string
	injected := errors.New("injected")
	fs := Inject(m, func(op Op, path string) error {
		seen = append(seen, op.String()+" "+path)
		if path == "/fail" {
			return injected
		}
		return nil
	})
	if n, err := fs.FreeSpace("/d"); err != nil || n != 12345 {
		t.Fatalf("Inject: %d, %v", n, err)
	}
	if _, err := fs.FreeSpace("/fail"); !errors.Is(err, injected) {
		t.Fatalf("Inject with a failing hook: %v", err)
	}
	if strings.Join(seen, ",") != "freespace /d,freespace /fail" {
		t.Fatalf("hook saw %q", seen)
	}
}

// TestLink: a hard link is a second name for the same bytes, on the OS
// file system and in Mem alike; it refuses an existing name, and in Mem
// it survives a crash only once its directory is synced.
func TestLink(t *testing.T) {
	dir := t.TempDir()
	m := NewMem()
	m.MkdirAll("/d/b", 0o755)
	for _, tc := range []struct {
		name string
		fs   FS
		a, b string
	}{
		{"os", Default, filepath.Join(dir, "a"), filepath.Join(dir, "b")},
		{"mem", m, "/d/a", "/d/b/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.fs.Create(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, "snapshot")
			f.Sync()
			f.Close()
			if err := tc.fs.Link(tc.a, tc.b); err != nil {
				t.Fatal(err)
			}
			if err := tc.fs.Link(tc.a, tc.b); !errors.Is(err, os.ErrExist) {
				t.Fatalf("linking onto an existing name: %v, want an error wrapping os.ErrExist", err)
			}
			if err := tc.fs.Link(tc.a+"-absent", tc.b+"2"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("linking a missing file: %v, want an error wrapping os.ErrNotExist", err)
			}
			if err := tc.fs.Remove(tc.a); err != nil {
				t.Fatal(err)
			}
			g, err := tc.fs.Open(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			b, err := io.ReadAll(g)
			if err != nil || string(b) != "snapshot" {
				t.Fatalf("the link after removing the first name reads %q, %v", b, err)
			}
		})
	}
	m.Crash()
	if _, err := m.Stat("/d/b/a"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a link survived a crash without a directory sync: %v", err)
	}
}
