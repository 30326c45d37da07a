package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// partialMerge runs one background-style merge (the policy's, not a full
// one) with triggers low enough that any sealed segment and any snapshot
// file at least half dead is taken.
func partialMerge(t *testing.T, db *DB) MergeStats {
	t.Helper()
	db.SetMergeThresholds(MergeThresholds{SealedSegments: 1, DeadBytes: 1, DeadRatio: 0.5, MinInterval: -1})
	if err := db.rotateForMerge(); err != nil {
		t.Fatal(err)
	}
	st, err := db.MergeByPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if st.Files == 0 {
		t.Fatal("MergeByPolicy found nothing to merge")
	}
	return st
}

// liveSet returns the ids and tombstone counts of the live snapshot files.
func liveSet(db *DB) map[uint32]uint32 {
	out := map[uint32]uint32{}
	for _, df := range db.files.snapshots() {
		out[df.id&^snapFlag] = df.tombs
	}
	return out
}

// checkLiveCounts compares every file's live bytes with what the keydir
// points at.
func checkLiveCounts(t *testing.T, db *DB, when string) {
	t.Helper()
	want := map[uint32]int64{}
	var total int64
	for cursor := uint64(0); ; {
		cursor = db.keydir.Scan(cursor, 1000, func(_ []byte, e index.Entry) {
			want[e.FileID] += int64(e.Size)
			total += int64(e.Size)
		})
		if cursor == 0 {
			break
		}
	}
	m := db.files.byID.Load()
	for id, df := range *m {
		if got := df.live.Load(); got != want[id] {
			t.Errorf("%s: file %d (snapshot %v) counts %d live bytes, the keydir points at %d", when, id&^snapFlag, id&snapFlag != 0, got, want[id])
		}
	}
	if got := db.liveBytes.Load(); got != total {
		t.Errorf("%s: %d live bytes in all, the keydir points at %d", when, got, total)
	}
}

// TestPartialMergeRewritesOnlyWhatChanged: a background merge of the log
// leaves an older snapshot file alone, byte for byte, and writes a
// tombstone for each key it deleted; once the older file is taken too,
// the tombstones go.
func TestPartialMergeRewritesOnlyWhatChanged(t *testing.T) {
	mem := vfs.NewMem()
	db := openMem(t, mem, Options{SegmentSize: 4096, NoHousekeeper: true})
	want := map[string]string{}
	set := func(k, v string) { mustSet(t, db, k, v); want[k] = v }
	del := func(k string) {
		if _, err := db.Del([]byte(k)); err != nil {
			t.Fatal(err)
		}
		delete(want, k)
	}
	for i := range 200 {
		set(fmt.Sprintf("k%03d", i), strings.Repeat("a", 40))
	}
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	first := db.files.snapshots()
	if len(first) != 1 {
		t.Fatalf("%d snapshot files after a full merge", len(first))
	}
	base := first[0]
	baseBytes, _ := mem.ReadFile(base.path)

	for i := range 20 {
		set(fmt.Sprintf("k%03d", i), "new")
	}
	for i := 20; i < 40; i++ {
		del(fmt.Sprintf("k%03d", i))
	}
	for i := range 50 {
		set(fmt.Sprintf("n%03d", i), "fresh")
	}
	checkLiveCounts(t, db, "before the partial merge")
	st := partialMerge(t, db)
	checkLiveCounts(t, db, "after the partial merge")
	files := liveSet(db)
	if len(files) != 2 {
		t.Fatalf("live files %v after a merge of the log alone; want the base and one new file", files)
	}
	if now, _ := mem.ReadFile(base.path); !bytes.Equal(now, baseBytes) {
		t.Fatalf("the partial merge rewrote %s", base.path)
	}
	var newID uint32
	for id := range files {
		if id != base.id&^snapFlag {
			newID = id
		}
	}
	if files[newID] != 20 {
		t.Fatalf("the new file holds %d tombstones; want one per deleted key (20)", files[newID])
	}
	if st.BytesRead >= base.size {
		t.Fatalf("the merge read %d bytes, more than the base file it left alone (%d): %+v", st.BytesRead, base.size, st)
	}
	checkKeys(t, db, want)

	// A restart loads both files: the tombstones hide the base's keys.
	db.Close()
	db = openMem(t, mem, Options{SegmentSize: 4096, NoHousekeeper: true})
	checkKeys(t, db, want)
	checkLiveCounts(t, db, "after a restart")
	db.Close()
	if rep := Check("/data", Options{FS: mem}, nil); len(rep.Problems) > 0 || len(rep.Snapshots) != 2 {
		t.Fatalf("check: %v, snapshots %v", rep.Problems, rep.Snapshots)
	}
	db = openMem(t, mem, Options{SegmentSize: 4096, NoHousekeeper: true})
	defer db.Close()

	// Overwrite most of the base: now it is more than half dead and the
	// next merge takes it, with every file older than the tombstones, so
	// they go.
	for i := 40; i < 180; i++ {
		set(fmt.Sprintf("k%03d", i), "newer")
	}
	partialMerge(t, db)
	checkLiveCounts(t, db, "after the merge that took the base")
	files = liveSet(db)
	if _, ok := files[base.id&^snapFlag]; ok {
		t.Fatalf("the base, %d%% dead, is still live: %v", int(100*base.deadShare()), files)
	}
	if _, err := mem.Stat(base.path); err == nil {
		t.Fatalf("%s is still on disk", base.path)
	}
	checkKeys(t, db, want)
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	files = liveSet(db)
	if len(files) != 1 {
		t.Fatalf("a full merge left %v", files)
	}
	for _, tombs := range files {
		if tombs != 0 {
			t.Fatalf("a full merge kept %d tombstones", tombs)
		}
	}
	checkKeys(t, db, want)
}

