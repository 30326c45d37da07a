package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/server"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

type fixture struct {
	mem   *vfs.Mem
	db    *storage.DB
	srv   *server.Server
	syncs atomic.Int64
	fail  atomic.Bool
}

// start serves an engine on a vfs.Mem (fsync always) over the native
// protocol on a loopback port; store wraps the engine when not nil.
func start(t *testing.T, wrap func(command.Store) command.Store) *fixture {
	t.Helper()
	return startWith(t, wrap, nil)
}

// startWith is start with the server's config changed by set.
func startWith(t *testing.T, wrap func(command.Store) command.Store, set func(*server.Config)) *fixture {
	t.Helper()
	f := &fixture{mem: vfs.NewMem()}
	fs := vfs.Inject(f.mem, func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, segment.Ext) {
			f.syncs.Add(1)
			if f.fail.Load() {
				return errors.New("injected EIO")
			}
		}
		return nil
	})
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open("/data", storage.Options{FS: fs, Sync: segment.SyncAlways, Logger: quiet, NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	var store command.Store = db
	if wrap != nil {
		store = wrap(db)
	}
	cfg := server.Config{Addr: "127.0.0.1:0", Logger: quiet}
	if wrap == nil {
		cfg.Deferred = func() server.DeferredStore { return db.Deferred() }
	}
	if set != nil {
		set(&cfg)
	}
	f.srv = server.New(cfg, command.New(store, command.Config{}), server.Native{})
	if err := f.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go f.srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.srv.Shutdown(ctx)
		db.Close()
	})
	return f
}

type conn struct {
	c net.Conn
	r *netproto.Reader
	w *netproto.Writer
}

func dial(t *testing.T, f *fixture) *conn {
	t.Helper()
	c, err := net.Dial("tcp", f.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cn := &conn{c: c, r: netproto.NewReader(bufio.NewReader(c), netproto.Limits{}), w: netproto.NewWriter(bufio.NewWriter(c))}
	cn.w.WriteHandshake()
	cn.w.Flush()
	if _, err := cn.r.ReadHandshakeReply(); err != nil {
		t.Fatal(err)
	}
	return cn
}

func (c *conn) send(args ...string) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	c.w.WriteRequest(argv)
}

// TestPipelinedWritesShareOneFsync: a pipeline of SETs under fsync always
// is answered after as few fsyncs as the pipeline's arrival allows, and
// every reply arrives only once every record before it is durable.
func TestPipelinedWritesShareOneFsync(t *testing.T) {
	f := start(t, nil)
	c := dial(t, f)
	base := f.syncs.Load()
	const n = 200
	for i := 0; i < n; i++ {
		c.send("SET", fmt.Sprint("key-", i), "value")
	}
	c.w.Flush()
	seg := segment.Path("/data", 1)
	end := int64(segment.HeaderSize) // where record i ends in the log
	for i := 0; i < n; i++ {
		r, err := c.r.ReadReply()
		if err != nil || r.Kind != command.KindOK {
			t.Fatalf("reply %d: %v %v", i, r, err)
		}
		end += int64(segment.RecordHeaderSize + len(fmt.Sprint("key-", i)) + len("value"))
		if synced := f.mem.SyncedSize(seg); synced < end {
			t.Fatalf("reply %d arrived with %d log bytes fsynced; its record ends at %d", i, synced, end)
		}
	}
	used := f.syncs.Load() - base
	if used >= n/4 {
		t.Fatalf("%d pipelined SETs used %d fsyncs", n, used)
	}
	t.Logf("%d pipelined SETs, %d fsyncs", n, used)
}

// TestFailedFsyncWithholdsReplies: when the fsync that would cover a
// pipeline fails, none of its OKs reaches the client.
func TestFailedFsyncWithholdsReplies(t *testing.T) {
	f := start(t, nil)
	c := dial(t, f)
	f.fail.Store(true)
	for i := 0; i < 10; i++ {
		c.send("SET", fmt.Sprint("key-", i), "value")
	}
	c.w.Flush()
	for {
		r, err := c.r.ReadReply()
		if err != nil {
			break // closed without acknowledging
		}
		if r.Kind == command.KindOK {
			t.Fatal("a write whose fsync failed was acknowledged")
		}
	}
}

// panicky panics on GET of the key "boom".
type panicky struct{ command.Store }

func (p panicky) Get(key []byte) ([]byte, error) {
	if string(key) == "boom" {
		panic("handler bug")
	}
	return p.Store.Get(key)
}

// TestPanicClosesOnlyThatConnection: a panic in one connection's handler
// is recovered; that connection closes, the others go on.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	f := start(t, func(s command.Store) command.Store { return panicky{s} })
	a, b := dial(t, f), dial(t, f)
	a.send("GET", "boom")
	a.w.Flush()
	if _, err := a.r.ReadReply(); err == nil {
		t.Fatal("the panicking connection answered")
	}
	b.send("SET", "k", "v")
	b.send("GET", "k")
	b.w.Flush()
	for _, want := range []string{"OK", `"v"`} {
		r, err := b.r.ReadReply()
		if err != nil || r.String() != want {
			t.Fatalf("other connection: %v %v, want %s", r, err, want)
		}
	}
}

// TestShutdownFinishesPipeline: requests already sent are answered before
// the server closes the connection.
func TestShutdownFinishesPipeline(t *testing.T) {
	f := start(t, nil)
	c := dial(t, f)
	for i := 0; i < 100; i++ {
		c.send("INCR", "n")
	}
	c.w.Flush()
	r, err := c.r.ReadReply() // the server has started on the pipeline
	if err != nil || r.Int != 1 {
		t.Fatalf("first reply %v %v", r, err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- f.srv.Shutdown(ctx)
	}()
	for i := 2; i <= 100; i++ {
		r, err := c.r.ReadReply()
		if err != nil || r.Int != int64(i) {
			t.Fatalf("reply %d during shutdown: %v %v", i, r, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, _ := f.db.Get([]byte("n")); string(v) != "100" {
		t.Fatalf("n = %s after shutdown", v)
	}
}

// TestRequestTimeoutCountsFromTheFirstByte: RequestTimeout bounds a request
// from its first byte, not the wait before it: a connection quiet for
// longer than the timeout is served, and one that sends half a request
// and stalls is told and closed once the timeout has passed.
func TestRequestTimeoutCountsFromTheFirstByte(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := startWith(t, nil, func(c *server.Config) { c.RequestTimeout = timeout })
	c := dial(t, f)
	time.Sleep(2 * timeout) // the quiet before a request, which must not count
	c.send("PING")
	c.w.Flush()
	if r, err := c.r.ReadReply(); err != nil || r.String() != "PONG" {
		t.Fatalf("PING after a quiet spell: %v %v", r, err)
	}

	c.c.Write([]byte{0, 0, 0, 9, 0x11}) // a frame of 9 bytes, 1 of them sent
	start := time.Now()
	r, err := c.r.ReadReply()
	if err != nil || !strings.Contains(r.String(), "request not received whole within request_timeout") {
		t.Fatalf("half a request: %v %v", r, err)
	}
	if since := time.Since(start); since < timeout-50*time.Millisecond {
		t.Fatalf("told after %v, before the timeout of %v", since, timeout)
	}
	if _, err := c.r.ReadReply(); err == nil {
		t.Fatal("the connection stayed open")
	}
}
