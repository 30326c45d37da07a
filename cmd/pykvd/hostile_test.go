package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto"
)

// respBulk encodes args as a RESP array of bulk strings.
func respBulk(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

// nativeFrame encodes args as one native request frame.
func nativeFrame(t *testing.T, args ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	if err := netproto.NewWriter(bw).WriteRequest(argv); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	return buf.Bytes()
}

// manyArgs returns a command name and n-1 one-byte args.
func manyArgs(name string, n int) []string {
	args := []string{name}
	for i := 1; i < n; i++ {
		args = append(args, "x")
	}
	return args
}

// TestNativeUnauthenticatedLimits: with a password, a native connection
// that has not authenticated is held to 10 args and 16 KiB frames, as
// Redis holds its unauthenticated clients; over them it gets an error and
// is closed before the server reads or allocates the claim. After AUTH the
// configured limits apply.
func TestNativeUnauthenticatedLimits(t *testing.T) {
	t.Parallel()
	const pass = "s3cret"
	d := testdaemon.Start(t, testdaemon.Options{Password: pass})
	const noAuth = "(error) NOAUTH Authentication required."
	closing := []struct {
		name  string
		send  func(n *nativeConn)
		reply string
	}{
		{"a 64 MiB claim", func(n *nativeConn) { n.raw([]byte{0x04, 0, 0, 0, 0x01}) },
			"(error) PROTO unauthenticated frame too large: 67108864 bytes claimed, limit is 16384"},
		{"a frame one byte over 16 KiB", func(n *nativeConn) { n.raw([]byte{0, 0, 0x40, 0x01}) },
			"(error) PROTO unauthenticated frame too large: 16385 bytes claimed, limit is 16384"},
		{"11 args", func(n *nativeConn) { n.send(manyArgs("AUTH", 11)...) },
			"(error) PROTO unauthenticated too many arguments: more than 10"},
	}
	for _, tc := range closing {
		t.Run(tc.name, func(t *testing.T) {
			n := dialNative(t, d.Addr())
			tc.send(n)
			n.flush()
			if got := n.read().String(); got != tc.reply {
				t.Fatalf("reply %s, want %s", got, tc.reply)
			}
			n.expectClosed()
		})
	}

	t.Run("within the limits", func(t *testing.T) {
		n := dialNative(t, d.Addr())
		converse(t, n, []step{
			{manyArgs("DEL", 10), noAuth},
			// The largest frame before AUTH: 1 opcode byte, a 4-byte length.
			{[]string{"AUTH", strings.Repeat("p", 16384-1-4)}, "(error) WRONGPASS invalid username-password pair or user is disabled."},
			{[]string{"AUTH", pass}, "OK"},
			{manyArgs("DEL", 11), "(integer) 0"},
			{[]string{"SET", "k", strings.Repeat("v", 1<<20)}, "OK"},
			{[]string{"EXISTS", "k"}, "(integer) 1"},
		})
	})
}

// TestRESPUnauthenticatedLimits: the same through RESP, with Redis 7's
// texts and Redis's values (networking.c): an array of more than 10, or a
// bulk string of more than 16384 bytes, before AUTH.
func TestRESPUnauthenticatedLimits(t *testing.T) {
	t.Parallel()
	const pass = "s3cret"
	d := testdaemon.Start(t, testdaemon.Options{Password: pass})
	for _, tc := range []struct{ name, send, reply string }{
		{"11 args", "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"a 64 MiB bulk", "*2\r\n$4\r\nAUTH\r\n$67108864\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"a bulk of 16385", "*2\r\n$4\r\nAUTH\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRESPRaw(t, d.RESPAddr())
			c.write(tc.send)
			c.expect(tc.reply)
			c.expectClosed()
		})
	}
	t.Run("within the limits", func(t *testing.T) {
		c := dialRESPRaw(t, d.RESPAddr())
		// Redis bounds the arguments of an array only: an inline command
		// of 11 arguments is answered as a command.
		c.write("AUTH 1 2 3 4 5 6 7 8 9 10\r\n" + respBulk(manyArgs("DEL", 10)...) + respBulk("AUTH", strings.Repeat("p", 16384)))
		c.expect("-ERR syntax error\r\n-NOAUTH Authentication required.\r\n" +
			"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
		big := strings.Repeat("v", 1<<20)
		c.write(respBulk("AUTH", pass) + respBulk(manyArgs("DEL", 11)...) + respBulk("SET", "k", big) + respBulk("EXISTS", "k"))
		c.expect("+OK\r\n:0\r\n+OK\r\n:1\r\n")
	})
}

// TestAuthTimeout runs with --auth-timeout: connections of every protocol
// that have not authenticated in time are told so and closed, even one
// that keeps talking; one that authenticated stays.
func TestAuthTimeout(t *testing.T) {
	t.Parallel()
	const pass = "s3cret"
	const limit = 500 * time.Millisecond
	d := testdaemon.Start(t, testdaemon.Options{Password: pass, Args: []string{"--auth-timeout", limit.String()}})
	start := time.Now()
	authed := dialNative(t, d.Addr())
	converse(t, authed, []step{{[]string{"AUTH", pass}, "OK"}})
	quiet := dialNative(t, d.Addr())
	chatty := dialNative(t, d.Addr())
	resp := dialRESPRaw(t, d.RESPAddr())
	respAuthed := dialRESPRaw(t, d.RESPAddr())
	respAuthed.write(respBulk("AUTH", pass))
	respAuthed.expect("+OK\r\n")

	const noAuth = "(error) NOAUTH Authentication required."
	const timedOut = "(error) NOAUTH Authentication required; not authenticated in time, closing the connection."
	// chatty keeps sending commands without AUTH until it is cut off;
	// the loop is bounded by far more than the timeout.
	for i := 0; ; i++ {
		chatty.send("GET", "k")
		chatty.flush()
		got := chatty.read().String()
		if got == timedOut {
			break
		}
		if got != noAuth {
			t.Fatalf("GET before AUTH: %s", got)
		}
		if time.Since(start) > 20*limit {
			t.Fatalf("a connection talking without AUTH was still open after %v (auth_timeout %v)", time.Since(start), limit)
		}
		time.Sleep(limit / 10) // pacing, not synchronisation
	}
	if since := time.Since(start); since < limit {
		t.Fatalf("closed after %v, before the auth_timeout of %v", since, limit)
	}
	chatty.expectClosed()
	if got := quiet.read().String(); got != timedOut {
		t.Fatalf("silent native connection: %s, want %s", got, timedOut)
	}
	quiet.expectClosed()
	resp.expect("-NOAUTH Authentication required; not authenticated in time, closing the connection.\r\n")
	resp.expectClosed()

	converse(t, authed, []step{{[]string{"PING"}, "PONG"}})
	respAuthed.write("PING\r\n")
	respAuthed.expect("+PONG\r\n")
}

// TestIdleTimeoutCountsFromLastByte runs with --idle-timeout and sends
// one large SET slowly, a chunk at a time, taking several times the
// timeout in all but never pausing for long: the request is served, on
// both protocols. A connection that pauses longer than the timeout in the
// middle of a request is closed.
func TestIdleTimeoutCountsFromLastByte(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	const chunks = 15 // at idle/5 apart: 3 idle timeouts in all
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--idle-timeout", idle.String()}})
	value := strings.Repeat("v", 15<<10)

	trickle := func(t *testing.T, write func([]byte), req []byte) {
		t.Helper()
		step := (len(req) + chunks - 1) / chunks
		for len(req) > 0 {
			n := min(step, len(req))
			write(req[:n])
			req = req[n:]
			if len(req) > 0 {
				time.Sleep(idle / 5) // pacing: the slow upload itself
			}
		}
	}

	t.Run("native", func(t *testing.T) {
		n := dialNative(t, d.Addr())
		trickle(t, func(b []byte) { n.raw(b); n.flush() }, nativeFrame(t, "SET", "native", value))
		if got := n.read().String(); got != "OK" {
			t.Fatalf("slow SET: %s", got)
		}
		if got := n.do("GET", "native").Bytes; string(got) != value {
			t.Fatalf("GET after the slow SET: %d bytes, want %d", len(got), len(value))
		}
	})
	t.Run("resp", func(t *testing.T) {
		c := dialRESPRaw(t, d.RESPAddr())
		trickle(t, func(b []byte) { c.write(string(b)) }, []byte(respBulk("SET", "resp", value)))
		c.expect("+OK\r\n")
	})
	t.Run("a pause longer than the timeout", func(t *testing.T) {
		c := dialRESPRaw(t, d.RESPAddr())
		c.write("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc")
		c.expectClosed() // within ioTimeout; the server cuts it after idle
	})
}

// httpConn is a kept-alive HTTP/1.1 connection, for tests that count
// connections.
type httpConn struct {
	c net.Conn
	r *bufio.Reader
}

// dialHTTP connects to addr and sends GET path.
func dialHTTP(t *testing.T, addr, path string) *httpConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: pykv\r\n\r\n", path)
	return &httpConn{c: c, r: bufio.NewReader(c)}
}

