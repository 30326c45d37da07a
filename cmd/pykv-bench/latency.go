package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// latencyPercentiles are the points of the distribution --latency-out
// writes: every whole percent, then the tail in finer steps, enough for a
// smooth CDF with the median and the nines both readable.
var latencyPercentiles = func() []float64 {
	ps := make([]float64, 0, 107)
	for p := 0; p <= 99; p++ {
		ps = append(ps, float64(p))
	}
	return append(ps, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100)
}()

// Percentile is one point of a latency distribution: Q percent of the
// requests took at most Ms milliseconds (Q 0 is the fastest, 100 the
// slowest).
type Percentile struct {
	Q  float64 `json:"q"`
	Ms float64 `json:"ms"`
}

// Latencies is the line --latency-out writes for one test: what ran, and
// the latency at each of latencyPercentiles.
type Latencies struct {
	Test        string       `json:"test"`
	Name        string       `json:"name"`
	Protocol    string       `json:"protocol"`
	Addr        string       `json:"addr"`
	Clients     int          `json:"clients"`
	Pipeline    int          `json:"pipeline"`
	DataSize    int          `json:"data_size"`
	Requests    int64        `json:"requests"`
	Seconds     float64      `json:"seconds"`
	OpsPerSec   float64      `json:"ops_per_sec"`
	Percentiles []Percentile `json:"percentiles"`
}

// latencies returns res's distribution at latencyPercentiles, read from
// its histogram (HDR: each value to three significant figures).
func latencies(res Result) Latencies {
	l := Latencies{Test: res.Test, Name: res.Name, Protocol: res.Protocol, Addr: res.Addr, Clients: res.Clients,
		Pipeline: res.Pipeline, DataSize: res.DataSize, Requests: res.Requests, Seconds: res.Seconds,
		OpsPerSec: res.OpsPerSec, Percentiles: make([]Percentile, 0, len(latencyPercentiles))}
	h := res.hist
	if h == nil {
		h = hdrhistogram.New(histMinUs, histMaxUs, histSigFigs)
	}
	for _, q := range latencyPercentiles {
		ms := quantileMs(h, q)
		if q == 0 { // the histogram's quantile 0 is its lowest bucket, empty or not
			ms = float64(h.Min()) / 1000
		}
		l.Percentiles = append(l.Percentiles, Percentile{Q: q, Ms: ms})
	}
	return l
}

// writeLatencies writes one JSON line per result to path, replacing the
// file.
func writeLatencies(path string, results []Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--latency-out: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, res := range results {
		if err := enc.Encode(latencies(res)); err != nil {
			f.Close()
			return fmt.Errorf("--latency-out %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("--latency-out %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--latency-out %s: %w", path, err)
	}
	return nil
}
