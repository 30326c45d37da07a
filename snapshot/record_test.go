package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"github.com/pykv/pykv/segment"
)

// TestRecordV3Size: a 16-byte key with a 100-byte value takes 122 bytes
// in version 3 against 145 in the segment encoding, and with its index
// entry (28 bytes: the size now fits one byte of varint) 150 bytes, 1.29x
// the 116 bytes of key and value, where version 2 takes 145 + 29 = 174
// (1.50x; issue 18).
func TestRecordV3Size(t *testing.T) {
	key, value := []byte("key:000000012345"), bytes.Repeat([]byte("v"), 100)
	rec := appendRecordV3(nil, 100_000_000, 0, key, value)
	if len(rec) != 122 || recordV3Size(key, value) != 122 {
		t.Fatalf("record of %d bytes (size %d), want 122", len(rec), recordV3Size(key, value))
	}
	old := segment.Record{Type: segment.TypeSet, Key: key, Value: value}
	if n := old.EncodedSize(); n != 145 {
		t.Fatalf("segment record of %d bytes, want 145", n)
	}
	entry := appendIndexEntry(nil, &IndexEntry{Key: key, Offset: 200 << 20, Size: 122, Seq: 100_000_000})
	if n := len(rec) + len(entry); n != 150 {
		t.Fatalf("record and entry take %d bytes, want 150", n)
	}
}

// TestDecodeRecordV3: the framing and the checksum of a version 3 record,
// good and bad.
func TestDecodeRecordV3(t *testing.T) {
	lim := segment.Limits{MaxKey: 64, MaxValue: 1 << 10}
	const seq, exp = 77, 1_700_000_000_000
	good := appendRecordV3(nil, seq, exp, []byte("key"), []byte("value"))
	// resum rewrites the crc of a record for the seq and expiry.
	resum := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b, recordV3CRC(seq, exp, b[recordCRCSize:]))
		return b
	}
	// build makes a record of raw lengths, with a right crc.
	build := func(klen, vlen []byte, body string) []byte {
		b := append([]byte{0, 0, 0, 0}, klen...)
		b = append(b, vlen...)
		return resum(append(b, body...))
	}
	for _, tc := range []struct {
		name     string
		b        []byte
		seq      uint64
		exp      int64
		want     error  // of the framing, or of the checksum when nil
		crcWant  error  // of the checksum
		key, val string // when both pass
	}{
		{name: "good", b: good, seq: seq, exp: exp, key: "key", val: "value"},
		{name: "good, bytes after it", b: append(bytes.Clone(good), 1, 2, 3), seq: seq, exp: exp, key: "key", val: "value"},
		{name: "empty key and value", b: appendRecordV3(nil, seq, exp, nil, nil), seq: seq, exp: exp},
		{name: "another seq", b: good, seq: seq + 1, exp: exp, crcWant: segment.ErrChecksum},
		{name: "another expiry", b: good, seq: seq, exp: 0, crcWant: segment.ErrChecksum},
		{name: "a value byte flipped", b: func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(), seq: seq, exp: exp, crcWant: segment.ErrChecksum},
		{name: "the crc flipped", b: func() []byte { b := bytes.Clone(good); b[0] ^= 1; return b }(), seq: seq, exp: exp, crcWant: segment.ErrChecksum},
		{name: "shorter than any record", b: good[:5], want: segment.ErrShort},
		{name: "value cut short", b: good[:len(good)-1], want: segment.ErrShort},
		{name: "key length not shortest", b: build([]byte{0x83, 0x00}, []byte{5}, "keyvalue"), want: segment.ErrBadLength},
		{name: "value length not shortest", b: build([]byte{3}, []byte{0x85, 0x80, 0x00}, "keyvalue"), want: segment.ErrBadLength},
		{name: "key length over the limit", b: build([]byte{65}, []byte{0}, strings.Repeat("k", 65)), want: segment.ErrBadLength},
		{name: "value length over the limit", b: build([]byte{1}, binary.AppendUvarint(nil, 1<<10+1), "k"), want: segment.ErrBadLength},
		{name: "a length of six bytes", b: build([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, []byte{0}, ""), want: segment.ErrBadLength},
		{name: "a hostile 32 GiB length", b: build([]byte{1}, []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, "k"), want: segment.ErrBadLength},
		{name: "a length past the bytes", b: build([]byte{3}, []byte{100}, "keyvalue"), want: segment.ErrShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, val, n, err := decodeRecordV3(tc.b, lim)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("framing: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("framing: %v", err)
			}
			err = checkRecordV3(tc.b[:n], tc.seq, tc.exp)
			if tc.crcWant != nil {
				if !errors.Is(err, tc.crcWant) {
					t.Fatalf("checksum: %v, want %v", err, tc.crcWant)
				}
				return
			}
			if err != nil || string(key) != tc.key || string(val) != tc.val || n != recordV3Size(key, val) {
				t.Fatalf("key %q value %q size %d, %v", key, val, n, err)
			}
		})
	}
}

