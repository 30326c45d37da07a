//go:build linux

package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/server"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// respFixture is a RESP server of its own engine (vfs.Mem, fsync always
// unless respOptions say otherwise), served by event loops or by a
// goroutine per connection.
type respFixture struct {
	srv  *server.Server
	db   *storage.DB
	fail atomic.Bool // fail the log's fsyncs
}

// respOptions change what startRESPWith starts.
type respOptions struct {
	sync segment.SyncPolicy                 // the engine's fsync policy; SyncAlways when zero
	hook func(op vfs.Op, path string) error // also called on every file-system operation, after the fail check
	set  func(*server.Config)               // changes the server's config
}

func startRESP(t *testing.T, eventLoop bool, set func(*server.Config)) *respFixture {
	t.Helper()
	return startRESPWith(t, eventLoop, respOptions{set: set})
}

// startRESPWith is startRESP with the engine and server changed by o.
func startRESPWith(t *testing.T, eventLoop bool, o respOptions) *respFixture {
	t.Helper()
	f := &respFixture{}
	fs := vfs.Inject(vfs.NewMem(), func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, segment.Ext) && f.fail.Load() {
			return errors.New("injected EIO")
		}
		if o.hook != nil {
			return o.hook(op, path)
		}
		return nil
	})
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open("/data", storage.Options{FS: fs, Sync: o.sync, Logger: quiet, NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	cfg := server.Config{Addr: "127.0.0.1:0", Logger: quiet, EventLoop: eventLoop, EventLoops: 2,
		Deferred:   func() server.DeferredStore { return db.Deferred() },
		WaitBlocks: func() bool { return true }}
	if o.set != nil {
		o.set(&cfg)
	}
	f.srv = server.New(cfg, command.New(db, command.Config{}), server.RESP{})
	if err := f.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		db.Close()
	})
	return f
}

func (f *respFixture) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", f.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c.(*net.TCPConn)
}

// exchange sends the chunks, each with a write of its own, closes the
// sending side and returns everything the server sent until it closed.
func (f *respFixture) exchange(t *testing.T, chunks ...string) string {
	t.Helper()
	c := f.dial(t)
	for _, ch := range chunks {
		if _, err := c.Write([]byte(ch)); err != nil {
			break // the server closed first (a protocol error)
		}
	}
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the replies: %v", err)
	}
	return string(got)
}

// TestEventLoopServes: with Config.EventLoop, RESP connections are served
// by the loops, not by a goroutine each.
func TestEventLoopServes(t *testing.T) {
	f := startRESP(t, true, nil)
	if got := f.exchange(t, "PING\r\n"); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}
	if n := f.srv.EventLoops(); n != 2 {
		t.Fatalf("EventLoops() = %d, want 2", n)
	}
	g := startRESP(t, false, nil)
	g.exchange(t, "PING\r\n")
	if n := g.srv.EventLoops(); n != 0 {
		t.Fatalf("without EventLoop, EventLoops() = %d", n)
	}
}

// TestEventLoopsLeaveAPIdle: without Config.EventLoops, the server runs
// one loop fewer than GOMAXPROCS, and at least one, so that the scheduler
// keeps a P idle and does not take a waiting loop's.
func TestEventLoopsLeaveAPIdle(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct{ procs, loops int }{{1, 1}, {2, 1}, {3, 2}, {8, 7}} {
		runtime.GOMAXPROCS(tc.procs)
		if got := server.DefaultEventLoops(); got != tc.loops {
			t.Errorf("GOMAXPROCS %d: DefaultEventLoops() = %d, want %d", tc.procs, got, tc.loops)
		}
		f := startRESP(t, true, func(c *server.Config) { c.EventLoops = 0 })
		if got := f.exchange(t, "PING\r\n"); got != "+PONG\r\n" {
			t.Fatalf("GOMAXPROCS %d: PING: %q", tc.procs, got)
		}
		if got := f.srv.EventLoops(); got != tc.loops {
			t.Errorf("GOMAXPROCS %d: EventLoops() = %d, want %d", tc.procs, got, tc.loops)
		}
	}
}

