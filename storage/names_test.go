package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// hostileDir makes a data directory in a fresh Mem holding key k, then
// moves its one segment to name (a valid segment under a hostile name) or,
// with garbage, writes a few bytes under name beside it.
func hostileDir(t *testing.T, name string, move bool) *vfs.Mem {
	t.Helper()
	mem := vfs.NewMem()
	db := openMem(t, mem, Options{NoHousekeeper: true})
	mustSet(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("/data", name)
	if move {
		if err := mem.Rename(segment.Path("/data", 1), path); err != nil {
			t.Fatal(err)
		}
		return mem
	}
	f, err := mem.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("not a pykv file"))
	f.Close()
	return mem
}

// TestHostileFileNamesRefused: a name that looks like a data file's but
// that pykv cannot have written (an id at or above the snapshot flag, an
// id whose successor reaches it, id 0, the wrong number of digits) stops
// Open, Check and Repair with an error naming the file, whether the file
// holds a valid segment or garbage. Before, a segment named 2147483648.log
// was taken for a snapshot and the first read of its keys dereferenced a
// nil mapping.
func TestHostileFileNamesRefused(t *testing.T) {
	for _, name := range []string{
		"2147483647.log",              // the next segment would carry the snapshot flag
		"2147483648.log",              // the snapshot flag itself
		"4294967295.log",              // the largest uint32: the next id wraps to 0
		"4294967296.log",              // does not fit 32 bits
		"9999999999.log",              // ten digits, out of range
		"0000000000.log",              // id 0
		"00000000001.log",             // eleven digits, a leading zero too many
		"1.log",                       // too short
		"99999999999999999999999.log", // huge
		"2147483648.snap",
		"0000000000.snap",
		"123.snap",
	} {
		for _, move := range []bool{true, false} {
			what := "garbage"
			if move {
				what = "valid segment"
			}
			t.Run(name+"/"+what, func(t *testing.T) {
				mem := hostileDir(t, name, move)
				path := filepath.Join("/data", name)
				_, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
				if !errors.Is(err, ErrBadFileName) || !strings.Contains(err.Error(), path) {
					t.Fatalf("Open: %v; want ErrBadFileName naming %s", err, path)
				}
				rep := Check("/data", Options{FS: mem}, nil)
				if len(rep.Problems) != 1 || !errors.Is(rep.Problems[0], ErrBadFileName) {
					t.Fatalf("Check: %v; want ErrBadFileName", rep.Problems)
				}
				if _, err := Repair("/data", Options{FS: mem}, true); !errors.Is(err, ErrBadFileName) {
					t.Fatalf("Repair: %v; want ErrBadFileName", err)
				}
				if _, err := mem.Stat(path); err != nil {
					t.Fatalf("the refused file is gone: %v", err)
				}
			})
		}
	}
}

// TestForeignFileNamesIgnored: names that are clearly not pykv's are left
// alone (not removed, not read) and the data opens; pykv's own temporary
// names are removed.
func TestForeignFileNamesIgnored(t *testing.T) {
	for _, tc := range []struct {
		name    string
		removed bool
	}{
		{"pykvd.log", false},
		{"notes.tmp", false}, // before, every *.tmp was removed
		{"0000000001.LOG", false},
		{"+000000001.log", false},
		{"-000000001.log", false},
		{"0x00000001.log", false},
		{"0000000001.log~", false},
		{".log", false},
		{".snap", false},
		{"0000000001.logx", false},
		{"README", false},
		{"0000000001.log.broken", false},
		{"0000000005.snap.tmp", true},
		{"0000000005.snap.tmp.index.tmp", true},
		{"0000000001.log.broken.tmp", true},
		{"DATASET.tmp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := hostileDir(t, tc.name, false)
			db := openMem(t, mem, Options{NoHousekeeper: true})
			mustGet(t, db, "k", "v")
			if _, err := db.Merge(); err != nil {
				t.Fatal(err)
			}
			mustGet(t, db, "k", "v")
			db.Close()
			_, err := mem.Stat(filepath.Join("/data", tc.name))
			if gone := errors.Is(err, os.ErrNotExist); gone != tc.removed {
				t.Fatalf("%s removed: %v, want %v", tc.name, gone, tc.removed)
			}
			if rep := Check("/data", Options{FS: mem}, nil); len(rep.Problems) > 0 {
				t.Fatalf("Check: %v", rep.Problems)
			}
		})
	}
}
