package main

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to a minute, to three
// significant figures: redis-benchmark's resolution.
const (
	histMinUs   = 1
	histMaxUs   = int64(time.Minute / time.Microsecond)
	histSigFigs = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinUs, histMaxUs, histSigFigs)
}

// budget hands out the requests of one test to its workers, a batch at a
// time: either a count (-n, and the preload, whose keys are the claimed
// indices) or a deadline (--duration).
type budget struct {
	total    int64
	left     atomic.Int64
	deadline time.Time // zero: count mode
}

func countBudget(n int64) *budget {
	b := &budget{total: n}
	b.left.Store(n)
	return b
}

func timeBudget(d time.Duration) *budget { return &budget{deadline: time.Now().Add(d)} }

// claim returns the index of the first request of the next batch and its
// size, at most p; n is 0 when the test is over.
func (b *budget) claim(p int, now time.Time) (first int64, n int) {
	if !b.deadline.IsZero() {
		if !now.Before(b.deadline) {
			return 0, 0
		}
		return 0, p
	}
	before := b.left.Add(-int64(p)) + int64(p)
	if before <= 0 {
		return 0, 0
	}
	return b.total - before, int(min(int64(p), before))
}

// worker drives one connection: it fills a batch of requests in a buffer
// reused for the whole test, sends it with one write, and reads the
// replies, recording each one's latency from the write to the read that
// brought the reply. In the steady
// state it allocates nothing (TestRequestLoopDoesNotAllocate).
type worker struct {
	c        *conn
	wl       *workload
	pipeline int
	keyspace uint64
	rng      *rand.Rand
	batch    []byte
	pos      int // position in wl.cycle
	hist     *hdrhistogram.Histogram

	done     atomic.Int64 // replies read, for the progress line
	errors   int64
	nils     int64
	firstErr string
}

func newWorker(c *conn, wl *workload, cfg Config, pipeline int, seed uint64) *worker {
	return &worker{
		c: c, wl: wl, pipeline: pipeline, keyspace: cfg.Keyspace,
		rng:   rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		batch: make([]byte, 0, pipeline*wl.maxLen),
		hist:  newHistogram(),
	}
}

// fill encodes the next n requests into the batch buffer: the encoded
// requests copied in turn, their key digits rewritten. A sequential
// workload numbers its keys from first.
func (w *worker) fill(n int, first uint64) {
	buf := w.batch[:0]
	for i := range n {
		r := &w.wl.reqs[w.wl.cycle[w.pos]]
		if w.pos++; w.pos == len(w.wl.cycle) {
			w.pos = 0
		}
		start := len(buf)
		buf = append(buf, r.wire...)
		for _, off := range r.keyOffs {
			k := first + uint64(i)
			if !w.wl.seq {
				k = w.rng.Uint64N(w.keyspace)
			}
			putKey(buf[start+off:start+off+keyDigits], k)
		}
	}
	w.batch = buf
}

// run sends batches until the budget is spent, stop is set, or the
// connection fails.
func (w *worker) run(b *budget, stop *atomic.Bool) error {
	now := time.Now()
	for !stop.Load() {
		first, n := b.claim(w.pipeline, now)
		if n == 0 {
			return nil
		}
		w.fill(n, uint64(first))
		sent := time.Now()
		if _, err := w.c.nc.Write(w.batch); err != nil {
			return err
		}
		reads := w.c.in.reads
		for range n {
			kind, err := w.c.skip()
			if err != nil {
				return err
			}
			if w.c.in.reads != reads { // this reply took a read: it arrived now
				reads, now = w.c.in.reads, time.Now()
			}
			w.record(now.Sub(sent))
			switch kind {
			case replyError:
				if w.errors == 0 {
					w.firstErr = string(w.c.errMsg)
				}
				w.errors++
			case replyNil:
				w.nils++
			}
		}
		w.done.Add(int64(n))
	}
	return nil
}

// record adds one latency, rounded up to the microsecond and clamped to
// the histogram's range.
func (w *worker) record(d time.Duration) {
	us := (int64(d) + int64(time.Microsecond) - 1) / int64(time.Microsecond)
	_ = w.hist.RecordValue(min(max(us, histMinUs), histMaxUs))
}
