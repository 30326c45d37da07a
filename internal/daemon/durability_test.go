package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// fsyncGate blocks every fsync of a log segment while it is closed, and
// says when one is waiting.
type fsyncGate struct {
	closed  atomic.Bool
	waiting chan struct{} // one token per fsync that waits
	open    chan struct{} // closed to let them through
	once    sync.Once
}

// release lets every waiting and later fsync through.
func (g *fsyncGate) release() {
	g.once.Do(func() {
		g.closed.Store(false)
		close(g.open)
	})
}

func newFsyncGate() *fsyncGate {
	return &fsyncGate{waiting: make(chan struct{}, 64), open: make(chan struct{})}
}

func (g *fsyncGate) hook(op vfs.Op, path string) error {
	if op == vfs.OpSync && strings.HasSuffix(path, segment.Ext) && g.closed.Load() {
		select {
		case g.waiting <- struct{}{}:
		default:
		}
		<-g.open
	}
	return nil
}

// daemonUnderTest is pykvd's wiring (a Daemon) in this process, on
// loopback ports, over a file system the test controls.
type daemonUnderTest struct {
	native, resp, http string
}

func startDaemon(t *testing.T, fs vfs.FS, mutate func(*config.Config)) *daemonUnderTest {
	t.Helper()
	return startDaemonWith(t, fs, mutate, &stopper{})
}

// stopper stops a daemon once, from the test or from its cleanup.
type stopper struct {
	once sync.Once
	stop func()
}

func startDaemonWith(t *testing.T, fs vfs.FS, mutate func(*config.Config), s *stopper) *daemonUnderTest {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Native.Addr = "127.0.0.1:0"
	cfg.RESP.Addr = "127.0.0.1:0"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Storage.Fsync = "always"
	if mutate != nil {
		mutate(&cfg)
	}
	if fs == nil {
		fs = vfs.Default
	}
	d, err := New(cfg, Info{Version: "test", FS: fs}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	s.stop = func() {
		s.once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = d.Shutdown(ctx) // a daemon whose log failed reports it at close
			<-served
		})
	}
	t.Cleanup(s.stop)
	select {
	case <-d.Ready():
	case err := <-served:
		t.Fatalf("daemon stopped before it served: %v", err)
	}
	return &daemonUnderTest{native: d.NativeAddr().String(), resp: d.RESPAddr().String(), http: d.HTTPAddr().String()}
}

// respCall sends one command over a fresh RESP connection and returns the
// raw reply (one line, or a bulk string's header and body).
func respCall(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", err
		}
		line += string(body)
	}
	if strings.HasPrefix(line, "*") {
		rest, _ := r.Peek(r.Buffered())
		line += string(rest)
	}
	return line, nil
}