// TestRecordV3CRC: the crc is CRC-32C of seq and expire_at, little-endian,
// then the record's bytes after the crc, as docs/format.md says.
func TestRecordV3CRC(t *testing.T) {
	rec := appendRecordV3(nil, 0x0102030405060708, -2, []byte("key"), []byte("value"))
	want := binary.LittleEndian.AppendUint64(nil, 0x0102030405060708)
	want = binary.LittleEndian.AppendUint64(want, uint64(1<<64-2))
	want = append(want, rec[recordCRCSize:]...)
	if got := binary.LittleEndian.Uint32(rec); got != crc32Of(want) {
		t.Fatalf("crc %08x, want %08x", got, crc32Of(want))
	}
	// crcBound's slicing-by-8 is crc32's own CRC-32C of the 16 bytes.
	rng := rand.New(rand.NewSource(1))
	for i := range 10000 {
		seq, exp := rng.Uint64()>>(i%64), rng.Uint64()<<(i%64)
		b := binary.LittleEndian.AppendUint64(nil, seq)
		b = binary.LittleEndian.AppendUint64(b, exp)
		if got, want := crcBound(seq, exp), crc32Of(b); got != want {
			t.Fatalf("crcBound(%x, %x) = %08x, want %08x", seq, exp, got, want)
		}
	}
}

// TestDecodeRecordV3NeverAllocates: decoding aliases its input, so a good
// record costs no allocation, and a hostile length (32 GiB claimed) only
// the error that reports it, never the bytes it claims.
func TestDecodeRecordV3NeverAllocates(t *testing.T) {
	good := appendRecordV3(nil, 1, 0, []byte("k"), bytes.Repeat([]byte("v"), 300))
	if n := testing.AllocsPerRun(100, func() {
		decodeRecordV3(good, segment.FormatLimits)
		checkRecordV3(good, 1, 0)
	}); n != 0 {
		t.Fatalf("%v allocations per decode of a good record", n)
	}
	hostile := append([]byte{0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f}, 'k')
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if _, _, _, err := decodeRecordV3(hostile, segment.FormatLimits); !errors.Is(err, segment.ErrBadLength) {
			t.Fatalf("hostile length: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 100<<10 {
		t.Fatalf("100 decodes of a hostile length allocated %d bytes", n)
	}
}

// TestRecordAtChecksTheEntry: RecordAt refuses a version 3 record read
// through an entry of another key, seq, expiry or size, and the record
// of each older version likewise.
func TestRecordAtChecksTheEntry(t *testing.T) {
	for _, version := range []uint16{VersionTombstones, VersionCompact} {
		fs := memFS()
		w, err := createVersion(fs, "/d", 7, 99, version)
		if err != nil {
			t.Fatal(err)
		}
		r := segment.Record{Type: segment.TypeSet, Seq: 5, ExpireAt: 1000, Key: []byte("k"), Value: []byte("value")}
		off, size, err := w.Add(&r)
		if err != nil {
			t.Fatal(err)
		}
		path, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(fs, path)
		if err != nil {
			t.Fatal(err)
		}
		e := IndexEntry{Key: []byte("k"), Offset: uint64(off), Size: size, ExpireAt: 1000, Seq: 5}
		if got, err := s.RecordAt(&e, segment.DefaultLimits()); err != nil || string(got.Value) != "value" || got.Seq != 5 || got.ExpireAt != 1000 {
			t.Fatalf("version %d: %+v, %v", version, got, err)
		}
		for _, bad := range []func(e *IndexEntry){
			func(e *IndexEntry) { e.Key = []byte("j") },
			func(e *IndexEntry) { e.Seq++ },
			func(e *IndexEntry) { e.ExpireAt = 0 },
			func(e *IndexEntry) { e.Size-- },
		} {
			e2 := e
			bad(&e2)
			_, err := s.RecordAt(&e2, segment.DefaultLimits())
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset") {
				t.Fatalf("version %d, entry %+v: %v, want ErrCorrupt naming the file and offset", version, e2, err)
			}
		}
		s.Close()
	}
}

