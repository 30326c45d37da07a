package testdaemon_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

func TestMain(m *testing.M) { testdaemon.Main(m) }

func TestStartServesBothListenersAndStopIsClean(t *testing.T) {
	d := testdaemon.Start(t, testdaemon.Options{})
	if d.PID() <= 0 || !d.Running() {
		t.Fatalf("PID %d, Running %v after Start", d.PID(), d.Running())
	}
	for _, addr := range []string{d.Addr(), d.RESPAddr()} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("address %q is not on loopback", addr)
		}
	}
	if d.Addr() == d.RESPAddr() {
		t.Fatalf("both listeners on %s", d.Addr())
	}
	if got := respPing(t, d.RESPAddr()); got != "+PONG\r\n" {
		t.Fatalf("PING over RESP = %q", got)
	}
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	if d.Running() {
		t.Fatal("Running after Stop")
	}
	if !strings.Contains(d.Stderr(), "msg=stopped") {
		t.Fatalf("log does not say stopped:\n%s", d.Stderr())
	}
	if _, err := os.Stat(filepath.Join(d.DataDir(), "LOCK")); err != nil {
		t.Fatalf("data dir not used: %v", err)
	}
}

func TestRestartKeepsDirAndPorts(t *testing.T) {
	d := testdaemon.Start(t, testdaemon.Options{})
	addr, respAddr, dir, pid := d.Addr(), d.RESPAddr(), d.DataDir(), d.PID()
	d.Kill()
	if d.Running() {
		t.Fatal("Running after Kill")
	}
	d.Restart()
	if d.Addr() != addr || d.RESPAddr() != respAddr || d.DataDir() != dir {
		t.Fatalf("restart moved: %s %s %s, was %s %s %s", d.Addr(), d.RESPAddr(), d.DataDir(), addr, respAddr, dir)
	}
	if d.PID() == pid {
		t.Fatalf("same pid %d after a kill and restart", pid)
	}
	if got := respPing(t, d.RESPAddr()); got != "+PONG\r\n" {
		t.Fatalf("PING after restart = %q", got)
	}
	// Restart of a running daemon stops it first.
	d.Restart()
	if got := respPing(t, d.RESPAddr()); got != "+PONG\r\n" {
		t.Fatalf("PING after second restart = %q", got)
	}
}

func TestExtraArgsReachTheDaemon(t *testing.T) {
	d := testdaemon.Start(t, testdaemon.Options{Password: "pw", Args: []string{"--log-format", "json"}})
	if got := respPing(t, d.RESPAddr()); !strings.HasPrefix(got, "-NOAUTH") {
		t.Fatalf("PING without AUTH = %q, want NOAUTH", got)
	}
	d.Stop()
	if !strings.Contains(d.Stderr(), `"msg":"stopped"`) {
		t.Fatalf("log is not JSON:\n%s", d.Stderr())
	}
}

// respPing sends an inline PING and returns the first reply line.
func respPing(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// TestToolBuildsAnotherBinary builds pykv-check with Tool: asked twice it
// is built once, and it is the checkout's (its usage, exit code 2).
func TestToolBuildsAnotherBinary(t *testing.T) {
	bin := testdaemon.Tool(t, "pykv-check")
	if again := testdaemon.Tool(t, "pykv-check"); again != bin {
		t.Fatalf("Tool built twice: %s, then %s", bin, again)
	}
	if filepath.Dir(bin) != filepath.Dir(testdaemon.Binary(t)) {
		t.Errorf("pykv-check at %s, not beside pykvd at %s (Main removes only that directory)", bin, testdaemon.Binary(t))
	}
	out, err := exec.Command(bin).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "Usage: pykv-check") {
		t.Fatalf("pykv-check without arguments: %v\n%s", err, out)
	}
}