// TestNoReplyShowsAWriteBeforeItsFsync: with fsync = always, while the
// fsync that covers client A's SET is blocked, no read from another client
// on any front end (native, RESP, HTTP) gets a reply: not GET, MGET,
// EXISTS, PTTL, SCAN, DBSIZE or a SET NX that the write made fail. Every
// reply, once the fsync ends, shows the write.
func TestNoReplyShowsAWriteBeforeItsFsync(t *testing.T) {
	gate := newFsyncGate()
	fs := vfs.Inject(vfs.Default, gate.hook)
	d := startDaemon(t, fs, nil)
	t.Cleanup(gate.release) // before the daemon stops: its Close fsyncs
	ctx := context.Background()
	native, err := client.New(client.Options{Addr: d.native, ReadTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer native.Close()
	if err := native.Ping(ctx).Err(); err != nil { // connections open before the gate closes
		t.Fatal(err)
	}

	gate.closed.Store(true)
	wrote := make(chan error, 1)
	go func() {
		_, err := native.Set(ctx, "k", "v", client.SetArgs{}).Result()
		wrote <- err
	}()
	select {
	case <-gate.waiting: // the fsync that covers the SET has started, and waits
	case err := <-wrote:
		t.Fatalf("the SET was acknowledged (%v) before any fsync covered it", err)
	}

	var released atomic.Bool
	type reply struct {
		name, got string
		early     bool
	}
	replies := make(chan reply, 32)
	read := func(name string, f func() (string, error)) {
		go func() {
			got, err := f()
			if err != nil {
				got = "error: " + err.Error()
			}
			replies <- reply{name, got, !released.Load()}
		}()
	}
	for _, c := range [][]string{{"GET", "k"}, {"MGET", "k", "other"}, {"EXISTS", "k"}, {"PTTL", "k"},
		{"SCAN", "0"}, {"DBSIZE"}, {"SET", "k", "v2", "NX"}} {
		read("resp "+strings.Join(c, " "), func() (string, error) { return respCall(d.resp, c...) })
	}
	reader, err := client.New(client.Options{Addr: d.native, ReadTimeout: 30 * time.Second, PoolSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	read("native GET k", func() (string, error) {
		v, err := reader.Get(ctx, "k").Result()
		return string(v), err
	})
	read("native EXISTS k", func() (string, error) {
		n, err := reader.Exists(ctx, "k").Result()
		return strconv.FormatInt(n, 10), err
	})
	read("native DBSIZE", func() (string, error) {
		n, err := reader.DBSize(ctx).Result()
		return strconv.FormatInt(n, 10), err
	})
	httpGet := func(path string) func() (string, error) {
		return func() (string, error) {
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + d.http + path)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp.Status + " " + string(b), err
		}
	}
	read("http GET /get/k", httpGet("/get/k"))
	read("http GET /v1/keys/k", httpGet("/v1/keys/k"))
	const readers = 12

	// A reply within this window would show the write before its fsync
	// ended; the window asserts an absence and synchronises nothing.
	select {
	case r := <-replies:
		t.Fatalf("%s answered %q while the fsync covering the write it saw was blocked", r.name, r.got)
	case err := <-wrote:
		t.Fatalf("the SET was acknowledged (%v) while its fsync was blocked", err)
	case <-time.After(300 * time.Millisecond):
	}
	released.Store(true)
	gate.release()
	if err := <-wrote; err != nil {
		t.Fatalf("SET: %v", err)
	}
	want := map[string]string{
		"resp GET k": "$1\r\nv\r\n", "resp MGET k other": "*2\r\n$1\r\nv\r\n$-1\r\n", "resp EXISTS k": ":1\r\n",
		"resp PTTL k": ":-1\r\n", "resp DBSIZE": ":1\r\n", "resp SET k v2 NX": "$-1\r\n",
		"native GET k": "v", "native EXISTS k": "1", "native DBSIZE": "1",
	}
	for range readers {
		r := <-replies
		if r.early {
			t.Errorf("%s answered %q before the fsync ended", r.name, r.got)
		}
		if w, ok := want[r.name]; ok && r.got != w {
			t.Errorf("%s = %q, want %q", r.name, r.got, w)
		}
		if strings.HasPrefix(r.name, "http") && r.got != "200 OK v" {
			t.Errorf("%s = %q, want 200 and the value v", r.name, r.got)
		}
		if r.name == "resp SCAN 0" && !strings.Contains(r.got, "$1\r\nk\r\n") {
			t.Errorf("%s = %q, want the key k", r.name, r.got)
		}
	}
}

// TestFailedFsyncIsVisibleToNoClient: an fsync that fails (EIO through the
// seam) takes its writes back. The client that wrote gets no OK (its
// connection closes with the replies withheld), no other client on any
// front end sees the keys, durable keys stay readable, writes are refused
// with an error, and a restart finds the same.
func TestFailedFsyncIsVisibleToNoClient(t *testing.T) {
	var failing atomic.Bool
	fs := vfs.Inject(vfs.Default, func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, segment.Ext) && failing.Load() {
			return syscall.EIO
		}
		return nil
	})
	dataDir := t.TempDir()
	setDir := func(c *config.Config) { c.DataDir = dataDir }
	check := func(d *daemonUnderTest, when string) {
		t.Helper()
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"GET", "lost"}, "$-1\r\n"}, {[]string{"EXISTS", "lost", "lost2"}, ":0\r\n"},
			{[]string{"GET", "durable"}, "$1\r\n1\r\n"}, {[]string{"DBSIZE"}, ":1\r\n"},
			{[]string{"SCAN", "0", "MATCH", "lost*"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
		} {
			got, err := respCall(d.resp, c.args...)
			if err != nil || got != c.want {
				t.Errorf("%s: RESP %q = %q, %v; want %q", when, c.args, got, err, c.want)
			}
		}
		resp, err := http.Get("http://" + d.http + "/get/lost")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: HTTP GET /get/lost: %s, want 404", when, resp.Status)
		}
	}

	stop := startDaemonStoppable(t, fs, setDir)
	d := stop.d
	if got, err := respCall(d.resp, "SET", "durable", "1"); err != nil || got != "+OK\r\n" {
		t.Fatalf("SET durable: %q, %v", got, err)
	}
	failing.Store(true)
	if got, err := respCall(d.resp, "MSET", "lost", "x", "lost2", "y"); err == nil {
		t.Fatalf("MSET whose fsync failed answered %q", got)
	}
	failing.Store(false) // the log stays failed: its error is sticky
	got, err := respCall(d.resp, "SET", "more", "z")
	if err != nil || !strings.HasPrefix(got, "-MISCONF ") || !strings.Contains(got, "input/output error") {
		t.Errorf("SET on a failed log = %q, %v; want a MISCONF error naming the I/O error", got, err)
	}
	check(d, "after the failed fsync")
	stop.stop()

	d = startDaemon(t, nil, setDir)
	check(d, "after a restart")
}

// stoppableDaemon is a daemonUnderTest that the test stops before its end.
type stoppableDaemon struct {
	d    *daemonUnderTest
	stop func()
}

func startDaemonStoppable(t *testing.T, fs vfs.FS, mutate func(*config.Config)) stoppableDaemon {
	t.Helper()
	sub := &stopper{}
	d := startDaemonWith(t, fs, mutate, sub)
	return stoppableDaemon{d: d, stop: sub.stop}
}
