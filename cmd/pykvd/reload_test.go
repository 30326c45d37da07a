package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// proc is a pykvd the test starts itself, for what testdaemon's flags
// would hide (a listen address from the file) or cannot set up (the
// environment of systemd: NOTIFY_SOCKET, LISTEN_FDS). It is killed by PID
// at t's end.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	log    bytes.Buffer
	wrote  chan struct{} // closed and replaced on every write of the log
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.Write(b)
	close(p.wrote)
	p.wrote = make(chan struct{})
	return len(b), nil
}

// logText returns the log so far.
func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLog waits, woken by each write, until the log holds text n times,
// and returns the log; it fails t when pykvd exits first or after
// ReadyTimeout.
func (p *proc) waitLog(text string, n int) string {
	p.t.Helper()
	deadline := time.After(testdaemon.ReadyTimeout)
	for {
		p.mu.Lock()
		log, wrote := p.log.String(), p.wrote
		p.mu.Unlock()
		if strings.Count(log, text) >= n {
			return log
		}
		select {
		case <-wrote:
		case <-p.exited:
			if log := p.logText(); strings.Count(log, text) >= n {
				return log
			}
			p.t.Fatalf("pykvd exited before its log held %q %d times:\n%s", text, n, p.logText())
		case <-deadline:
			p.t.Fatalf("pykvd's log lacks %q (%d times) after %v:\n%s", text, n, testdaemon.ReadyTimeout, p.logText())
		}
	}
}

// startProc runs name with args and env (added to the test's), the given
// files as fds 3, 4, 5..., and waits for "msg=ready" in its log.
func startProc(t *testing.T, name string, args, env []string, files []*os.File) *proc {
	t.Helper()
	p := &proc{t: t, exited: make(chan struct{}), wrote: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.ExtraFiles = files
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			t.Logf("pykvd's log:\n%s", p.logText())
		}
	})
	p.waitLog("msg=ready", 1)
	return p
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func hup(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// respDo sends one command on a fresh RESP connection and returns the
// reply's bytes.
func respDo(t *testing.T, addr string, args ...string) string {
	t.Helper()
	return dialRESPRaw(t, addr).call(args...)
}

// TestSIGHUPChangesPassword: a new password in the file and SIGHUP, with
// the password's flag not given: AUTH with the old one fails, the new one
// works, a connection that authenticated before stays so, and the log
// says password changed without showing either password.
func TestSIGHUPChangesPassword(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	writeFile(t, conf, "password = \"old-secret-1\"\nmax_clients = 100\n")
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf, "--max-clients", "50"}})
	before := dialRESPRaw(t, d.RESPAddr())
	if got := before.call("AUTH", "old-secret-1"); got != "+OK\r\n" {
		t.Fatalf("AUTH with the password at start: %q", got)
	}
	writeFile(t, conf, "password = \"new-secret-2\"\nmax_clients = 200\n")
	hup(t, d.PID())
	log := d.WaitLog(`msg="configuration reloaded"`)
	for _, want := range []string{
		`msg="configuration changed" source="SIGHUP ` + conf + `" key=password from=(set) to=(set)`,
		`changed=password needs_restart=""`, // max_clients: the flag --max-clients 50 still wins
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "secret-") {
		t.Errorf("the log shows a password:\n%s", log)
	}
	for _, tc := range []struct {
		pass, want string
	}{
		{"old-secret-1", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"new-secret-2", "+OK\r\n"},
	} {
		if got := respDo(t, d.RESPAddr(), "AUTH", tc.pass); got != tc.want {
			t.Errorf("AUTH %s after the reload = %q, want %q", tc.pass, got, tc.want)
		}
	}
	if got := respDo(t, d.RESPAddr(), "PING"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Errorf("PING unauthenticated after the reload = %q", got)
	}
	if got := before.call("CONFIG", "GET", "maxclients"); got != "*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n" {
		t.Errorf("CONFIG GET maxclients on the connection authenticated before = %q (the flag's 50 must stay)", got)
	}
}

// notifySocket is a unixgram socket standing for systemd's NOTIFY_SOCKET.
type notifySocket struct {
	t    *testing.T
	conn *net.UnixConn
	path string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &notifySocket{t: t, conn: c, path: path}
}

// next returns the next message pykvd sent, within ioTimeout.
func (n *notifySocket) next() string {
	n.t.Helper()
	buf := make([]byte, 4096)
	n.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	k, err := n.conn.Read(buf)
	if err != nil {
		n.t.Fatalf("no sd_notify message: %v", err)
	}
	return string(buf[:k])
}

