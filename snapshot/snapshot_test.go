package snapshot

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func testRecords(n int) []segment.Record {
	var recs []segment.Record
	for i := 0; i < n; i++ {
		recs = append(recs, segment.Record{Type: segment.TypeSet, Seq: uint64(10 + i), ExpireAt: int64(i % 3 * 1000),
			Key: []byte(fmt.Sprintf("key-%03d", i)), Value: []byte(strings.Repeat("v", i))})
	}
	return recs
}

func write(t *testing.T, fs vfs.FS, recs []segment.Record) string {
	t.Helper()
	return writeOrdered(t, fs, recs, nil)
}

// writeOrdered is write with the index in the order of by (see
// Writer.OrderIndex); nil keeps the order of the records.
func writeOrdered(t *testing.T, fs vfs.FS, recs []segment.Record, by func([]byte) uint64) string {
	t.Helper()
	w, err := Create(fs, "/d", 7, 99)
	if err != nil {
		t.Fatal(err)
	}
	if by != nil {
		if err := w.OrderIndex(by); err != nil {
			t.Fatal(err)
		}
	}
	for i := range recs {
		if _, _, err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	path, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func memFS() *vfs.Mem {
	m := vfs.NewMem()
	m.MkdirAll("/d", 0o755)
	return m
}

func TestRoundTrip(t *testing.T) {
	fs := memFS()
	recs := testRecords(50)
	path := write(t, fs, recs)
	if path != "/d/0000000007.snap" {
		t.Fatalf("path %s", path)
	}
	if names, _ := fs.List("/d"); len(names) != 1 {
		t.Fatalf("files left: %v", names)
	}
	s, err := Open(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ID() != 7 || s.Header.CoveredSeq != 99 || s.Footer.Count != 50 {
		t.Fatalf("header %+v footer %+v", s.Header, s.Footer)
	}
	i := 0
	err = s.Index(segment.DefaultMaxKey, func(e IndexEntry) error {
		r := recs[i]
		if !bytes.Equal(e.Key, r.Key) || e.Seq != r.Seq || e.ExpireAt != r.ExpireAt {
			t.Fatalf("entry %d: %+v", i, e)
		}
		got, err := s.RecordAt(&e, segment.DefaultLimits())
		if err != nil || !bytes.Equal(got.Value, r.Value) || !bytes.Equal(got.Key, r.Key) || got.Seq != r.Seq || got.ExpireAt != r.ExpireAt {
			t.Fatalf("entry %d record %+v, %v", i, got, err)
		}
		if want := recordV3Size(r.Key, r.Value); int(e.Size) != want {
			t.Fatalf("entry %d: record of %d bytes, want %d", i, e.Size, want)
		}
		i++
		return nil
	})
	if err != nil || i != 50 {
		t.Fatalf("%d entries, %v", i, err)
	}
	if errs := s.Verify(segment.DefaultLimits()); len(errs) > 0 {
		t.Fatal(errs)
	}
}

// TestCorruptionIsNamed flips a byte at random offsets of the records, the
// index and the footer: Open or Verify reports it, naming the file and an
// offset.
func TestCorruptionIsNamed(t *testing.T) {
	fs := memFS()
	path := write(t, fs, testRecords(40))
	good, _ := fs.ReadFile(path)
	s, _ := Open(fs, path)
	idxOff, size := int(s.Footer.IndexOffset), len(good)
	s.Close()
	rng := rand.New(rand.NewSource(1))
	regions := []struct {
		name     string
		from, to int
	}{
		{"header", 0, HeaderSize},
		{"records", HeaderSize, idxOff},
		{"index", idxOff, size - FooterSize},
		{"footer", size - FooterSize, size},
	}
	for _, reg := range regions {
		for i := 0; i < 40; i++ {
			at := reg.from + rng.Intn(reg.to-reg.from)
			bad := append([]byte(nil), good...)
			bad[at] ^= byte(1 << rng.Intn(8))
			fs.WriteFile(path, bad)
			var errs []error
			s, err := Open(fs, path)
			if err != nil {
				errs = []error{err}
			} else {
				errs = s.Verify(segment.DefaultLimits())
				s.Close()
			}
			if len(errs) == 0 {
				t.Fatalf("%s: flip at offset %d not detected", reg.name, at)
			}
			msg := errs[0].Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "offset") {
				t.Fatalf("%s: flip at %d: %q does not name the file and an offset", reg.name, at, msg)
			}
		}
	}
}

func TestTruncatedFileRefused(t *testing.T) {
	fs := memFS()
	path := write(t, fs, testRecords(5))
	good, _ := fs.ReadFile(path)
	for _, cut := range []int{0, 10, HeaderSize, len(good) / 2, len(good) - 1} {
		fs.WriteFile(path, good[:cut])
		if s, err := Open(fs, path); err == nil {
			s.Close()
			t.Fatalf("file cut to %d bytes opened", cut)
		}
	}
}

func TestOpenThroughMmap(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(vfs.Default, dir, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	r := segment.Record{Type: segment.TypeSet, Seq: 5, Key: []byte("k"), Value: []byte("mapped")}
	off, size, _ := w.Add(&r)
	path, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(vfs.Default, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.RecordAt(&IndexEntry{Key: r.Key, Offset: uint64(off), Size: size, Seq: r.Seq}, segment.DefaultLimits()); err != nil || string(got.Value) != "mapped" {
		t.Fatalf("%q %v", got.Value, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	b := appendHeader(nil, Header{Version: Version + 1, ID: 1})
	_, err := DecodeHeader(b)
	if !errors.Is(err, ErrNewerVersion) || !strings.Contains(err.Error(), fmt.Sprintf("version %d, this pykv reads up to version %d", Version+1, Version)) {
		t.Fatalf("%v", err)
	}
}

// TestGoldenV1: version 1 as shipped (no tombstones) still opens and
// verifies.
func TestGoldenV1(t *testing.T) {
	defer func(c int) { indexChunk = c }(indexChunk)
	for _, chunk := range []int{1, 17} { // version 1's framing, across the read buffer
		indexChunk = chunk
		s, err := Open(vfs.Default, filepath.Join("testdata", "v1.snap"))
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		var keys []string
		if err := s.Index(64, func(e IndexEntry) error { keys = append(keys, string(e.Key)); return nil }); err != nil || len(keys) != 4 {
			t.Fatalf("chunk %d: keys %q, %v", chunk, keys, err)
		}
		s.Close()
	}
	indexChunk = 1 << 20
	s, err := Open(vfs.Default, filepath.Join("testdata", "v1.snap"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Header.Version != 1 || s.Footer.Count != 4 || s.Footer.Tombstones != 0 || len(s.Verify(segment.DefaultLimits())) != 0 {
		t.Fatalf("golden: %+v %+v", s.Header, s.Footer)
	}
	var n int
	if err := s.Records(segment.DefaultLimits(), func(int64, segment.Record) error { n++; return nil }); err != nil || n != 4 {
		t.Fatalf("records: %d, %v", n, err)
	}
}

// TestGoldenV2: the version 2 writer (kept for tests) writes records and a
// tombstone byte for byte as testdata/v2.snap holds it, and that file
// opens and verifies.
func TestGoldenV2(t *testing.T) { testGolden(t, VersionTombstones, "v2.snap") }

// TestGoldenV3: the writer writes version 3, compact records and a
// tombstone, byte for byte as testdata/v3.snap holds it (go test -update
// rewrites it), and that file opens, verifies and gives back every record.
func TestGoldenV3(t *testing.T) { testGolden(t, VersionCompact, "v3.snap") }

func testGolden(t *testing.T, version uint16, name string) {
	golden := filepath.Join("testdata", name)
	fs := memFS()
	w, err := createVersion(fs, "/d", 7, 9, version)
	if err != nil {
		t.Fatal(err)
	}
	recs := testRecords(3)
	for _, r := range recs {
		if _, _, err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTombstone([]byte("gone"), 8); err != nil {
		t.Fatal(err)
	}
	path, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fs.ReadFile(path)
	if *update && version == Version { // an older version's golden file is kept as it shipped
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, b) {
		t.Fatalf("the writer no longer writes version %d byte for byte (a format change needs a new version and golden file)", version)
	}
	s, err := Open(vfs.Default, golden)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Header.Version != version || s.Footer.Count != 4 || s.Footer.Tombstones != 1 {
		t.Fatalf("golden: %+v %+v", s.Header, s.Footer)
	}
	if errs := s.Verify(segment.DefaultLimits()); len(errs) != 0 {
		t.Fatal(errs)
	}
	var tombs []string
	if err := s.Index(64, func(e IndexEntry) error {
		if e.Tombstone() {
			tombs = append(tombs, fmt.Sprintf("%s@%d", e.Key, e.Seq))
		}
		return nil
	}); err != nil || len(tombs) != 1 || tombs[0] != "gone@8" {
		t.Fatalf("tombstones %v, %v", tombs, err)
	}
	var got []segment.Record
	if err := s.Records(segment.DefaultLimits(), func(_ int64, r segment.Record) error {
		got = append(got, r)
		return nil
	}); err != nil || len(got) != len(recs) {
		t.Fatalf("records: %d, %v", len(got), err)
	}
	for i, r := range recs {
		if g := got[i]; !bytes.Equal(g.Key, r.Key) || !bytes.Equal(g.Value, r.Value) || g.Seq != r.Seq || g.ExpireAt != r.ExpireAt || g.Type != segment.TypeSet {
			t.Fatalf("record %d: %+v, want %+v", i, g, r)
		}
	}
}

// TestTombstoneRefusedInV1: an index entry of size 0 is damage in a
// version 1 file, which has no tombstones.
func TestTombstoneRefusedInV1(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "v2.snap"))
	if err != nil {
		t.Fatal(err)
	}
	h := appendHeader(nil, Header{Version: 1, ID: 7, CoveredSeq: 9})
	copy(b, h)
	fs := memFS()
	fs.WriteFile("/d/0000000007.snap", b)
	if _, err := Open(fs, "/d/0000000007.snap"); err == nil || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a version 1 file with tombstones opened: %v", err)
	}
}

func FuzzDecodeFooter(f *testing.F) {
	f.Add(appendFooter(nil, Footer{IndexOffset: 24, IndexLen: 100, Count: 2, CoveredSeq: 9}), int64(172))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		ft, err := DecodeFooter(b, size)
		if err != nil {
			return
		}
		if ft.IndexOffset+ft.IndexLen != uint64(size-FooterSize) {
			t.Fatalf("accepted a footer whose index does not end at the footer: %+v size %d", ft, size)
		}
	})
}

func FuzzDecodeIndexEntry(f *testing.F) {
	f.Add(appendIndexEntry(nil, &IndexEntry{Key: []byte("k"), Offset: 24, Size: 40, Seq: 3}), false)
	f.Add(appendIndexEntry(nil, &IndexEntry{Key: []byte("gone"), Seq: 1 << 40, ExpireAt: -5}), false)
	f.Add(appendIndexEntryV1(nil, &IndexEntry{Key: []byte("k"), Offset: 24, Size: 40, Seq: 3}), true)
	f.Fuzz(func(t *testing.T, b []byte, v1 bool) {
		version, enc := Version, appendIndexEntry
		if v1 {
			version, enc = VersionNoTombstones, appendIndexEntryV1
		}
		e, n, err := DecodeIndexEntry(b, version, 1024)
		if err != nil {
			return
		}
		if n > len(b) || len(e.Key) > 1024 {
			t.Fatal("entry beyond input or limit")
		}
		if again := enc(nil, &e); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs: %x, decoded from %x", again, b[:n])
		}
		if !v1 {
			if size, ok := entryLen(b); !ok || size != uint64(n) {
				t.Fatalf("entryLen %d %v, the entry takes %d", size, ok, n)
			}
		}
	})
}

// TestIndexEntryV2Size: a version 2 entry of a 16-byte key with a
// 145-byte record at a typical offset and seq takes 29 bytes, against 48
// in version 1.
func TestIndexEntryV2Size(t *testing.T) {
	e := &IndexEntry{Key: []byte("key:000000012345"), Offset: 200 << 20, Size: 145, Seq: 100_000_000}
	if n := len(appendIndexEntry(nil, e)); n != 29 {
		t.Fatalf("v2 entry of %d bytes, want 29", n)
	}
	if n := len(appendIndexEntryV1(nil, e)); n != 48 {
		t.Fatalf("v1 entry of %d bytes, want 48", n)
	}
}

// FuzzOpen: arbitrary bytes as a snapshot file never panic, and what opens
// has an index whose entries stay inside the file.
func FuzzOpen(f *testing.F) {
	for _, version := range []uint16{VersionTombstones, VersionCompact} { // a seed of each version written
		fs := memFS()
		w, _ := createVersion(fs, "/d", 1, 9, version)
		r := segment.Record{Type: segment.TypeSet, Seq: 1, ExpireAt: 5, Key: []byte("k"), Value: []byte("v")}
		w.Add(&r)
		w.AddTombstone([]byte("gone"), 2)
		p, _ := w.Finish()
		seed, _ := fs.ReadFile(p)
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := memFS()
		fs.WriteFile("/d/x.snap", b)
		s, err := Open(fs, "/d/x.snap")
		if err != nil {
			return
		}
		defer s.Close()
		lim := segment.Limits{MaxKey: 1024, MaxValue: 1 << 16}
		s.Index(1024, func(e IndexEntry) error {
			if e.Tombstone() {
				return nil
			}
			if _, err := s.Record(e.Offset, e.Size); err != nil {
				t.Fatalf("index entry accepted outside the records: %v", err)
			}
			if r, err := s.RecordAt(&e, lim); err == nil && (!bytes.Equal(r.Key, e.Key) || r.Seq != e.Seq || r.ExpireAt != e.ExpireAt) {
				t.Fatalf("RecordAt accepted a record that is not its entry's: %+v for %+v", r, e)
			}
			return nil
		})
		s.Records(lim, func(int64, segment.Record) error { return nil })
		s.Verify(lim)
	})
}

// TestIndexOffsetOverflowRefused: an index entry whose offset plus size
// wraps around 64 bits is refused, not followed.
func TestIndexOffsetOverflowRefused(t *testing.T) {
	fs := memFS()
	path := write(t, fs, testRecords(3))
	s, err := Open(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Record(1<<64-10, 100); err == nil {
		t.Fatal("a wrapping record location was accepted")
	}
	if within(1<<64-10, 100, s.Footer.IndexOffset) {
		t.Fatal("within accepts a wrapping range")
	}
}

// TestOrderIndex: with OrderIndex the index comes out in ascending order of
// the given function, ties in the order of Add, every entry still pointing
// at its record, and the file verifies.
func TestOrderIndex(t *testing.T) {
	fs := memFS()
	recs := testRecords(60)
	by := func(key []byte) uint64 { return uint64(key[len(key)-1] % 4) } // many ties
	path := writeOrdered(t, fs, recs, by)
	s, err := Open(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if errs := s.Verify(segment.DefaultLimits()); len(errs) > 0 {
		t.Fatal(errs)
	}
	if names, _ := fs.List("/d"); len(names) != 1 {
		t.Fatalf("files left beside the snapshot: %v", names)
	}
	var prev IndexEntry
	n := 0
	err = s.Index(segment.DefaultMaxKey, func(e IndexEntry) error {
		if n > 0 && (by(e.Key) < by(prev.Key) || by(e.Key) == by(prev.Key) && e.Seq < prev.Seq) {
			t.Fatalf("entry %d %q (order %d, seq %d) after %q (order %d, seq %d)", n, e.Key, by(e.Key), e.Seq, prev.Key, by(prev.Key), prev.Seq)
		}
		r, err := s.RecordAt(&e, segment.DefaultLimits())
		if err != nil || !bytes.Equal(r.Key, e.Key) || r.Seq != e.Seq {
			t.Fatalf("entry %q points at record %q seq %d, %v", e.Key, r.Key, r.Seq, err)
		}
		prev = e
		prev.Key = bytes.Clone(e.Key)
		n++
		return nil
	})
	if err != nil || n != len(recs) {
		t.Fatalf("%d entries, %v", n, err)
	}
}

// TestOrderedWriterAbortRemovesFiles: an aborted ordered writer leaves
// neither its temporary snapshot nor its side file.
func TestOrderedWriterAbortRemovesFiles(t *testing.T) {
	fs := memFS()
	w, err := Create(fs, "/d", 7, 99)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.OrderIndex(func(k []byte) uint64 { return uint64(len(k)) }); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(10)
	for i := range recs {
		if _, _, err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ := fs.List("/d"); len(names) != 2 {
		t.Fatalf("while writing: %v, want the snapshot and its side file", names)
	}
	w.Abort()
	if names, _ := fs.List("/d"); len(names) != 0 {
		t.Fatalf("after Abort: %v", names)
	}
}

// TestIndexFramingNamed: an index whose checksum is right but whose entries
// do not tile it, or whose count is not the footer's, is refused by Open
// and by Load with an error naming the file and the offset, however the
// entries fall across the read buffer and the runs.
func TestIndexFramingNamed(t *testing.T) {
	defer func(c, l, r int) { indexChunk, loadChunk, loadRun = c, l, r }(indexChunk, loadChunk, loadRun)
	fs := memFS()
	path := write(t, fs, testRecords(20))
	good, _ := fs.ReadFile(path)
	s, err := Open(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	foot := s.Footer
	s.Close()
	idx := int(foot.IndexOffset)
	last := idx // the last entry of the index
	for p := idx; p < idx+int(foot.IndexLen); {
		last = p
		n, _ := entryLen(good[p:])
		p += int(n)
	}
	// reseal rewrites the index's checksum and the footer after damage.
	reseal := func(b []byte, f Footer) []byte {
		f.IndexCRC = crc32.Checksum(b[idx:len(b)-FooterSize], castagnoli)
		return appendFooter(b[:len(b)-FooterSize], f)
	}
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		want   string // in the error, besides the path
	}{
		{"last entry runs past the index", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[last:], binary.LittleEndian.Uint32(b[last:])+1)
			return reseal(b, foot)
		}, fmt.Sprintf("index entry at offset %d cut short at offset %d", last, idx+int(foot.IndexLen))},
		{"entry length past the index", func(b []byte) []byte {
			copy(b[idx:], binary.AppendUvarint(nil, 1<<30))
			return reseal(b, foot)
		}, fmt.Sprintf("index entry at offset %d cut short", idx)},
		{"count not the footer's", func(b []byte) []byte {
			f := foot
			f.Count--
			return reseal(b, f)
		}, "number 20, footer says 19"},
		{"checksum", func(b []byte) []byte {
			b[last+4] ^= 1
			return b
		}, fmt.Sprintf("index at offset %d: checksum stored", idx)},
		{"checksum, and an entry length past the index", func(b []byte) []byte {
			copy(b[idx:], binary.AppendUvarint(nil, 1<<30)) // the checksum covers the bytes after it too
			return b
		}, fmt.Sprintf("index at offset %d: checksum stored", idx)},
	} {
		for _, chunk := range []int{1, 17, 1 << 20} {
			indexChunk, loadChunk = chunk, chunk
			fs.WriteFile(path, tc.damage(bytes.Clone(good)))
			s, err := Open(fs, path)
			if err == nil {
				s.Close()
				t.Fatalf("%s, chunk %d: opened", tc.name, chunk)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s, chunk %d: %v; want ErrCorrupt naming %s and %q", tc.name, chunk, err, path, tc.want)
			}
			// Start-up's pass (Load's own reader) finds the same.
			for _, run := range []int{1, 1 << 20} {
				loadRun = run
				if s, err = OpenForLoad(fs, path); err != nil {
					t.Fatalf("%s: OpenForLoad: %v", tc.name, err)
				}
				err = s.Load(2, segment.DefaultMaxKey, func(key []byte) int { return int(key[len(key)-1]) }, func(int, *IndexEntry) error { return nil }, nil)
				s.Close()
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s, chunk %d, run %d: Load: %v; want ErrCorrupt naming %s and %q", tc.name, chunk, run, err, path, tc.want)
				}
			}
		}
	}
}

// loadRuns runs s.Load with n workers and gathers, run by run, what keep
// makes of each entry (keep is called under a lock, one entry at a time):
// runs are the runs done ended, in the order it ended them, and cur what
// each worker was given after its last done.
func loadRuns[T any](s *Snapshot, n int, group func(key []byte) int, keep func(*IndexEntry) T) (runs, cur [][]T, err error) {
	var mu sync.Mutex
	cur = make([][]T, max(n, 1))
	err = s.Load(n, segment.DefaultMaxKey, group, func(w int, e *IndexEntry) error {
		mu.Lock()
		defer mu.Unlock()
		cur[w] = append(cur[w], keep(e))
		return nil
	}, func(w int) {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, cur[w])
		cur[w] = nil
	})
	return runs, cur, err
}

// TestLoad: start-up's one pass over the index gives every entry to
// exactly one worker, calls done after each run, cuts runs only where the
// group changes (whatever the read buffer and run sizes), and reports
// damage found in the same pass: an entry over the key limit, and a byte changed inside a key by the index checksum, even
// though the entries decoded.
func TestLoad(t *testing.T) {
	defer func(c, l, r, st int) { indexChunk, loadChunk, loadRun, cutStride = c, l, r, st }(indexChunk, loadChunk, loadRun, cutStride)
	group := func(key []byte) int { return int(key[len(key)-1]) / 3 } // runs of keys ending in digits 0-2, 3-5, 6-8, 9
	for _, chunk := range []int{1, 5, 47, 1 << 20} {
		for _, run := range []int{1, 30, 1 << 20} {
			indexChunk, loadChunk, loadRun, cutStride = chunk, chunk, run, 1+chunk%4 // 2, 2, 4, 1
			if run == 30 {
				cutStride = 32
			}
			fs := memFS()
			recs := testRecords(50)
			path := write(t, fs, recs)
			for _, n := range []int{0, 1, 2, 7} {
				for _, g := range []func([]byte) int{nil, group} {
					s, err := OpenForLoad(fs, path)
					if err != nil {
						t.Fatal(err)
					}
					seen := map[uint64]int{}
					runs, cur, err := loadRuns(s, n, g, func(e *IndexEntry) IndexEntry {
						seen[e.Seq]++
						c := *e
						c.Key = bytes.Clone(e.Key)
						return c
					})
					s.Close()
					if err != nil {
						t.Fatalf("chunk %d, run %d, %d workers: %v", chunk, run, n, err)
					}
					for _, r := range recs {
						if seen[r.Seq] != 1 {
							t.Fatalf("chunk %d, run %d, %d workers: seq %d seen %d times", chunk, run, n, r.Seq, seen[r.Seq])
						}
					}
					for _, c := range cur {
						if len(c) > 0 {
							t.Fatalf("chunk %d, run %d, %d workers: %d entries after the last done", chunk, run, n, len(c))
						}
					}
					if g == nil {
						continue
					}
					// Runs in file order: a run's last key and the next run's
					// first are in different groups.
					slices.SortFunc(runs, func(a, b []IndexEntry) int { return cmp.Compare(a[0].Seq, b[0].Seq) })
					for i := 1; i < len(runs); i++ {
						last, first := runs[i-1][len(runs[i-1])-1], runs[i][0]
						if group(last.Key) == group(first.Key) {
							t.Fatalf("chunk %d, run %d, %d workers: a run ends between %q and %q, of one group", chunk, run, n, last.Key, first.Key)
						}
					}
				}
			}
			// Damage: an entry over the key limit stops the load, naming the file.
			good, _ := fs.ReadFile(path)
			s, err := OpenForLoad(fs, path)
			if err != nil {
				t.Fatal(err)
			}
			p := int(s.Footer.IndexOffset)
			for range 25 {
				n, _ := entryLen(good[p:])
				p += int(n)
			}
			bad := bytes.Clone(good)
			copy(bad[p:], binary.AppendUvarint(nil, 1<<20))
			fs.WriteFile(path, bad)
			err = s.Load(2, segment.DefaultMaxKey, nil, func(int, *IndexEntry) error { return nil }, nil)
			s.Close()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("chunk %d, run %d, damaged entry: %v, want ErrCorrupt naming %s", chunk, run, err, path)
			}
			// A key's byte changed: every entry decodes, the checksum fails.
			bad = bytes.Clone(good)
			bad[p+2] ^= 1
			fs.WriteFile(path, bad)
			if s, err = OpenForLoad(fs, path); err != nil {
				t.Fatal(err)
			}
			err = s.Load(2, segment.DefaultMaxKey, nil, func(int, *IndexEntry) error { return nil }, nil)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
				t.Fatalf("chunk %d, run %d, changed key: %v, want ErrCorrupt naming the checksum", chunk, run, err)
			}
			// Nor does a later walk trust the index.
			if err := s.Index(segment.DefaultMaxKey, func(IndexEntry) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("chunk %d, run %d, walk after a failed load: %v, want ErrCorrupt", chunk, run, err)
			}
			s.Close()
			fs.WriteFile(path, good)
		}
	}
}

