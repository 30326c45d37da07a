package main

import (
	"math"
	"slices"
	"time"
)

// Sample is one poll of one server: the seq it reported (a leader's last
// logged seq, a follower's last applied one) and when. At is the middle of
// the poll's round trip, the best guess of when the server read its seq.
type Sample struct {
	At  time.Time
	Seq uint64
}

// Lags are the lag figures of a run, pooled over its followers.
type Lags struct {
	// Records holds, for every follower sample in the window, the leader's
	// seq at that instant (interpolated between the leader samples around
	// it) minus the follower's applied seq, never below 0.
	Records []float64
	// Millis holds, for every leader sample in the window and every
	// follower, the time from that sample until the follower's first
	// sample that had applied its seq.
	Millis []float64
	// Unreached counts the leader samples a follower had not applied by
	// its last sample: they are not in Millis.
	Unreached int
}

// window returns the span of leader samples in which the leader's seq
// moved: from the first sample with a seq above the first sample's to the
// last sample whose seq rose. Polls before the load started and after it
// ended would only add zeros. ok is false when the seq never moved.
func window(leader []Sample) (from, to time.Time, ok bool) {
	if len(leader) < 2 {
		return time.Time{}, time.Time{}, false
	}
	for i := 1; i < len(leader); i++ {
		if leader[i].Seq > leader[i-1].Seq {
			if !ok {
				from, ok = leader[i].At, true
			}
			to = leader[i].At
		}
	}
	return from, to, ok
}

// inWindow reports whether t lies in [from, to].
func inWindow(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// leaderSeqAt returns the leader's seq at t, interpolated linearly between
// the leader samples on either side of t (leader is in time order); before
// the first sample it is the first seq, after the last the last.
func leaderSeqAt(leader []Sample, t time.Time) float64 {
	i, _ := slices.BinarySearchFunc(leader, t, func(s Sample, t time.Time) int { return s.At.Compare(t) })
	switch {
	case i == 0:
		return float64(leader[0].Seq)
	case i == len(leader):
		return float64(leader[len(leader)-1].Seq)
	}
	a, b := leader[i-1], leader[i]
	span := b.At.Sub(a.At)
	if span <= 0 {
		return float64(b.Seq)
	}
	f := float64(t.Sub(a.At)) / float64(span)
	return float64(a.Seq) + f*(float64(b.Seq)-float64(a.Seq))
}

// Compute derives the lag figures from a run's samples: leader's and each
// follower's, each in time order. Only samples inside the window in which
// the leader's seq moved count; a follower's samples after the window still
// count as the instant it reached a leader seq of the window.
func Compute(leader []Sample, followers [][]Sample) Lags {
	var out Lags
	from, to, ok := window(leader)
	if !ok {
		return out
	}
	for _, fs := range followers {
		for _, s := range fs {
			if inWindow(s.At, from, to) {
				out.Records = append(out.Records, math.Max(0, leaderSeqAt(leader, s.At)-float64(s.Seq)))
			}
		}
		j := 0 // fs[j] is the first follower sample not before the leader sample
		for _, l := range leader {
			if !inWindow(l.At, from, to) {
				continue
			}
			for j < len(fs) && fs[j].At.Before(l.At) {
				j++
			}
			k := j
			for k < len(fs) && fs[k].Seq < l.Seq {
				k++
			}
			if k == len(fs) {
				out.Unreached++
				continue
			}
			out.Millis = append(out.Millis, float64(fs[k].At.Sub(l.At))/float64(time.Millisecond))
		}
	}
	return out
}

// Percentile returns the p-th percentile (0 < p <= 100) of values by the
// nearest-rank method: the smallest value that at least p% of them do not
// exceed. It returns 0 for no values and does not reorder values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}
