package segment

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pykv/pykv/vfs"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// buildSegment returns a segment file with n records and the offset at
// which each record ends.
func buildSegment(n int) (buf []byte, ends []int) {
	buf = AppendHeader(nil, Header{Version: VersionPlain, ID: 1, FirstSeq: 1})
	for i := 1; i <= n; i++ {
		r := set(uint64(i), fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i))
		buf = AppendRecord(buf, &r)
		ends = append(ends, len(buf))
	}
	return buf, ends
}

func readAll(t *testing.T, buf []byte) (seqs []uint64, end int64, err error) {
	t.Helper()
	it, ierr := NewIterator("/db/seg", buf, DefaultLimits())
	if ierr != nil {
		t.Fatal(ierr)
	}
	for it.Next() {
		seqs = append(seqs, it.Record().Seq)
	}
	return seqs, it.End(), it.Err()
}

// TestTornTailAtEveryOffset cuts a segment at every byte of its last three
// records: iteration yields exactly the whole records before the cut and
// reports the rest as a torn tail at the end of the last whole record.
func TestTornTailAtEveryOffset(t *testing.T) {
	buf, ends := buildSegment(6)
	from := ends[2]
	for cut := from; cut < len(buf); cut++ {
		whole := 0
		for whole < len(ends) && ends[whole] <= cut {
			whole++
		}
		for _, tail := range []struct {
			name string
			fill func(n int) []byte
		}{
			{"cut", func(int) []byte { return nil }},
			{"zeros", func(n int) []byte { return make([]byte, n) }},
			{"garbage", func(n int) []byte { return bytes.Repeat([]byte{0xa5, 0x17, 0x3c}, n/3+1)[:n] }},
		} {
			torn := append(append([]byte(nil), buf[:cut]...), tail.fill(4096)...)
			seqs, end, err := readAll(t, torn)
			if len(seqs) != whole {
				t.Fatalf("cut at %d (%s): %d records, want %d", cut, tail.name, len(seqs), whole)
			}
			wantEnd := int64(HeaderSize)
			if whole > 0 {
				wantEnd = int64(ends[whole-1])
			}
			if end != wantEnd {
				t.Fatalf("cut at %d (%s): end %d, want %d", cut, tail.name, end, wantEnd)
			}
			if int64(len(torn)) == wantEnd {
				if err != nil {
					t.Fatalf("clean end reported as %v", err)
				}
				continue
			}
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrTorn) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d (%s): err %v, want a torn tail", cut, tail.name, err)
			}
			if se.Offset != wantEnd || se.Path != "/db/seg" {
				t.Fatalf("cut at %d (%s): error names %s offset %d, want offset %d", cut, tail.name, se.Path, se.Offset, wantEnd)
			}
		}
	}
}

// TestBitFlipInMiddleIsCorruption: a damaged record followed by valid ones
// is damage, reported with the file and the damaged record's offset.
func TestBitFlipInMiddleIsCorruption(t *testing.T) {
	buf, ends := buildSegment(6)
	for _, at := range []int{ends[1] + 2, ends[1] + 12, ends[2] - 1} {
		bad := append([]byte(nil), buf...)
		bad[at] ^= 0x40
		seqs, _, err := readAll(t, bad)
		if len(seqs) != 2 {
			t.Fatalf("flip at %d: %d records before the damage, want 2", at, len(seqs))
		}
		var se *Error
		if !errors.As(err, &se) || !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTorn) {
			t.Fatalf("flip at %d: err %v, want corruption", at, err)
		}
		if se.Offset != int64(ends[1]) || se.NextValid != int64(ends[2]) {
			t.Fatalf("flip at %d: offset %d next valid %d, want %d and %d", at, se.Offset, se.NextValid, ends[1], ends[2])
		}
	}
}

func TestDamagedHeader(t *testing.T) {
	buf, _ := buildSegment(3)
	bad := append([]byte(nil), buf...)
	bad[2] ^= 1
	if _, _, err := readAll(t, bad); !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrBadHeader) {
		t.Fatalf("damaged header before valid records: %v", err)
	}
	for _, short := range [][]byte{nil, buf[:HeaderSize-3], make([]byte, 100)} {
		if _, _, err := readAll(t, short); !errors.Is(err, ErrTorn) {
			t.Fatalf("%d-byte header-less file: %v, want torn", len(short), err)
		}
	}
}

