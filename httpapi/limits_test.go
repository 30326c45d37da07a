package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

func TestValueOverTheLimit(t *testing.T) {
	const limit = 1024
	e := newEnv(t, withMaxValue(limit))
	at := bytes.Repeat([]byte("v"), limit)
	if status, _, body := e.do("PUT", "/v1/keys/k", "", bytes.NewReader(at)); status != 200 {
		t.Fatalf("a value at the limit: %d %s", status, body)
	}
	over := append(at, 'v')
	status, _, body := e.do("PUT", "/v1/keys/k", "", bytes.NewReader(over))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT over the limit: %d %s", status, body)
	}
	wantError(t, body, "ERR", "exceeds the limit of 1024 bytes")

	// Without a Content-Length (chunked), MaxBytesReader stops the read.
	status, _, body = e.do("PUT", "/v1/keys/k", "", io.MultiReader(bytes.NewReader(over)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked PUT over the limit: %d %s", status, body)
	}

	// A /put body has room for escapes; the engine refuses the value.
	status, body = e.putJSON(map[string]any{"key": "k", "value": string(over)})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("/put of a value over the limit: %d %s", status, body)
	}
	wantError(t, body, "ERR", "string exceeds maximum allowed size")

	// A /put body over its own limit is cut off while it is decoded.
	huge := `{"key":"k","value":"` + strings.Repeat("v", int(e.srv.putLimit())) + `"}`
	status, _, body = e.do("POST", "/put", "application/json", io.MultiReader(strings.NewReader(huge)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked /put body over the limit: %d %s", status, body)
	}
	form := "key=k&value=" + strings.Repeat("v", int(e.srv.putLimit()))
	status, _, body = e.do("POST", "/put", "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader(form)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked /put form over the limit: %d %s", status, body)
	}
	if _, _, got := e.do("GET", "/get/k", "", nil); !bytes.Equal(got, at) {
		t.Fatalf("value changed by refused writes: %d bytes", len(got))
	}
}

// TestBodyOverLimitIsNotRead: a body that declares a length over the limit
// is refused before any of it is read, so the client never has to send
// it; and a chunked body is cut off at the limit, not read to its end.
func TestBodyOverLimitIsNotRead(t *testing.T) {
	e := newEnv(t, withMaxValue(4096))

	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1<<40)
	conn.Write([]byte("only the start of the body"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared 1 TiB: %d %s", resp.StatusCode, body)
	}
	wantError(t, body, "ERR", "request body of 1099511627776 bytes exceeds the limit of 4096 bytes")

	const total = 1 << 30
	src := &countingReader{n: total}
	req, _ := http.NewRequest("PUT", e.ts.URL+"/v1/keys/big", src)
	req.ContentLength = -1 // chunked: the server learns the size only by reading
	r, err := e.ts.Client().Do(req)
	if err != nil {
		// The server may close before the client notices the reply; what
		// matters is how much was read.
		t.Logf("chunked upload: %v", err)
	} else {
		r.Body.Close()
		if r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked 1 GiB: %d", r.StatusCode)
		}
	}
	if read := src.read.Load(); read > 64<<20 {
		t.Fatalf("%d bytes of a 1 GiB body were sent before the server gave up", read)
	}
}

// countingReader yields n bytes and counts what was taken.
type countingReader struct {
	n    int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	left := c.n - c.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), left))
	clear(p[:n])
	c.read.Add(int64(n))
	return n, nil
}

// TestLogRefusesWrites: after the log fails a write, writes get 503 and
// reads still work.
func TestLogRefusesWrites(t *testing.T) {
	var fail atomic.Bool
	injected := errors.New("injected: no space left on device")
	fs := vfs.Inject(vfs.Default, func(op vfs.Op, _ string) error {
		if fail.Load() && (op == vfs.OpWrite || op == vfs.OpSync) {
			return injected
		}
		return nil
	})
	e := newEnv(t, func(o *storage.Options, _ *command.Config, _ *Config) { o.FS = fs })
	e.do("PUT", "/v1/keys/k", "", strings.NewReader("v"))
	fail.Store(true)
	status, _, body := e.do("PUT", "/v1/keys/k2", "", strings.NewReader("v2"))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("write on a failed log: %d %s", status, body)
	}
	fail.Store(false) // the failure is sticky: the log still refuses
	status, body = e.putJSON(map[string]any{"key": "k3", "value": "v3"})
	if status != http.StatusServiceUnavailable {
		t.Fatalf("write after the failure: %d %s", status, body)
	}
	var eb errorBody
	json.Unmarshal(body, &eb)
	if !strings.Contains(eb.Error.Message, "refuses writes") {
		t.Fatalf("message %q does not say the log refuses writes", eb.Error.Message)
	}
	if status, _, got := e.do("GET", "/get/k", "", nil); status != 200 || string(got) != "v" {
		t.Fatalf("read after the failure: %d %q", status, got)
	}
}