// TestEventLoopRepliesLikeGoroutineServer: every byte stream gets the same
// bytes back, and the same close, from the event loop as from the
// goroutine server, whole or cut into pieces: the loop parses with the
// same Reader, and hands blocking commands and long requests over.
func TestEventLoopRepliesLikeGoroutineServer(t *testing.T) {
	big := strings.Repeat("v", 200<<10)
	streams := []struct{ name, in string }{
		{"ping", "PING\r\n"},
		{"multibulk", "*1\r\n$4\r\nPING\r\n"},
		{"pipeline", "SET k v\r\nGET k\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nDEL k\r\nGET k\r\n"},
		{"inline quotes", "SET \"a b\" 'c d'\r\nGET \"a b\"\r\nSET x \"\\x41\\n\"\r\nGET x\r\n"},
		{"blank lines and empty arrays", "\r\n\n*0\r\n*-1\r\nPING\r\n\n\n"},
		{"LF only", "PING\nECHO hi\n"},
		{"unknown command", "NOPE a b\r\nPING\r\n"},
		{"wrong arity", "GET\r\nPING\r\n"},
		{"bad bulk length", "*1\r\n$x\r\nPING\r\n"},
		{"dollar expected", "*1\r\n:4\r\nPING\r\n"},
		{"bad multibulk length", "*a\r\nPING\r\n"},
		{"unbalanced quotes", "PING\r\nSET \"a b\r\nPING\r\n"},
		{"native handshake", "PYKV\x00\x01\x00\x00"},
		{"native prefix then RESP", "PYPING\r\n"},
		{"quit", "PING\r\nQUIT\r\nPING\r\n"},
		{"transaction", "MULTI\r\nSET a 1\r\nINCR a\r\nEXEC\r\nGET a\r\n"},
		{"client reply", "CLIENT REPLY OFF\r\nSET a 2\r\nCLIENT REPLY ON\r\nGET a\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\n"},
		{"resp3", "HELLO 3\r\nSET m 1\r\nGET nothing\r\nHELLO 2\r\nGET nothing\r\n"},
		{"wait is handed over", "SET w 1\r\nWAIT 0 0\r\nGET w\r\nPING\r\n"},
		{"large value is handed over", "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + fmt.Sprint(len(big)) + "\r\n" + big + "\r\nSTRLEN big\r\n"},
		{"inline of 70000 bytes", "ECHO " + strings.Repeat("x", 70000) + "\r\nPING\r\n"},
		{"inline of 82000 bytes", "ECHO " + strings.Repeat("x", 82000) + "\r\nPING\r\n"},
		{"incomplete at the end", "PING\r\n*2\r\n$3\r\nGET\r\n$1\r\n"},
	}
	loop, gor := startRESP(t, true, nil), startRESP(t, false, nil)
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			want := gor.exchange(t, s.in)
			if got := loop.exchange(t, s.in); got != want {
				t.Fatalf("whole: event loop sent\n%.300q\ngoroutine server sent\n%.300q", got, want)
			}
			if len(s.in) > 300 {
				return
			}
			// Cut at every byte: each piece a write of its own.
			var pieces []string
			for i := range len(s.in) {
				pieces = append(pieces, s.in[i:i+1])
			}
			want = gor.exchange(t, pieces...)
			if got := loop.exchange(t, pieces...); got != want {
				t.Fatalf("byte by byte: event loop sent\n%q\ngoroutine server sent\n%q", got, want)
			}
		})
	}
}

// TestEventLoopFailedFsyncWithholdsReplies: under fsync always the loop
// waits for the fsync off the loop, and when it fails no OK leaves.
func TestEventLoopFailedFsyncWithholdsReplies(t *testing.T) {
	f := startRESP(t, true, nil)
	f.fail.Store(true)
	got := f.exchange(t, "SET a 1\r\nSET b 2\r\n")
	if strings.Contains(got, "OK") {
		t.Fatalf("a write whose fsync failed was acknowledged: %q", got)
	}
}

