package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// toolTimeout bounds one run of redis-cli or redis-benchmark.
const toolTimeout = 60 * time.Second

// runTool runs a Redis tool with stdin and returns its stdout; a non-zero
// exit or anything on stderr fails the test.
func runTool(t *testing.T, bin string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || errOut.Len() > 0 {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), args, err, out.String(), errOut.String())
	}
	return out.String()
}

// TestRedisCLIOneShot runs redis-cli with a command on its command line,
// as scripts do. Without a terminal redis-cli prints raw values (a nil is
// an empty line, an error its text and an empty line); --no-raw asks for
// the typed rendering people see on a terminal.
func TestRedisCLIOneShot(t *testing.T) {
	t.Parallel()
	cli := needTool(t, "redis-cli")
	d := testdaemon.Start(t, testdaemon.Options{})
	port := strconv.Itoa(d.RESPPort())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SET", "k", "v"}, "OK\n"},
		{[]string{"GET", "k"}, "v\n"},
		{[]string{"GET", "nosuch"}, "\n"},
		{[]string{"INCR", "n"}, "1\n"},
		{[]string{"INCR", "k"}, "ERR value is not an integer or out of range\n\n"},
		{[]string{"--no-raw", "INCR", "n"}, "(integer) 2\n"},
		{[]string{"--no-raw", "GET", "k"}, "\"v\"\n"},
		{[]string{"--no-raw", "GET", "nosuch"}, "(nil)\n"},
		{[]string{"--no-raw", "MGET", "k", "nosuch", "n"}, "1) \"v\"\n2) (nil)\n3) \"2\"\n"},
		{[]string{"--no-raw", "INCR", "k"}, "(error) ERR value is not an integer or out of range\n"},
		{[]string{"--no-raw", "PING"}, "PONG\n"},
		{[]string{"SET", "t", "v", "EX", "100"}, "OK\n"},
		{[]string{"TTL", "t"}, "100\n"},
		{[]string{"DBSIZE"}, "3\n"},
		{[]string{"-3", "--no-raw", "MGET", "k", "nosuch"}, "1) \"v\"\n2) (nil)\n"},
		{[]string{"-3", "--no-raw", "CONFIG", "GET", "save"}, "1# \"save\" => \"\"\n"},
		{[]string{"--no-raw", "FLUSHALL"}, "OK\n"},
		{[]string{"--no-raw", "DBSIZE"}, "(integer) 0\n"},
	} {
		args := append([]string{"-h", "127.0.0.1", "-p", port}, tc.args...)
		if got := runTool(t, cli, "", args...); got != tc.want {
			t.Errorf("redis-cli %s\n got: %q\nwant: %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	// Without a terminal redis-cli prints the reply's text as it came.
	info := parseInfo(t, runTool(t, cli, "", "-p", port, "INFO", "server"))
	if got := info.Fields["redis_version"]; got != "7.0.0" {
		t.Errorf("redis-cli INFO server: redis_version %q, want 7.0.0", got)
	}
	if got := info.Fields["tcp_port"]; got != port {
		t.Errorf("redis-cli INFO server: tcp_port %q, want %s", got, port)
	}
}

// cliScript is a redis-cli session fed on stdin, and cliScriptOutput what
// redis-cli prints for it against pykvd (raw mode: no terminal). The lines
// marked "pykv:" differ from Redis 7 on purpose (docs/protocol.md, RESP).
const cliScript = `SET greeting "hello world"
GET greeting
GET nosuch
SET counter 10
INCR counter
INCRBY counter 5
DECR counter
DECRBY counter 3
INCR greeting
MSET a 1 b 2 c "three four"
MGET a b nosuch c
EXISTS a b nosuch
DEL a b nosuch
SET temp v EX 100
TTL temp
PERSIST temp
TTL temp
TTL nosuch
EXPIRE temp 50
TTL temp
SET temp v2 NX
SET temp v2 XX GET
GET temp
GETDEL temp
EXISTS temp
SET k v BOGUS
ECHO "a\tb"
PING
PING "x y"
SELECT 0
DBSIZE
CLIENT SETNAME cli-test
CLIENT GETNAME
EXPIRE counter 10 NX
SET lcs1 ohmytext
SET lcs2 mynewtext
LCS lcs1 lcs2
LCS lcs1 lcs2 IDX MINMATCHLEN 4 WITHMATCHLEN
BITOP AND band lcs1 lcs2
BITOP NOT band lcs1 lcs2
FLUSHALL ASYNC
DBSIZE
GET counter
FLUSHDB SYNC
FLUSHALL NOW
SELECT 1
LPUSH list x
`

const cliScriptOutput = `OK
hello world

OK
11
16
15
12
ERR value is not an integer or out of range

OK
1
2

three four
2
2
OK
100
1
-1
-2
1
50

v
v2
v2
0
ERR syntax error

a	b
PONG
x y
OK
3
OK
cli-test
1
OK
OK
mytext
matches
4
7
5
8
4
len
6
9
ERR BITOP NOT must be called with a single source key.

OK
0

OK
ERR syntax error

ERR DB index is out of range

ERR unknown command 'LPUSH', with args beginning with: 'list' 'x' 

`

// pykvOnly is the number of lines at the end of cliScript that Redis 7
// answers differently (SELECT 1, LPUSH: pykv has one database and strings
// only).
const pykvOnly = 2

// TestRedisCLIScript pipes a script of commands into redis-cli and
// compares everything it prints.
func TestRedisCLIScript(t *testing.T) {
	t.Parallel()
	cli := needTool(t, "redis-cli")
	d := testdaemon.Start(t, testdaemon.Options{})
	got := runTool(t, cli, cliScript, "-p", strconv.Itoa(d.RESPPort()))
	if got != cliScriptOutput {
		t.Errorf("redis-cli < script printed:\n%s\nwant:\n%s", got, cliScriptOutput)
	}
}

// TestRedisCLIScriptMatchesRedis runs the part of the script that pykv
// answers as Redis does against a real redis-server and against pykvd,
// and compares the two outputs byte for byte.
func TestRedisCLIScriptMatchesRedis(t *testing.T) {
	t.Parallel()
	cli := needTool(t, "redis-cli")
	server := needTool(t, "redis-server")
	// pykv follows Redis 7's replies and error texts; another major
	// version words some of them differently.
	version := runTool(t, server, "", "--version")
	if !strings.Contains(version, " v=7.") {
		t.Skipf("the comparison is with Redis 7 and this redis-server is %s", strings.TrimSpace(version))
	}
	lines := strings.SplitAfter(strings.TrimSuffix(cliScript, "\n"), "\n")
	common := strings.Join(lines[:len(lines)-pykvOnly], "")
	d := testdaemon.Start(t, testdaemon.Options{})
	redisPort := startRedis(t, server)
	fromPykv := runTool(t, cli, common, "-p", strconv.Itoa(d.RESPPort()))
	fromRedis := runTool(t, cli, common, "-p", strconv.Itoa(redisPort))
	if fromPykv != fromRedis {
		t.Errorf("pykvd and redis-server differ on the same script\npykvd:\n%s\nredis-server:\n%s", fromPykv, fromRedis)
	}
}

// startRedis starts a throwaway redis-server on a free loopback port, with
// no persistence and the extra configuration flags given, and stops it
// when t ends.
func startRedis(t *testing.T, server string, extra ...string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")},
		extra...)
	cmd := exec.Command(server, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitAccepting(t, "redis-server", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited, func() string {
		return fmt.Sprintf("port %d taken?", port)
	})
	return port
}

// waitAccepting waits until a tool's process accepts on addr, failing
// the test with why() if the process exits first (exited is closed).
func waitAccepting(t *testing.T, name, addr string, exited <-chan struct{}, why func() string) {
	t.Helper()
	waitFor(t, 10*time.Second, name+" to accept on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("%s exited at start: %s", name, why())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// TestRedisCLIPipe feeds redis-cli --pipe, Redis's mass-insertion mode,
// with raw RESP requests; redis-cli ends it with an ECHO of a random
// marker and counts the replies.
func TestRedisCLIPipe(t *testing.T) {
	t.Parallel()
	cli := needTool(t, "redis-cli")
	d := testdaemon.Start(t, testdaemon.Options{})
	const keys = 5000
	var in strings.Builder
	for i := range keys {
		k, v := "mass:"+strconv.Itoa(i), strconv.Itoa(i*i)
		fmt.Fprintf(&in, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	out := runTool(t, cli, in.String(), "-p", strconv.Itoa(d.RESPPort()), "--pipe")
	if !strings.Contains(out, fmt.Sprintf("errors: 0, replies: %d", keys)) {
		t.Fatalf("redis-cli --pipe:\n%s", out)
	}
	n := dialNative(t, d.Addr())
	converse(t, n, []step{
		{[]string{"DBSIZE"}, fmt.Sprintf("(integer) %d", keys)},
		{[]string{"GET", "mass:4999"}, `"24990001"`},
	})
}

// TestRedisCLIAuth uses redis-cli's -a and --user/--pass against a daemon
// with a password.
func TestRedisCLIAuth(t *testing.T) {
	t.Parallel()
	cli := needTool(t, "redis-cli")
	d := testdaemon.Start(t, testdaemon.Options{Password: "s3cret"})
	port := strconv.Itoa(d.RESPPort())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"GET", "k"}, "NOAUTH Authentication required.\n\n"},
		{[]string{"-a", "s3cret", "--no-auth-warning", "SET", "k", "v"}, "OK\n"},
		{[]string{"--user", "default", "--pass", "s3cret", "--no-auth-warning", "GET", "k"}, "v\n"},
		{[]string{"-3", "-a", "s3cret", "--no-auth-warning", "GET", "k"}, "v\n"},
	} {
		if got := runTool(t, cli, "", append([]string{"-p", port}, tc.args...)...); got != tc.want {
			t.Errorf("redis-cli %s = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	// A wrong password: redis-cli reports the failed AUTH on stderr.
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	out, _ := exec.CommandContext(ctx, cli, "-p", port, "-a", "wrong", "--no-auth-warning", "GET", "k").CombinedOutput()
	if !strings.Contains(string(out), "WRONGPASS") {
		t.Errorf("redis-cli with a wrong password printed %q, want WRONGPASS", out)
	}
}

// TestRedisBenchmark runs redis-benchmark's SET and GET tests, pipelined,
// to completion: every request must get its reply, or it would hang (and
// be killed by toolTimeout) or report errors.
func TestRedisBenchmark(t *testing.T) {
	t.Parallel()
	bench := needTool(t, "redis-benchmark")
	d := testdaemon.Start(t, testdaemon.Options{})
	out := runTool(t, bench, "", "-h", "127.0.0.1", "-p", strconv.Itoa(d.RESPPort()),
		"-t", "set,get", "-n", "20000", "-P", "16", "-q", "--csv")
	t.Logf("redis-benchmark against pykvd:\n%s", out)
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("redis-benchmark --csv output does not parse: %v\n%s", err, out)
	}
	rates := map[string]float64{}
	for _, rec := range records[min(1, len(records)):] { // after the header
		if len(rec) < 2 {
			t.Fatalf("short CSV record %q", rec)
		}
		rps, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			t.Fatalf("rate of %s: %v", rec[0], err)
		}
		rates[rec[0]] = rps
	}
	for _, test := range []string{"SET", "GET"} {
		if rates[test] <= 0 {
			t.Errorf("redis-benchmark: no positive rate for %s in:\n%s", test, out)
		}
	}
	// redis-benchmark writes its keys as key:__rand_int__, here key:000000000000.
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"EXISTS", "key:__rand_int__"}, "(integer) 1"}})
}
