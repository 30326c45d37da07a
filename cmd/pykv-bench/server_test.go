package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/daemontest"
	"github.com/pykv/pykv/segment"
)

// testServer is pykvd's wiring in this process (internal/daemontest): an
// engine in a temp dir and a native and a RESP listener on free loopback
// ports.
type testServer struct {
	native string
	resp   string
}

func startServer(tb testing.TB, password string, sync segment.SyncPolicy) *testServer {
	tb.Helper()
	d := daemontest.Start(tb, func(c *config.Config) {
		c.Password = password
		c.Storage.Fsync = sync.String()
		c.HTTP.Addr = ""
	})
	return &testServer{native: d.Native, resp: d.RESP}
}

// keys returns the server's DBSIZE.
func (ts *testServer) keys(t *testing.T) int64 {
	t.Helper()
	c, err := client.New(client.Options{Addr: ts.native})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (ts *testServer) addr(proto string) string {
	if proto == protoNative {
		return ts.native
	}
	return ts.resp
}

// runJSON runs pykv-bench with --json and returns its results.
func runJSON(t *testing.T, args ...string) ([]Result, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append(args, "--json"), &out, &errb, false)
	var results []Result
	for line := range strings.Lines(out.String()) {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("output line %q is not JSON: %v", line, err)
		}
		results = append(results, r)
	}
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errb.String())
	}
	return results, errb.String()
}

// TestRunEveryTest runs every test over both protocols against an
// in-process server: each completes with requests done and no error reply.
func TestRunEveryTest(t *testing.T) {
	ts := startServer(t, "", segment.SyncNo)
	for _, proto := range []string{protoNative, protoRESP} {
		for _, pipeline := range []string{"1", "8"} {
			t.Run(proto+"/P"+pipeline, func(t *testing.T) {
				results, _ := runJSON(t, "--addr", ts.addr(proto), "--protocol", proto, "-c", "4", "-n", "400",
					"-P", pipeline, "-r", "300", "--preload", "300", "-t", "set,get,incr,mget,mixed", "--ratio", "1:3")
				wantTests := []string{"preload", "set", "get", "incr", "mget", "mixed"}
				if len(results) != len(wantTests) {
					t.Fatalf("%d results, want %d", len(results), len(wantTests))
				}
				for i, r := range results {
					if r.Test != wantTests[i] {
						t.Errorf("result %d is %q, want %q", i, r.Test, wantTests[i])
					}
					want := int64(400)
					if r.Test == "preload" {
						want = 300
					}
					if r.Requests != want || r.Errors != 0 || r.OpsPerSec <= 0 || r.P50Ms <= 0 || r.MaxMs < r.P99Ms {
						t.Errorf("%s: %+v", r.Test, r)
					}
					if (r.Test == "get" || r.Test == "mixed") && r.Nils != 0 {
						t.Errorf("%s: %d nil replies after the preload of the whole keyspace", r.Test, r.Nils)
					}
				}
			})
		}
	}
	if n := ts.keys(t); n < 300 {
		t.Errorf("server holds %d keys after the preload of 300", n)
	}
}

func TestRunDurationAndAuth(t *testing.T) {
	ts := startServer(t, "s3cret", segment.SyncEverySec)
	for _, proto := range []string{protoNative, protoRESP} {
		results, _ := runJSON(t, "--addr", ts.addr(proto), "--protocol", proto, "-a", "s3cret", "-c", "3",
			"--duration", "200ms", "-P", "4", "-t", "set")
		if len(results) != 1 || results[0].Requests == 0 || results[0].Errors != 0 {
			t.Fatalf("%s: %+v", proto, results)
		}
		if s := results[0].Seconds; s < 0.2 || s > 2 {
			t.Errorf("%s: ran %.2f s for --duration 200ms", proto, s)
		}
		// Without the password every request is refused: counted, and exit 1.
		var out, errb bytes.Buffer
		code := run([]string{"--addr", ts.addr(proto), "--protocol", proto, "-c", "1", "-n", "5", "-t", "get"},
			&out, &errb, false)
		if code != 1 || !strings.Contains(out.String(), "5 ERRORS") || !strings.Contains(errb.String(), "NOAUTH") {
			t.Errorf("%s without AUTH: exit %d\nstdout: %s\nstderr: %s", proto, code, out.String(), errb.String())
		}
	}
}

func TestSummaryLine(t *testing.T) {
	ts := startServer(t, "", segment.SyncNo)
	var out, errb bytes.Buffer
	if code := run([]string{"--addr", ts.resp, "--protocol", "resp", "-c", "2", "-n", "50", "-t", "get", "-r", "10"},
		&out, &errb, false); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	line := out.String()
	for _, want := range []string{"GET: ", " requests per second, p50=", " msec, p99=", "p99.9=", "max=",
		"(50 requests in ", "2 clients, pipeline 1, 100-byte values, resp)", "50 nil replies"} {
		if !strings.Contains(line, want) {
			t.Errorf("summary %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\r") {
		t.Errorf("progress drawn into a pipe: %q", line)
	}
}

func TestWaitReady(t *testing.T) {
	ts := startServer(t, "", segment.SyncNo)
	for _, proto := range []string{protoNative, protoRESP} {
		since := time.Now().Add(-time.Second).UnixNano()
		results, _ := runJSONReady(t, "--addr", ts.addr(proto), "--protocol", proto, "--wait-ready", "5s",
			"--since", itoa(since))
		if results.ReadyMs < 1000 || results.ReadyMs > 5000 || results.Attempts != 1 {
			t.Errorf("%s: %+v, want about 1000 ms since --since, at the first attempt", proto, results)
		}
	}
	var errb bytes.Buffer
	start := time.Now()
	if code := run([]string{"--addr", "127.0.0.1:1", "--wait-ready", "100ms"}, io.Discard, &errb, false); code != 1 {
		t.Errorf("nothing listening: exit %d, want 1", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("--wait-ready 100ms took %v", d)
	}
}

func runJSONReady(t *testing.T, args ...string) (readyResult, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append(args, "--json"), &out, &errb, false); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r readyResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	return r, errb.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
