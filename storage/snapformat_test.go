package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// copyGolden copies the golden data directory testdata/name into a new
// temporary directory (opening a directory writes to it) and returns it.
func copyGolden(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// snapshotVersions returns the format version of every snapshot file the
// open db holds.
func snapshotVersions(db *DB) []uint16 {
	var vs []uint16
	for _, df := range db.files.snapshots() {
		vs = append(vs, df.snap.Header.Version)
	}
	return vs
}

// TestGoldenDataDirV4 opens a data directory whose snapshot files are of
// version 3 (compact records; a MANIFEST, two snapshot files, one with a
// tombstone, a key with an expiry, and log) and finds exactly its data,
// values read through the GET path from both files; pykv-check's checks
// find nothing wrong. go test -run TestGoldenDataDirV4 -update rewrites
// it (only this one: older directories are kept as they shipped).
func TestGoldenDataDirV4(t *testing.T) {
	dir := filepath.Join("testdata", "v4")
	if *updateGolden {
		os.RemoveAll(dir)
		db, err := Open(dir, Options{Logger: quiet(), ExpiryInterval: -1, NoHousekeeper: true})
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, db, "greeting", "hello")
		db.Set([]byte("session"), []byte("abc"), SetOptions{ExpireAt: 4_000_000_000_000})
		db.MSet([]byte("a"), []byte("1"), []byte("b"), []byte("2"), []byte("c"), []byte("3"))
		if _, err := db.Merge(); err != nil {
			t.Fatal(err)
		}
		db.Del([]byte("b"))
		mustSet(t, db, "c", "three")
		mustSet(t, db, "", "the empty key")
		partialMerge(t, db)
		db.IncrBy([]byte("a"), 41)
		db.Close()
		os.Remove(filepath.Join(dir, lockFile))
	}
	tmp := copyGolden(t, "v4")
	if rep := Check(tmp, Options{}, nil); len(rep.Problems) > 0 || len(rep.Snapshots) != 2 {
		t.Fatalf("check of the golden directory: %d snapshots, %v", len(rep.Snapshots), rep.Problems)
	}
	db, err := Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if vs := snapshotVersions(db); len(vs) != 2 || vs[0] != 3 || vs[1] != 3 {
		t.Fatalf("snapshot versions %v, want two files of version 3", vs)
	}
	var tombs uint32
	for _, df := range db.files.snapshots() {
		tombs += df.tombs
	}
	if tombs != 1 {
		t.Fatalf("%d tombstones, want 1", tombs)
	}
	checkKeys(t, db, map[string]string{"greeting": "hello", "session": "abc", "a": "42", "c": "three", "": "the empty key"})
	if at, err := db.expireTime([]byte("session")); err != nil || at != 4_000_000_000_000 {
		t.Fatalf("session expires at %d, %v", at, err)
	}
}

// TestOlderSnapshotsMergeIntoV3: the snapshot files of the older golden
// directories (version 1 in testdata/v1, version 2 in testdata/v3) are
// read by a merge, partial or full, which writes version 3; every key
// keeps its value and expiry through the merge and a restart, and the
// directory checks clean.
func TestOlderSnapshotsMergeIntoV3(t *testing.T) {
	for _, tc := range []struct {
		golden string
		want   map[string]string
	}{
		{"v1", map[string]string{"greeting": "hello", "session": "abc", "a": "42"}},
		{"v3", map[string]string{"greeting": "hello", "a": "42", "c": "three"}},
	} {
		for _, full := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/full=%v", tc.golden, full), func(t *testing.T) {
				tmp := copyGolden(t, tc.golden)
				db, err := Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"new": "key"}
				for k, v := range tc.want {
					want[k] = v
				}
				mustSet(t, db, "new", "key")
				if full {
					if _, err := db.Merge(); err != nil {
						t.Fatal(err)
					}
					if vs := snapshotVersions(db); len(vs) != 1 || vs[0] != snapshot.Version {
						t.Fatalf("after a full merge: snapshot versions %v, want one of version %d", vs, snapshot.Version)
					}
				} else {
					partialMerge(t, db)
					if vs := snapshotVersions(db); vs[len(vs)-1] != snapshot.Version {
						t.Fatalf("after a partial merge: snapshot versions %v, the newest not version %d", vs, snapshot.Version)
					}
				}
				checkKeys(t, db, want)
				db.Close()
				if rep := Check(tmp, Options{}, nil); len(rep.Problems) > 0 {
					t.Fatalf("check after the merge: %v", rep.Problems)
				}
				db, err = Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				checkKeys(t, db, want)
				if _, ok := want["session"]; ok {
					if at, err := db.expireTime([]byte("session")); err != nil || at != 4_000_000_000_000 {
						t.Fatalf("session expires at %d, %v", at, err)
					}
				}
				// And the version 3 file merges again (read through its index).
				mustSet(t, db, "newer", "key")
				want["newer"] = "key"
				if _, err := db.Merge(); err != nil {
					t.Fatal(err)
				}
				checkKeys(t, db, want)
			})
		}
	}
}

