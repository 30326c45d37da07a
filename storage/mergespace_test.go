package storage

import (
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// TestMergeDeclinedWithoutFreeSpace: with less free space than its output
// needs, a merge does not start: no file is created, a log line names the
// bytes needed and available and the directory, Merge returns
// ErrMergeNoSpace, and writes go on. Once there is room it merges.
func TestMergeDeclinedWithoutFreeSpace(t *testing.T) {
	mem := vfs.NewMem()
	var creates atomic.Int64
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if op == vfs.OpCreate && strings.Contains(path, snapshot.Ext) {
			creates.Add(1)
		}
		return nil
	})
	logs := &logCapture{}
	db, err := Open("/data", Options{FS: fs, Logger: slog.New(logs), SegmentSize: 1024, NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := fill(t, db)
	before, _ := mem.List("/data")

	active, _ := db.log.Active()
	var merged int64
	for _, df := range db.files.sealedSegments(active) {
		n, _ := mem.Stat(df.path)
		merged += n
	}
	need := db.mergeNeeds(merged)
	if live := db.liveBytes.Load(); need < live {
		t.Fatalf("estimate %d below the live bytes %d", need, live)
	}
	declined := logs.on("merge declined")
	mem.SetFreeSpace(need - 1)
	_, err = db.Merge()
	if !errors.Is(err, ErrMergeNoSpace) || !strings.Contains(err.Error(), "/data") ||
		!strings.Contains(err.Error(), strconv.FormatInt(need-1, 10)) {
		t.Fatalf("Merge: %v; want ErrMergeNoSpace naming the directory and the bytes", err)
	}
	line := wait(t, declined, "log line of the declined merge")
	for _, w := range []string{`dir="/data"`, `needed_bytes="` + strconv.FormatInt(need, 10),
		`available_bytes="` + strconv.FormatInt(need-1, 10)} {
		if !strings.Contains(line, w) {
			t.Fatalf("log line %s lacks %s", line, w)
		}
	}
	if creates.Load() != 0 {
		t.Fatalf("a declined merge created %d snapshot files", creates.Load())
	}
	if st := db.Stats(); st.MergesDeclined != 1 || st.MergeFailures != 0 || st.Merges != 0 {
		t.Fatalf("stats: %d declined, %d failed, %d merged; want 1, 0, 0", st.MergesDeclined, st.MergeFailures, st.Merges)
	}
	after, _ := mem.List("/data")
	// The Merge sealed the active segment and started a new one: one more
	// segment, and nothing else.
	if len(after) != len(before)+1 || len(tmpFiles(t, mem)) > 0 {
		t.Fatalf("files before %v, after %v", before, after)
	}
	mustSet(t, db, "key-00", "after")
	want["key-00"] = "after"
	checkData(t, db, want)

	mem.SetFreeSpace(need * 2) // the new segment raised the estimate a little
	if _, err := db.Merge(); err != nil {
		t.Fatalf("Merge with room: %v", err)
	}
	checkData(t, db, want)
}

// TestMergeOutOfSpaceLeavesLogAlone: a merge that hits ENOSPC (or EIO)
// writing its snapshot or its index side file fails alone: its temporary
// files are removed, the failure is logged and counted, the log goes on
// taking writes, and once the fault is gone the next merge succeeds.
func TestMergeOutOfSpaceLeavesLogAlone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     vfs.Op
		suffix string
		err    error
	}{
		{"ENOSPC writing the snapshot", vfs.OpWrite, snapshot.Ext + ".tmp", syscall.ENOSPC},
		{"ENOSPC writing the index side file", vfs.OpWrite, ".index.tmp", syscall.ENOSPC},
		{"EIO on fsync of the snapshot", vfs.OpSync, snapshot.Ext + ".tmp", syscall.EIO},
		{"ENOSPC creating the snapshot", vfs.OpCreate, snapshot.Ext + ".tmp", syscall.ENOSPC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			var armed atomic.Bool
			fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
				if armed.Load() && op == tc.op && strings.HasSuffix(path, tc.suffix) {
					return tc.err
				}
				return nil
			})
			logs := &logCapture{}
			failed := logs.on("merge failed")
			db, err := Open("/data", Options{FS: fs, Logger: slog.New(logs), SegmentSize: 1024, NoHousekeeper: true,
				CacheBytes: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			want := fill(t, db)
			filesBefore := dataFiles(t, mem)
			armed.Store(true)
			if !db.StartMerge() {
				t.Fatal("StartMerge did not start")
			}
			if line := wait(t, failed, "log line of the failed merge"); !strings.Contains(line, tc.err.Error()) {
				t.Fatalf("log line %s lacks %v", line, tc.err)
			}
			db.merges.mu.Lock() // held by the merge until it has unwound
			st := db.Stats()
			db.merges.mu.Unlock()
			if tmp := tmpFiles(t, mem); len(tmp) > 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
			if st.MergeFailures != 1 || st.Merges != 0 {
				t.Fatalf("stats: %d failures, %d merges", st.MergeFailures, st.Merges)
			}
			if err := db.Healthy(); err != nil {
				t.Fatalf("the log failed with the merge: %v", err)
			}
			mustSet(t, db, "key-00", "after")
			want["key-00"] = "after"
			checkData(t, db, want)
			for _, f := range filesBefore {
				if _, err := mem.Stat("/data/" + f); err != nil {
					t.Fatalf("merged file %s removed by a failed merge: %v", f, err)
				}
			}
			armed.Store(false)
			if _, err := db.Merge(); err != nil {
				t.Fatalf("merge after the fault: %v", err)
			}
			checkData(t, db, want)
		})
	}
}

// dataFiles lists the segments and snapshots in the Mem's /data.
func dataFiles(t *testing.T, mem *vfs.Mem) []string {
	t.Helper()
	names, err := mem.List("/data")
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(names, func(n string) bool {
		return !strings.HasSuffix(n, ".log") && !strings.HasSuffix(n, snapshot.Ext)
	})
}