// TestSIGHUPRestartKeysAndBadFile runs pykvd on a file only, under a
// NOTIFY_SOCKET: a new listen address and fsync policy are logged as
// needing a restart while pykvd goes on serving on the old address (and
// never binds the new one), the log level and cache budget apply; a
// broken file is logged with its name and line and the running
// configuration stays; each SIGHUP is bracketed by RELOADING=1 (with
// MONOTONIC_USEC) and READY=1.
func TestSIGHUPRestartKeysAndBadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "pykv.toml")
	native, respPort, newResp := freePort(t), freePort(t), freePort(t)
	file := func(resp int, rest string) string {
		return fmt.Sprintf("data_dir = %q\npassword = \"pw-1\"\n%s\n[native]\naddr = \"127.0.0.1:%d\"\n[resp]\naddr = \"127.0.0.1:%d\"\n"+
			"[http]\naddr = \"\"\n[storage]\nfsync = \"%s\"\ncache_bytes = 1048576\n[log]\nlevel = \"%s\"\n",
			filepath.Join(dir, "data"), rest, native, resp, "no", "info")
	}
	writeFile(t, conf, file(respPort, ""))
	notify := newNotifySocket(t)
	p := startProc(t, testdaemon.Binary(t), []string{"--config", conf}, []string{"NOTIFY_SOCKET=" + notify.path}, nil)
	if m := notify.next(); m != "READY=1\nSTATUS=serving" {
		t.Fatalf("first sd_notify message %q", m)
	}
	respAddr := "127.0.0.1:" + strconv.Itoa(respPort)

	next := strings.Replace(file(newResp, "max_clients = 77"), `fsync = "no"`, `fsync = "always"`, 1)
	next = strings.Replace(next, `level = "info"`, `level = "debug"`, 1)
	next = strings.Replace(next, "cache_bytes = 1048576", "cache_bytes = 524288", 1)
	writeFile(t, conf, next)
	before := monotonicUsec()
	hup(t, p.cmd.Process.Pid)
	reloading := notify.next()
	var usec int64
	if _, err := fmt.Sscanf(reloading, "RELOADING=1\nMONOTONIC_USEC=%d", &usec); err != nil {
		t.Fatalf("sd_notify message at SIGHUP %q: %v", reloading, err)
	}
	if after := monotonicUsec(); usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d not between %d and %d, CLOCK_MONOTONIC before and after", usec, before, after)
	}
	if m := notify.next(); m != "READY=1\nSTATUS=serving" {
		t.Fatalf("sd_notify message after the reload %q", m)
	}
	log := p.waitLog(`msg="configuration reloaded"`, 1)
	for _, want := range []string{
		`msg="configuration change needs a restart; the running value stays" source="SIGHUP ` + conf + `" key=resp.addr`,
		`key=storage.fsync`,
		`key=max_clients from=10000 to=77`,
		`key=storage.cache_bytes from=1048576 to=524288`,
		`key=log.level from=info to=debug`,
		`changed=max_clients,storage.cache_bytes,log.level needs_restart=resp.addr,storage.fsync`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	c := dialRESPRaw(t, respAddr)
	for _, tc := range []struct{ args, want []string }{
		{[]string{"AUTH", "pw-1"}, []string{"+OK\r\n"}},
		{[]string{"CONFIG", "GET", "resp-addr"}, []string{"*2\r\n$9\r\nresp-addr\r\n$" + strconv.Itoa(len(respAddr)) + "\r\n" + respAddr + "\r\n"}},
		{[]string{"CONFIG", "GET", "maxclients"}, []string{"*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n"}},
		{[]string{"CONFIG", "GET", "fsync"}, []string{"*2\r\n$5\r\nfsync\r\n$2\r\nno\r\n"}},
		{[]string{"CONFIG", "GET", "loglevel"}, []string{"*2\r\n$8\r\nloglevel\r\n$5\r\ndebug\r\n"}},
	} {
		if got := c.call(tc.args...); got != tc.want[0] {
			t.Errorf("%q after the reload = %q, want %q", tc.args, got, tc.want[0])
		}
	}
	if nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(newResp), time.Second); err == nil {
		nc.Close()
		t.Errorf("pykvd accepts on the new resp.addr before a restart")
	}

	// A broken file: line 3 does not parse.
	writeFile(t, conf, "password = \"pw-2\"\nmax_clients = 5\nthis is not toml\n")
	hup(t, p.cmd.Process.Pid)
	if m := notify.next(); !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("sd_notify message at the second SIGHUP %q", m)
	}
	if m := notify.next(); m != "READY=1\nSTATUS=serving" {
		t.Fatalf("sd_notify message after the failed reload %q", m)
	}
	log = p.waitLog(`msg="configuration not reloaded; the running one stays"`, 1)
	if want := "config " + conf + ": toml: line 3"; !strings.Contains(log, want) {
		t.Errorf("the failed reload's log lacks %q:\n%s", want, log)
	}
	if got := respDo(t, respAddr, "AUTH", "pw-1"); got != "+OK\r\n" {
		t.Errorf("AUTH with the running password after a broken file = %q", got)
	}
	if got := c.call("CONFIG", "GET", "maxclients"); got != "*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n" {
		t.Errorf("maxclients after a broken file = %q", got)
	}
	// A file that parses but does not validate is refused as a whole.
	writeFile(t, conf, file(respPort, "max_clients = 0"))
	hup(t, p.cmd.Process.Pid)
	notify.next()
	notify.next()
	log = p.waitLog(`msg="configuration not reloaded; the running one stays"`, 2)
	if !strings.Contains(log, "max_clients = 0: want 1 to 1048576") {
		t.Errorf("the refused reload's log does not name max_clients:\n%s", log)
	}
	if got := c.call("CONFIG", "GET", "maxclients"); got != "*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n" {
		t.Errorf("maxclients after an invalid file = %q", got)
	}
}

