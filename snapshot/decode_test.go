package snapshot

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// uvarintRef is the rule uvarint implements, in terms of the standard
// library: binary.Uvarint's value, refused unless the encoding is whole,
// fits 64 bits and is the shortest.
func uvarintRef(b []byte) (uint64, int, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n > 1 && b[n-1] == 0 {
		return 0, 0, false
	}
	return v, n, true
}

func TestUvarintAgreesWithBinary(t *testing.T) {
	cases := [][]byte{
		nil, {}, {0}, {1}, {0x7f}, {0x80}, {0x80, 0}, {0x80, 1}, {0xff, 0x7f},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1},    // 2^64-1
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2},    // overflow
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0},    // not shortest
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, // too long
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1},
		{0x81, 0x81}, // cut short
	}
	for _, v := range []uint64{0, 1, 127, 128, 300, 1 << 14, 1<<21 - 1, 1 << 28, 1 << 35, 1 << 56, 1 << 63, math.MaxUint64} {
		cases = append(cases, binary.AppendUvarint(nil, v), append(binary.AppendUvarint(nil, v), 5, 6))
	}
	for _, b := range cases {
		v, n, ok := uvarint(b)
		wv, wn, wok := uvarintRef(b)
		if v != wv || n != wn || ok != wok {
			t.Errorf("uvarint(% x) = %d, %d, %v; want %d, %d, %v", b, v, n, ok, wv, wn, wok)
		}
	}
}

func FuzzUvarint(f *testing.F) {
	f.Add([]byte{0x80, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, ok := uvarint(b)
		wv, wn, wok := uvarintRef(b)
		if v != wv || n != wn || ok != wok {
			t.Fatalf("uvarint(% x) = %d, %d, %v; want %d, %d, %v", b, v, n, ok, wv, wn, wok)
		}
	})
}

// FuzzUvarintWord: the word decoder that decodeIndexEntry inlines agrees
// with the rule wherever it gives an answer, and gives one for every
// shortest encoding of two to eight bytes.
func FuzzUvarintWord(f *testing.F) {
	f.Add([]byte{0x80, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0x80, 0x80, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 8 || b[0] < 0x80 {
			return
		}
		v, n := uvarintWord(binary.LittleEndian.Uint64(b))
		wv, wn, wok := uvarintRef(b)
		switch {
		case n != 0 && (!wok || v != wv || n != wn):
			t.Fatalf("uvarintWord(% x) = %d, %d; want %d, %d, %v", b[:8], v, n, wv, wn, wok)
		case n == 0 && wok && wn <= 8:
			t.Fatalf("uvarintWord(% x) gave up; want %d, %d", b[:8], wv, wn)
		}
	})
}

// FuzzDecodeIndexEntryFollowed: what follows an entry changes nothing of
// how it decodes, though DecodeIndexEntry reads past the entry's end to
// go faster (see uvarint).
func FuzzDecodeIndexEntryFollowed(f *testing.F) {
	f.Add(appendIndexEntry(nil, &IndexEntry{Key: []byte("key:000000012345"), Offset: 200 << 20, Size: 145, Seq: 100_000_000}), []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1})
	f.Add(appendIndexEntry(nil, &IndexEntry{Key: []byte("gone"), Seq: 1 << 40, ExpireAt: -5}), []byte{7})
	f.Fuzz(func(t *testing.T, entry, after []byte) {
		size, ok := entryLen(entry)
		if !ok || size > uint64(len(entry)) {
			return
		}
		entry = entry[:size]
		alone, an, aerr := DecodeIndexEntry(entry, Version, 1024)
		e, n, err := DecodeIndexEntry(append(slices.Clip(entry), after...), Version, 1024)
		if (err == nil) != (aerr == nil) || err == nil && (an != n || !reflect.DeepEqual(alone, e)) {
			t.Fatalf("entry %x decodes alone to %+v, %d, %v; followed by %x to %+v, %d, %v", entry, alone, an, aerr, after, e, n, err)
		}
	})
}

// BenchmarkDecodeIndexEntry decodes a run of 10k version 2 entries as
// start-up's loaders do (16-byte keys, 145-byte records at offsets up to
// 1.4 GB, seqs in the millions); ns/op is per entry.
func BenchmarkDecodeIndexEntry(b *testing.B) {
	var run []byte
	const n = 10_000
	for i := range n {
		run = appendIndexEntry(run, &IndexEntry{Key: fmt.Appendf(nil, "key:%012d", i), Offset: 24 + uint64(i)*145*1000, Size: 145, Seq: uint64(i) * 500})
	}
	b.ResetTimer()
	for i := 0; i < b.N; {
		for p := 0; p < len(run) && i < b.N; i++ {
			_, size, err := DecodeIndexEntry(run[p:], Version, 1024)
			if err != nil {
				b.Fatal(err)
			}
			p += size
		}
	}
}

// TestLoadCutsAtEachGroupChange: for an index in its groups' order (as a
// keydir's hash order is), Load's runs are exactly the groups when each
// group is longer than loadRun, whatever stride its reader looks at the
// groups with: the bisection between two looks finds the first entry of
// the next group.
func TestLoadCutsAtEachGroupChange(t *testing.T) {
	defer func(r, st int) { loadRun, cutStride = r, st }(loadRun, cutStride)
	const keys, per = 100, 10
	recs := testRecords(keys)
	group := func(key []byte) int { n, _ := strconv.Atoi(string(key[len("key-"):])); return n / per }
	fs := memFS()
	path := write(t, fs, recs)
	for _, stride := range []int{1, 2, 3, 7, 9, 10, 11, 32} {
		loadRun, cutStride = 1, stride
		s, err := OpenForLoad(fs, path)
		if err != nil {
			t.Fatal(err)
		}
		runs, _, err := loadRuns(s, 2, group, func(e *IndexEntry) int { return group(e.Key) }) // the groups of each run's entries
		s.Close()
		if err != nil {
			t.Fatalf("stride %d: %v", stride, err)
		}
		if len(runs) != keys/per {
			t.Fatalf("stride %d: %d runs, want %d: %v", stride, len(runs), keys/per, runs)
		}
		for _, r := range runs {
			if len(r) != per || slices.Min(r) != slices.Max(r) {
				t.Fatalf("stride %d: a run of groups %v, want one whole group", stride, r)
			}
		}
	}
}
