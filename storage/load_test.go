package storage

import (
	"cmp"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// TestLoadSnapshotInParts opens a snapshot whose index is large enough to
// be loaded in several parts, in hash order (as merges write it) and in
// record order (as files written before that rule are), with more parts
// than cores: every key comes back, and the load never deadlocks (a part
// that ended while holding a shard's lock used to block the others).
func TestLoadSnapshotInParts(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 250k keys")
	}
	const n = 250_000 // 48-byte index entries: 12 MB, so three parts or more
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet(), Sync: segment.SyncNo, NoHousekeeper: true, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	pairs := make([][]byte, 0, 2000)
	for i := 0; i < n; i += 1000 {
		pairs = pairs[:0]
		for j := i; j < i+1000; j++ {
			pairs = append(pairs, benchKey(j), []byte(fmt.Sprint(j)))
		}
		if err := db.MSet(pairs...); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.Merge()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	hashOrdered, err := os.ReadFile(st.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	recordOrdered := rewriteInRecordOrder(t, st.Snapshot)

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		name  string
		file  []byte
		procs int
	}{
		{"hash order, 2 parts", hashOrdered, 2},
		{"hash order, 16 parts", hashOrdered, 16},
		{"record order, 2 parts", recordOrdered, 2},
		{"record order, 16 parts", recordOrdered, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(st.Snapshot, tc.file, 0o640); err != nil {
				t.Fatal(err)
			}
			runtime.GOMAXPROCS(tc.procs)
			opened := make(chan error, 1)
			var db *DB
			go func() {
				var err error
				db, err = Open(dir, Options{Logger: quiet(), NoHousekeeper: true, ExpiryInterval: -1})
				opened <- err
			}()
			select {
			case err := <-opened:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Minute): // a guard, not a wait: a healthy load takes well under a second
				t.Fatal("Open did not return: the snapshot load is stuck")
			}
			defer db.Close()
			if got := db.DBSize(); got != n {
				t.Fatalf("%d keys after open, want %d", got, n)
			}
			for _, i := range []int{0, 1, n / 2, n - 1} {
				if v, err := db.Get(benchKey(i)); err != nil || string(v) != fmt.Sprint(i) {
					t.Fatalf("key %d: %q, %v", i, v, err)
				}
			}
		})
	}
}

// rewriteInRecordOrder returns the bytes of the snapshot at path rewritten
// with its index in record order, leaving the file itself as it was.
func rewriteInRecordOrder(t *testing.T, path string) []byte {
	t.Helper()
	s, err := snapshot.Open(vfs.Default, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	w, err := snapshot.Create(vfs.Default, dir, s.ID(), s.Header.CoveredSeq)
	if err != nil {
		t.Fatal(err)
	}
	// Records walks a version 3 file in index order: put the records back
	// in file order, by offset, before writing them again.
	type placed struct {
		off int64
		r   segment.Record
	}
	var recs []placed
	err = s.Records(segment.DefaultLimits(), func(off int64, r segment.Record) error {
		recs = append(recs, placed{off, r})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(recs, func(a, b placed) int { return cmp.Compare(a.off, b.off) })
	for _, p := range recs {
		if _, _, err := w.Add(&p.r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