// entryString is an index entry as the Load tests compare them.
func entryString(e *IndexEntry) string {
	return fmt.Sprintf("%q %d %d %d %d", e.Key, e.Offset, e.Size, e.ExpireAt, e.Seq)
}

// indexEntries counts the entries s.Index gives, by entryString.
func indexEntries(s *Snapshot, maxKey int) (map[string]int, error) {
	entries := map[string]int{}
	err := s.Index(maxKey, func(e IndexEntry) error {
		entries[entryString(&e)]++
		return nil
	})
	return entries, err
}

// loadedEntries counts the entries s.Load gives, over two workers and
// without a done, by entryString.
func loadedEntries(s *Snapshot, maxKey int, group func(key []byte) int) (map[string]int, error) {
	var mu sync.Mutex
	entries := map[string]int{}
	err := s.Load(2, maxKey, group, func(_ int, e *IndexEntry) error {
		mu.Lock()
		defer mu.Unlock()
		entries[entryString(e)]++
		return nil
	}, nil)
	return entries, err
}

// TestLoadGolden: Load's reader frames every version's index as the walk
// does, whatever the pread chunk and the run length: the golden file of
// each version gives Load the entries Index gives, each once.
func TestLoadGolden(t *testing.T) {
	defer func(l, r int) { loadChunk, loadRun = l, r }(loadChunk, loadRun)
	for _, name := range []string{"v1.snap", "v2.snap", "v3.snap"} {
		path := filepath.Join("testdata", name)
		s, err := Open(vfs.Default, path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := indexEntries(s, segment.DefaultMaxKey)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		for _, chunk := range []int{1, 3, 1 << 20} {
			for _, run := range []int{1, 1 << 20} {
				loadChunk, loadRun = chunk, run
				s, err := OpenForLoad(vfs.Default, path)
				if err != nil {
					t.Fatal(err)
				}
				got, err := loadedEntries(s, segment.DefaultMaxKey, func(key []byte) int { return len(key) })
				s.Close()
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s, chunk %d, run %d: Load gave %v, %v; Index %v", name, chunk, run, got, err, want)
				}
			}
		}
	}
}

