package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Row is one line of compare.sh's rows.tsv, one row of its table. A figure
// it did not measure ("-" in the file) is NaN.
type Row struct {
	Group   string // rows of one group compare with its Redis row
	Kind    string // "ops", "mem" or "ready": which figure the ratio compares
	Test    string // e.g. "SET -P 16", "1M keys loaded", "restart, 1M keys"
	Setting string // e.g. "fsync everysec"
	Server  string // e.g. "redis/resp", "pykv/native", "pykvd (log)"

	Ops         float64 // requests (or keys loaded) per second
	P50Ms       float64
	P99Ms       float64
	RSSMiB      float64
	BytesPerKey float64 // RSS gained per key over the empty process
	ReadyMs     float64 // process start to the first PONG
	CPUUs       float64 // server CPU µs per request
}

// rowNumbers is how many figures follow the five names; the last, CPU_US,
// is absent from the dataset rows.
const rowNumbers = 7

// readRows parses rows.tsv: tab-separated GROUP KIND TEST SETTING SERVER
// OPS P50 P99 RSS_MIB BYTES_PER_KEY READY_MS [CPU_US].
func readRows(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != 5+rowNumbers && len(fs) != 5+rowNumbers-1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d or %d", path, n, len(fs), 5+rowNumbers-1, 5+rowNumbers)
		}
		var v [rowNumbers]float64
		for i := range v {
			v[i] = math.NaN()
			if 5+i >= len(fs) || fs[5+i] == "-" || fs[5+i] == "" {
				continue
			}
			if v[i], err = strconv.ParseFloat(fs[5+i], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: field %d: %w", path, n, 6+i, err)
			}
		}
		rows = append(rows, Row{Group: fs[0], Kind: fs[1], Test: fs[2], Setting: fs[3], Server: fs[4],
			Ops: v[0], P50Ms: v[1], P99Ms: v[2], RSSMiB: v[3], BytesPerKey: v[4], ReadyMs: v[5], CPUUs: v[6]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

var pipelineRe = regexp.MustCompile(` -P (\d+)`)

// Pipeline is the -P of a throughput row's test, 0 for other rows.
func (r Row) Pipeline() int {
	m := pipelineRe.FindStringSubmatch(r.Test)
	if m == nil {
		return 0
	}
	p, _ := strconv.Atoi(m[1])
	return p
}

// Meta is meta.tsv: KEY<tab>VALUE lines (date, commit, cpu, cores, load_start,
// load_end, redis, runs, duration, clients, keys, value_size, quick, ...).
type Meta map[string]string

func readMeta(path string) (Meta, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := Meta{}
	for n, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no tab in %q", path, n+1, line)
		}
		m[k] = v
	}
	return m, nil
}

// get returns the value of k, or "?" when meta.tsv lacks it.
func (m Meta) get(k string) string {
	if v, ok := m[k]; ok && v != "" {
		return v
	}
	return "?"
}

// caption is the line under every figure: what was measured, when, where.
func (m Meta) caption() string {
	s := fmt.Sprintf("pykv %s vs Redis %s, %s. %s cores (%s), %s GiB, load average %s at start, %s at end.\n"+
		"%s run(s) of %s per throughput figure (the median shown), %s connections, %s-byte values, %s keys for the dataset figures.",
		m.get("commit"), m.get("redis"), m.get("date"), m.get("cores"), m.get("cpu"), m.get("memory_gib"),
		m.get("load_start"), m.get("load_end"), m.get("runs"), m.get("duration"), m.get("clients"),
		m.get("value_size"), m.get("keys"))
	if m["quick"] == "1" {
		s += " BENCH_QUICK=1: a short run."
	}
	return s
}

// Percentile is one point of a latency distribution (pykv-bench
// --latency-out): Q percent of the requests took at most Ms milliseconds.
type Percentile struct {
	Q  float64 `json:"q"`
	Ms float64 `json:"ms"`
}

// Run is one line of latency.jsonl: one pykv-bench run of a row of the
// table (its group and server), with its latency distribution.
type Run struct {
	Group   string `json:"group"`
	Server  string `json:"server"`
	Run     int    `json:"run"`
	Latency struct {
		Test        string       `json:"test"`
		Pipeline    int          `json:"pipeline"`
		Requests    int64        `json:"requests"`
		OpsPerSec   float64      `json:"ops_per_sec"`
		Percentiles []Percentile `json:"percentiles"`
	} `json:"latency"`
}

func readRuns(path string) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []Run
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if len(r.Latency.Percentiles) == 0 {
			return nil, fmt.Errorf("%s:%d: run %d of %s %s has no percentiles", path, n, r.Run, r.Group, r.Server)
		}
		runs = append(runs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return runs, nil
}

// medianRuns picks, for each group and server, the run of median
// throughput (the lower middle of an even count), the run behind the
// table's ops/s figure: latency.jsonl keeps every run, and percentiles of
// different runs do not average.
func medianRuns(runs []Run) map[[2]string]Run {
	by := map[[2]string][]Run{}
	for _, r := range runs {
		k := [2]string{r.Group, r.Server}
		by[k] = append(by[k], r)
	}
	out := map[[2]string]Run{}
	for k, rs := range by {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Latency.OpsPerSec < rs[j].Latency.OpsPerSec })
		out[k] = rs[(len(rs)-1)/2]
	}
	return out
}

// Data is one directory written by compare.sh with BENCH_DATA.
type Data struct {
	Rows []Row
	Meta Meta
	Runs []Run // empty when latency.jsonl is absent (no throughput section)
}

// readData reads rows.tsv and meta.tsv, which must be there, and
// latency.jsonl when it is.
func readData(dir string) (*Data, error) {
	rows, err := readRows(filepath.Join(dir, "rows.tsv"))
	if err != nil {
		return nil, err
	}
	meta, err := readMeta(filepath.Join(dir, "meta.tsv"))
	if err != nil {
		return nil, err
	}
	runs, err := readRuns(filepath.Join(dir, "latency.jsonl"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return &Data{Rows: rows, Meta: meta, Runs: runs}, nil
}