// TestDeadFileDroppedUnread: a snapshot file whose every record is dead
// and that holds no tombstone is retired without a read.
func TestDeadFileDroppedUnread(t *testing.T) {
	mem := vfs.NewMem()
	var reads atomic.Int64
	var base atomic.Value
	base.Store("")
	fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
		if path == base.Load().(string) && op == vfs.OpOpen {
			reads.Add(1)
		}
		return nil
	})
	db := openMem(t, fs, Options{SegmentSize: 4096, NoHousekeeper: true})
	defer db.Close()
	for i := range 50 {
		mustSet(t, db, fmt.Sprintf("k%02d", i), "old")
	}
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	base.Store(db.files.snapshots()[0].path)
	want := map[string]string{}
	for i := range 50 {
		k := fmt.Sprintf("k%02d", i)
		mustSet(t, db, k, "new")
		want[k] = "new"
	}
	reads.Store(0)
	partialMerge(t, db)
	if n := reads.Load(); n != 0 {
		t.Fatalf("the merge opened the dead file %d times", n)
	}
	if _, err := mem.Stat(base.Load().(string)); err == nil {
		t.Fatal("the dead file is still on disk")
	}
	checkKeys(t, db, want)
}

// checkKeys checks that db holds exactly want.
func checkKeys(t *testing.T, db *DB, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, err := db.Get([]byte(k))
		if err != nil || string(got) != v {
			t.Fatalf("get %s: %q, %v; want %q", k, got, err, v)
		}
	}
	if n := db.DBSize(); n != int64(len(want)) {
		t.Fatalf("dbsize %d, want %d", n, len(want))
	}
}

