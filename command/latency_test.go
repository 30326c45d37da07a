package command

import (
	"math/rand/v2"
	"testing"
)

// TestLatBucket: every duration falls in a bucket whose upper bound is at
// least the duration and at most 12.5% above it, the buckets are in order,
// and the ends are where they should be.
func TestLatBucket(t *testing.T) {
	for _, tc := range []struct {
		ns     uint64
		bucket int
		upper  uint64
	}{
		{0, 0, 0}, {7, 7, 7}, {8, 8, 8}, {9, 9, 9}, {15, 15, 15},
		{16, 16, 17}, {17, 16, 17}, {18, 17, 19}, {31, 23, 31}, {32, 24, 35},
		{1000, 63, 1023}, {1 << 40, latBuckets - 16, 1<<40 + 1<<37 - 1}, {1 << 41, latBuckets - 8, 1<<41 + 1<<38 - 1}, {1 << 63, latBuckets - 1, latUpper(latBuckets - 1)},
	} {
		if b := latBucket(tc.ns); b != tc.bucket || latUpper(b) != tc.upper {
			t.Errorf("latBucket(%d) = %d (upper %d), want %d (upper %d)", tc.ns, b, latUpper(b), tc.bucket, tc.upper)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		ns := r.Uint64() >> (r.IntN(64) + 23) // up to 2^41
		b := latBucket(ns)
		if up := latUpper(b); up < ns || float64(up) > float64(ns)*1.125+1 {
			t.Fatalf("latBucket(%d) = %d, upper %d: not within 12.5%%", ns, b, up)
		}
		if b > 0 && latUpper(b-1) >= ns {
			t.Fatalf("latBucket(%d) = %d, but bucket %d reaches %d", ns, b, b-1, latUpper(b-1))
		}
	}
}

// TestLatencyPercentiles: the percentiles of known run times, read as
// their buckets' upper bounds.
func TestLatencyPercentiles(t *testing.T) {
	l := newLatency()
	if _, ok := l.percentiles(3); ok {
		t.Fatal("percentiles of a command never timed")
	}
	for range 990 {
		l.add(3, 1000) // 1 µs: bucket upper 1023 ns
	}
	for range 9 {
		l.add(3, 100_000) // 100 µs: upper 106495 ns
	}
	l.add(3, 10_000_000) // 10 ms: upper 10485759 ns
	ps, ok := l.percentiles(3)
	if !ok || ps[0] != 1023 || ps[1] != 1023 || ps[2] != 106495 {
		t.Fatalf("percentiles %v (%v), want [1023 1023 106495]", ps, ok)
	}
	l.reset()
	if _, ok := l.percentiles(3); ok {
		t.Fatal("percentiles after reset")
	}
}
