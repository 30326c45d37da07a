// Command plot draws bench/compare.sh's results: the directory that
// compare.sh fills when BENCH_DATA names it (rows.tsv, meta.tsv,
// latency.jsonl) becomes pictures under -out, which docs/performance.md
// shows. `make bench` runs both.
//
//	go run ./bench/plot -data docs/bench/data -out docs/bench
//
// It writes, as PNG (and SVG with -format png,svg):
//
//   - throughput: requests per second of redis/resp, pykv/resp and
//     pykv/native for each throughput row of the table (SET and GET per
//     fsync setting, and the cold GETs), -P 1 and -P 16 in two panels;
//   - cpu: the server's CPU microseconds per request of the same rows;
//   - latency-SETTING: latency CDFs of every server for SET and GET, -P 1
//     and -P 16, one figure per fsync setting, on a scale of nines so that
//     the median and the tail are both readable. Each curve is the run of
//     median throughput, the one behind the table's figure;
//   - memory: the RSS per key of the dataset rows;
//   - restart: the time from process start to the first PONG.
//
// Each figure's caption says the commit, date, machine and load average
// that compare.sh recorded in meta.tsv. Figures whose rows are absent
// (BENCH_SECTIONS ran only one part) are not written.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("plot", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dataDir := fl.String("data", "", "directory compare.sh wrote with BENCH_DATA (rows.tsv, meta.tsv, latency.jsonl)")
	outDir := fl.String("out", "", "directory to write the pictures to")
	formats := fl.String("format", "png", "picture formats, comma-separated: png, svg")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || *outDir == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: plot -data DIR -out DIR [-format png,svg]")
		return 2
	}
	var exts []string
	for f := range strings.SplitSeq(*formats, ",") {
		f = strings.TrimSpace(f)
		if f != "png" && f != "svg" {
			fmt.Fprintf(stderr, "plot: -format %q: want png, svg or both\n", *formats)
			return 2
		}
		exts = append(exts, f)
	}
	d, err := readData(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "plot: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "plot: %v\n", err)
		return 1
	}
	written, err := drawAll(d, *outDir, exts)
	for _, p := range written {
		fmt.Fprintln(stdout, p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plot: %v\n", err)
		return 1
	}
	return 0
}
