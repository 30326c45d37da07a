package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/testdaemon"
)

// TestRestartKeepsData stops the daemon cleanly and starts it again on the
// same directory: values, counters, expiries and deletions are all there.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	const keys = 1000
	for i := range keys {
		n.send("SET", "k"+strconv.Itoa(i), "value-"+strconv.Itoa(i))
	}
	n.send("SET", "ttl", "v", "EX", "1000")
	n.send("INCRBY", "ctr", "41")
	n.send("INCR", "ctr")
	n.send("SET", "gone", "v")
	n.send("DEL", "gone")
	expiresAt := time.Now().Add(200 * time.Millisecond)
	n.send("SET", "expires", "v", "PXAT", strconv.FormatInt(expiresAt.UnixMilli(), 10)) // expires while the daemon is down
	n.flush()
	for range keys + 6 {
		if r := n.read(); r.IsError() {
			t.Fatalf("write before restart: %v", r)
		}
	}

	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	// The expiry is an instant of the wall clock, the event this waits
	// for: the daemon counts a key expired once ExpireAt <= now in
	// milliseconds (storage/read.go, expired), and PXAT truncated the
	// instant to its millisecond, so reaching expiresAt on the wall clock
	// (Round(0) drops the monotonic reading) is enough, with no margin.
	time.Sleep(time.Until(expiresAt.Round(0)))
	d.Restart()

	n = dialNative(t, d.Addr())
	converse(t, n, []step{
		{[]string{"GET", "expires"}, "(nil)"},
		{[]string{"DBSIZE"}, fmt.Sprintf("(integer) %d", keys+2)},
		{[]string{"GET", "ctr"}, `"42"`},
		{[]string{"GET", "gone"}, "(nil)"},
		{[]string{"TTL", "ttl"}, between(990, 1000)},
	})
	for i := range keys {
		n.send("GET", "k"+strconv.Itoa(i))
	}
	n.flush()
	for i := range keys {
		if got, want := n.read().String(), strconv.Quote("value-"+strconv.Itoa(i)); got != want {
			t.Fatalf("after restart GET k%d = %s, want %s", i, got, want)
		}
	}
	if !strings.Contains(d.Stderr(), "msg=ready") || strings.Count(d.Stderr(), "msg=ready") != 2 {
		t.Errorf("want two ready lines in the log:\n%s", d.Stderr())
	}
}

// TestKillKeepsAcknowledgedWrites kills the daemon with SIGKILL while
// several clients write, and checks after a restart that every write the
// daemon acknowledged is there. Writes in flight at the kill may or may
// not be.
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	// docs/architecture.md, promise 2: under "always" nothing acknowledged is lost
	// even to a power loss; under "everysec" and "no" a process crash, as
	// SIGKILL is, loses nothing either, since the writes are in the OS.
	for _, policy := range []string{"always", "everysec", "no"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			killWhileWriting(t, policy)
		})
	}
}

