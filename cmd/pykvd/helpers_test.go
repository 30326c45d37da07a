package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto"
)

// The end-to-end tests of this package run the real pykvd binary, built
// once per run by testdaemon, on loopback ports and temporary data
// directories, and talk to it as its users do: the native protocol through
// the netproto codec, RESP through go-redis, redis-cli and
// redis-benchmark.
//
// With PYKV_TEST_ACTIVATE set, the test binary is not a test run but
// systemd's part in socket activation (TestSocketActivation): it execs
// pykvd in its own process, with LISTEN_PID its pid.
func TestMain(m *testing.M) {
	if os.Getenv(activateEnv) != "" {
		activateExec()
	}
	testdaemon.Main(m)
}

// ioTimeout bounds every read and write of a test connection, so that a
// daemon that stops answering fails the test instead of hanging it.
const ioTimeout = 10 * time.Second

// nativeConn is a connection speaking the native protocol with the
// netproto codec, for tests that want to see exact replies and exact
// bytes.
type nativeConn struct {
	t  testing.TB
	c  net.Conn
	bw *bufio.Writer
	w  *netproto.Writer
	r  *netproto.Reader
}

// dialNative connects to addr and completes the handshake; the connection
// is closed by t's cleanup.
func dialNative(t testing.TB, addr string) *nativeConn {
	t.Helper()
	n := dialNativeRaw(t, addr)
	if err := n.w.WriteHandshake(); err != nil {
		t.Fatal(err)
	}
	n.flush()
	if _, err := n.r.ReadHandshakeReply(); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	return n
}

// dialNativeRaw connects without a handshake, for tests of the handshake
// itself.
func dialNativeRaw(t testing.TB, addr string) *nativeConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	bw := bufio.NewWriter(c)
	return &nativeConn{t: t, c: c, bw: bw, w: netproto.NewWriter(bw),
		r: netproto.NewReader(bufio.NewReader(c), netproto.Limits{})}
}

// send buffers one request without flushing.
func (n *nativeConn) send(args ...string) {
	n.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	if err := n.w.WriteRequest(argv); err != nil {
		n.t.Fatalf("write %q: %v", args, err)
	}
}

// raw buffers bytes as they are, for frames the codec would not write.
func (n *nativeConn) raw(b []byte) {
	n.t.Helper()
	if _, err := n.bw.Write(b); err != nil {
		n.t.Fatal(err)
	}
}

func (n *nativeConn) flush() {
	n.t.Helper()
	n.c.SetDeadline(time.Now().Add(ioTimeout))
	if err := n.bw.Flush(); err != nil {
		n.t.Fatalf("flush: %v", err)
	}
}

// read reads one reply; an error of the frame fails the test.
func (n *nativeConn) read() command.Reply {
	n.t.Helper()
	n.c.SetDeadline(time.Now().Add(ioTimeout))
	r, err := n.r.ReadReply()
	if err != nil {
		n.t.Fatalf("read reply: %v", err)
	}
	return r
}

// do sends one command and returns its reply.
func (n *nativeConn) do(args ...string) command.Reply {
	n.t.Helper()
	n.send(args...)
	n.flush()
	return n.read()
}

// expectClosed checks that the server closed the connection: the next
// read ends, within ioTimeout, without a reply.
func (n *nativeConn) expectClosed() {
	n.t.Helper()
	n.c.SetDeadline(time.Now().Add(ioTimeout))
	r, err := n.r.ReadReply()
	if err == nil {
		n.t.Fatalf("connection still open: got %v", r)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		n.t.Fatalf("connection not closed within %v", ioTimeout)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
		n.t.Fatalf("after close: %v, want EOF", err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") ||
		strings.Contains(err.Error(), "broken pipe"))
}

// infoSections are the titles of INFO's sections, in order: what INFO with
// no argument answers.
var infoSections = []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"}

// parseInfo parses INFO's text into its sections and fields
// (testdaemon.ParseInfo), failing the test if it is not laid out as INFO
// is.
func parseInfo(t testing.TB, text string) testdaemon.Info {
	t.Helper()
	info, err := testdaemon.ParseInfo(text)
	if err != nil {
		t.Fatalf("%v:\n%s", err, text)
	}
	return info
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connectedClients reads INFO clients' connected_clients over n.
func connectedClients(t testing.TB, n *nativeConn) int {
	t.Helper()
	c, err := parseInfo(t, string(n.do("INFO", "clients").Bytes)).Int("connected_clients")
	if err != nil {
		t.Fatal(err)
	}
	return int(c)
}

// waitClients waits until the daemon counts exactly want connections: the
// readiness probes of testdaemon and connections a test closed are
// released by the server a moment after the client lets go.
func waitClients(t testing.TB, n *nativeConn, want int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("connected_clients to be %d", want), func() bool {
		return connectedClients(t, n) == want
	})
}

// needTool returns the path of a Redis tool, or skips the test when it is
// not installed: `make test` installs redis-tools and redis-server first,
// so a skip means the tests ran outside it.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install -y redis-tools redis-server): %v", name, err)
	}
	return p
}