// partialMergeSetup returns the directory of the partial merge tests: a
// merged base, then deletes and overwrites of some of its keys in a sealed
// segment, and thresholds that make the next policy merge take the
// segment and write tombstones while the base stays. Its file system calls
// hook from the moment the returned DB is handed back; want is the
// acknowledged data.
func partialMergeSetup(t *testing.T) func(hook vfs.Hook) (*vfs.Mem, *DB, map[string]string) {
	t.Helper()
	return func(hook vfs.Hook) (*vfs.Mem, *DB, map[string]string) {
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
		if _, err := db.Merge(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 40; i += 3 {
			k := fmt.Sprintf("key-%02d", i)
			if i%2 == 0 {
				if _, err := db.Del([]byte(k)); err != nil {
					t.Fatal(err)
				}
				delete(want, k)
			} else {
				mustSet(t, db, k, "again")
				want[k] = "again"
			}
		}
		if err := db.rotateForMerge(); err != nil {
			t.Fatal(err)
		}
		db.SetMergeThresholds(MergeThresholds{SealedSegments: 1, DeadBytes: 1, DeadRatio: 0.5, MinInterval: -1})
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		return mem, db, want
	}
}

// TestCrashAtEveryPartialMergeStep: a power cut at each file operation of
// a partial merge (one that writes tombstones and a new manifest, and
// leaves an older file alone) leaves a directory that opens to exactly
// the acknowledged data.
func TestCrashAtEveryPartialMergeStep(t *testing.T) {
	setup := partialMergeSetup(t)
	run := func(db *DB) {
		db.merges.mu.Lock()
		defer db.merges.mu.Unlock()
		db.mergeSealed(false)
	}
	var ops atomic.Int64
	_, db, _ := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	run(db)
	if files := liveSet(db); len(files) != 2 {
		t.Fatalf("the partial merge left files %v; want the old and a new one", files)
	}
	db.Close()
	total := int(ops.Load())
	if total < 10 {
		t.Fatalf("a partial merge took only %d file operations", total)
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
		run(db) // fails at step at
		if crashed.Load() {
			db.abandon()
		} else {
			db.Close()
		}
		db2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("power cut at operation %d of %d: reopen: %v", at, total, err)
		}
		checkData(t, db2, want)
		checkLiveCounts(t, db2, fmt.Sprintf("power cut at operation %d", at))
		db2.Close()
		if rep := Check("/data", Options{FS: mem}, nil); len(rep.Problems) > 0 || rep.Torn != nil {
			t.Fatalf("power cut at operation %d: check: %v %v", at, rep.Problems, rep.Torn)
		}
	}
}

// TestManifestRoundTrip encodes and decodes manifests, and refuses damaged
// ones with the file and offset.
func TestManifestRoundTrip(t *testing.T) {
	m := &manifest{firstSeg: 7, nextID: 12, covered: 900, files: []setFile{{id: 3, min: 0, max: 400}, {id: 11, min: 401, max: 900}}}
	b := m.encode()
	got, err := decodeManifest(b, "/d/MANIFEST")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*got) != fmt.Sprint(*m) {
		t.Fatalf("decoded %+v, want %+v", *got, *m)
	}
	flip := func(at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 1
		return c
	}
	reencode := func(f func(*manifest)) []byte {
		c := *m
		c.files = append([]setFile(nil), m.files...)
		f(&c)
		return c.encode()
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"magic", flip(0), "bad magic"},
		{"checksum", flip(20), "checksum"},
		{"cut", b[:len(b)-1], "need"},
		{"newer version", func() []byte { c := bytes.Clone(b); c[6] = 9; return c }(), "version 9, this pykv reads up to version 1"},
		{"id at next id", reencode(func(c *manifest) { c.files[1].id = 12 }), "out of range"},
		{"id twice", reencode(func(c *manifest) { c.files[1].id = 3 }), "listed twice"},
		{"seqs past covered", reencode(func(c *manifest) { c.files[1].max = 901 }), "outside the covered seq"},
		{"min above max", reencode(func(c *manifest) { c.files[0].min = 500 }), "outside the covered seq"},
		{"first segment 0", reencode(func(c *manifest) { c.firstSeg = 0 }), "first segment 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeManifest(c.b, "/d/MANIFEST")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "/d/MANIFEST") {
				t.Fatalf("error %v; want one naming the file and saying %q", err, c.want)
			}
		})
	}
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add((&manifest{firstSeg: 1, nextID: 2, covered: 5, files: []setFile{{id: 1, max: 5}}}).encode())
	f.Add((&manifest{firstSeg: 1, nextID: 1}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b, "MANIFEST")
		if err != nil {
			return
		}
		if !bytes.Equal(m.encode(), b) {
			t.Fatalf("accepted bytes that do not re-encode the same: %x", b)
		}
	})
}

