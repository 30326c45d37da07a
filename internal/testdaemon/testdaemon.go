// Package testdaemon runs the real pykvd binary for end-to-end tests: it
// builds cmd/pykvd once per test process, starts it on a temporary data
// directory and free loopback ports, waits until both listeners accept,
// and stops it (SIGTERM, then SIGKILL after a bounded wait) when the test
// that started it ends. The daemon's stderr, its slog log, is kept in
// memory and printed when the test fails.
//
// It exists so that tests see what an operator sees: flags, signals, exit
// codes, the log and the bytes on the wire. It must never be imported by
// anything but tests, and it never touches an address beyond 127.0.0.1.
//
// A test package that starts daemons with it calls Main from its TestMain,
// so that the binary built for the run is removed afterwards:
//
//	func TestMain(m *testing.M) { testdaemon.Main(m) }
//
// ParseInfo, which reads an INFO reply into fields, builds nothing: tests
// of in-process daemons (internal/daemontest) use it too.
package testdaemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the version string the test binary is built with
// (-X main.version), so that tests can check what --version prints.
const Version = "e2e-test"

// Bounds of the waits, so that a wedged daemon fails a test instead of
// hanging it.
const (
	// ReadyTimeout bounds the wait for both listeners to accept.
	ReadyTimeout = 10 * time.Second
	// StopTimeout bounds the wait for an exit after SIGTERM. pykvd gives
	// requests in flight 10 s at shutdown; a little more is allowed before
	// the daemon is killed.
	StopTimeout = 15 * time.Second
	// killTimeout bounds the wait for an exit after SIGKILL, which the
	// kernel delivers at once; only a stuck exit takes longer.
	killTimeout = 5 * time.Second
	// startAttempts is how many times Start picks new ports when the ones
	// it picked were taken between the probe and the daemon's bind.
	startAttempts = 4
	// pollInterval paces the readiness probes.
	pollInterval = 10 * time.Millisecond
)

// Options configure a daemon. The zero value is a daemon with the
// defaults of pykvd except fsync.
type Options struct {
	// Fsync is the --fsync policy. Empty means "no": most tests check
	// behaviour, not durability, and an fsync per write on a slow CI disk
	// costs seconds. Tests of durability set "always".
	Fsync string
	// Password, when set, is passed as --password.
	Password string
	// Args are further flags, appended after those the helper sets (a
	// later flag wins in Go's flag package).
	Args []string
}

// Daemon is one pykvd process and its data directory. Its methods must be
// called from the test's goroutine or its subtests; they are not safe for
// concurrent use.
type Daemon struct {
	t    testing.TB
	bin  string
	opts Options

	dataDir    string
	nativePort int
	respPort   int

	stderr *syncBuffer
	proc   *process // the latest run; nil before the first
}

// process is one run of the binary; the daemon's data directory outlives
// it.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	code   int           // exit code, valid after exited; -1 when killed by a signal
}

// exitCode returns the exit code, or -1 while the process has not exited.
func (p *process) exitCode() int {
	select {
	case <-p.exited:
		return p.code
	default:
		return -1
	}
}

// Start builds pykvd if needed, starts it for t and waits until both
// listeners accept. The daemon is stopped by t's cleanup, and its log is
// printed if t failed. Start fails t (FailNow) when pykvd cannot be built
// or does not become ready.
func Start(t testing.TB, opts Options) *Daemon {
	t.Helper()
	bin := Binary(t)
	d := &Daemon{t: t, bin: bin, opts: opts, dataDir: filepath.Join(t.TempDir(), "data"),
		stderr: &syncBuffer{}}
	t.Cleanup(d.cleanup)
	var lastErr error
	for range startAttempts {
		native, resp, err := freePorts()
		if err != nil {
			t.Fatalf("testdaemon: %v", err)
		}
		d.nativePort, d.respPort = native, resp
		lastErr = d.launch()
		if lastErr == nil {
			return d
		}
		if !errors.Is(lastErr, errPortTaken) {
			break
		}
		t.Logf("testdaemon: ports %d/%d were taken meanwhile; picking others", native, resp)
	}
	t.Fatalf("testdaemon: start pykvd: %v\n%s", lastErr, d.Stderr())
	return nil
}

// Addr is the native protocol's address, "127.0.0.1:port".
func (d *Daemon) Addr() string { return loopback(d.nativePort) }

// RESPAddr is the RESP listener's address, "127.0.0.1:port".
func (d *Daemon) RESPAddr() string { return loopback(d.respPort) }

// RESPPort is the RESP listener's port, for tools that take -p.
func (d *Daemon) RESPPort() int { return d.respPort }

// NativePort is the native listener's port.
func (d *Daemon) NativePort() int { return d.nativePort }

