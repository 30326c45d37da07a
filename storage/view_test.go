package storage

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// viewContents returns what v's records hold, key to value and expiry.
func viewContents(t *testing.T, v *View) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := v.Records(func(r segment.Record) error {
		if r.Type != segment.TypeSet {
			return fmt.Errorf("record of type %d in a view", r.Type)
		}
		got[string(r.Key)] = fmt.Sprintf("%s@%d", r.Value, r.ExpireAt)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestViewIsAsOfOneSeq: a view holds every write before it and none
// after, whatever is written, deleted and merged while it is open.
func TestViewIsAsOfOneSeq(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{})
	defer db.Close()
	if v, err := db.View(); err != nil || v.Seq != 0 || v.Keys() != 0 || v.Path() != "" {
		t.Fatalf("view of an empty dataset: %+v, %v", v, err)
	} else {
		v.Close()
	}
	mustSet(t, db, "a", "1")
	mustSet(t, db, "b", "2")
	if _, err := db.Merge(); err != nil { // a snapshot and a log after it
		t.Fatal(err)
	}
	mustSet(t, db, "c", "3")
	if _, err := db.Set([]byte("ttl"), []byte("t"), SetOptions{ExpireAt: 4102444800000}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Del([]byte("a")); err != nil {
		t.Fatal(err)
	}
	seq := db.LastSeq()
	v, err := db.View()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	mustSet(t, db, "b", "changed")
	mustSet(t, db, "d", "4")
	if _, err := db.Del([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(); err != nil { // retires the view's snapshot
		t.Fatal(err)
	}
	want := map[string]string{"b": "2@0", "c": "3@0", "ttl": "t@4102444800000"}
	if got := viewContents(t, v); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("view holds %v, want %v", got, want)
	}
	if v.Seq != seq || v.Keys() != 3 {
		t.Fatalf("view as of seq %d with %d keys, want seq %d and 3 keys", v.Seq, v.Keys(), seq)
	}
}

// TestBackupOpensAsDataDir: a backup is a data directory that opens
// with every key of the view, its expiry and the history, survives a
// power cut just after Backup returns, and passes Check; the snapshot
// is hard-linked.
func TestBackupOpensAsDataDir(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	mustSet(t, db, "k1", "v1")
	if _, err := db.Set([]byte("k2"), []byte("v2"), SetOptions{ExpireAt: 4102444800000}); err != nil {
		t.Fatal(err)
	}
	st, err := db.Backup("/backup/one")
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "after", "x")
	if !st.Linked || st.Seq != 2 || st.Keys != 2 || st.Bytes <= 0 || st.Dir != "/backup/one" {
		t.Fatalf("backup stats %+v", st)
	}
	id := db.DatasetID()
	db.Close()
	fs.Crash()
	if rep := Check("/backup/one", Options{FS: fs}, nil); len(rep.Problems) > 0 || rep.Keys != 2 || rep.LastSeq != 2 {
		t.Fatalf("check of the backup: %+v", rep)
	}
	b, err := Open("/backup/one", Options{FS: fs, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustGet(t, b, "k1", "v1")
	mustGet(t, b, "k2", "v2")
	if ttl, err := b.PTTL([]byte("k2")); err != nil || ttl <= 0 {
		t.Fatalf("k2's ttl in the backup: %d, %v", ttl, err)
	}
	if n, _ := b.Exists([]byte("after")); n != 0 {
		t.Fatal("a write after the backup is in it")
	}
	if b.DatasetID() != id || b.LastSeq() != 2 {
		t.Fatalf("backup opens with dataset %s at seq %d, want %s at 2", b.DatasetID(), b.LastSeq(), id)
	}
	mustSet(t, b, "new", "write") // the backup's log goes on from its seq
	if b.LastSeq() != 3 {
		t.Fatalf("first write to the backup has seq %d, want 3", b.LastSeq())
	}
}

// TestBackupCopiesAcrossFileSystems: where a hard link fails with EXDEV
// (another file system) the snapshot is copied, and the copy opens.
func TestBackupCopiesAcrossFileSystems(t *testing.T) {
	mem := vfs.NewMem()
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if op == vfs.OpLink {
			return &os.LinkError{Op: "link", Old: path, New: "elsewhere", Err: syscall.EXDEV}
		}
		return nil
	})
	db := openMem(t, fs, Options{})
	for i := range 1000 {
		mustSet(t, db, fmt.Sprintf("key%04d", i), strings.Repeat("v", i))
	}
	st, err := db.Backup("/other")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if st.Linked || st.Keys != 1000 {
		t.Fatalf("backup across file systems: %+v, want a copy of 1000 keys", st)
	}
	mem.Crash()
	b, err := Open("/other", Options{FS: mem, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, i := range []int{0, 1, 500, 999} {
		mustGet(t, b, fmt.Sprintf("key%04d", i), strings.Repeat("v", i))
	}
	if b.DBSize() != 1000 {
		t.Fatalf("copied backup holds %d keys, want 1000", b.DBSize())
	}
}

// TestBackupRefusesTargets: a directory that holds anything, or the data
// directory itself, is refused before any merge, and left as it was.
func TestBackupRefusesTargets(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	defer db.Close()
	mustSet(t, db, "k", "v")
	fs.MkdirAll("/full", 0o755)
	fs.WriteFile("/full/notes.txt", []byte("mine"))
	for _, dir := range []string{"/full", "/data", "/data/"} {
		if _, err := db.Backup(dir); !errors.Is(err, ErrBackupTarget) || !strings.Contains(err.Error(), strings.TrimSuffix(dir, "/")) {
			t.Errorf("backup to %s: %v, want ErrBackupTarget naming it", dir, err)
		}
	}
	if b, err := fs.ReadFile("/full/notes.txt"); err != nil || string(b) != "mine" {
		t.Fatalf("a refused target was changed: %q, %v", b, err)
	}
	if st := db.Stats(); st.Merges != 0 {
		t.Fatalf("a refused backup merged (%d merges)", st.Merges)
	}
}

// TestBackupFailureLeavesTargetEmpty: a backup that fails part-way
// removes what it wrote.
func TestBackupFailureLeavesTargetEmpty(t *testing.T) {
	mem := vfs.NewMem()
	failing := errors.New("disk full")
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if op == vfs.OpCreate && strings.HasPrefix(path, "/target/DATASET") {
			return failing
		}
		return nil
	})
	db := openMem(t, fs, Options{})
	defer db.Close()
	mustSet(t, db, "k", "v")
	if _, err := db.Backup("/target"); !errors.Is(err, failing) || !strings.Contains(err.Error(), "/target/DATASET") {
		t.Fatalf("backup with DATASET failing: %v", err)
	}
	if names, err := mem.List("/target"); err != nil || len(names) != 0 {
		t.Fatalf("a failed backup left %v (%v)", names, err)
	}
	mustGet(t, db, "k", "v")
}
