package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// preloadPipeline is the pipeline depth of the preload, whatever -P is:
// it only has to be fast.
const preloadPipeline = 64

// Progress: how often the line is redrawn, and how long the load may make
// no progress at all before the test is abandoned as hung.
const (
	progressEvery = 250 * time.Millisecond
	stallTimeout  = 10 * time.Second
)

// errStalled is a test abandoned because no reply came for stallTimeout.
var errStalled = fmt.Errorf("no reply for %v: the server is stuck or gone", stallTimeout)

// Result is one test's figures.
type Result struct {
	Test       string  `json:"test"`
	Name       string  `json:"name"`
	Protocol   string  `json:"protocol"`
	Addr       string  `json:"addr"`
	Clients    int     `json:"clients"`
	Pipeline   int     `json:"pipeline"`
	DataSize   int     `json:"data_size"`
	Keyspace   uint64  `json:"keyspace"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Nils       int64   `json:"nil_replies"`
	Seconds    float64 `json:"seconds"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	AvgMs      float64 `json:"avg_ms"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	P999Ms     float64 `json:"p999_ms"`
	MaxMs      float64 `json:"max_ms"`

	hist *hdrhistogram.Histogram // every latency, in µs: for --latency-out
}

// runner runs the tests of one Config.
type runner struct {
	cfg    Config
	out    io.Writer // summary lines, JSON and the progress line
	tty    bool      // out is a terminal: draw the progress line
	seed   uint64
	nextID uint64 // seeds each worker apart
}

// runAll runs the preload, then every test, printing a result for each.
// It stops at the first test that could not run; error replies do not
// stop it (they are counted and reported).
func (r *runner) runAll() ([]Result, error) {
	var results []Result
	if r.cfg.Preload > 0 {
		wl, err := preloadWorkload(r.cfg)
		if err != nil {
			return nil, err
		}
		res, err := r.run(wl, preloadPipeline, countBudget(r.cfg.Preload))
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	for _, t := range r.cfg.Tests {
		wl, err := newWorkload(t, r.cfg)
		if err != nil {
			return results, err
		}
		b := countBudget(r.cfg.Requests)
		if r.cfg.Duration > 0 {
			b = nil // made once every connection is up, so dialling is not timed
		}
		res, err := r.run(wl, r.cfg.Pipeline, b)
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// run runs one workload on fresh connections and prints its result. A nil
// budget means --duration, started once the connections are up.
func (r *runner) run(wl *workload, pipeline int, b *budget) (Result, error) {
	workers := make([]*worker, 0, r.cfg.Clients)
	defer func() {
		for _, w := range workers {
			w.c.Close()
		}
	}()
	for range r.cfg.Clients {
		c, err := dial(r.cfg)
		if err != nil {
			return Result{}, fmt.Errorf("%s: connect: %w", wl.name, err)
		}
		r.nextID++
		workers = append(workers, newWorker(c, wl, r.cfg, pipeline, r.seed+r.nextID*0x9e3779b97f4a7c15))
	}
	if b == nil {
		b = timeBudget(r.cfg.Duration)
	}

	var stop atomic.Bool
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	start := time.Now()
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run(b, &stop)
			if errs[i] != nil && !stop.Load() {
				stop.Store(true) // one connection lost: end the test
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	stalled := r.watch(wl, b, workers, start, finished, &stop)
	elapsed := time.Since(start)
	if r.tty {
		fmt.Fprint(r.out, "\r\033[K")
	}
	if stalled {
		return Result{}, fmt.Errorf("%s: %w", wl.name, errStalled)
	}
	if err := errors.Join(errs...); err != nil {
		return Result{}, fmt.Errorf("%s: %w", wl.name, err)
	}
	res := r.result(wl, pipeline, workers, elapsed)
	if err := r.print(res); err != nil {
		return res, err
	}
	return res, nil
}

// watch waits for the workers, redrawing the progress line on a terminal,
// and abandons the test (closing its connections) when no reply arrives
// for stallTimeout. It reports whether it did.
func (r *runner) watch(wl *workload, b *budget, workers []*worker, start time.Time,
	finished <-chan struct{}, stop *atomic.Bool) bool {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	var last int64
	lastAt, lastMove := start, start
	for {
		select {
		case <-finished:
			return false
		case now := <-tick.C:
			var done int64
			for _, w := range workers {
				done += w.done.Load()
			}
			if done != last {
				lastMove = now
			} else if now.Sub(lastMove) > stallTimeout {
				stop.Store(true)
				for _, w := range workers {
					w.c.Close()
				}
				<-finished
				return true
			}
			if r.tty {
				rps := float64(done-last) / now.Sub(lastAt).Seconds()
				overall := float64(done) / now.Sub(start).Seconds()
				of := fmt.Sprintf("%d of %d", done, b.total)
				if !b.deadline.IsZero() {
					of = fmt.Sprintf("%d in %.1f of %.0f s", done, now.Sub(start).Seconds(), b.deadline.Sub(start).Seconds())
				}
				fmt.Fprintf(r.out, "\r\033[K%s: %s, rps=%.0f (overall: %.0f)", wl.name, of, rps, overall)
			}
			last, lastAt = done, now
		}
	}
}

// result merges the workers' counts and histograms.
func (r *runner) result(wl *workload, pipeline int, workers []*worker, elapsed time.Duration) Result {
	h := newHistogram()
	res := Result{Test: wl.test, Name: wl.name, Protocol: r.cfg.Protocol, Addr: r.cfg.Addr,
		Clients: len(workers), Pipeline: pipeline, DataSize: r.cfg.DataSize, Keyspace: r.cfg.Keyspace,
		Seconds: elapsed.Seconds(), hist: h}
	if wl.seq {
		res.Keyspace = uint64(r.cfg.Preload)
	}
	for _, w := range workers {
		h.Merge(w.hist)
		res.Requests += w.done.Load()
		res.Errors += w.errors
		res.Nils += w.nils
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
	}
	if elapsed > 0 {
		res.OpsPerSec = float64(res.Requests) / elapsed.Seconds()
	}
	res.AvgMs = h.Mean() / 1000
	res.P50Ms = quantileMs(h, 50)
	res.P99Ms = quantileMs(h, 99)
	res.P999Ms = quantileMs(h, 99.9)
	res.MaxMs = float64(h.Max()) / 1000
	return res
}

func quantileMs(h *hdrhistogram.Histogram, q float64) float64 {
	return float64(h.ValueAtQuantile(q)) / 1000
}