// TestStalledBodyDoesNotAllocateItsLength: requests that each declare a
// body of the largest value allowed (64 MiB), send 10 bytes of it and
// stall must not make the server hold what they declared: memory grows
// with what arrives. The check samples the live heap for a bounded time
// after the handlers have started, then ends each body early to show the
// handlers were reading it all along.
func TestStalledBodyDoesNotAllocateItsLength(t *testing.T) {
	const (
		conns    = 4
		declared = segment.DefaultMaxValue
		slack    = 8 << 20 // far below one declared body
	)
	e := newEnv(t)
	arrived := make(chan struct{}, conns)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		e.srv.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()

	before := liveHeap()
	var cs []*net.TCPConn
	for range conns {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "PUT /v1/keys/stalled HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n0123456789", declared)
		cs = append(cs, c.(*net.TCPConn))
	}
	for range conns {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the requests did not reach the handler")
		}
	}
	var peak uint64
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		peak = max(peak, liveHeap())
	}
	grown := int64(peak) - int64(before)
	t.Logf("live heap grew by %d bytes for %d requests declaring %d bytes each", grown, conns, declared)
	if grown > slack {
		t.Fatalf("live heap grew by %d bytes for %d stalled requests of 10 bytes", grown, conns)
	}

	// A body that ends before its declared length is a 400.
	for _, c := range cs {
		c.CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("body cut short: %d %s", resp.StatusCode, body)
		}
	}
	if status, _, _ := e.do("HEAD", "/v1/keys/stalled", "", nil); status != http.StatusNotFound {
		t.Fatalf("a body cut short was stored: HEAD says %d", status)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBodyGrowsToItsLength: a value of a declared length larger than the
// first chunk, sent in pieces, is read whole as the buffer grows.
func TestBodyGrowsToItsLength(t *testing.T) {
	e := newEnv(t)
	for _, n := range []int{0, 1, bodyChunk - 1, bodyChunk, bodyChunk + 1, 5*bodyChunk + 7, 1 << 20} {
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(i * 7)
		}
		req, _ := http.NewRequest("PUT", e.ts.URL+"/v1/keys/grow", &slowReader{data: v, step: 1000})
		req.ContentLength = int64(n)
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT of %d bytes: %d", n, resp.StatusCode)
		}
		if status, _, got := e.do("GET", "/v1/keys/grow", "", nil); status != 200 || !bytes.Equal(got, v) {
			t.Fatalf("GET after a PUT of %d bytes: %d, %d bytes back", n, status, len(got))
		}
	}
}

// slowReader hands out its data at most step bytes per Read.
type slowReader struct {
	data []byte
	step int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestConnectionCap: past MaxConns open connections, counted in a
// counter shared with other listeners, a new connection is answered 503
// and closed at once; once a connection closes, or another listener's
// client leaves, the next one is served.
func TestConnectionCap(t *testing.T) {
	e := newEnv(t)
	var clients atomic.Int64
	s := New(Config{Addr: "127.0.0.1:0", Table: e.table, DB: e.db, Logger: e.srv.log, MaxConns: 3, Clients: &clients})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()

	type client struct {
		c net.Conn
		r *bufio.Reader
	}
	dial := func() client {
		t.Helper()
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		return client{c, bufio.NewReader(c)}
	}
	// status reads the reply to the request dial sent.
	status := func(cl client) (int, string) {
		t.Helper()
		cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(cl.r, nil)
		if err != nil {
			t.Fatalf("reading the reply: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	refused := func(cl client) {
		t.Helper()
		code, body := status(cl)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "max number of clients reached") {
			t.Fatalf("over the limit: %d %q, want 503 max number of clients reached", code, body)
		}
		if _, err := cl.r.ReadByte(); err == nil {
			t.Fatal("a refused connection was left open")
		}
	}

	clients.Add(1) // a client of another listener
	a, b := dial(), dial()
	for _, cl := range []client{a, b} {
		if code, body := status(cl); code != 200 {
			t.Fatalf("under the limit: %d %q", code, body)
		}
	}
	// Both HTTP connections are open (kept alive) and the third place is
	// the other listener's.
	refused(dial())
	if got := s.Rejected(); got != 1 {
		t.Errorf("Rejected() = %d after one refusal", got)
	}
	clients.Add(-1) // the other listener's client leaves
	if code, _ := status(dial()); code != 200 {
		t.Fatalf("after another listener's client left: %d", code)
	}
	refused(dial())
	a.c.Close()
	waitCount(t, &clients, 2)
	if code, _ := status(dial()); code != 200 {
		t.Fatalf("after an HTTP client left: %d", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	waitCount(t, &clients, 0)
}

// waitCount waits, a bounded while, for the server to have seen its
// connections close.
func waitCount(t *testing.T, clients *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for clients.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections counted, want %d", clients.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLimitListenerReleasesOnce: closing a connection twice frees one
// place, not two.
func TestLimitListenerReleasesOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var clients atomic.Int64
	l := newLimitListener(ln, 2, &clients, nil)
	defer l.Close()
	var accepted []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ac, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, ac)
	}
	accepted[0].Close()
	accepted[0].Close()
	if n := clients.Load(); n != 1 {
		t.Fatalf("%d places held after one of two connections closed twice, want 1", n)
	}
	accepted[1].Close()
	if n := clients.Load(); n != 0 {
		t.Fatalf("%d places held after every connection closed", n)
	}
}
