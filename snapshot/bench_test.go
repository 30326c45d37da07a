package snapshot

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// benchKeys is the key count of the index benchmarks: 1M by default,
// PYKV_BENCH_KEYS=5000000 for the 5M figure.
func benchKeys() int {
	if n, err := strconv.Atoi(os.Getenv("PYKV_BENCH_KEYS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchSnapshot writes a snapshot of n keys of 16 bytes with 8-byte values
// in a temporary directory on disk and returns its path.
func benchSnapshot(b *testing.B, n int) string {
	b.Helper()
	w, err := Create(vfs.Default, b.TempDir(), 1, uint64(n))
	if err != nil {
		b.Fatal(err)
	}
	r := segment.Record{Type: segment.TypeSet, Value: []byte("12345678")}
	for i := range n {
		r.Seq, r.Key = uint64(i+1), fmt.Appendf(r.Key[:0], "key:%012d", i)
		if _, _, err := w.Add(&r); err != nil {
			b.Fatal(err)
		}
	}
	path, err := w.Finish()
	if err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkIndexLoad measures what reading a snapshot's index costs: Open
// (which reads the whole index once to check it), one walk of it through
// Index, and start-up's one pass, OpenForLoad then Load with a worker per
// core.
func BenchmarkIndexLoad(b *testing.B) {
	n := benchKeys()
	path := benchSnapshot(b, n)
	b.Run(fmt.Sprintf("Open/keys=%d", n), func(b *testing.B) {
		for b.Loop() {
			s, err := Open(vfs.Default, path)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	workers := runtime.GOMAXPROCS(0)
	b.Run(fmt.Sprintf("Load/workers=%d/keys=%d", workers, n), func(b *testing.B) {
		seen := make([]int, workers)
		for b.Loop() {
			clear(seen)
			s, err := OpenForLoad(vfs.Default, path)
			if err != nil {
				b.Fatal(err)
			}
			err = s.Load(workers, segment.DefaultMaxKey, nil, func(w int, _ *IndexEntry) error { seen[w]++; return nil }, nil)
			s.Close()
			if err != nil {
				b.Fatal(err)
			}
			total := 0
			for _, c := range seen {
				total += c
			}
			if total != n {
				b.Fatalf("%d entries, want %d", total, n)
			}
		}
	})
	s, err := Open(vfs.Default, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run(fmt.Sprintf("Index/keys=%d", n), func(b *testing.B) {
		for b.Loop() {
			seen := 0
			if err := s.Index(segment.DefaultMaxKey, func(IndexEntry) error { seen++; return nil }); err != nil {
				b.Fatal(err)
			}
			if seen != n {
				b.Fatalf("%d entries, want %d", seen, n)
			}
		}
	})
}

// BenchmarkRecordAt measures reading one record through its index entry,
// as a GET that misses the cache does (16-byte key, 100-byte value), in
// version 2 (the segment encoding; seq and expiry compared) and version 3
// (the compact record; seq and expiry bound into its crc).
func BenchmarkRecordAt(b *testing.B) {
	for _, version := range []uint16{VersionTombstones, VersionCompact} {
		b.Run(fmt.Sprintf("v%d", version), func(b *testing.B) {
			fs := memFS()
			w, err := createVersion(fs, "/d", 1, 1000, version)
			if err != nil {
				b.Fatal(err)
			}
			const n = 1000
			entries := make([]IndexEntry, n)
			val := make([]byte, 100)
			for i := range n {
				r := segment.Record{Type: segment.TypeSet, Seq: uint64(i + 1), ExpireAt: int64(i % 2), Key: fmt.Appendf(nil, "key:%012d", i), Value: val}
				off, size, err := w.Add(&r)
				if err != nil {
					b.Fatal(err)
				}
				entries[i] = IndexEntry{Key: r.Key, Offset: uint64(off), Size: size, ExpireAt: r.ExpireAt, Seq: r.Seq}
			}
			path, err := w.Finish()
			if err != nil {
				b.Fatal(err)
			}
			s, err := Open(fs, path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			lim := segment.FormatLimits
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.RecordAt(&entries[i%n], lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
