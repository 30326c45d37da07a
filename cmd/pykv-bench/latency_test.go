package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/segment"
)

// TestLatenciesOfKnownHistogram: 1000 latencies of 1 to 1000 µs give the
// percentiles of that uniform distribution, to the histogram's three
// significant figures.
func TestLatenciesOfKnownHistogram(t *testing.T) {
	h := newHistogram()
	for v := int64(1); v <= 1000; v++ {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	l := latencies(Result{Test: "set", Name: "SET", Requests: 1000, hist: h})
	if len(l.Percentiles) != len(latencyPercentiles) {
		t.Fatalf("%d percentiles, want %d", len(l.Percentiles), len(latencyPercentiles))
	}
	want := map[float64]float64{0: 0.001, 50: 0.500, 90: 0.900, 99: 0.990, 99.9: 0.999, 100: 1.000}
	found := 0
	for i, p := range l.Percentiles {
		if i > 0 && (p.Q <= l.Percentiles[i-1].Q || p.Ms < l.Percentiles[i-1].Ms) {
			t.Errorf("point %d %+v after %+v: not increasing", i, p, l.Percentiles[i-1])
		}
		if w, ok := want[p.Q]; ok {
			found++
			if p.Ms < w*0.999 || p.Ms > w*1.001+0.0005 {
				t.Errorf("p%v = %v ms, want %v", p.Q, p.Ms, w)
			}
		}
	}
	if found != len(want) {
		t.Errorf("%d of the %d checked percentiles written", found, len(want))
	}
}

// TestLatencyOut runs two tests with --latency-out against an in-process
// server: the file holds one line per test, whose p50, p99 and maximum are
// the figures --json printed.
func TestLatencyOut(t *testing.T) {
	ts := startServer(t, "", segment.SyncNo)
	path := filepath.Join(t.TempDir(), "lat.jsonl")
	results, _ := runJSON(t, "--addr", ts.resp, "--protocol", "resp", "-c", "3", "-n", "300", "-P", "4",
		"-t", "set,get", "--latency-out", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []Latencies
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l Latencies
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(results) || len(results) != 2 {
		t.Fatalf("%d lines for %d results, want 2", len(lines), len(results))
	}
	for i, l := range lines {
		r := results[i]
		if l.Test != r.Test || l.Protocol != "resp" || l.Pipeline != 4 || l.Clients != 3 || l.Requests != 300 {
			t.Errorf("line %d: %+v for result %+v", i, l, r)
		}
		at := map[float64]float64{}
		for _, p := range l.Percentiles {
			at[p.Q] = p.Ms
		}
		if at[50] != r.P50Ms || at[99] != r.P99Ms || at[100] != r.MaxMs || at[0] <= 0 {
			t.Errorf("%s: p0 %v p50 %v p99 %v p100 %v; --json said p50 %v p99 %v max %v",
				l.Test, at[0], at[50], at[99], at[100], r.P50Ms, r.P99Ms, r.MaxMs)
		}
	}
}

// TestLatencyOutUnwritable: a file that cannot be created is exit 1 with
// the flag named.
func TestLatencyOutUnwritable(t *testing.T) {
	ts := startServer(t, "", segment.SyncNo)
	var out, errb bytes.Buffer
	path := filepath.Join(t.TempDir(), "missing", "lat.jsonl")
	code := run([]string{"--addr", ts.native, "-c", "1", "-n", "10", "-t", "set", "--latency-out", path}, &out, &errb, false)
	if code != 1 || !strings.Contains(errb.String(), "--latency-out") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