func killWhileWriting(t *testing.T, policy string) {
	d := testdaemon.Start(t, testdaemon.Options{Fsync: policy})
	const (
		writers   = 4
		maxAcked  = 600             // kill after this many acknowledgements...
		maxWrites = 5 * time.Second // ...or this long, whichever comes first
	)
	var (
		mu    sync.Mutex
		acked = map[string]string{}
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	reached := make(chan struct{}) // closed at the maxAcked-th acknowledgement
	var once sync.Once
	for w := range writers {
		// Each writer has a connection of its own, opened here on the
		// test's goroutine; it writes until the kill breaks it.
		n := dialNative(t, d.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("w%d:%d", w, i), fmt.Sprintf("value %d of writer %d", i, w)
				if err := n.w.WriteRequest([][]byte{[]byte("SET"), []byte(k), []byte(v)}); err != nil {
					return
				}
				if n.bw.Flush() != nil {
					return
				}
				r, err := n.r.ReadReply()
				if err != nil {
					return // the kill
				}
				if r.Kind != command.KindOK {
					t.Errorf("SET %s: %v", k, r)
					return
				}
				mu.Lock()
				acked[k] = v
				if len(acked) >= maxAcked {
					once.Do(func() { close(reached) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-reached:
	case <-time.After(maxWrites):
	}
	d.Kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 { // every writer has stopped (wg.Wait)
		t.Fatal("no write was acknowledged before the kill")
	}

	d.Restart()
	n := dialNative(t, d.Addr())
	keys := make([]string, 0, len(acked))
	for k := range acked {
		keys = append(keys, k)
		n.send("GET", k)
	}
	n.flush()
	lost := 0
	for _, k := range keys {
		if got := n.read(); string(got.Bytes) != acked[k] {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged SET %s lost after SIGKILL: GET = %v", k, got)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(keys))
	}
	t.Logf("fsync=%s: %d acknowledged writes, all there after SIGKILL and restart", policy, len(keys))
}

// TestSIGTERMShutsDownCleanly sends SIGTERM while a client is connected
// and idle: the daemon closes the connection, logs that it stopped, exits
// 0, and its data is there on the next start.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{Fsync: "everysec"})
	n := dialNative(t, d.Addr())
	converse(t, n, []step{{[]string{"SET", "k", "v"}, "OK"}})

	start := time.Now()
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown with an idle client took %v", took)
	}
	n.expectClosed()
	log := d.Stderr()
	for _, want := range []string{"msg=\"shutting down\" signal=terminated", "msg=stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Errorf("a clean shutdown logged a warning or an error:\n%s", log)
	}

	d.Restart()
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"GET", "k"}, `"v"`}})
}

// runBinary runs pykvd with args to completion, in dir, and returns its
// stdout, stderr and exit code.
func runBinary(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testdaemon.Binary(t), args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run pykvd %q: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("pykvd %q did not exit within 20s", args)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBinary(t, t.TempDir(), "--version")
	want := "pykvd " + testdaemon.Version + "\nsegment format version 2 (reads 1 to 2)\nsnapshot format version 3 (reads 1 to 3)\nnative protocol version 1\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Fatalf("--version: code %d, stdout %q, stderr %q; want 0 and %q", code, stdout, stderr, want)
	}
}