// FuzzLoad: for arbitrary bytes as a snapshot file, Load (over small pread
// chunks and runs, so that cuts fall anywhere) agrees with Open and Index:
// it fails exactly when they refuse the file, and otherwise gives the
// entries Index gives, each as often.
func FuzzLoad(f *testing.F) {
	for _, version := range []uint16{VersionTombstones, VersionCompact} {
		fs := memFS()
		w, _ := createVersion(fs, "/d", 1, 9, version)
		for i := range 6 {
			r := segment.Record{Type: segment.TypeSet, Seq: uint64(1 + i), ExpireAt: int64(i % 2 * 5), Key: []byte(fmt.Sprint("key", i)), Value: []byte("v")}
			w.Add(&r)
		}
		w.AddTombstone([]byte("gone"), 9)
		p, _ := w.Finish()
		seed, _ := fs.ReadFile(p)
		f.Add(seed, uint8(5), uint8(7))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk, run uint8) {
		defer func(c, r int) { loadChunk, loadRun = c, r }(loadChunk, loadRun)
		loadChunk, loadRun = 1+int(chunk%32), 1+int(run%64)
		const maxKey = 1024
		fs := memFS()
		fs.WriteFile("/d/x.snap", b)
		var want map[string]int
		wantErr := true
		if s, err := Open(fs, "/d/x.snap"); err == nil {
			want, err = indexEntries(s, maxKey)
			s.Close()
			wantErr = err != nil
		}
		s, err := OpenForLoad(fs, "/d/x.snap")
		if err != nil {
			if !wantErr {
				t.Fatalf("OpenForLoad refused a file Open and Index accept: %v", err)
			}
			return
		}
		defer s.Close()
		got, err := loadedEntries(s, maxKey, func(key []byte) int { return len(key) % 3 })
		if (err != nil) != wantErr {
			t.Fatalf("Load: %v; Open and Index refused it: %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Load gave %v, Index %v", got, want)
		}
	})
}