// response reads the reply to the request dialHTTP sent.
func (h *httpConn) response(t *testing.T) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(h.r, nil)
	if err != nil {
		t.Fatalf("HTTP reply: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("HTTP body: %v", err)
	}
	return resp.StatusCode, string(body)
}

// TestHTTPCountsTowardMaxClients runs with --max-clients 2 and the HTTP
// listener on: an HTTP connection takes one of the two places, so a
// native client over the limit is refused, and an HTTP client over it is
// answered 503 and closed; a place freed by either protocol goes to the
// next client of either.
func TestHTTPCountsTowardMaxClients(t *testing.T) {
	t.Parallel()
	httpAddr := freeAddr(t)
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--max-clients", "2", "--http-addr", httpAddr}})
	n := dialAdmitted(t, d.Addr())
	waitClients(t, n, 1)
	rejected := infoInt(t, n, "stats", "rejected_connections")

	h := dialHTTP(t, httpAddr, "/healthz")
	if code, body := h.response(t); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz under the limit: %d %q", code, body)
	}
	waitClients(t, n, 2) // the kept-alive HTTP connection holds a place

	over := dialNativeRaw(t, d.Addr())
	if err := over.w.WriteHandshake(); err != nil {
		t.Fatal(err)
	}
	over.flush()
	if refusal := refusalOf(t, over); !strings.Contains(refusal, "max number of clients reached") {
		t.Fatalf("native client over the limit: %s", refusal)
	}
	overHTTP := dialHTTP(t, httpAddr, "/healthz")
	if code, body := overHTTP.response(t); code != http.StatusServiceUnavailable || !strings.Contains(body, "max number of clients reached") {
		t.Fatalf("HTTP client over the limit: %d %q, want 503", code, body)
	}
	if _, err := overHTTP.r.ReadByte(); err == nil {
		t.Fatal("the refused HTTP connection was left open")
	}
	if got := infoInt(t, n, "stats", "rejected_connections"); got != rejected+2 {
		t.Errorf("rejected_connections went from %d to %d over two refusals", rejected, got)
	}

	h.c.Close()
	waitClients(t, n, 1)
	converse(t, dialAdmitted(t, d.Addr()), []step{{[]string{"PING"}, "PONG"}})
}