// DataDir is the daemon's data directory; it outlives restarts and is
// removed with the test's temporary directory.
func (d *Daemon) DataDir() string { return d.dataDir }

// PID is the process id of the running daemon, or 0 when it is not
// running.
func (d *Daemon) PID() int {
	if d.proc == nil {
		return 0
	}
	return d.proc.cmd.Process.Pid
}

// Running reports whether the daemon has been started and has not exited.
func (d *Daemon) Running() bool {
	if d.proc == nil {
		return false
	}
	select {
	case <-d.proc.exited:
		return false
	default:
		return true
	}
}

// Stderr returns everything the daemon has written to stderr so far, over
// all its runs: its slog log.
func (d *Daemon) Stderr() string { return d.stderr.String() }

// WaitLog waits until the daemon's log (over all its runs) holds text,
// and returns the log. It is woken by every write of the daemon, so it
// never sleeps on a guess; it fails t (FailNow) when the daemon exits or
// ReadyTimeout passes without the text. Use it for lines written after
// the listeners accept, such as "msg=ready".
func (d *Daemon) WaitLog(text string) string {
	d.t.Helper()
	deadline := time.After(ReadyTimeout)
	for {
		log, changed := d.stderr.snapshot()
		if strings.Contains(log, text) {
			return log
		}
		var exited <-chan struct{}
		if d.proc != nil {
			exited = d.proc.exited
		}
		select {
		case <-changed:
		case <-exited:
			if log := d.Stderr(); strings.Contains(log, text) {
				return log
			}
			d.t.Fatalf("testdaemon: pykvd exited (code %d) before its log held %q", d.proc.exitCode(), text)
		case <-deadline:
			d.t.Fatalf("testdaemon: pykvd's log lacks %q after %v", text, ReadyTimeout)
		}
	}
}

// Stop sends SIGTERM and waits up to StopTimeout for the daemon to exit,
// then kills it. It returns the exit code: 0 after a clean shutdown, -1
// when the daemon had to be killed (or died of a signal). Stopping a
// daemon that is not running returns the code of its last exit.
func (d *Daemon) Stop() int {
	d.t.Helper()
	p := d.proc
	if p == nil {
		return 0
	}
	if d.Running() {
		d.stderr.mark("SIGTERM")
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !gone(err) {
			d.t.Errorf("testdaemon: SIGTERM pid %d: %v", p.cmd.Process.Pid, err)
		}
		select {
		case <-p.exited:
		case <-time.After(StopTimeout):
			d.t.Errorf("testdaemon: pykvd (pid %d) did not exit within %v of SIGTERM; killing it",
				p.cmd.Process.Pid, StopTimeout)
			d.kill(p)
		}
	}
	return p.exitCode()
}

// WaitExit waits up to StopTimeout for a daemon told to stop some other
// way than Stop (SHUTDOWN) to exit by itself, and returns its exit code;
// it fails t (FailNow) if the daemon does not exit in time, after killing
// it.
func (d *Daemon) WaitExit() int {
	d.t.Helper()
	p := d.proc
	if p == nil {
		d.t.Fatal("testdaemon: WaitExit before Start")
	}
	select {
	case <-p.exited:
		return p.exitCode()
	case <-time.After(StopTimeout):
		d.kill(p)
		d.t.Fatalf("testdaemon: pykvd (pid %d) did not exit within %v", p.cmd.Process.Pid, StopTimeout)
		return -1
	}
}

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits for
// the process to be gone. Nothing of the daemon's shutdown runs.
func (d *Daemon) Kill() {
	d.t.Helper()
	if !d.Running() {
		return
	}
	d.stderr.mark("SIGKILL")
	d.kill(d.proc)
}