// TestGoldenDataDirV3 opens a data directory of the snapshot-set format
// (a MANIFEST, two snapshot files, one with tombstones, and log) and finds
// exactly its data; a v1 directory (TestGoldenDataDirV1) gets its
// manifest from its first merge.
func TestGoldenDataDirV3(t *testing.T) {
	dir := filepath.Join("testdata", "v3")
	if *updateGolden {
		os.RemoveAll(dir)
		db, err := Open(dir, Options{Logger: quiet(), ExpiryInterval: -1, NoHousekeeper: true})
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, db, "greeting", "hello")
		db.MSet([]byte("a"), []byte("1"), []byte("b"), []byte("2"), []byte("c"), []byte("3"))
		if _, err := db.Merge(); err != nil {
			t.Fatal(err)
		}
		db.Del([]byte("b"))
		mustSet(t, db, "c", "three")
		partialMerge(t, db)
		db.IncrBy([]byte("a"), 41)
		db.Close()
		os.Remove(filepath.Join(dir, lockFile))
	}
	tmp := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644)
	}
	if _, err := os.Stat(filepath.Join(tmp, manifestFile)); err != nil {
		t.Fatalf("the golden directory has no manifest: %v", err)
	}
	db, err := Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkKeys(t, db, map[string]string{"greeting": "hello", "a": "42", "c": "three"})
	var tombs uint32
	for _, df := range db.files.snapshots() {
		tombs += df.tombs
	}
	if n := len(db.files.snapshots()); n != 2 || tombs != 1 {
		t.Fatalf("golden directory: %d snapshot files, %d tombstones; want 2 and 1", n, tombs)
	}
}

// TestV1DirectoryGetsAManifest: the first merge in a directory of the
// first format writes a manifest that lists its old snapshot beside the
// new one, and an old-format snapshot never becomes live without one.
func TestV1DirectoryGetsAManifest(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join("testdata", "v1")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644)
	}
	db, err := Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"greeting": "hello", "session": "abc", "a": "42"}
	mustSet(t, db, "new", "key")
	want["new"] = "key"
	partialMerge(t, db)
	checkKeys(t, db, want)
	db.Close()
	m, err := readManifest(vfs.Default, tmp)
	if err != nil || m == nil {
		t.Fatalf("no manifest after the first merge: %v", err)
	}
	if len(m.files) != 2 || m.files[0].id != 1 {
		t.Fatalf("manifest %+v; want the v1 snapshot 1 and the new file", *m)
	}
	if v, err := snapshotVersion(vfs.Default, snapshot.Path(tmp, m.files[1].id)); err != nil || v != snapshot.Version {
		t.Fatalf("new file version %d, %v", v, err)
	}
	db, err = Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkKeys(t, db, want)
}

// TestV2DirectoryFlushThenMerge: a directory of the first format whose
// log holds a flush after its snapshot (storage/testdata/v2) loses that
// snapshot at start-up; the first merge's manifest must not list it, or
// the next start-up stops on a missing file.
func TestV2DirectoryFlushThenMerge(t *testing.T) {
	for _, full := range []bool{true, false} {
		t.Run(fmt.Sprintf("full=%v", full), func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join("testdata", "v2")
			ents, err := os.ReadDir(src)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(src, e.Name()))
				os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644)
			}
			db, err := Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"after": "flush", "session": "abc", "new": "key"}
			mustSet(t, db, "new", "key")
			if full {
				if _, err := db.Merge(); err != nil {
					t.Fatal(err)
				}
			} else {
				partialMerge(t, db)
			}
			checkKeys(t, db, want)
			db.Close()
			if rep := Check(tmp, Options{}, nil); len(rep.Problems) > 0 {
				t.Fatalf("check after the first merge: %v", rep.Problems)
			}
			db, err = Open(tmp, Options{Logger: quiet(), NoHousekeeper: true})
			if err != nil {
				t.Fatalf("reopen after the first merge: %v", err)
			}
			defer db.Close()
			checkKeys(t, db, want)
		})
	}
}

