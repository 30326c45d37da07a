package command

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// hdrIndex and hdrHighest are Redis's HDR histogram of
// LATENCY_HISTOGRAM_PRECISION 2 and lowest value 1 ns, from its formulas
// (counts_index_for, highest_equivalent_value): 256 sub-buckets of which
// the upper 128 are used past the first bucket, a unit magnitude of 0.
// latBucket and latUpper must agree with them for every value Redis
// records.
func hdrIndex(v uint64) int {
	const subBucketMask, halfMagnitude, half = 255, 7, 128
	pow2ceiling := 64 - bits.LeadingZeros64(v|subBucketMask)
	bucket := pow2ceiling - (halfMagnitude + 1)
	sub := int(v >> bucket)
	return (bucket+1)<<halfMagnitude + sub - half
}

func hdrHighest(v uint64) uint64 {
	const subBucketMask = 255
	bucket := 64 - bits.LeadingZeros64(v|subBucketMask) - 8
	lowest := (v >> bucket) << bucket
	return lowest + 1<<bucket - 1
}

// TestLatBucket: every duration falls in the bucket Redis's HDR histogram
// puts it in, whose upper bound is at least the duration and within 1/128
// above it; the buckets are in order; the ends are clamped as Redis
// clamps them.
func TestLatBucket(t *testing.T) {
	for _, tc := range []struct {
		ns     uint64
		bucket int
		upper  uint64
	}{
		{0, 1, 1}, {1, 1, 1}, {2, 2, 2}, {255, 255, 255}, {256, 256, 257}, {257, 256, 257},
		{258, 257, 259}, {511, 383, 511}, {512, 384, 515}, {1000, 506, 1003},
		{100_000, 1347, 100351}, {latMax, latBuckets - 1, 1002438655},
		{latMax + 1, latBuckets - 1, 1002438655}, {1 << 63, latBuckets - 1, 1002438655},
	} {
		if b := latBucket(tc.ns); b != tc.bucket || latUpper(b) != tc.upper {
			t.Errorf("latBucket(%d) = %d (upper %d), want %d (upper %d)", tc.ns, b, latUpper(b), tc.bucket, tc.upper)
		}
	}
	if latBucket(latMax)+1 != latBuckets {
		t.Fatalf("latBuckets = %d, but latMax is in bucket %d", latBuckets, latBucket(latMax))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		ns := 1 + r.Uint64N(uint64(math.Pow(10, 1+8*r.Float64()))) // log-uniform-ish in [1, 1e9]
		b := latBucket(ns)
		up := latUpper(b)
		if b != hdrIndex(ns) || up != hdrHighest(ns) {
			t.Fatalf("latBucket(%d) = %d, upper %d; Redis's HDR histogram: %d, upper %d", ns, b, up, hdrIndex(ns), hdrHighest(ns))
		}
		if up < ns || float64(up) > float64(ns)*(1+1.0/latSub) {
			t.Fatalf("latBucket(%d) = %d, upper %d: not within 1/%d", ns, b, up, latSub)
		}
		if b > 1 && latUpper(b-1) >= ns {
			t.Fatalf("latBucket(%d) = %d, but bucket %d reaches %d", ns, b, b-1, latUpper(b-1))
		}
	}
}

