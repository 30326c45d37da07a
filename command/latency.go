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
// startTiming), kept in a log-linear histogram per command: eight buckets
// per power of two of nanoseconds, so a percentile is read to within
// 12.5% (Redis's HDR histogram keeps two significant digits, about 1%).
// A bucket is an atomic counter; a command's histogram is shared by every
// session, which costs a contended add only on a timed call.

const (
	latSubBits = 3
	latSub     = 1 << latSubBits // buckets per power of two
	// latBuckets covers 0 ns to 2^42 ns (about 73 minutes); longer calls
	// count in the last bucket.
	latBuckets = (41-latSubBits+1)*latSub + latSub
)

// latPercentiles are the percentiles INFO latencystats shows, Redis's
// default latency-tracking-info-percentiles.
var latPercentiles = []struct {
	name string
	q    float64
}{{"p50", 0.50}, {"p99", 0.99}, {"p99.9", 0.999}}

// latHist is one command's histogram of run times.
type latHist [latBuckets]atomic.Uint64

// latBucket returns the bucket of a duration of ns nanoseconds.
func latBucket(ns uint64) int {
	if ns < latSub {
		return int(ns)
	}
	e := bits.Len64(ns) - 1 // ns is in [2^e, 2^(e+1))
	m := int(ns>>(e-latSubBits)) & (latSub - 1)
	return min((e-latSubBits+1)*latSub+m, latBuckets-1)
}

// latUpper returns the largest duration, in nanoseconds, of bucket i: a
// percentile is reported as its bucket's upper bound, as an HDR
// histogram reports the highest equivalent value.
func latUpper(i int) uint64 {
	if i < latSub {
		return uint64(i)
	}
	e := i/latSub + latSubBits - 1
	m := uint64(i % latSub)
	return (latSub+m+1)<<(e-latSubBits) - 1
}

// latency holds a histogram per command, by spec ID.
type latency struct{ hists []latHist }

func newLatency() *latency { return &latency{hists: make([]latHist, spec.Count())} }

// add counts a call of command id that ran ns nanoseconds.
func (l *latency) add(id int, ns uint64) { l.hists[id][latBucket(ns)].Add(1) }

// reset empties every histogram (CONFIG RESETSTAT).
func (l *latency) reset() {
	for i := range l.hists {
		for j := range l.hists[i] {
			l.hists[i][j].Store(0)
		}
	}
}

// percentiles returns command id's latPercentiles in nanoseconds, and
// false when none of its calls was timed.
func (l *latency) percentiles(id int) ([]uint64, bool) {
	h := &l.hists[id]
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
		rank := uint64(p.q*float64(total) + 0.5) // the call at this rank, 1-based, rounded as HDR does
		rank = max(rank, 1)
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
				b = strconv.AppendFloat(b, float64(ps[i])/1000, 'f', 3, 64)
			}
			w.str("latency_percentiles_usec_"+sp.Name, string(b))
		}
	}
	walk(spec.All())
}