// TestGoldenV1 proves that format version 1, as shipped, still reads.
func TestGoldenV1(t *testing.T) {
	golden := filepath.Join("testdata", "v1.log")
	buf := AppendHeader(nil, Header{Version: 1, ID: 7, FirstSeq: 100})
	recs := []Record{
		{Type: TypeSet, Seq: 100, Key: []byte("greeting"), Value: []byte("hello")},
		{Type: TypeSet, Seq: 101, ExpireAt: 1893456000000, Key: []byte("session"), Value: []byte("abc")},
		{Type: TypeSet, Seq: 102, Key: []byte("a"), Value: []byte("1"), More: true},
		{Type: TypeSet, Seq: 103, Key: []byte("b"), Value: []byte("2")},
		{Type: TypeDel, Seq: 104, Key: []byte("greeting")},
	}
	for i := range recs {
		buf = AppendRecord(buf, &recs[i])
	}
	if *update {
		if err := os.WriteFile(golden, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, buf) {
		t.Fatalf("the encoder no longer writes version 1 byte for byte (a format change needs a new version and golden file)")
	}
	it, err := ReadFile(vfs.Default, golden, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if h := it.Header(); h.Version != 1 || h.ID != 7 || h.FirstSeq != 100 {
		t.Fatalf("header %+v", h)
	}
	i := 0
	for ; it.Next(); i++ {
		got, want := it.Record(), recs[i]
		if got.Type != want.Type || got.Seq != want.Seq || got.ExpireAt != want.ExpireAt || got.More != want.More ||
			!bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Value, want.Value) {
			t.Fatalf("record %d: %+v, want %+v", i, got, want)
		}
	}
	if it.Err() != nil || i != len(recs) {
		t.Fatalf("%d records, err %v", i, it.Err())
	}
}

func TestNewerVersionRefused(t *testing.T) {
	buf := AppendHeader(nil, Header{Version: Version + 1, ID: 1, FirstSeq: 1})
	_, err := NewIterator("/db/0000000001.log", buf, DefaultLimits())
	if !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("err %v", err)
	}
	want := fmt.Sprintf("file has version %d, this pykv reads up to version %d", Version+1, Version)
	if !bytes.Contains([]byte(err.Error()), []byte(want)) || !bytes.Contains([]byte(err.Error()), []byte("0000000001.log")) {
		t.Fatalf("message %q does not name both versions and the file", err)
	}
}

func FuzzIterator(f *testing.F) {
	seg, _ := buildSegment(3)
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := NewIterator("fuzz", b, Limits{MaxKey: 256, MaxValue: 4096})
		if err != nil {
			return
		}
		prev := int64(-1)
		for it.Next() {
			if it.Offset() <= prev || it.End() > int64(len(b)) {
				t.Fatalf("offsets go backwards or past the end")
			}
			prev = it.Offset()
		}
	})
}

// TestTornRecordQuotingAnOldRecord: a value that contains the bytes of an
// older record, cut by a crash, is still a torn tail: the quoted record's
// seq is not after the last good one.
func TestTornRecordQuotingAnOldRecord(t *testing.T) {
	buf, _ := buildSegment(3)
	quoted := AppendRecord(nil, &Record{Type: TypeSet, Seq: 2, Key: []byte("old"), Value: []byte("x")})
	r := Record{Type: TypeSet, Seq: 4, Key: []byte("k"), Value: append(append([]byte("prefix"), quoted...), "suffix"...)}
	full := AppendRecord(append([]byte(nil), buf...), &r)
	torn := full[:len(full)-3] // the crash cut the record's last bytes
	_, _, err := readAll(t, torn)
	if !errors.Is(err, ErrTorn) {
		t.Fatalf("%v, want a torn tail", err)
	}
}

