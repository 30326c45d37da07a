package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The twin tests run redis-cli against a real redis-server 7 beside
// pykv-cli against pykvd, with the same data, and compare what they
// print where pykv-cli promises redis-cli's output.

// redisTools returns the paths of redis-cli and redis-server, skipping
// the test without them or when they are not Redis 7.
func redisTools(t *testing.T) (cli, server string) {
	t.Helper()
	for _, name := range []string{"redis-cli", "redis-server"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s is not installed (apt-get install -y redis-tools redis-server): %v", name, err)
		}
		if name == "redis-cli" {
			cli = p
		} else {
			server = p
		}
	}
	out, err := exec.Command(server, "--version").Output()
	if err != nil || !strings.Contains(string(out), " v=7.") {
		t.Skipf("the comparison is with Redis 7 and this redis-server is %q (%v)", strings.TrimSpace(string(out)), err)
	}
	return cli, server
}

// startRedis starts a throwaway redis-server on a free loopback port,
// without persistence, and stops it (by its PID) when t ends.
func startRedis(t *testing.T, server string) string {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	dir := t.TempDir()
	cmd := exec.Command(server, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("redis-server exited at start (port %s taken?)", port)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not accept on %s after 10 s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twinScript is data both servers are given, on the standard input of
// their CLIs.
func twinScript() string {
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "SET key:%02d %s\n", i, strings.Repeat("v", 3*i+1))
	}
	b.WriteString("SET \"with space\" \"the biggest value of all, by far: " + strings.Repeat("z", 300) + "\"\n")
	b.WriteString("SET quote\\\"d \"\"\n")
	b.WriteString("SET n 10\n")
	b.WriteString("SET text \"é \\\"q\\\" \\\\ <&> \\n\\t\"\n")
	return b.String()
}

// TestBigKeysMatchesRedis: with the same keys, pykv-cli --bigkeys prints
// redis-cli's summary, byte for byte, but for the lines of the types pykv
// does not have (lists, hashes...), which all read 0.
func TestBigKeysMatchesRedis(t *testing.T) {
	t.Parallel()
	rcli, server := redisTools(t)
	cli, port, _ := cliDaemon(t)
	rport := startRedis(t, server)
	script := twinScript()
	if out, _, code := runCLI(t, cli, script, "-p", port); code != 0 {
		t.Fatalf("loading pykvd: exit %d\n%s", code, out)
	}
	if out, _, code := runCLI(t, rcli, script, "-p", rport); code != 0 {
		t.Fatalf("loading redis-server: exit %d\n%s", code, out)
	}
	summary := func(out string) string {
		_, s, ok := strings.Cut(out, "-------- summary -------\n")
		if !ok {
			t.Fatalf("no summary in\n%s", out)
		}
		var keep []string
		for _, l := range strings.SplitAfter(s, "\n") {
			if l != "" && strings.HasPrefix(l, "0 ") && !strings.Contains(l, " strings ") {
				continue // 0 lists with 0 items (...), and the like
			}
			keep = append(keep, l)
		}
		return strings.Join(keep, "")
	}
	for _, args := range [][]string{{"--bigkeys"}, {"--bigkeys", "--pattern", "key:1*"}} {
		ours, errOut, code := runCLI(t, cli, "", append([]string{"-p", port}, args...)...)
		if code != 0 {
			t.Fatalf("pykv-cli %q: exit %d (stderr %q)", args, code, errOut)
		}
		theirs, _, _ := runCLI(t, rcli, "", append([]string{"-p", rport}, args...)...)
		if got, want := summary(ours), summary(theirs); got != want {
			t.Errorf("%q: pykv-cli's summary differs from redis-cli's\npykv-cli:\n%s\nredis-cli:\n%s", args, got, want)
		}
		// The lines before the first progress line are the same.
		if intro, _, _ := strings.Cut(ours, "["); !strings.HasPrefix(theirs, intro) {
			t.Errorf("%q: pykv-cli's introduction %q is not redis-cli's\n%s", args, intro, theirs)
		}
	}
}

// TestJSONMatchesRedis: pykv-cli --json prints the replies of UTF-8 data
// as redis-cli --json does (errors and non-UTF-8 strings are pykv-cli's
// own, so that every line is JSON: TestJSON checks them).
func TestJSONMatchesRedis(t *testing.T) {
	t.Parallel()
	rcli, server := redisTools(t)
	cli, port, _ := cliDaemon(t)
	rport := startRedis(t, server)
	script := twinScript()
	runCLI(t, cli, script, "-p", port)
	runCLI(t, rcli, script, "-p", rport)
	commands := [][]string{
		{"PING"},
		{"PING", "hello"},
		{"SET", "fresh", "value"},
		{"GET", "key:05"},
		{"GET", "missing"},
		{"GET", "text"},
		{"GET", "quote\"d"},
		{"MGET", "key:01", "missing", "n"},
		{"INCR", "n"},
		{"INCRBY", "n", "-30"},
		{"EXISTS", "key:01", "missing"},
		{"DEL", "key:02", "missing"},
		{"SCAN", "0", "MATCH", "nothing*", "COUNT", "1000"},
		{"SCAN", "0", "MATCH", "with*", "COUNT", "1000"},
		{"TYPE", "n"},
		{"TYPE", "missing"},
		{"TTL", "n"},
		{"ECHO", "tab\there, \"quote\", backslash \\, <&>, é"},
		{"STRLEN", "text"},
		{"GETRANGE", "text", "0", "1"},
		{"SET", "n", "5", "GET"},
		{"DBSIZE"},
	}
	for _, cmd := range commands {
		ours, errOut, _ := runCLI(t, cli, "", append([]string{"-p", port, "--json"}, cmd...)...)
		theirs, _, _ := runCLI(t, rcli, "", append([]string{"-p", rport, "--json"}, cmd...)...)
		if ours != theirs {
			t.Errorf("--json %q: pykv-cli %q (stderr %q), redis-cli %q", cmd, ours, errOut, theirs)
		}
	}
	// -r 3 prints three lines, as redis-cli's does.
	ours, _, _ := runCLI(t, cli, "", "-p", port, "--json", "-r", "3", "INCR", "r")
	theirs, _, _ := runCLI(t, rcli, "", "-p", rport, "--json", "-r", "3", "INCR", "r")
	if ours != theirs || ours != "1\n2\n3\n" {
		t.Errorf("--json -r 3 INCR r: pykv-cli %q, redis-cli %q, want \"1\\n2\\n3\\n\"", ours, theirs)
	}
	// So do --scan's keys.
	ours, _, _ = runCLI(t, cli, "", "-p", port, "--scan", "--pattern", "with*")
	theirs, _, _ = runCLI(t, rcli, "", "-p", rport, "--scan", "--pattern", "with*")
	if ours != theirs || ours != "with space\n" {
		t.Errorf("--scan --pattern with*: pykv-cli %q, redis-cli %q", ours, theirs)
	}
}
