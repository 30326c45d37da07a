// Package gcpace sets the Go garbage collector's pace for a process whose
// live heap is mostly one large, long-lived, pointer-free structure: pykv's
// keydir.
//
// Go's default (GOGC=100) lets the heap grow to twice the live heap before
// the next collection. For pykvd that doubles the resident memory of the
// keydir: 5M keys hold about 240 MB live, and a server that has just loaded
// them sits at 500 to 600 MB of RSS until it is restarted, when the heap
// starts out at its live size. Collections are cheap here, since the keydir
// holds no pointers (marking its chunks costs a few milliseconds for
// millions of keys); what a collection cycle costs is mostly the garbage of
// the requests, which is the same whatever the heap's size. So the headroom
// the collector leaves is better fixed in bytes than as a ratio of the live
// heap: Pacer keeps it near max(MinHeadroom, live/10) by setting the GC
// percent from the live heap after each collection, and never above Go's
// default of 100 (a small heap collects as it would without Pacer).
//
// A GOGC variable in the environment turns Pacer off: the operator's
// choice wins.
package gcpace

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// MinHeadroom is the least heap growth, in bytes, allowed between two
	// collections.
	MinHeadroom = 32 << 20
	// MinPercent is the lowest GC percent Pacer sets: the headroom is at
	// least a tenth of the live heap, however large.
	MinPercent = 10
	// MaxPercent is the highest, Go's default.
	MaxPercent = 100
	// interval is how often Pacer reads the live heap. The live heap of a
	// key-value store changes slowly (it grows by the keys written), and
	// between two reads the percent set for a smaller heap only lets it
	// grow by more bytes than MinHeadroom, never fewer.
	interval   = time.Second
	liveMetric = "/gc/heap/live:bytes"
)

// Percent is the GC percent that leaves max(MinHeadroom, live/10) bytes of
// growth over a live heap of live bytes, within [MinPercent, MaxPercent].
func Percent(live uint64) int {
	if live == 0 {
		return MaxPercent
	}
	p := (MinHeadroom*100 + live - 1) / live // round up: never less headroom than MinHeadroom
	return int(min(max(p, MinPercent), MaxPercent))
}

// Pacer adjusts the GC percent to the live heap until its context ends.
type Pacer struct {
	log  *slog.Logger
	read func() uint64 // the live heap after the last collection, in bytes
	set  func(int) int // debug.SetGCPercent
	last int
}

// New returns a Pacer that reads the runtime's live heap and sets the
// process's GC percent, logging changes at debug level to log.
func New(log *slog.Logger) *Pacer {
	return &Pacer{log: log, read: readLive, set: debug.SetGCPercent}
}

// Enabled reports whether the environment leaves the GC's pace to Pacer:
// GOGC is unset.
func Enabled() bool {
	_, set := os.LookupEnv("GOGC")
	return !set
}

// Run adjusts the GC percent once now and then every second until ctx is
// done, and then restores the percent the process had.
func (p *Pacer) Run(ctx context.Context) {
	orig := p.Step()
	defer p.set(orig)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Step()
		}
	}
}

// Step sets the GC percent for the current live heap and returns the
// percent that was in force before.
func (p *Pacer) Step() int {
	live := p.read()
	want := Percent(live)
	prev := p.set(want)
	if want != p.last {
		p.log.Debug("gc percent", "percent", want, "live_heap_bytes", live)
		p.last = want
	}
	return prev
}

func readLive() uint64 {
	s := []metrics.Sample{{Name: liveMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
