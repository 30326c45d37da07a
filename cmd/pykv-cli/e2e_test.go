package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test runs the real binaries: it builds pykvd and
// pykv-cli, starts pykvd on free loopback ports, and checks pykv-cli's
// output text, byte for byte, in each of its modes.

// buildBinaries builds pykvd and pykv-cli into a temporary directory.
func buildBinaries(t *testing.T) (pykvd, cli string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot build the binaries")
	}
	dir := t.TempDir()
	build := exec.Command(goTool, "build", "-o", dir+string(os.PathSeparator),
		"github.com/pykv/pykv/cmd/pykvd", "github.com/pykv/pykv/cmd/pykv-cli")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "pykvd"), filepath.Join(dir, "pykv-cli")
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

// startDaemon starts pykvd with a fresh data directory and returns its
// native port once it accepts connections. The test's cleanup stops it
// with SIGTERM and waits for it to exit.
func startDaemon(t *testing.T, pykvd string, args ...string) int {
	t.Helper()
	native := freePort(t)
	resp := freePort(t)
	args = append([]string{
		"--native-addr", "127.0.0.1:" + strconv.Itoa(native),
		"--resp-addr", "127.0.0.1:" + strconv.Itoa(resp),
		"--http-addr", "",
		"--data-dir", filepath.Join(t.TempDir(), "data"),
	}, args...)
	var logs bytes.Buffer
	cmd := exec.Command(pykvd, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("pykvd exited with %v after SIGTERM\n%s", err, logs.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("pykvd did not stop within 15s of SIGTERM\n%s", logs.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(native)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return native
		}
		select {
		case err := <-exited:
			t.Fatalf("pykvd exited before accepting connections: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pykvd does not accept connections on %s after 15s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runCLI runs pykv-cli with args and stdin and returns its standard
// output, standard error and exit code.
func runCLI(t *testing.T, cli string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(cli, args...)
	cmd.Env = append(os.Environ(), "PYKVCLI_HISTFILE="+os.DevNull, "PYKVCLI_AUTH=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestEndToEnd(t *testing.T) {
	pykvd, cli := buildBinaries(t)
	port := strconv.Itoa(startDaemon(t, pykvd))

	// Every command once, in the standard form; the steps run in order and
	// build on each other.
	oneShot := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"PING"}, "PONG\n", 0},
		{[]string{"PING", "hello world"}, "\"hello world\"\n", 0},
		{[]string{"SET", "k", "v"}, "OK\n", 0},
		{[]string{"GET", "k"}, "\"v\"\n", 0},
		{[]string{"GET", "missing"}, "(nil)\n", 0},
		{[]string{"SET", "k", "v2", "NX"}, "(nil)\n", 0},
		{[]string{"SET", "k", "v2", "XX", "GET"}, "\"v\"\n", 0},
		{[]string{"SET", "quoted", "a \"b\"\n\x01é"}, "OK\n", 0},
		{[]string{"GET", "quoted"}, `"a \"b\"\n\x01\xc3\xa9"` + "\n", 0},
		{[]string{"INCR", "n"}, "(integer) 1\n", 0},
		{[]string{"INCRBY", "n", "10"}, "(integer) 11\n", 0},
		{[]string{"DECR", "n"}, "(integer) 10\n", 0},
		{[]string{"DECRBY", "n", "15"}, "(integer) -5\n", 0},
		{[]string{"INCR", "k"}, "(error) ERR value is not an integer or out of range\n", 1},
		{[]string{"MSET", "a", "1", "b", "2"}, "OK\n", 0},
		{[]string{"MGET", "a", "missing", "b"}, "1) \"1\"\n2) (nil)\n3) \"2\"\n", 0},
		{[]string{"EXISTS", "a", "b", "missing", "a"}, "(integer) 3\n", 0},
		{[]string{"DEL", "a", "missing"}, "(integer) 1\n", 0},
		{[]string{"TTL", "b"}, "(integer) -1\n", 0},
		{[]string{"TTL", "missing"}, "(integer) -2\n", 0},
		{[]string{"PTTL", "missing"}, "(integer) -2\n", 0},
		{[]string{"EXPIRE", "b", "100"}, "(integer) 1\n", 0},
		{[]string{"TTL", "b"}, "(integer) 100\n", 0},
		{[]string{"PEXPIRE", "b", "200000"}, "(integer) 1\n", 0},
		{[]string{"TTL", "b"}, "(integer) 200\n", 0},
		{[]string{"PERSIST", "b"}, "(integer) 1\n", 0},
		{[]string{"PERSIST", "b"}, "(integer) 0\n", 0},
		{[]string{"DEL", "k", "quoted", "n"}, "(integer) 3\n", 0},
		{[]string{"DBSIZE"}, "(integer) 1\n", 0},
		{[]string{"SCAN", "0"}, "1) \"0\"\n2) 1) \"b\"\n", 0},
		{[]string{"SCAN", "0", "MATCH", "nothing*"}, "1) \"0\"\n2) (empty array)\n", 0},
		{[]string{"GET"}, "(error) ERR wrong number of arguments for 'get' command\n", 1},
		{[]string{"FROB", "x"}, "(error) ERR unknown command 'FROB', with args beginning with: 'x' \n", 1},
		{[]string{"ECHO", ""}, "\"\"\n", 0},
	}
	for _, tt := range oneShot {
		out, errOut, code := runCLI(t, cli, "", append([]string{"-p", port, "--no-raw"}, tt.args...)...)
		if out != tt.want || code != tt.code {
			t.Errorf("pykv-cli %q:\n got %q, exit %d (stderr %q)\nwant %q, exit %d", tt.args, out, code, errOut, tt.want, tt.code)
		}
	}
	// INFO as it comes (a verbatim text, CRLF kept). avg_ttl is the expiry
	// cycle's running estimate, as in Redis: b had a TTL a moment ago, and
	// a cycle that sampled it then may not have run again since.
	if out, errOut, code := runCLI(t, cli, "", "-p", port, "--no-raw", "INFO", "keyspace"); code != 0 ||
		!regexp.MustCompile(`^# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=[0-9]+\r\n$`).MatchString(out) {
		t.Errorf("pykv-cli INFO keyspace: got %q, exit %d (stderr %q)", out, code, errOut)
	}

	// Raw output is the default when standard output is not a terminal.
	raw := []struct {
		args []string
		want string
	}{
		{[]string{"MSET", "x", "1", "y", "two words"}, "OK\n"},
		{[]string{"GET", "y"}, "two words\n"},
		{[]string{"GET", "missing"}, "\n"},
		{[]string{"INCR", "x"}, "2\n"},
		{[]string{"MGET", "x", "missing", "y"}, "2\n\ntwo words\n"},
		{[]string{"SCAN", "0", "MATCH", "x"}, "0\nx\n"},
		{[]string{"INCR", "y"}, "ERR value is not an integer or out of range\n\n"},
	}
	for _, tt := range raw {
		out, errOut, _ := runCLI(t, cli, "", append([]string{"-p", port}, tt.args...)...)
		if out != tt.want {
			t.Errorf("pykv-cli %q (raw): got %q (stderr %q), want %q", tt.args, out, errOut, tt.want)
		}
	}

	// Commands piped on standard input, one per line, with redis-cli's
	// quoting and repeat counts; the exit code says an error happened.
	script := strings.Join([]string{
		`SET greeting "hello\tworld"`,
		`GET greeting`,
		``,
		`SET 'single quoted' '\x41 stays'`,
		`GET "single quoted"`,
		`"unbalanced`,
		`3 INCR counter`,
		`INCR greeting`,
		`help GET`,
		`GET counter`,
		`quit`,
		`GET never-run`,
	}, "\n") + "\n"
	wantPiped := `OK
"hello\tworld"
OK
"\\x41 stays"
Invalid argument(s)
(integer) 1
(integer) 2
(integer) 3
(error) ERR value is not an integer or out of range

  GET key
  summary: Return the value of a key, or nil when the key does not exist.
  since: 1.0.0
  group: string

"3"
`
	out, errOut, code := runCLI(t, cli, script, "-p", port, "--no-raw")
	if out != wantPiped || code != 1 {
		t.Errorf("piped commands:\n got %q, exit %d (stderr %q)\nwant %q, exit 1", out, code, errOut, wantPiped)
	}
	out, _, code = runCLI(t, cli, "SET p 1\nGET p\n", "-p", port)
	if out != "OK\n1\n" || code != 0 {
		t.Errorf("piped commands, raw: %q, exit %d", out, code)
	}

	// No server: a clear message naming the address, and exit code 1.
	closed := strconv.Itoa(freePort(t))
	out, errOut, code = runCLI(t, cli, "", "-p", closed, "PING")
	wantErr := "Could not connect to pykv at 127.0.0.1:" + closed + ": Connection refused\n"
	if code != 1 || out != "" || errOut != wantErr {
		t.Errorf("no server: stdout %q, stderr %q, exit %d; want stderr %q, exit 1", out, errOut, code, wantErr)
	}

	// Usage errors exit 2.
	if _, _, code := runCLI(t, cli, "", "--no-such-flag"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

func TestEndToEndAuth(t *testing.T) {
	pykvd, cli := buildBinaries(t)
	port := strconv.Itoa(startDaemon(t, pykvd, "--password", "s3cret"))

	out, _, code := runCLI(t, cli, "", "-p", port, "--no-raw", "GET", "k")
	if out != "(error) NOAUTH Authentication required.\n" || code != 1 {
		t.Errorf("without -a: %q, exit %d", out, code)
	}
	out, errOut, code := runCLI(t, cli, "", "-p", port, "-a", "s3cret", "--no-raw", "SET", "k", "v")
	if out != "OK\n" || code != 0 || !strings.Contains(errOut, "Warning: Using a password") {
		t.Errorf("with -a: %q, exit %d, stderr %q", out, code, errOut)
	}
	_, errOut, code = runCLI(t, cli, "", "-p", port, "-a", "guess", "--no-auth-warning", "GET", "k")
	if errOut != "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n" || code != 1 {
		t.Errorf("wrong password: stderr %q, exit %d", errOut, code)
	}
	// AUTH typed as a command applies to the commands after it.
	out, _, code = runCLI(t, cli, "AUTH s3cret\nGET k\n", "-p", port, "--no-raw")
	if out != "OK\n\"v\"\n" || code != 0 {
		t.Errorf("AUTH on standard input: %q, exit %d", out, code)
	}
}
