package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Protocols pykv-bench speaks.
const (
	protoNative = "native"
	protoRESP   = "resp"
)

// Default ports: pykvd's listeners (not Redis's 6379, so that a local
// Redis is never hit by mistake).
const (
	defaultNativePort = 7380
	defaultRESPPort   = 7379
)

// maxKeyspace is the largest -r: keys carry keyDigits decimal digits.
const maxKeyspace = 1_000_000_000_000

// maxPipeline bounds -P: a batch is one buffer of that many requests, and
// a depth beyond this buys nothing but memory.
const maxPipeline = 1 << 16

// Config is one invocation of pykv-bench.
type Config struct {
	Addr      string        // host:port
	Protocol  string        // protoNative or protoRESP
	Password  string        // AUTH with it when not empty
	Clients   int           // connections, one goroutine each
	Requests  int64         // requests per test, when Duration is 0
	Duration  time.Duration // run each test this long instead of Requests
	Pipeline  int           // requests per batch (one write, then its replies)
	DataSize  int           // value size of SET and of the preload
	Keyspace  uint64        // random keys are key:000000000000 to key:(Keyspace-1)
	Tests     []Test        // in order
	SetRatio  int           // mixed: SETs out of SetRatio+GetRatio requests
	GetRatio  int           // mixed: GETs out of SetRatio+GetRatio requests
	Preload   int64         // write keys 0..Preload-1 first
	JSON      bool          // one JSON object per test instead of a summary line
	Seed      uint64        // key sequence seed; 0 picks one from the clock
	WaitReady time.Duration // instead of tests: poll PING until it answers, up to this long
	Since     int64         // with WaitReady: unix ns to measure readiness from (0: now)
	// LatencyOut, when not empty, is a file to write each test's latency
	// distribution to (latency.go: one JSON object per test).
	LatencyOut string
}

// Test is one kind of load.
type Test int

// The tests, in the order -t may name them.
const (
	TestSet Test = iota
	TestGet
	TestIncr
	TestMGet
	TestMixed
)

var testNames = []string{TestSet: "set", TestGet: "get", TestIncr: "incr", TestMGet: "mget", TestMixed: "mixed"}

// String returns the name -t takes.
func (t Test) String() string { return testNames[t] }

// errUsage marks a command line that is wrong; main exits with 2.
var errUsage = errors.New("usage")