func (d *Daemon) kill(p *process) {
	if err := p.cmd.Process.Kill(); err != nil && !gone(err) {
		d.t.Errorf("testdaemon: SIGKILL pid %d: %v", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
	case <-time.After(killTimeout):
		d.t.Errorf("testdaemon: pid %d still there %v after SIGKILL", p.cmd.Process.Pid, killTimeout)
	}
}

// Restart starts the daemon again on the same data directory and ports,
// after Stop or Kill, and waits until it is ready. A daemon still running
// is stopped first. The ports may be briefly unavailable to a new bind
// after a kill, so binding is retried for a little while.
func (d *Daemon) Restart() {
	d.t.Helper()
	if d.Running() {
		d.Stop()
	}
	d.stderr.mark("restart")
	deadline := time.Now().Add(ReadyTimeout)
	for {
		err := d.launch()
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			d.t.Fatalf("testdaemon: restart pykvd: %v\n%s", err, d.Stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errPortTaken is launch's error when the daemon exited because a port was
// in use: the caller may try other ports, or the same ones later.
var errPortTaken = errors.New("port already in use")

// launch starts the binary with the daemon's flags and waits until both
// listeners accept or the process exits.
func (d *Daemon) launch() error {
	cmd := exec.Command(d.bin, d.args()...)
	cmd.Dir = filepath.Dir(d.dataDir) // a stray ./pykv.toml must not be read
	cmd.Stdout = d.stderr             // pykvd prints nothing to stdout while serving
	cmd.Stderr = d.stderr
	cmd.SysProcAttr = sysProcAttr()
	before := d.stderr.Len()
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.exited)
	}()
	d.proc = p

	deadline := time.Now().Add(ReadyTimeout)
	addrs := []string{d.Addr(), d.RESPAddr()}
	if a := d.httpArg(); a != "" {
		addrs = append(addrs, a) // bound last: wait for it too
	}
	for _, addr := range addrs {
		for !accepts(addr) {
			select {
			case <-p.exited:
				log := d.stderr.Since(before)
				if strings.Contains(log, "address already in use") {
					return fmt.Errorf("%w: %s", errPortTaken, lastLine(log))
				}
				return fmt.Errorf("pykvd exited with code %d before it was ready", p.exitCode())
			case <-time.After(pollInterval):
			}
			if time.Now().After(deadline) {
				d.kill(p)
				return fmt.Errorf("pykvd not accepting on %s after %v", addr, ReadyTimeout)
			}
		}
	}
	return nil
}

// httpArg returns the HTTP address the test passed in Options.Args, the
// last one as the flag package takes it, or "" when none or off.
func (d *Daemon) httpArg() string {
	addr := ""
	for i, a := range d.opts.Args {
		switch {
		case (a == "--http-addr" || a == "-http-addr") && i+1 < len(d.opts.Args):
			addr = d.opts.Args[i+1]
		case strings.HasPrefix(a, "--http-addr="), strings.HasPrefix(a, "-http-addr="):
			_, addr, _ = strings.Cut(a, "=")
		}
	}
	return addr
}

func (d *Daemon) args() []string {
	fsync := d.opts.Fsync
	if fsync == "" {
		fsync = "no"
	}
	args := []string{
		"--data-dir", d.dataDir,
		"--native-addr", d.Addr(),
		"--resp-addr", d.RESPAddr(),
		"--http-addr", "", // tests that need HTTP pass their own
		"--fsync", fsync,
	}
	if d.opts.Password != "" {
		args = append(args, "--password", d.opts.Password)
	}
	if RESPEventLoop() {
		args = append(args, "--resp-event-loop")
	}
	return append(args, d.opts.Args...)
}

// EventLoopEnv, set to 1, makes every daemon a test starts serve RESP
// from its event loops (resp.event_loop), so that the RESP suites run
// against both front ends: `PYKV_TEST_RESP_EVENT_LOOP=1 go test ./cmd/pykvd/`.
const EventLoopEnv = "PYKV_TEST_RESP_EVENT_LOOP"

// RESPEventLoop reports whether EventLoopEnv asks for the event loop.
func RESPEventLoop() bool { return os.Getenv(EventLoopEnv) == "1" }

// cleanup stops whatever the test left running and shows the log of a
// failed test.
func (d *Daemon) cleanup() {
	if d.Running() {
		if code := d.Stop(); code != 0 {
			d.t.Logf("testdaemon: pykvd exited with code %d at cleanup", code)
		}
	}
	if d.t.Failed() {
		d.t.Logf("pykvd stderr (data dir %s):\n%s", d.dataDir, d.Stderr())
	}
}

// accepts reports whether a TCP connection to addr succeeds now. The
// connection is closed at once: to pykvd it is a client that left, as a
// health probe does.
func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freePorts returns two loopback ports that were free a moment ago. They
// are found by listening on port 0 and closing; another process may take
// one before pykvd binds it, which launch detects and Start retries.
func freePorts() (int, int, error) {
	var ports [2]int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln) // held until both are picked, so they differ
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// syncBuffer is a bytes.Buffer that the process's output copier and the
// test may use at once. changed is closed (and replaced) by every write,
// so that a reader can wait for more without polling.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// snapshot returns what was written so far and a channel closed at the
// next write.
func (b *syncBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Since returns what was written after the first n bytes.
func (b *syncBuffer) Since(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[n:])
}

// mark writes a line of the helper's own into the log, so that a reader
// of a failed test's log sees where the signals and restarts fell.
func (b *syncBuffer) mark(event string) {
	fmt.Fprintf(b, "--- testdaemon: %s at %s ---\n", event, time.Now().Format("15:04:05.000"))
}

// gone reports whether a signal failed only because the process had
// already exited (and, for os.ErrProcessDone, been waited for).
func gone(err error) bool {
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}