// TestClassifyingGarbageIsLinear: an 8 MiB tail of random bytes is
// classified as torn (the cheap header checks reject almost every offset
// before a CRC is computed; without them this took seconds per MiB, and a
// 64 MiB segment would outlast the test's timeout).
func TestClassifyingGarbageIsLinear(t *testing.T) {
	buf, _ := buildSegment(2)
	garbage := make([]byte, 8<<20)
	x := uint32(2463534242)
	for i := range garbage { // xorshift: deterministic noise
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		garbage[i] = byte(x)
	}
	_, _, err := readAll(t, append(buf, garbage...))
	if !errors.Is(err, ErrTorn) {
		t.Fatalf("%v, want a torn tail", err)
	}
}

// TestGoldenV2 proves that format version 2 (a segment opened for a
// flush: its first record a flush record of the header's first seq) reads
// as shipped.
func TestGoldenV2(t *testing.T) {
	golden := filepath.Join("testdata", "v2.log")
	buf := AppendHeader(nil, Header{Version: VersionFlush, ID: 9, FirstSeq: 200})
	recs := []Record{
		{Type: TypeFlush, Seq: 200},
		{Type: TypeSet, Seq: 201, Key: []byte("after"), Value: []byte("flush")},
		{Type: TypeFlush, Seq: 202, More: true}, // not first: must be refused
	}
	for i := range recs[:2] {
		buf = AppendRecord(buf, &recs[i])
	}
	if *update {
		if err := os.WriteFile(golden, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, buf) {
		t.Fatalf("the encoder no longer writes version 2 byte for byte (a format change needs a new version and golden file)")
	}
	it, err := ReadFile(vfs.Default, golden, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if h := it.Header(); h.Version != 2 || h.ID != 9 || h.FirstSeq != 200 {
		t.Fatalf("header %+v", h)
	}
	i := 0
	for ; it.Next(); i++ {
		got, want := it.Record(), recs[i]
		if got.Type != want.Type || got.Seq != want.Seq || got.More != want.More ||
			!bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Value, want.Value) {
			t.Fatalf("record %d: %+v, want %+v", i, got, want)
		}
	}
	if it.Err() != nil || i != 2 {
		t.Fatalf("%d records, err %v", i, it.Err())
	}
}

// TestFlushOutOfPlace: a flush record is accepted only as the first record
// of a version 2 segment, with the header's first seq, and a version 2
// segment must start with one.
func TestFlushOutOfPlace(t *testing.T) {
	seg := func(version uint16, recs ...Record) []byte {
		buf := AppendHeader(nil, Header{Version: version, ID: 1, FirstSeq: 1})
		for i := range recs {
			buf = AppendRecord(buf, &recs[i])
		}
		return buf
	}
	flush := func(seq uint64) Record { return Record{Type: TypeFlush, Seq: seq} }
	for _, tc := range []struct {
		name string
		buf  []byte
		ok   int // records read before the error
	}{
		{"flush in a version 1 segment", seg(VersionPlain, set(1, "a", "1"), flush(2), set(3, "b", "2")), 1},
		{"flush first in a version 1 segment", seg(VersionPlain, flush(1), set(2, "b", "2")), 0},
		{"version 2 segment not opened by a flush", seg(VersionFlush, set(1, "a", "1"), set(2, "b", "2")), 0},
		{"flush of another seq", seg(VersionFlush, flush(5), set(6, "b", "2")), 0},
		{"second flush in a version 2 segment", seg(VersionFlush, flush(1), flush(2), set(3, "b", "2")), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seqs, _, err := readAll(t, tc.buf)
			if !errors.Is(err, ErrMisplacedFlush) || !errors.Is(err, ErrCorrupt) || len(seqs) != tc.ok {
				t.Fatalf("read %v, err %v; want %d records then a misplaced flush reported as damage", seqs, err, tc.ok)
			}
		})
	}
	seqs, _, err := readAll(t, seg(VersionFlush, flush(1), set(2, "a", "1")))
	if err != nil || len(seqs) != 2 {
		t.Fatalf("a flush segment: read %v, err %v", seqs, err)
	}
}
