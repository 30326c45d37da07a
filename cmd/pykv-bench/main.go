// Command pykv-bench is a load generator for pykvd and Redis, in the manner
// of redis-benchmark and memtier: -c connections each send a batch of -P
// requests in one write and read the replies, round and round, for -n
// requests or --duration, against random keys key:000000000000 to
// key:<r-1>. It speaks pykv's native protocol or RESP (--protocol), so the
// same tool, with the same overhead, measures pykvd on either port and
// Redis. For each test it prints one summary line (or one JSON object with
// --json): requests per second and the latency percentiles p50, p99, p99.9
// and max, where a request's latency runs from the write of its batch to
// the read of its reply, recorded in an HDR histogram.
//
// It is built to cost the server's machine as little CPU as it can, since
// client and server share the cores: one goroutine per connection; each
// request encoded once by the protocol's own codec, then copied into a
// batch buffer reused for the whole test with only its key digits
// rewritten; one write system call per batch, from that buffer (a bufio
// writer would only add a copy); replies skipped in the read buffer
// without being decoded into values. The request loop allocates nothing
// (TestRequestLoopDoesNotAllocate, BenchmarkRequestLoop).
//
// --latency-out FILE also writes each test's latency distribution there,
// for plots (bench/plot draws CDFs from it): one JSON object per test, the
// latency at fixed percentiles from 0 (the fastest) to 100 (the slowest).
//
// --wait-ready measures a server's time to ready instead: it PINGs every
// 10 ms until PONG comes back and prints the time since --since (the unix
// time in ns at which a script started the server).
//
// Exit codes: 0 when every test ran without an error reply, 1 when a test
// could not run or got error replies, 2 on a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stdout))) }

func run(args []string, stdout, stderr io.Writer, tty bool) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if err != errUsage { // bare errUsage: the flag package has said why
			fmt.Fprintf(stderr, "pykv-bench: %v\n", err)
		}
		return 2
	}
	r := &runner{cfg: cfg, out: stdout, tty: tty && !cfg.JSON, seed: cfg.Seed}
	if r.seed == 0 {
		r.seed = uint64(time.Now().UnixNano())
	}
	if cfg.WaitReady > 0 {
		if _, err := r.waitReady(); err != nil {
			fmt.Fprintf(stderr, "pykv-bench: %v\n", err)
			return 1
		}
		return 0
	}
	results, err := r.runAll()
	if cfg.LatencyOut != "" {
		if werr := writeLatencies(cfg.LatencyOut, results); werr != nil {
			fmt.Fprintf(stderr, "pykv-bench: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "pykv-bench: %v\n", err)
		return 1
	}
	code := 0
	for _, res := range results {
		if res.Errors > 0 {
			fmt.Fprintf(stderr, "pykv-bench: %s: %d error replies, the first: %s\n", res.Name, res.Errors, res.FirstError)
			code = 1
		}
	}
	return code
}

// isTerminal reports whether f is a terminal: the progress line is drawn
// only there, never into a pipe or a file.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