// TestErrorAtEveryPartialMergeStep: an I/O error (not a crash) at each
// file operation of a partial merge leaves the engine serving the
// acknowledged data, and a directory that a restart opens to exactly it,
// whether or not the failed step was after a rename had taken effect.
func TestErrorAtEveryPartialMergeStep(t *testing.T) {
	setup := partialMergeSetup(t)
	run := func(db *DB) error {
		db.merges.mu.Lock()
		defer db.merges.mu.Unlock()
		_, err := db.mergeSealed(false)
		return err
	}
	var ops atomic.Int64
	_, db, _ := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	if err := run(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	total := int(ops.Load())
	for at := 1; at <= total; at++ {
		var n atomic.Int64
		var what atomic.Value
		mem, db, want := setup(func(op vfs.Op, path string) error {
			if n.Add(1) == int64(at) {
				what.Store(fmt.Sprintf("%s of %s", op, path))
				return fmt.Errorf("injected error at %s of %s", op, path)
			}
			return nil
		})
		run(db)
		if db.log.Err() == nil {
			checkData(t, db, want)
		}
		db.Close()
		db2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("error at operation %d of %d (%v): reopen: %v", at, total, what.Load(), err)
		}
		checkData(t, db2, want)
		checkLiveCounts(t, db2, fmt.Sprintf("error at operation %d", at))
		db2.Close()
	}
}