// TestDamagedV3RecordStopsStart: a value byte flipped in a version 3
// snapshot stops start-up with the file and the record's offset (the
// records crc, then the record's own crc against its index entry), and
// Repair drops only that key.
func TestDamagedV3RecordStopsStart(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	want := map[string]string{}
	for i := range 20 {
		k, v := fmt.Sprintf("key-%02d", i), fmt.Sprintf("value-%02d", i)
		mustSet(t, db, k, v)
		want[k] = v
	}
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	e, _ := db.keydir.Get([]byte("key-07"))
	db.Close()
	names, _ := fs.List("/data")
	var path string
	for _, n := range names {
		if strings.HasSuffix(n, snapshot.Ext) {
			path = filepath.Join("/data", n)
		}
	}
	b, _ := fs.ReadFile(path)
	if v := snapshotVersionOf(b); v != snapshot.Version {
		t.Fatalf("%s is version %d", path, v)
	}
	b[e.Offset+uint64(e.Size)-1] ^= 0x01 // the last byte of key-07's value
	fs.WriteFile(path, b)
	_, err := Open("/data", Options{FS: fs, Logger: quiet()})
	wantMsg := fmt.Sprintf("first bad record at offset %d", e.Offset)
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, snapshot.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), wantMsg) {
		t.Fatalf("open: %v; want ErrDamaged naming %s and %q", err, path, wantMsg)
	}
	if rep := Check("/data", Options{FS: fs}, nil); len(rep.Problems) == 0 || !strings.Contains(errors.Join(rep.Problems...).Error(), fmt.Sprintf("record at offset %d", e.Offset)) {
		t.Fatalf("check: %v; want the record at offset %d named", rep.Problems, e.Offset)
	}
	db, err = Open("/data", Options{FS: fs, Logger: quiet(), Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	delete(want, "key-07")
	checkKeys(t, db, want)
}

// snapshotVersionOf returns the version field of a snapshot file's bytes.
func snapshotVersionOf(b []byte) uint16 { return binary.LittleEndian.Uint16(b[6:]) }

// TestNewerSnapshotVersionRefused: a snapshot file of a version after this
// pykv's stops start-up with a message naming both versions (invariant 8).
func TestNewerSnapshotVersionRefused(t *testing.T) {
	tmp := copyGolden(t, "v4")
	path := snapshot.Path(tmp, 1)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := snapshot.DecodeHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	h.Version = snapshot.Version + 1
	copy(b, appendSnapshotHeader(h))
	os.WriteFile(path, b, 0o644)
	_, err = Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
	want := fmt.Sprintf("file has version %d, this pykv reads up to version %d", snapshot.Version+1, snapshot.Version)
	if !errors.Is(err, snapshot.ErrNewerVersion) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("open: %v; want %q naming %s", err, want, path)
	}
}

// appendSnapshotHeader encodes h as a snapshot header, its crc right.
func appendSnapshotHeader(h snapshot.Header) []byte {
	b := []byte(snapshot.Magic)
	b = binary.LittleEndian.AppendUint16(b, h.Version)
	b = binary.LittleEndian.AppendUint32(b, h.ID)
	b = binary.LittleEndian.AppendUint64(b, h.CoveredSeq)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}
