package main

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadRows parses the golden rows.tsv: every row, "-" as NaN, the
// dataset rows' eleven fields as the throughput rows' twelve.
func TestReadRows(t *testing.T) {
	rows, err := readRows(filepath.Join("testdata", "rows.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 23 {
		t.Fatalf("%d rows, want 23", len(rows))
	}
	first := rows[0]
	if first.Group != "tp-set-1-everysec" || first.Kind != "ops" || first.Test != "SET -P 1" ||
		first.Setting != "fsync everysec" || first.Server != "redis/resp" || first.Ops != 38351.88988909794 ||
		first.P50Ms != 0.489 || first.P99Ms != 16.639 || first.CPUUs != 6.99 || first.Pipeline() != 1 ||
		!math.IsNaN(first.RSSMiB) || !math.IsNaN(first.BytesPerKey) || !math.IsNaN(first.ReadyMs) {
		t.Errorf("first row: %+v", first)
	}
	if r := rows[4]; r.Test != "SET -P 16" || r.Pipeline() != 16 || r.Server != "pykv/resp" {
		t.Errorf("row 5: %+v", r)
	}
	failed := rows[12]
	if failed.Server != "redis/resp" || failed.Setting != "fsync always" || !math.IsNaN(failed.Ops) || !math.IsNaN(failed.CPUUs) {
		t.Errorf("a row that was not measured: %+v", failed)
	}
	snap := rows[16]
	if snap.Kind != "ready" || snap.Server != "redis (RDB)" || snap.RSSMiB != 19 || snap.BytesPerKey != 116 ||
		snap.ReadyMs != 95 || !math.IsNaN(snap.CPUUs) || snap.Pipeline() != 0 {
		t.Errorf("restart row: %+v", snap)
	}
	if cold := rows[17]; !cold.cold() || cold.Pipeline() != 1 || cold.CPUUs != 6.1 {
		t.Errorf("cold row: %+v", cold)
	}
}

func TestReadRowsErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"too few fields", "g\tops\tSET -P 1\tfsync no\tredis/resp\t1\n", "rows.tsv:1: 6 fields"},
		{"not a number", "g\tops\tSET -P 1\tfsync no\tredis/resp\t1\t2\t3\t-\t-\t-\tfast\n", "rows.tsv:1: field 12"},
		{"second line", "g\tmem\tx\ty\tz\t1\t-\t-\t2\t3\t-\nbad\n", "rows.tsv:2: 1 fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rows.tsv")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readRows(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadMetaCaption(t *testing.T) {
	m, err := readMeta(filepath.Join("testdata", "meta.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	c := m.caption()
	for _, want := range []string{"pykv 7247e77 vs Redis 7.0.15, 2026-12-02 13:45 UTC.", "2 cores (Intel(R) Xeon(R) Processor)",
		"load average 12.89 at start, 13.66 at end", "1 run(s) of 1s", "50 connections", "100-byte values",
		"100000 keys", "BENCH_QUICK=1"} {
		if !strings.Contains(c, want) {
			t.Errorf("caption %q lacks %q", c, want)
		}
	}
	if got := (Meta{}).caption(); !strings.Contains(got, "pykv ? vs Redis ?") {
		t.Errorf("caption without meta: %q", got)
	}
}

// TestReadRunsMedian: every line of the golden latency.jsonl is read, and
// of the three runs of one row the run of median throughput is kept.
func TestReadRunsMedian(t *testing.T) {
	runs, err := readRuns(filepath.Join("testdata", "latency.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 8 {
		t.Fatalf("%d runs, want 8", len(runs))
	}
	for _, r := range runs {
		if len(r.Latency.Percentiles) != 107 || r.Latency.Percentiles[0].Q != 0 || r.Latency.Percentiles[106].Q != 100 {
			t.Errorf("%s %s run %d: %d percentiles", r.Group, r.Server, r.Run, len(r.Latency.Percentiles))
		}
	}
	median := medianRuns(runs)
	if len(median) != 6 {
		t.Errorf("%d medians, want 6 (2 groups, 3 servers)", len(median))
	}
	m := median[[2]string{"tp-set-1-everysec", "redis/resp"}]
	if m.Run != 1 || m.Latency.Requests != 38612 {
		t.Errorf("median of the three Redis runs is run %d (%+v), want run 1", m.Run, m.Latency.OpsPerSec)
	}
}

func TestReadRunsErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latency.jsonl")
	for _, tc := range []struct{ text, want string }{
		{`{"group":"g","server":"s","run":1,"latency":{"percentiles":[]}}` + "\n", "latency.jsonl:1: run 1 of g s has no percentiles"},
		{"\n{not json\n", "latency.jsonl:2:"},
	} {
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readRuns(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestDecades(t *testing.T) {
	var labels []string
	for _, tk := range decades(0.1, 100) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if !slices.Equal(labels, []string{"0.1", "1", "10", "100"}) {
		t.Errorf("labelled ticks %q", labels)
	}
	if n := len(decades(0.1, 100)); n != 4+3*8 {
		t.Errorf("%d ticks, want 4 labelled and 8 between each two", n)
	}
}

func TestNines(t *testing.T) {
	for _, tc := range []struct{ q, want float64 }{{0, 0}, {45, 1.5}, {90, 3}, {99, 4}, {99.9, 5}, {99.999, 7}} {
		if got := nines(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("nines(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestDrawsTheGoldenData runs the program on testdata/: it writes every
// figure that the data has rows for, as PNG and SVG, each a picture with
// something drawn on it; the fsync setting whose rows have no latency runs
// gets no CDF figure.
func TestDrawsTheGoldenData(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-data", "testdata", "-out", out, "-format", "png,svg"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var want []string
	for _, name := range []string{"throughput", "cpu", "latency-everysec", "latency-cold", "memory", "restart"} {
		if name == "latency-cold" {
			continue // the golden data keeps no run of the cold reads
		}
		want = append(want, filepath.Join(out, name+".png"), filepath.Join(out, name+".svg"))
	}
	got := strings.Fields(stdout.String())
	if !slices.Equal(got, want) {
		t.Errorf("wrote\n%v\nwant\n%v", got, want)
	}
	for _, path := range want {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(path, ".svg") {
			if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("redis")) {
				t.Errorf("%s: %d bytes, not an SVG naming Redis", path, len(b))
			}
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if w := img.Bounds().Dx(); w != 11*dpi {
			t.Errorf("%s: %d pixels wide, want %d", path, w, 11*dpi)
		}
		if n := colouredPixels(img); n < 1000 {
			t.Errorf("%s: %d coloured pixels: nothing drawn", path, n)
		}
	}
}

// colouredPixels counts the pixels that are neither white nor grey: bars
// and curves in the servers' colours.
func colouredPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if max(r, g, bl)-min(r, g, bl) > 0x4000 {
				n++
			}
		}
	}
	return n
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-data", "testdata"}, {"-data", "testdata", "-out", "x", "-format", "gif"}, {"-bogus"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-data", t.TempDir(), "-out", t.TempDir()}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "rows.tsv") {
		t.Errorf("empty data dir: exit %d, stderr %q", code, stderr.String())
	}
}

// TestDatasetOnly: a run of BENCH_SECTIONS=dataset leaves no latency.jsonl
// and no throughput rows but the cold reads; the program draws what there
// is and no empty figure.
func TestDatasetOnly(t *testing.T) {
	data, out := t.TempDir(), t.TempDir()
	rows, err := os.ReadFile(filepath.Join("testdata", "rows.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for line := range strings.Lines(string(rows)) {
		if !strings.HasPrefix(line, "tp-") {
			keep = append(keep, line)
		}
	}
	meta, err := os.ReadFile(filepath.Join("testdata", "meta.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "rows.tsv"), []byte(strings.Join(keep, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "meta.tsv"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-data", data, "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var want []string
	for _, name := range []string{"throughput", "cpu", "memory", "restart"} { // the cold GETs are throughput rows
		want = append(want, filepath.Join(out, name+".png"))
	}
	if got := strings.Fields(stdout.String()); !slices.Equal(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}
}
