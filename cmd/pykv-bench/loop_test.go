package main

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/reply"
	"github.com/pykv/pykv/segment"
)

// fakeConn is a server that answers every request with the same reply:
// writes are swallowed and reads return that reply over and over. The
// request loop reads exactly one reply per request, so it stays in step.
type fakeConn struct {
	reply []byte
	off   int
}

func (f *fakeConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], f.reply[f.off:])
		n += m
		f.off = (f.off + m) % len(f.reply)
	}
	return n, nil
}

func (f *fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// loopCase is a test of the request loop against a fake server.
type loopCase struct {
	name  string
	test  Test
	reply reply.Reply
}

func loopCases() []loopCase {
	value := reply.Bytes(bytes.Repeat([]byte("x"), 100))
	mget := make([]reply.Reply, mgetKeys)
	for i := range mget {
		mget[i] = value
	}
	return []loopCase{
		{"SET", TestSet, reply.OK},
		{"GET", TestGet, value},
		{"MGET", TestMGet, reply.Array(mget)},
		{"GET-miss", TestGet, reply.Nil},
	}
}

func newFakeWorker(tb testing.TB, proto string, lc loopCase, pipeline int) *worker {
	cfg := Config{Protocol: proto, DataSize: 100, Keyspace: 100000}
	wl, err := newWorkload(lc.test, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	one := encodeReplies(tb, proto, 2, lc.reply)
	// Many replies in a row, so that the fake's Read is one copy, not one
	// per reply: the benchmark is the client's cost.
	fc := &fakeConn{reply: bytes.Repeat(one, 2*readBufSize/len(one)+1)}
	c := newConn(fc, proto == protoNative)
	return newWorker(c, wl, cfg, pipeline, 1)
}

// TestRequestLoopDoesNotAllocate proves the steady state of the request
// loop allocation-free: filling a batch, writing it, skipping the replies,
// recording the latencies.
func TestRequestLoopDoesNotAllocate(t *testing.T) {
	for _, proto := range []string{protoNative, protoRESP} {
		for _, lc := range loopCases() {
			for _, pipeline := range []int{1, 16} {
				w := newFakeWorker(t, proto, lc, pipeline)
				b := countBudget(0)
				var stop atomic.Bool
				allocs := testing.AllocsPerRun(20, func() {
					b.total = 1000
					b.left.Store(1000)
					if err := w.run(b, &stop); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("%s %s -P %d: %.1f allocations per 1000 requests, want 0", proto, lc.name, pipeline, allocs)
				}
			}
		}
	}
}

// BenchmarkRequestLoop measures the client's own cost per request against
// a server that costs nothing: what pykv-bench takes from the CPU that the
// server under test shares.
func BenchmarkRequestLoop(b *testing.B) {
	for _, proto := range []string{protoNative, protoRESP} {
		for _, lc := range loopCases() {
			for _, pipeline := range []int{1, 16} {
				b.Run(proto+"/"+lc.name+"/P"+itoa(int64(pipeline)), func(b *testing.B) {
					w := newFakeWorker(b, proto, lc, pipeline)
					var stop atomic.Bool
					b.ReportAllocs()
					b.ResetTimer()
					if err := w.run(countBudget(int64(b.N)), &stop); err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}

// BenchmarkServerPipelined runs the in-process server (engine with
// fsync everysec, command table, both listeners) under pykv-bench's
// pipelined load, one request per op. It is the handle for profiling the
// server without a daemon:
//
//	go test -run '^$' -bench 'ServerPipelined/native/SET' -benchtime 2000000x \
//	    -cpuprofile cpu.out ./cmd/pykv-bench
//	go tool pprof -top -focus 'netproto|command|storage|segment|index' cpu.out
//
// Client and server share the process, as they share the machine in
// bench/compare.sh: the profile shows both, and -focus keeps the server.
func BenchmarkServerPipelined(b *testing.B) {
	ts := startServer(b, "", segment.SyncEverySec)
	const keyspace = 100000
	preloaded := false
	for _, proto := range []string{protoNative, protoRESP} {
		for _, test := range []Test{TestSet, TestGet} {
			b.Run(proto+"/"+test.String(), func(b *testing.B) {
				cfg := Config{Addr: ts.addr(proto), Protocol: proto, Clients: 50, Pipeline: 16, DataSize: 100,
					Keyspace: keyspace, Requests: int64(b.N), Tests: []Test{test}}
				r := &runner{cfg: cfg, out: &bytes.Buffer{}, seed: 1}
				if !preloaded {
					// Load the keys once, outside the timed part, so GETs hit.
					r.cfg.Tests, r.cfg.Preload = nil, keyspace
					if _, err := r.runAll(); err != nil {
						b.Fatal(err)
					}
					r.cfg.Tests, r.cfg.Preload = []Test{test}, 0
					preloaded = true
				}
				b.ResetTimer()
				res, err := r.runAll()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res[0].OpsPerSec, "ops/s")
				b.ReportMetric(res[0].P99Ms, "p99-ms")
			})
		}
	}
}
