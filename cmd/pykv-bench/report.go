package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// print writes res as one JSON object (--json) or as one summary line in
// the manner of redis-benchmark -q, with the tail latencies and the setup
// after it:
//
//	SET: 123456.78 requests per second, p50=0.199 msec, p99=0.551 msec, p99.9=1.023 msec, max=3.211 msec (100000 requests in 0.81 s, 50 clients, pipeline 1, 100-byte values, resp)
func (r *runner) print(res Result) error {
	if r.cfg.JSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(r.out, "%s\n", b)
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %.2f requests per second, p50=%.3f msec, p99=%.3f msec, p99.9=%.3f msec, max=%.3f msec",
		res.Name, res.OpsPerSec, res.P50Ms, res.P99Ms, res.P999Ms, res.MaxMs)
	fmt.Fprintf(&sb, " (%d requests in %.2f s, %d clients, pipeline %d, %d-byte values, %s)",
		res.Requests, res.Seconds, res.Clients, res.Pipeline, res.DataSize, res.Protocol)
	if res.Nils > 0 {
		fmt.Fprintf(&sb, ", %d nil replies", res.Nils)
	}
	if res.Errors > 0 {
		fmt.Fprintf(&sb, ", %d ERRORS (first: %s)", res.Errors, res.FirstError)
	}
	sb.WriteByte('\n')
	_, err := fmt.Fprint(r.out, sb.String())
	return err
}

// readyResult is what --wait-ready prints.
type readyResult struct {
	Test     string  `json:"test"`
	Protocol string  `json:"protocol"`
	Addr     string  `json:"addr"`
	ReadyMs  float64 `json:"ready_ms"`
	Attempts int     `json:"attempts"`
}

func (r *runner) printReady(res readyResult) error {
	if r.cfg.JSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(r.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(r.out, "READY: PING answered after %.1f ms (%d attempts, %s, %s)\n",
		res.ReadyMs, res.Attempts, res.Addr, res.Protocol)
	return err
}