// TestTombstoneFilesDoNotAccumulate: merges of a log that only deletes
// write files of tombstones alone, which hold no record bytes and so are
// never dead by the ratio; the next merge that runs takes them along, so
// that their number stays bounded and the keys stay deleted.
func TestTombstoneFilesDoNotAccumulate(t *testing.T) {
	mem := vfs.NewMem()
	db := openMem(t, mem, Options{SegmentSize: 4096, NoHousekeeper: true})
	want := map[string]string{}
	for i := range 1000 {
		k := fmt.Sprintf("k%04d", i)
		mustSet(t, db, k, "v")
		want[k] = "v"
	}
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	for r := range 20 {
		for i := range 10 {
			k := fmt.Sprintf("k%04d", r*10+i)
			if _, err := db.Del([]byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
		}
		partialMerge(t, db)
		checkLiveCounts(t, db, fmt.Sprintf("after merge %d", r))
	}
	checkKeys(t, db, want)
	if n := len(db.files.snapshots()); n > 2 {
		t.Errorf("%d snapshot files after 20 merges of deletes; want the base and at most one of tombstones", n)
	}
	db.Close()
	db = openMem(t, mem, Options{SegmentSize: 4096, NoHousekeeper: true})
	defer db.Close()
	checkKeys(t, db, want)
	checkLiveCounts(t, db, "after a restart")
}

// TestTombstoneCountChecked: a snapshot whose footer counts fewer
// tombstones than its index holds (its checksums all valid: a writer's
// mistake, which pykv-check reports) is refused at start-up, rather than
// leaving tombstone entries in the keydir as keys that exist.
func TestTombstoneCountChecked(t *testing.T) {
	mem := vfs.NewMem()
	db := openMem(t, mem, Options{SegmentSize: 4096, NoHousekeeper: true})
	for i := range 50 {
		mustSet(t, db, fmt.Sprintf("k%02d", i), "v")
	}
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.Del([]byte(fmt.Sprintf("k%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	partialMerge(t, db)
	var path string
	for _, df := range db.files.snapshots() {
		if df.tombs > 0 {
			path = df.path
		}
	}
	db.Close()
	if path == "" {
		t.Fatal("no file with tombstones")
	}
	b, err := mem.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	foot := b[len(b)-snapshot.FooterSize:]
	binary.LittleEndian.PutUint32(foot[40:], 0)
	binary.LittleEndian.PutUint32(foot[44:], crc32.Checksum(foot[:44], castagnoli))
	mem.WriteFile(path, b)
	mem.SyncDir("/data")
	db2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
	if err == nil {
		n := db2.DBSize()
		db2.Close()
		t.Fatalf("opened a snapshot whose footer counts 0 of its 5 tombstones (dbsize %d, want 45 or a refusal)", n)
	}
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("open: %v; want ErrDamaged naming %s", err, path)
	}
}

// TestCrashAtEveryTombstoneMergeStep: a power cut at each file operation
// of a merge that takes a file holding tombstones (and the log) while it
// leaves the older file those tombstones hide keys of alone, leaves a
// directory that opens to exactly the acknowledged data: no deleted key
// comes back.
func TestCrashAtEveryTombstoneMergeStep(t *testing.T) {
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
		want := map[string]string{}
		for i := range 40 {
			k := fmt.Sprintf("key-%02d", i)
			mustSet(t, db, k, "base")
			want[k] = "base"
		}
		if _, err := db.Merge(); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			k := fmt.Sprintf("key-%02d", i)
			if _, err := db.Del([]byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
		}
		for i := range 10 {
			k := fmt.Sprintf("new-%02d", i)
			mustSet(t, db, k, "second")
			want[k] = "second"
		}
		partialMerge(t, db) // a second file: new-* and 10 tombstones
		for i := range 10 {
			k := fmt.Sprintf("new-%02d", i)
			mustSet(t, db, k, "third") // the second file is all dead but for its tombstones
			want[k] = "third"
		}
		if _, err := db.Del([]byte("key-20")); err != nil {
			t.Fatal(err)
		}
		delete(want, "key-20")
		if err := db.rotateForMerge(); err != nil {
			t.Fatal(err)
		}
		db.SetMergeThresholds(MergeThresholds{SealedSegments: 1, DeadBytes: 1, DeadRatio: 0.5, MinInterval: -1})
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		return mem, db, want
	}
	run := func(db *DB) {
		db.merges.mu.Lock()
		defer db.merges.mu.Unlock()
		db.mergeSealed(false)
	}
	var ops atomic.Int64
	_, db, want := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	before := len(liveSet(db))
	run(db)
	files := liveSet(db)
	var tombs uint32
	for _, n := range files {
		tombs += n
	}
	if before != 2 || len(files) != 2 || tombs != 11 {
		t.Fatalf("files %v after the merge (%d before); want the base and one new file holding 11 tombstones", files, before)
	}
	checkKeys(t, db, want)
	db.Close()
	total := int(ops.Load())
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
		run(db) // fails at step at
		if crashed.Load() {
			db.abandon()
		} else {
			db.Close()
		}
		db2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
		if err != nil {
			t.Fatalf("power cut at operation %d of %d: reopen: %v", at, total, err)
		}
		checkKeys(t, db2, want)
		checkLiveCounts(t, db2, fmt.Sprintf("power cut at operation %d", at))
		db2.Close()
	}
}

// TestFaultAtEveryOpenStep: an I/O error, or a power cut, at each file
// operation of a start-up (of a set with tombstones, and of one whose log
// flushed after it, which start-up writes a manifest for and prunes)
// leaves a directory that the next start opens to exactly the
// acknowledged data.
func TestFaultAtEveryOpenStep(t *testing.T) {
	for _, flush := range []bool{false, true} {
		build := func() (*vfs.Mem, map[string]string) {
			mem := vfs.NewMem()
			db := openMem(t, mem, Options{SegmentSize: 1024, NoHousekeeper: true})
			want := fill(t, db)
			db.Merge()
			for i := 0; i < 10; i++ {
				k := fmt.Sprintf("key-%02d", i)
				db.Del([]byte(k))
				delete(want, k)
			}
			partialMerge(t, db)
			if flush {
				db.FlushAll()
				want = map[string]string{}
			}
			mustSet(t, db, "after", "x")
			want["after"] = "x"
			db.Close()
			return mem, want
		}
		var ops atomic.Int64
		mem, _ := build()
		db := openMem(t, vfs.Inject(mem, func(vfs.Op, string) error { ops.Add(1); return nil }), Options{NoHousekeeper: true})
		db.Close()
		total := int(ops.Load())
		for _, crash := range []bool{false, true} {
			for at := 1; at <= total; at++ {
				mem, want := build()
				var n atomic.Int64
				var off atomic.Bool
				fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
					if off.Load() {
						return errors.New("off")
					}
					if n.Add(1) == int64(at) {
						if crash {
							off.Store(true)
							mem.Crash()
						}
						return fmt.Errorf("injected at %s of %s", op, path)
					}
					return nil
				})
				db, err := Open("/data", Options{FS: fs, Logger: quiet(), NoHousekeeper: true})
				if err == nil {
					if off.Load() {
						db.abandon()
					} else {
						db.Close()
					}
				}
				db2, err := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true})
				if err != nil {
					t.Fatalf("flush %v crash %v at %d/%d: %v", flush, crash, at, total, err)
				}
				checkKeys(t, db2, want)
				checkLiveCounts(t, db2, fmt.Sprint(at))
				db2.Close()
			}
		}
	}
}