// TestProtectedModeRefusesToStart: without a password, an address beyond
// loopback stops pykvd at start (exit 2) with a message that says how to
// set a password or allow it; nothing is bound. --protected-mode=no lets
// it past the check, shown here without binding anything beyond loopback:
// the data directory is a file, so start-up then fails at the engine (exit
// 1), before any listener.
func TestProtectedModeRefusesToStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "pykv.toml")
	if err := os.WriteFile(conf, []byte("[resp]\naddr = \"0.0.0.0:7379\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	loop := []string{"--data-dir", notADir, "--native-addr", freeAddr(t), "--resp-addr", freeAddr(t), "--http-addr", ""}
	refused := []string{"protected mode", "--password", "protected_mode = false", "--protected-mode=no"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"native on every interface", append(loop, "--native-addr", "0.0.0.0:7380"), 2, append(refused, "native.addr = 0.0.0.0:7380")},
		{"HTTP on every interface", append(loop, "--http-addr", ":7381"), 2, append(refused, "http.addr = :7381")},
		{"RESP from pykv.toml", []string{"--config", conf, "--data-dir", notADir, "--native-addr", freeAddr(t), "--http-addr", ""}, 2, append(refused, "resp.addr = 0.0.0.0:7379")},
		{"not yes or no", append(loop, "--protected-mode=maybe"), 2, []string{"want yes or no"}},
		{"allowed with --protected-mode=no", append(loop, "--native-addr", "0.0.0.0:7380", "--protected-mode=no"), 1, []string{notADir}},
		{"allowed with a password", append(loop, "--native-addr", "0.0.0.0:7380", "--password", "s3cret"), 1, []string{notADir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if tc.code == 1 && strings.Contains(stderr, "protected mode") {
				t.Errorf("refused by protected mode:\n%s", stderr)
			}
		})
	}
}