// FuzzLoadOrdered: a snapshot written from fuzzed keys, its index in the
// order of a grouping function as a keydir's loader writes it, loads with
// every chunk size, run length and look stride into exactly the entries
// Index gives: the cuts where the group changes lose or repeat no entry.
func FuzzLoadOrdered(f *testing.F) {
	f.Add([]byte("a,bb,ccc,dddd,e,ff,ggg"), uint8(3), uint8(5), uint8(2), uint8(3))
	f.Add([]byte("k1,k2,k3,k4,k5,k6,k7,k8,k9,k10,k11,k12"), uint8(1), uint8(1), uint8(1), uint8(4))
	f.Fuzz(func(t *testing.T, keys []byte, chunk, run, stride, groups uint8) {
		defer func(c, r, s int) { loadChunk, loadRun, cutStride = c, r, s }(loadChunk, loadRun, cutStride)
		loadChunk, loadRun, cutStride = 1+int(chunk%64), 1+int(run%128), 1+int(stride%40)
		g := 1 + int(groups%8)
		group := func(key []byte) int { return int(crc32.ChecksumIEEE(key) % uint32(g)) }
		fs := memFS()
		w, err := Create(fs, "/d", 7, 99)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.OrderIndex(func(key []byte) uint64 { return uint64(group(key)) }); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, k := range bytes.Split(keys, []byte(",")) {
			if i == 48 {
				break // enough for many runs and cuts, and make fuzz stays short
			}
			if len(k) > 200 || seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			if i%5 == 4 {
				w.AddTombstone(k, uint64(i+1))
				continue
			}
			r := segment.Record{Type: segment.TypeSet, Seq: uint64(i + 1), Key: k, Value: []byte{byte(i)}}
			if _, _, err := w.Add(&r); err != nil {
				t.Fatal(err)
			}
		}
		path, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(fs, path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := indexEntries(s, segment.DefaultMaxKey)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = OpenForLoad(fs, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, err := loadedEntries(s, segment.DefaultMaxKey, group)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d, run %d, stride %d, %d groups: Load gave %v (%v), Index %v", loadChunk, loadRun, cutStride, g, got, err, want)
		}
	})
}