// TestHelpFlag: --help lists every setting of config.Params under its
// flag, with its kind of value, its usage and the built-in default, so
// the help cannot drift from the one list of settings; and the flags
// that are not settings.
func TestHelpFlag(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBinary(t, t.TempDir(), "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	// Go's flag package prints usage on stderr; either stream will do.
	help := stdout + stderr
	if !strings.HasPrefix(help, "Usage: pykvd [flags]\n") {
		t.Errorf("--help does not start with the usage line:\n%s", help)
	}
	def := config.Default()
	for _, p := range config.Params {
		want := p.Get(&def)
		if want != "" && p.IsString() {
			want = strconv.Quote(want)
		}
		if entry := flagHelp(p.Flag(), p.Arg(), p.Usage, want); !strings.Contains(help, entry+"\n") {
			t.Errorf("--help does not show %s as\n%s\nin:\n%s", p.Key, entry, help)
		}
	}
	for _, entry := range []string{`(default "127.0.0.1:7380")`, `(default "127.0.0.1:7379")`, `(default "always")`,
		"\n  -config string\n", "\n  -version\n", "\n  -pprof-addr string\n"} {
		if !strings.Contains(help, entry) {
			t.Errorf("--help does not show %q", entry)
		}
	}
}

// TestBadUsageExits2 checks the exit code of each kind of usage or
// configuration error, and that the message names what is wrong.
func TestBadUsageExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownKey := write("unknown.toml", "max_clientz = 3\n\n[storage]\nfsync = \"always\"\n")
	unknownNested := write("nested.toml", "[storage]\nfsink = \"always\"\n")
	badValue := write("bad.toml", "[storage]\nfsync = \"sometimes\"\n")
	syntax := write("syntax.toml", "max_clients = \n")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown config key", []string{"--config", unknownKey}, []string{"unknown key max_clientz"}},
		{"unknown nested config key", []string{"--config", unknownNested}, []string{"unknown key storage.fsink"}},
		{"bad config value", []string{"--config", badValue}, []string{"storage.fsync = sometimes", "want always, everysec or no"}},
		{"config syntax", []string{"--config", syntax}, []string{syntax}},
		{"missing config", []string{"--config", filepath.Join(dir, "nosuch.toml")}, []string{"nosuch.toml"}},
		{"unknown flag", []string{"--bogus"}, []string{"flag provided but not defined: -bogus"}},
		{"bad flag value", []string{"--fsync", "sometimes"}, []string{"storage.fsync = sometimes"}},
		{"stray argument", []string{"serve"}, []string{`unexpected argument "serve"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, dir, tc.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestConfigFileAndFlags starts pykvd from a pykv.toml that sets the
// password and the client limit, with a flag that overrides the password.
func TestConfigFileAndFlags(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	text := "password = \"from-file\"\nmax_clients = 7\n\n[log]\nformat = \"json\"\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf, "--password", "from-flag"}})
	n := dialNative(t, d.Addr())
	converse(t, n, []step{
		{[]string{"AUTH", "from-file"}, "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "from-flag"}, "OK"},
	})
	if got := parseInfo(t, string(n.do("INFO", "server").Bytes)).Fields["config_file"]; got != conf {
		t.Errorf("INFO server config_file = %q, want %q", got, conf)
	}
	if got, err := parseInfo(t, string(n.do("INFO", "clients").Bytes)).Int("maxclients"); err != nil || got != 7 {
		t.Errorf("INFO clients maxclients = %d, %v, want 7, max_clients from the file", got, err)
	}
	converse(t, n, []step{{[]string{"CONFIG", "GET", "maxclients"}, `["maxclients" "7"]`}})
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// Every line of the log is one JSON object, as log.format asks.
	for _, line := range strings.Split(strings.TrimSpace(d.Stderr()), "\n") {
		if strings.HasPrefix(line, "--- testdaemon:") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil {
			t.Errorf("log line is not a JSON record: %q", line)
		}
	}
}

// TestSIGHUPReloads sends SIGHUP, which docs/operations.md reserves for reloading
// what can be reloaded (and which a closed terminal sends): the daemon goes
// on serving and applies the configuration file's new log level.
func TestSIGHUPReloads(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	if err := os.WriteFile(conf, []byte("[log]\nlevel = \"info\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf}})
	n := dialNative(t, d.Addr())
	converse(t, n, []step{{[]string{"SET", "k", "v"}, "OK"}})
	if err := os.WriteFile(conf, []byte("[log]\nlevel = \"debug\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(d.PID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the reload to be logged", func() bool {
		return strings.Contains(d.Stderr(), "configuration reloaded") || !d.Running()
	})
	if !d.Running() {
		t.Fatalf("pykvd died of SIGHUP; log:\n%s", d.Stderr())
	}
	if !strings.Contains(d.Stderr(), `msg="configuration changed" source="SIGHUP `+conf+`" key=log.level from=info to=debug`) {
		t.Fatalf("reload did not apply the new log level:\n%s", d.Stderr())
	}
	converse(t, n, []step{{[]string{"GET", "k"}, `"v"`}})
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGHUP then SIGTERM", code)
	}
}

// TestRuntimeFailuresExit1 starts a second pykvd on a data directory or a
// port that a running one holds: it must refuse, exit 1 (a runtime
// failure, not a usage error) and say why, and the first must go on.
func TestRuntimeFailuresExit1(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"data directory locked", []string{"--data-dir", d.DataDir(), "--native-addr", free(), "--resp-addr", free(),
			"--http-addr", ""},
			"is in use by another process (its LOCK file is held)"},
		{"port taken", []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--native-addr", free(),
			"--resp-addr", d.RESPAddr(), "--http-addr", ""}, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, t.TempDir(), tc.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "level=ERROR") {
				t.Errorf("stderr does not log an error about %q:\n%s", tc.want, stderr)
			}
		})
	}
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"PING"}, "PONG"}})
	if code := d.Stop(); code != 0 {
		t.Errorf("the first daemon exited %d", code)
	}
}

// TestSIGTERMFlushesRepliesOfExecutedRequests pipelines requests whose
// last frame is cut short, so that the server has executed the whole ones
// and is waiting for the rest of the last when SIGTERM arrives. A graceful
// shutdown must send the replies of what it executed: the writes are
// applied and durable, and a client that is never told so retries them.
func TestSIGTERMFlushesRepliesOfExecutedRequests(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	const executed = 10
	n := dialNative(t, d.Addr())
	for range executed {
		n.send("INCR", "ctr")
	}
	n.raw([]byte{0, 0}) // half of the next frame's length
	n.flush()
	other := dialNative(t, d.Addr())
	waitFor(t, 5*time.Second, "the pipelined INCRs to run", func() bool {
		return string(other.do("GET", "ctr").Bytes) == strconv.Itoa(executed)
	})
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	got := 0
	for ; got < executed; got++ {
		n.c.SetDeadline(time.Now().Add(ioTimeout))
		r, err := n.r.ReadReply()
		if err != nil {
			break
		}
		if want := fmt.Sprintf("(integer) %d", got+1); r.String() != want {
			t.Fatalf("reply %d = %v, want %s", got, r, want)
		}
	}
	if got != executed {
		t.Errorf("%d INCRs executed (the counter says so), %d replies sent before the close", executed, got)
	}
}

// TestSIGINTShutsDownCleanly: Ctrl-C in a terminal is a clean shutdown too.
func TestSIGINTShutsDownCleanly(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"SET", "k", "v"}, "OK"}})
	if err := syscall.Kill(d.PID(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testdaemon.StopTimeout, "pykvd to exit after SIGINT", func() bool { return !d.Running() })
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
	if !strings.Contains(d.Stderr(), "msg=\"shutting down\" signal=interrupt") {
		t.Errorf("log does not name SIGINT:\n%s", d.Stderr())
	}
	d.Restart()
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"GET", "k"}, `"v"`}})
}

// TestSIGTERMAsSoonAsItAccepts sends SIGTERM the moment the RESP port
// accepts, as a supervisor stopping a service just started would: pykvd
// must shut down cleanly (exit 0), never die of the signal's default
// action. The window is small, so the test tries several times.
func TestSIGTERMAsSoonAsItAccepts(t *testing.T) {
	t.Parallel()
	bin := testdaemon.Binary(t)
	for attempt := range 20 {
		dir := t.TempDir()
		resp := freeAddr(t)
		cmd := exec.Command(bin, "--data-dir", filepath.Join(dir, "data"), "--native-addr", freeAddr(t),
			"--resp-addr", resp, "--http-addr", "", "--fsync", "no")
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		deadline := time.Now().Add(testdaemon.ReadyTimeout)
		exited := false
		for !exited {
			c, err := net.Dial("tcp", resp)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				exited = true // it failed to start: told apart below
				done <- nil
			default:
			}
			if !exited && time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				t.Fatalf("pykvd never accepted on %s:\n%s", resp, stderr.String())
			}
		}
		if !exited {
			cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-done:
		case <-time.After(testdaemon.StopTimeout):
			cmd.Process.Kill()
			<-done
			t.Fatalf("attempt %d: pykvd did not exit after SIGTERM", attempt)
		}
		code := cmd.ProcessState.ExitCode()
		if code != 0 && (!strings.Contains(stderr.String(), "recovered data directory") ||
			strings.Contains(stderr.String(), "address already in use")) {
			// pykvd opens the data directory before it listens, so what
			// answered on the port was another process that took it (a
			// parallel test, between freeAddr and pykvd's listen).
			t.Logf("attempt %d: %s answered before pykvd listened on it; not counted", attempt, resp)
			continue
		}
		if code != 0 {
			t.Fatalf("attempt %d: SIGTERM right after start: exit code %d (%v), want 0; log:\n%s",
				attempt, code, cmd.ProcessState, stderr.String())
		}
	}
}

// handedOut holds the addresses freeAddr has returned in this process.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freeAddr returns a loopback address whose port was free a moment ago
// and that it has not returned before: the kernel may hand a port it just
// gave back out again at once, and two listeners of one daemon given the
// same port make it fail to start ("address already in use").
func freeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("no loopback port that freeAddr had not returned before, in 1000 tries")
	return ""
}