// TestVerifyV3RecordsTileTheSection: in version 3 a record is framed only
// by its index entry, so Verify checks that the entries' records cover
// the records section exactly: an entry dropped from the index (its
// checksum and count made right again) leaves bytes no entry accounts for.
func TestVerifyV3RecordsTileTheSection(t *testing.T) {
	fs := memFS()
	path := write(t, fs, testRecords(5))
	good, _ := fs.ReadFile(path)
	s, err := Open(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Verify(segment.DefaultLimits()); len(errs) != 0 {
		t.Fatal(errs)
	}
	foot := s.Footer
	s.Close()
	idx := int(foot.IndexOffset)
	for _, drop := range []int{0, 2, 4} { // the first, a middle and the last entry
		p := idx
		for range drop {
			n, _ := entryLen(good[p:])
			p += int(n)
		}
		n, _ := entryLen(good[p:])
		b := append(bytes.Clone(good[:p]), good[p+int(n):len(good)-FooterSize]...)
		f := foot
		f.Count--
		f.IndexLen -= n
		f.IndexCRC = crc32Of(b[idx:])
		b = appendFooter(b, f)
		fs.WriteFile(path, b)
		s, err := Open(fs, path)
		if err != nil {
			t.Fatalf("drop %d: %v", drop, err)
		}
		errs := s.Verify(segment.DefaultLimits())
		s.Close()
		if len(errs) == 0 || !errors.Is(errs[0], ErrCorrupt) || !strings.Contains(errs[0].Error(), path) || !strings.Contains(errs[0].Error(), "offset") {
			t.Fatalf("drop entry %d: %v, want ErrCorrupt naming the file and an offset", drop, errs)
		}
	}
}

// FuzzDecodeRecordV3: arbitrary bytes never make the version 3 record
// decoder panic or slice past its input, and what it accepts re-encodes
// to the same bytes (one encoding per record: shortest varints).
func FuzzDecodeRecordV3(f *testing.F) {
	f.Add(appendRecordV3(nil, 1, 0, []byte("k"), []byte("v")), uint64(1), int64(0))
	f.Add(appendRecordV3(nil, 1<<40, -5, nil, nil), uint64(1<<40), int64(-5))
	f.Add(appendRecordV3(nil, 9, 1_700_000_000_000, []byte("key:000000012345"), bytes.Repeat([]byte("v"), 100)), uint64(9), int64(1_700_000_000_000))
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}, uint64(0), int64(0))
	lim := segment.Limits{MaxKey: 1024, MaxValue: 1 << 16}
	f.Fuzz(func(t *testing.T, b []byte, seq uint64, exp int64) {
		key, val, n, err := decodeRecordV3(b, lim)
		if err != nil {
			return
		}
		if n > len(b) || len(key) > lim.MaxKey || len(val) > lim.MaxValue {
			t.Fatalf("record of %d bytes, key %d, value %d, from %d bytes", n, len(key), len(val), len(b))
		}
		again := appendRecordV3(nil, seq, exp, key, val)
		if !bytes.Equal(again[recordCRCSize:], b[recordCRCSize:n]) {
			t.Fatalf("re-encoding differs: %x, decoded from %x", again, b[:n])
		}
		if (checkRecordV3(b[:n], seq, exp) == nil) != bytes.Equal(again[:recordCRCSize], b[:recordCRCSize]) {
			t.Fatal("the checksum check disagrees with the encoder")
		}
	})
}

func crc32Of(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