// TestEventLoopWaitDoesNotStallOthers: while one connection's replies wait
// for an fsync that takes long, another connection's GET is answered.
func TestEventLoopWaitDoesNotStallOthers(t *testing.T) {
	release := make(chan struct{})
	var slow atomic.Bool
	f := startRESPWith(t, true, respOptions{
		hook: func(op vfs.Op, path string) error {
			if op == vfs.OpSync && strings.HasSuffix(path, segment.Ext) && slow.Load() {
				<-release
			}
			return nil
		},
		set: func(c *server.Config) { c.EventLoops = 1 },
	})
	writer, reader := f.dial(t), f.dial(t)
	slow.Store(true)
	writer.Write([]byte("SET k v\r\n"))
	// The reader's PING, on the same loop, is answered while the SET's
	// fsync hangs.
	reader.Write([]byte("PING\r\n"))
	buf := make([]byte, 7)
	if _, err := io.ReadFull(reader, buf); err != nil || string(buf) != "+PONG\r\n" {
		t.Fatalf("PING during a hung fsync: %q %v", buf, err)
	}
	slow.Store(false)
	close(release)
	buf = buf[:5]
	if _, err := io.ReadFull(writer, buf); err != nil || string(buf) != "+OK\r\n" {
		t.Fatalf("SET after its fsync: %q %v", buf, err)
	}
}

// TestEventLoopShutdownFinishesPipeline: a pipeline already received is
// answered whole before Shutdown closes the connection.
func TestEventLoopShutdownFinishesPipeline(t *testing.T) {
	f := startRESP(t, true, nil)
	c := f.dial(t)
	var in bytes.Buffer
	const n = 500
	for i := range n {
		fmt.Fprintf(&in, "SET key-%d v\r\n", i)
	}
	c.Write(in.Bytes())
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil { // the first reply: the pipeline has arrived
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go f.srv.Shutdown(ctx)
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := 1 + bytes.Count(rest, []byte("+OK\r\n")); got != n {
		t.Fatalf("%d replies before the close, want %d", got, n)
	}
}

// TestEventLoopMaxClients: the connection past MaxClients gets Redis's
// error and is closed; the others are served.
func TestEventLoopMaxClients(t *testing.T) {
	f := startRESP(t, true, func(c *server.Config) { c.MaxClients = 2 })
	a, b := f.dial(t), f.dial(t)
	for _, c := range []*net.TCPConn{a, b} {
		c.Write([]byte("PING\r\n"))
		buf := make([]byte, 7)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.exchange(t, "PING\r\n"); got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client: %q", got)
	}
	if f.srv.Rejected() != 1 {
		t.Fatalf("Rejected() = %d", f.srv.Rejected())
	}
}

// TestEventLoopTimeouts: idle, request and auth timeouts close the
// connection, with the goroutine server's last words.
func TestEventLoopTimeouts(t *testing.T) {
	f := startRESP(t, true, func(c *server.Config) {
		c.IdleTimeout = 300 * time.Millisecond
		c.RequestTimeout = 100 * time.Millisecond
	})
	start := time.Now() // before the dial: the server's clock starts at its accept
	idle := f.dial(t)
	if got, _ := io.ReadAll(idle); len(got) != 0 {
		t.Fatalf("idle connection got %q", got)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("idle connection closed after %v, before the idle timeout", d)
	}
	slow := f.dial(t)
	slow.Write([]byte("*1\r\n$4\r\nPI"))
	got, _ := io.ReadAll(slow)
	if want := "-ERR request not received whole within request_timeout, closing the connection\r\n"; string(got) != want {
		t.Fatalf("trickled request: %q, want %q", got, want)
	}
}
