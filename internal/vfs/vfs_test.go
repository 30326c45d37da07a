package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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