// parseFlags parses pykv-bench's command line. -h is the host, as in
// redis-benchmark; --help prints the usage.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fl := flag.NewFlagSet("pykv-bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	host := fl.String("h", "127.0.0.1", "server host")
	port := fl.Int("p", 0, "server port (default 7380 for native, 7379 for resp)")
	addr := fl.String("addr", "", "server address host:port (overrides -h and -p)")
	protocol := fl.String("protocol", protoNative, "wire protocol: native or resp")
	password := fl.String("a", "", "password for AUTH")
	clients := fl.Int("c", 50, "number of connections")
	requests := fl.Int64("n", 100000, "requests per test")
	duration := fl.Duration("duration", 0, "run each test this long instead of -n requests (e.g. 10s)")
	pipeline := fl.Int("P", 1, "pipeline depth: requests sent in one write before reading their replies")
	dataSize := fl.Int("d", 100, "value size in bytes for SET and the preload")
	keyspace := fl.Uint64("r", 100000, "keyspace: random keys key:000000000000 to key:<r-1>")
	tests := fl.String("t", "set,get", "tests, comma-separated: set, get, incr, mget (10 keys), mixed; none to only preload")
	ratio := fl.String("ratio", "1:10", "SET:GET ratio of the mixed test")
	preload := fl.Int64("preload", 0, "first write keys 0 to N-1 (pipelined) so that GETs hit")
	jsonOut := fl.Bool("json", false, "print one JSON object per test instead of a summary line")
	seed := fl.Uint64("seed", 0, "random key seed (0: from the clock)")
	waitReady := fl.Duration("wait-ready", 0, "instead of tests: send PING every 10ms until it is answered, up to this long, and print the time")
	since := fl.Int64("since", 0, "with --wait-ready: measure from this unix time in ns (the server's start), not from now")
	latencyOut := fl.String("latency-out", "", "also write each test's latency distribution to this file: one JSON object per test, the latency at fixed percentiles")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "Usage: pykv-bench [flags]\n\n"+
			"A load generator for pykvd (native protocol or RESP) and Redis (RESP),\n"+
			"in the manner of redis-benchmark: -c connections each send batches of -P\n"+
			"requests and wait for their replies. Prints one summary line per test.\n\nFlags:\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, errUsage
	}
	if fl.NArg() > 0 {
		return Config{}, usagef("unexpected argument %q", fl.Arg(0))
	}
	c := Config{
		Protocol: *protocol, Password: *password, Clients: *clients, Requests: *requests,
		Duration: *duration, Pipeline: *pipeline, DataSize: *dataSize, Keyspace: *keyspace,
		Preload: *preload, JSON: *jsonOut, Seed: *seed, WaitReady: *waitReady, Since: *since,
		LatencyOut: *latencyOut,
	}
	if c.Protocol != protoNative && c.Protocol != protoRESP {
		return Config{}, usagef("--protocol %q: want native or resp", c.Protocol)
	}
	c.Addr = *addr
	if c.Addr == "" {
		p := *port
		if p == 0 {
			p = defaultNativePort
			if c.Protocol == protoRESP {
				p = defaultRESPPort
			}
		}
		if p < 1 || p > 65535 {
			return Config{}, usagef("-p %d: want a port from 1 to 65535", p)
		}
		c.Addr = net.JoinHostPort(*host, strconv.Itoa(p))
	} else if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return Config{}, usagef("--addr %q: %v", c.Addr, err)
	}
	switch {
	case c.Clients < 1:
		return Config{}, usagef("-c %d: want at least 1 connection", c.Clients)
	case c.Pipeline < 1 || c.Pipeline > maxPipeline:
		return Config{}, usagef("-P %d: want 1 to %d", c.Pipeline, maxPipeline)
	case c.DataSize < 0:
		return Config{}, usagef("-d %d: want a size of 0 or more bytes", c.DataSize)
	case c.Keyspace < 1 || c.Keyspace > maxKeyspace:
		return Config{}, usagef("-r %d: want 1 to %d", c.Keyspace, uint64(maxKeyspace))
	case c.Duration < 0:
		return Config{}, usagef("--duration %v: want a positive duration", c.Duration)
	case c.Duration == 0 && c.Requests < 1:
		return Config{}, usagef("-n %d: want at least 1 request (or --duration)", c.Requests)
	case c.Preload < 0 || c.Preload > maxKeyspace:
		return Config{}, usagef("--preload %d: want 0 to %d", c.Preload, int64(maxKeyspace))
	case c.WaitReady < 0:
		return Config{}, usagef("--wait-ready %v: want a positive duration", c.WaitReady)
	}
	var err error
	if c.Tests, err = parseTests(*tests); err != nil {
		return Config{}, err
	}
	if c.SetRatio, c.GetRatio, err = parseRatio(*ratio); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseTests parses -t: names separated by commas, any case; "none" runs
// no test (a preload alone).
func parseTests(s string) ([]Test, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return nil, nil
	}
	var out []Test
	for name := range strings.SplitSeq(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		found := false
		for i, n := range testNames {
			if n == name {
				out = append(out, Test(i))
				found = true
				break
			}
		}
		if !found {
			return nil, usagef("-t: unknown test %q (want %s, or none)", name, strings.Join(testNames, ", "))
		}
	}
	if len(out) == 0 {
		return nil, usagef("-t %q names no test (use none to only preload)", s)
	}
	return out, nil
}

// maxRatioTerm bounds each side of --ratio: the mixed test cycles through
// SET+GET requests, so the cycle stays small.
const maxRatioTerm = 1000

// parseRatio parses --ratio SET:GET, e.g. 1:10.
func parseRatio(s string) (set, get int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		set, err = strconv.Atoi(a)
		if err == nil {
			get, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || set < 0 || get < 0 || set+get == 0 || set > maxRatioTerm || get > maxRatioTerm {
		return 0, 0, usagef("--ratio %q: want SET:GET, two counts from 0 to %d, not both 0 (e.g. 1:10)", s, maxRatioTerm)
	}
	return set, get, nil
}

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}
