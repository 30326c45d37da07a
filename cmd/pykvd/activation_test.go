package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// activateEnv, set in the test binary's environment, makes it exec the
// pykvd it names with LISTEN_PID set to its own pid (activateExec).
const activateEnv = "PYKV_TEST_ACTIVATE"

// activateExec is systemd's part in socket activation: the sockets are
// fds 3, 4, 5 already (exec.Cmd's ExtraFiles), LISTEN_FDS and
// LISTEN_FDNAMES are in the environment, and LISTEN_PID must be the pid
// of the process that reads them, so it is set here and pykvd replaces
// this process, keeping the pid. It never returns.
func activateExec() {
	bin := os.Getenv(activateEnv)
	env := []string{"LISTEN_PID=" + strconv.Itoa(os.Getpid())}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, activateEnv+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "exec %s: %v\n", bin, err)
	os.Exit(127)
}

// TestSocketActivation hands pykvd three listening sockets as systemd does
// (LISTEN_FDS=3, LISTEN_FDNAMES=native:resp:http, LISTEN_PID its pid):
// pykvd serves each front end on its socket and binds none of the
// addresses its configuration names.
func TestSocketActivation(t *testing.T) {
	t.Parallel()
	var files []*os.File
	var addrs []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		files = append(files, f)
		ln.Close() // f, a duplicate, keeps the socket listening
		t.Cleanup(func() { f.Close() })
	}
	configured := []string{"127.0.0.1:" + strconv.Itoa(freePort(t)), "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"127.0.0.1:" + strconv.Itoa(freePort(t))}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, self, []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--fsync", "no",
		"--native-addr", configured[0], "--resp-addr", configured[1], "--http-addr", configured[2]},
		[]string{activateEnv + "=" + testdaemon.Binary(t), "LISTEN_FDS=3", "LISTEN_FDNAMES=native:resp:http"}, files)
	for _, f := range files {
		f.Close() // pykvd holds its own copies now
	}
	log := p.logText()
	for i, name := range []string{"native", "resp", "http"} {
		if want := fmt.Sprintf("protocol=%s addr=%s tls=false socket=systemd", name, addrs[i]); !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	n := dialNative(t, addrs[0])
	converse(t, n, []step{{[]string{"SET", "k", "v"}, "OK"}})
	if got := respDo(t, addrs[1], "GET", "k"); got != "$1\r\nv\r\n" {
		t.Errorf("GET k over the activated RESP socket = %q", got)
	}
	c := http.Client{Timeout: ioTimeout}
	resp, err := c.Get("http://" + addrs[2] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz over the activated HTTP socket: %s", resp.Status)
	}
	for _, a := range configured {
		if nc, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			nc.Close()
			t.Errorf("pykvd bound its configured address %s though systemd passed the sockets", a)
		}
	}
}

// TestSocketActivationRefused: a socket named what pykvd does not serve,
// and, in protected mode without a password, a socket beyond loopback,
// are refused at start, exit 1, with an error that says why.
func TestSocketActivationRefused(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bind, want string
	}{
		{"pykvd.socket", "127.0.0.1:0", `a socket named \"pykvd.socket\"`},
		{"resp", "0.0.0.0:0", "protected mode: the resp listener ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", tc.bind)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ln.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
			defer f.Close()
			ctx, cancel := context.WithTimeout(context.Background(), testdaemon.ReadyTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, self, "--data-dir", filepath.Join(t.TempDir(), "data"), "--fsync", "no",
				"--native-addr", "127.0.0.1:0", "--resp-addr", "127.0.0.1:0", "--http-addr", "")
			cmd.Env = append(os.Environ(), activateEnv+"="+testdaemon.Binary(t), "LISTEN_FDS=1", "LISTEN_FDNAMES="+tc.name)
			cmd.ExtraFiles = []*os.File{f}
			out, err := cmd.CombinedOutput() // killed, by its pid, at ctx's end
			if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit code %d (%v), want 1 and %q in the error:\n%s", code, err, tc.want, out)
			}
		})
	}
}