// TestConfigSetCacheBudget: CONFIG SET cache-bytes shrinks the value cache
// at once (INFO's pykv_cache_bytes falls under the new budget, and the
// HTTP metric of the budget follows), CONFIG GET shows it, and a value the
// parameter does not take is refused naming it.
func TestConfigSetCacheBudget(t *testing.T) {
	t.Parallel()
	httpPort := freePort(t)
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--cache-bytes", "4194304",
		"--http-addr", "127.0.0.1:" + strconv.Itoa(httpPort)}})
	n := dialNative(t, d.Addr())
	val := strings.Repeat("v", 8<<10)
	for i := range 300 {
		k := "k" + strconv.Itoa(i)
		converse(t, n, []step{{[]string{"SET", k, val}, "OK"}, {[]string{"GET", k}, `"` + val + `"`}})
	}
	info := parseInfo(t, string(n.do("INFO", "memory").Bytes))
	if b, _ := info.Int("pykv_cache_bytes"); b < 1<<20 {
		t.Fatalf("pykv_cache_bytes %d before the change: the cache holds too little to test a shrink", b)
	}
	converse(t, n, []step{
		{[]string{"CONFIG", "SET", "cache-bytes", "262144"}, "OK"},
		{[]string{"CONFIG", "GET", "cache-bytes"}, `["cache-bytes" "262144"]`},
		{[]string{"CONFIG", "SET", "cache-bytes", "lots"}, `(error) ERR CONFIG SET failed (possibly related to argument 'cache-bytes') - want an integer, not "lots"`},
		{[]string{"CONFIG", "SET", "cache-bytes", "-1"}, `(error) ERR CONFIG SET failed (possibly related to argument 'cache-bytes') - must be at least 0`},
		{[]string{"CONFIG", "SET", "fsync", "always"}, `(error) ERR CONFIG SET failed (possibly related to argument 'fsync') - can't set immutable config`},
		{[]string{"CONFIG", "SET", "requirepass", "x", "password", "y"}, `(error) ERR CONFIG SET failed (possibly related to argument 'password') - duplicate parameter`},
		{[]string{"CONFIG", "SET", "max-clients", "100", "cache-bytes", "lots"}, `(error) ERR CONFIG SET failed (possibly related to argument 'cache-bytes') - want an integer, not "lots"`},
		{[]string{"CONFIG", "GET", "max-clients"}, `["max-clients" "10000"]`}, // the failed CONFIG SET changed nothing
		{[]string{"CONFIG", "SET", "expiry-interval", "250ms", "log-level", "warn"}, "OK"},
		{[]string{"CONFIG", "GET", "expiry-interval", "log-level", "loglevel"}, `["expiry-interval" "250ms" "loglevel" "warning" "log-level" "warn"]`},
	})
	info = parseInfo(t, string(n.do("INFO", "memory").Bytes))
	budget, _ := info.Int("pykv_cache_budget_bytes")
	held, _ := info.Int("pykv_cache_bytes")
	if budget != 262144 || held > 262144 {
		t.Errorf("after CONFIG SET cache-bytes 262144: pykv_cache_budget_bytes %d, pykv_cache_bytes %d", budget, held)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(httpPort) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if !strings.Contains(body.String(), "cache_budget_bytes 262144") {
		t.Errorf("/metrics does not show the new budget:\n%s", grepLines(body.String(), "cache"))
	}
	if log := d.Stderr(); !strings.Contains(log, `msg="configuration changed" source="CONFIG SET" key=storage.cache_bytes from=4194304 to=262144`) {
		t.Errorf("the log lacks the CONFIG SET change:\n%s", log)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestConfigSetTimeout: CONFIG SET timeout (Redis's, in seconds: pykv's
// idle_timeout) applies to connections made after it, which an idle
// second closes, on RESP and the native protocol alike.
func TestConfigSetTimeout(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	if got := respDo(t, d.RESPAddr(), "CONFIG", "SET", "timeout", "1"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET timeout 1 = %q", got)
	}
	if got := respDo(t, d.RESPAddr(), "CONFIG", "GET", "idle-timeout"); got != "*2\r\n$12\r\nidle-timeout\r\n$2\r\n1s\r\n" {
		t.Errorf("CONFIG GET idle-timeout = %q", got)
	}
	dialRESPRaw(t, d.RESPAddr()).expectClosed() // within ioTimeout, by the idle second
	n := dialNative(t, d.Addr())
	n.c.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := n.c.Read(make([]byte, 1)); err == nil {
		t.Fatal("an idle native connection got bytes instead of being closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("an idle native connection was not closed within %v", ioTimeout)
	}
}

// TestConfigSetMergeThresholds: with every background merge trigger off, a
// pykvd whose log has sealed segments does not merge; CONFIG SET of
// merge-sealed-segments (and merge-min-interval) makes the housekeeper
// merge them, at its next check, with no restart.
func TestConfigSetMergeThresholds(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--segment-size", "65536",
		"--merge-sealed-segments", "0", "--merge-dead-bytes", "0"}})
	n := dialNative(t, d.Addr())
	val := strings.Repeat("v", 4<<10)
	write := func(from, count int) {
		for i := from; i < from+count; i++ {
			converse(t, n, []step{{[]string{"SET", "k" + strconv.Itoa(i%40), val}, "OK"}})
		}
	}
	write(0, 100) // about 400 KiB: six sealed segments of 64 KiB
	info := parseInfo(t, string(n.do("INFO", "persistence").Bytes))
	if segs, _ := info.Int("pykv_segments"); segs < 4 {
		t.Fatalf("pykv_segments %d after 400 KiB of writes into 64 KiB segments: want several", segs)
	}
	if m, _ := info.Int("pykv_merges"); m != 0 {
		t.Fatalf("pykv_merges %d with every merge trigger off", m)
	}
	converse(t, n, []step{
		{[]string{"CONFIG", "SET", "merge-sealed-segments", "2", "merge-min-interval", "0s"}, "OK"},
		{[]string{"CONFIG", "GET", "merge-sealed-segments", "merge-dead-bytes"}, `["merge-sealed-segments" "2" "merge-dead-bytes" "0"]`},
		{[]string{"CONFIG", "SET", "merge-dead-percent", "0"}, `(error) ERR CONFIG SET failed (possibly related to argument 'merge-dead-percent') - want 1 to 100`},
	})
	// The housekeeper checks at each rotation and every few seconds: keep
	// writing (each few requests seal a segment) until INFO counts a merge.
	deadline := time.Now().Add(30 * time.Second)
	for i := 100; ; i += 20 {
		info = parseInfo(t, string(n.do("INFO", "persistence").Bytes))
		if m, _ := info.Int("pykv_merges"); m > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no background merge within 30 s of CONFIG SET merge-sealed-segments 2:\n%s", grepLines(d.Stderr(), "merge"))
		}
		write(i, 20)
	}
	if log := d.Stderr(); !strings.Contains(log, `msg="configuration changed" source="CONFIG SET" key=storage.merge_sealed_segments from=0 to=2`) {
		t.Errorf("the log lacks the CONFIG SET change:\n%s", grepLines(log, "configuration"))
	}
}
