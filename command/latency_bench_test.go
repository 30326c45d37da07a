package command

import "testing"

// BenchmarkLatencyAdd is what a timed call adds to INFO latencystats:
// one count in its command's histogram, over durations of 0 to 1 ms.
func BenchmarkLatencyAdd(b *testing.B) {
	l := newLatency()
	ns := uint64(1000)
	for b.Loop() {
		l.add(3, ns)
		ns = (ns + 7919) & (1<<20 - 1)
	}
}
