// Package benchcpu gives benchmarks the process's CPU time per operation,
// the figure to trust on a machine shared with other work: ns/op also
// counts the time a benchmark waits for a core.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Now returns the CPU time the process has used so far, user and system.
func Now(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report reports the CPU time per op since start (a Now) as cpu-ns/op.
func Report(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(Now(b)-start)/float64(b.N), "cpu-ns/op")
}
