package command

import (
	"math/bits"
	"strconv"
	"sync/atomic"

	"github.com/pykv/pykv/command/spec"
)

// INFO latencystats: Redis 7's latency_percentiles_usec_<command> lines,
// the 50th, 99th and 99.9th percentiles of each command's run time. The
// times are those of the calls commandstats times (one in timingRate, see
// startTiming), kept per command in a histogram laid out as Redis's HDR
// histogram of two significant digits from 1 ns to 1 s
// (LATENCY_HISTOGRAM_MIN_VALUE, _MAX_VALUE and _PRECISION in Redis's
// server.h): every nanosecond below 256 ns has a bucket of its own, and
// each power of two above has 128, so a bucket spans at most 1/128 of its
// values (0.8%). A time is clamped to [1 ns, 1 s] first, as Redis's
// updateCommandLatencyHistogram does, and a percentile is read as Redis's
// hdr_value_at_percentile reads it (the rank rounded, the bucket's highest
// value); the same durations give the same line as Redis's. Redis times a
// call in whole microseconds and records that times 1000, and so does
// pykv (callDuration), so the values are those of 1000, 2000... ns
// (p50=1.003, p99=2.007) and a call under a microsecond reads 0.001.
//
// A bucket is an atomic counter; a command's histogram is shared by every
// session, which costs a contended add only on a timed call. A histogram
// is 3055 counters (24 KiB, Redis's is 3072), made on the command's first
// timed call, so only the commands that ran hold one, as in Redis.

const (
	// latSubBits is log2 of the buckets per power of two: 128 keeps two
	// significant digits, as HDR's sub_bucket_half_count of 128 for a
	// precision of 2 does.
	latSubBits = 7
	latSub     = 1 << latSubBits
	// latMin and latMax are the shortest and longest times counted as
	// themselves, in nanoseconds: Redis's 1 ns and 1 s.
	latMin = 1
	latMax = 1_000_000_000
	// latMaxExp is the power of two below latMax: 2^29 <= 1e9 < 2^30.
	latMaxExp = 29
	// latBuckets is the number of buckets from 0 to latMax: latMax's
	// bucket, as latBucket computes it, and one.
	latBuckets = (latMaxExp-latSubBits+1)*latSub + (latMax>>(latMaxExp-latSubBits))&(latSub-1) + 1
)

// latPercentiles are the percentiles INFO latencystats shows, Redis's
// default latency-tracking-info-percentiles, with the names Redis prints
// them under.
var latPercentiles = []struct {
	name string
	pct  float64
}{{"p50", 50}, {"p99", 99}, {"p99.9", 99.9}}

// latHist is one command's histogram of run times.
type latHist [latBuckets]atomic.Uint64

// latBucket returns the bucket of a duration of ns nanoseconds, clamped
// to [latMin, latMax]. Below 2*latSub a bucket is one nanosecond; from
// there, the bucket of ns in [2^e, 2^(e+1)) is the (e-latSubBits)th group
// of latSub buckets after the first two, and within it the latSubBits
// bits of ns after its top one.
func latBucket(ns uint64) int {
	ns = min(max(ns, latMin), latMax)
	if ns < 2*latSub {
		return int(ns)
	}
	e := bits.Len64(ns) - 1 // ns is in [2^e, 2^(e+1))
	m := int(ns>>(e-latSubBits)) & (latSub - 1)
	return (e-latSubBits+1)*latSub + m
}

// latUpper returns the largest duration, in nanoseconds, of bucket i: a
// percentile is reported as its bucket's upper bound, as an HDR
// histogram reports the highest equivalent value.
func latUpper(i int) uint64 {
	if i < 2*latSub {
		return uint64(i)
	}
	e := i/latSub + latSubBits - 1
	m := uint64(i % latSub)
	return (latSub+m+1)<<(e-latSubBits) - 1
}

// latency holds a histogram per command, by spec ID, nil until the
// command's first timed call.
type latency struct{ hists []atomic.Pointer[latHist] }

func newLatency() *latency {
	return &latency{hists: make([]atomic.Pointer[latHist], spec.Count())}
}

// add counts a call of command id that ran ns nanoseconds. It is small
// enough to be inlined into the timed path; the first call makes the
// histogram out of line.
func (l *latency) add(id int, ns uint64) {
	if h := l.hists[id].Load(); h != nil {
		h[latBucket(ns)].Add(1)
		return
	}
	l.addFirst(id, ns)
}

// addFirst is add when command id has no histogram yet: it makes one,
// unless a racing call did, and counts the call in it.
func (l *latency) addFirst(id int, ns uint64) {
	h := new(latHist)
	if !l.hists[id].CompareAndSwap(nil, h) {
		h = l.hists[id].Load()
	}
	h[latBucket(ns)].Add(1)
}

// reset drops every histogram (CONFIG RESETSTAT), as Redis frees them. A
// call timed as it runs may count in the histogram dropped.
func (l *latency) reset() {
	for i := range l.hists {
		l.hists[i].Store(nil)
	}
}

// percentiles returns command id's latPercentiles in nanoseconds, and
// false when none of its calls was timed. Each is hdr_value_at_percentile's:
// the highest value of the bucket that holds the call of rank
// pct/100*total rounded (at least 1).
func (l *latency) percentiles(id int) ([]uint64, bool) {
	h := l.hists[id].Load()
	if h == nil {
		return nil, false
	}
	var counts [latBuckets]uint64
	var total uint64
	for i := range h {
		counts[i] = h[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return nil, false
	}
	out := make([]uint64, len(latPercentiles))
	for k, p := range latPercentiles {
		rank := max(uint64(p.pct/100*float64(total)+0.5), 1)
		var seen uint64
		for i, c := range counts {
			if seen += c; seen >= rank {
				out[k] = latUpper(i)
				break
			}
		}
	}
	return out, true
}

// appendLatency appends a percentile of ns nanoseconds as Redis prints
// it: microseconds with three decimals (%.3f of ns/1000.0).
func appendLatency(b []byte, ns uint64) []byte {
	return strconv.AppendFloat(b, float64(ns)/1000, 'f', 3, 64)
}

// infoLatencyStats writes a latency_percentiles_usec_<name> line per
// command with a timed call since start or CONFIG RESETSTAT, in Redis's
// format: p50=1.003,p99=2.007,p99.9=4.015 (microseconds, three decimals).
func (t *Table) infoLatencyStats(w *infoWriter, _ *infoCtx) {
	var walk func([]*Spec)
	walk = func(cmds []*Spec) {
		for _, sp := range cmds {
			if len(sp.Subcommands) > 0 {
				walk(sp.Subcommands)
			}
			ps, ok := t.lat.percentiles(sp.ID())
			if !ok {
				continue
			}
			var b []byte
			for i, p := range latPercentiles {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, p.name...)
				b = append(b, '=')
				b = appendLatency(b, ps[i])
			}
			w.str("latency_percentiles_usec_"+sp.Name, string(b))
		}
	}
	walk(spec.All())
}