// TestLatencyPercentiles: the percentiles of known run times, read as
// their buckets' upper bounds, and of random ones, each within 1% of the
// true percentile (the time of the call at Redis's rank).
func TestLatencyPercentiles(t *testing.T) {
	l := newLatency()
	if _, ok := l.percentiles(3); ok {
		t.Fatal("percentiles of a command never timed")
	}
	for range 990 {
		l.add(3, 1000) // 1 µs: bucket upper 1003 ns
	}
	for range 9 {
		l.add(3, 100_000) // 100 µs: upper 100351 ns
	}
	l.add(3, 10_000_000) // 10 ms
	ps, ok := l.percentiles(3)
	if !ok || !slices.Equal(ps, []uint64{1003, 1003, 100351}) {
		t.Fatalf("percentiles %v (%v), want [1003 1003 100351]", ps, ok)
	}
	l.reset()
	if _, ok := l.percentiles(3); ok {
		t.Fatal("percentiles after reset")
	}

	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		l := newLatency()
		n := 1 + r.IntN(20000)
		times := make([]uint64, n)
		scale := math.Pow(10, 2+5*r.Float64()) // typical run times of 100 ns to 10 ms
		for i := range times {
			times[i] = 1 + uint64(scale*r.ExpFloat64())
			l.add(7, times[i])
		}
		slices.Sort(times)
		ps, ok := l.percentiles(7)
		if !ok {
			t.Fatalf("trial %d: no percentiles", trial)
		}
		for k, p := range latPercentiles {
			rank := max(int(p.pct/100*float64(n)+0.5), 1)
			want := min(times[rank-1], latMax)
			if ps[k] < want || float64(ps[k]) > float64(want)*1.01 {
				t.Errorf("trial %d (%d calls): %s = %d ns, the call of rank %d took %d ns: not within 1%%",
					trial, n, p.name, ps[k], rank, want)
			}
		}
	}
}

// TestLatencyConcurrent: sessions timing the first calls of a command at
// once share one histogram, and no call is lost.
func TestLatencyConcurrent(t *testing.T) {
	l := newLatency()
	const workers, calls = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				l.add(5, uint64(1+w*calls+i))
			}
		}()
	}
	wg.Wait()
	var total uint64
	for i := range l.hists[5].Load() {
		total += l.hists[5].Load()[i].Load()
	}
	if total != workers*calls {
		t.Fatalf("%d calls counted, want %d", total, workers*calls)
	}
}

// TestLatencyAsRedisPrintsIt: whole microseconds, which is what Redis
// records, print as redis-server 7.0's INFO latencystats printed them
// (p50=1.003, p99=2.007, p99.9=6.015 and so on, read off a real one), and
// a call under a microsecond, which Redis records as 0, as its 0.001.
func TestLatencyAsRedisPrintsIt(t *testing.T) {
	for _, tc := range []struct {
		ns   uint64
		want string
	}{{0, "0.001"}, {1000, "1.003"}, {2000, "2.007"}, {3000, "3.007"}, {4000, "4.015"},
		{5000, "5.023"}, {6000, "6.015"}, {50000, "50.175"}} {
		if got := string(appendLatency(nil, latUpper(latBucket(tc.ns)))); got != tc.want {
			t.Errorf("%d ns reads %s, Redis's %s", tc.ns, got, tc.want)
		}
	}
}

// TestAppendLatency: a percentile prints as Redis's %.3f of ns/1000.0.
func TestAppendLatency(t *testing.T) {
	for _, tc := range []struct {
		ns   uint64
		want string
	}{{1, "0.001"}, {999, "0.999"}, {1003, "1.003"}, {100351, "100.351"}, {1002438655, "1002438.655"}} {
		if got := string(appendLatency(nil, tc.ns)); got != tc.want {
			t.Errorf("appendLatency(%d) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

// TestCallDuration: a call lasts what two readings of a microsecond clock
// say, as Redis's ustime() around call(): whole microseconds, a short
// call 0 or 1 µs depending on where it falls, and never below 0.
func TestCallDuration(t *testing.T) {
	base := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		start, end time.Duration // after base
		want       uint64
	}{
		{0, 400 * time.Nanosecond, 0},
		{800 * time.Nanosecond, 1200 * time.Nanosecond, 1000},
		{999 * time.Nanosecond, 1000 * time.Nanosecond, 1000},
		{0, 2500 * time.Nanosecond, 2000},
		{1500 * time.Nanosecond, 4 * time.Microsecond, 3000},
		{time.Millisecond, 0, 0}, // the clock stepped back
	} {
		if got := callDuration(base.Add(tc.start), base.Add(tc.end)); got != tc.want {
			t.Errorf("callDuration(+%v, +%v) = %d ns, want %d", tc.start, tc.end, got, tc.want)
		}
	}
}
