package main

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/command/spec"
	"github.com/pykv/pykv/internal/testdaemon"
)

// TestServerCommandsLikeRedis: the replies and errors of the server
// commands of issue 16 that both servers answer alike (their argument
// errors, CLIENT KILL's counts, MEMORY HELP, SHUTDOWN's refusals, CONFIG
// RESETSTAT) are redis-server's, byte for byte, over RESP2, RESP3 and the
// native protocol.
func TestServerCommandsLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	runTwinLegs(t, tw, func(p string, _ time.Time) [][]string {
		return [][]string{
			{"TIME", "x"},
			{"LASTSAVE", "x"},
			{"SAVE", "x"},
			{"BGSAVE", "x"},
			{"BGSAVE", "SCHEDULE", "x"},
			{"BGSAVE", "NOW"},
			{"CLIENT", "KILL"},
			{"CLIENT", "KILL", "1.2.3.4:5"},
			{"CLIENT", "KILL", "ID", "999999"},
			{"CLIENT", "KILL", "ID", "x"},
			{"CLIENT", "KILL", "ID", "0"},
			{"CLIENT", "KILL", "ID", "-5"},
			{"CLIENT", "KILL", "foo", "bar"},
			{"CLIENT", "KILL", "ID"},
			{"CLIENT", "KILL", "ID", "1", "SKIPME"},
			{"CLIENT", "KILL", "SKIPME", "maybe"},
			{"CLIENT", "KILL", "SKIPME", "yes"},
			{"CLIENT", "KILL", "TYPE", "nosuch"},
			{"CLIENT", "KILL", "TYPE", "master"},
			{"CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "no"},
			{"CLIENT", "KILL", "USER", "nobody"},
			{"CLIENT", "KILL", "ADDR", "1.2.3.4:5"},
			{"CLIENT", "KILL", "LADDR", "1.2.3.4:5", "ID", "999999"},
			{"CLIENT", "LIST", "TYPE", "nosuch"},
			{"CLIENT", "LIST", "ID", "x"},
			{"CLIENT", "LIST", "foo"},
			{"CLIENT", "LIST", "TYPE"},
			{"CLIENT", "INFO", "x"},
			{"CLIENT", "REPLY"},
			{"CLIENT", "REPLY", "foo"},
			{"CLIENT", "REPLY", "ON"},
			{"CLIENT", "NO-EVICT", "foo"},
			{"CLIENT", "NO-EVICT", "on"},
			{"CLIENT", "NO-EVICT", "OFF"},
			{"CLIENT", "NO-EVICT"},
			{"MEMORY"},
			{"MEMORY", "nosuch"},
			{"MEMORY", "HELP"},
			{"MEMORY", "USAGE"},
			{"MEMORY", "USAGE", p + "nokey"},
			{"MEMORY", "USAGE", p + "nokey", "SAMPLES", "x"},
			{"MEMORY", "USAGE", p + "nokey", "SAMPLES", "-1"},
			{"MEMORY", "USAGE", p + "nokey", "SAMPLES"},
			{"MEMORY", "USAGE", p + "nokey", "foo"},
			{"MEMORY", "USAGE", p + "nokey", "SAMPLES", "0", "SAMPLES", "5"},
			{"MEMORY", "PURGE"},
			{"MEMORY", "DOCTOR", "x"},
			{"SHUTDOWN", "foo"},
			{"SHUTDOWN", "ABORT"},
			{"SHUTDOWN", "NOSAVE", "SAVE"},
			{"SHUTDOWN", "ABORT", "NOW"},
			{"SHUTDOWN", "SAVE", "ABORT"},
			{"MONITOR", "x"},
			{"MULTI"}, {"MONITOR"}, {"EXEC"},
			{"MULTI"}, {"SHUTDOWN"}, {"SAVE"}, {"EXEC"},
			{"MULTI"}, {"BGSAVE", "x"}, {"LASTSAVE", "x"}, {"DISCARD"},
			{"CONFIG", "RESETSTAT", "x"},
			{"CONFIG", "RESETSTAT"},
		}
	})
	// Text replies (bulk strings in RESP2, verbatim strings of format txt
	// in RESP3) whose text is the same on both servers, over both.
	for _, proto := range []string{"2", "3"} {
		p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
		p.call("HELLO", proto)
		r.call("HELLO", proto)
		for _, cmd := range [][]string{
			{"CLIENT", "LIST", "TYPE", "master"},
			{"CLIENT", "LIST", "TYPE", "replica"},
			{"CLIENT", "LIST", "TYPE", "pubsub"},
			{"CLIENT", "LIST", "ID", "999999"},
			{"INFO", "nosuch"},
		} {
			if got, want := p.call(cmd...), r.call(cmd...); got != want {
				t.Errorf("RESP%s %s: pykvd %q, redis-server %q", proto, quoteArgs(cmd), got, want)
			}
		}
		// INFO, CLIENT INFO and MEMORY DOCTOR differ in their text, not in
		// its type.
		for _, cmd := range [][]string{{"INFO", "keyspace"}, {"CLIENT", "INFO"}, {"MEMORY", "DOCTOR"}} {
			got, want := p.call(cmd...), r.call(cmd...)
			if got[0] != want[0] || (proto == "3" && !strings.HasPrefix(got, "=") != !strings.HasPrefix(want, "=")) {
				t.Errorf("RESP%s %s: pykvd answers %q, redis-server %q: not the same type", proto, quoteArgs(cmd), got, want)
			}
		}
	}
}

// TestSaveCommandsLikeRedis: SAVE answers OK once its merge is done,
// BGSAVE starts one, and LASTSAVE moves to the save's second, with
// redis-server's replies.
func TestSaveCommandsLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
	before := time.Now().Unix()
	both := func(args ...string) string {
		t.Helper()
		got, want := p.call(args...), r.call(args...)
		if got != want {
			t.Errorf("%s: pykvd %q, redis-server %q", quoteArgs(args), got, want)
		}
		return got
	}
	both("SET", "k", "v")
	both("SAVE")
	for _, c := range []*respRaw{p, r} {
		last, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(c.call("LASTSAVE"), ":")), 10, 64)
		if err != nil || last < before || last > time.Now().Unix() {
			t.Errorf("LASTSAVE after SAVE = %d (%v), want within [%d, now]", last, err, before)
		}
	}
	merges := infoField(t, p, "persistence", "rdb_saves")
	both("SET", "k", "w") // something for the merge to merge
	both("BGSAVE")
	// BGSAVE's merge is done once rdb_saves counts it.
	waitFor(t, 10*time.Second, "BGSAVE's merge", func() bool { return infoField(t, p, "persistence", "rdb_saves") > merges })
	waitFor(t, 10*time.Second, "redis-server's BGSAVE", func() bool {
		return infoField(t, r, "persistence", "rdb_bgsave_in_progress") == 0
	})
	both("BGSAVE", "SCHEDULE")
	if got := p.call("TIME"); !strings.HasPrefix(got, "*2\r\n$10\r\n") {
		t.Errorf("TIME = %q", got)
	}
}

// infoField reads one integer field of an INFO section over RESP.
func infoField(t *testing.T, c *respRaw, section, name string) int64 {
	t.Helper()
	for _, line := range strings.Split(c.call("INFO", section), "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO %s: %s", section, line)
			}
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, name)
	return 0
}

// clientFields parses a CLIENT LIST line into its names, in order, and
// values.
func clientFields(line string) ([]string, map[string]string) {
	var names []string
	vals := map[string]string{}
	for _, f := range strings.Split(strings.TrimSuffix(line, "\n"), " ") {
		k, v, _ := strings.Cut(f, "=")
		names = append(names, k)
		vals[k] = v
	}
	return names, vals
}

// bulkText is a bulk or verbatim string reply's text.
func bulkText(t *testing.T, raw string) string {
	t.Helper()
	head, body, ok := strings.Cut(raw, "\r\n")
	if !ok || (head[0] != '$' && head[0] != '=') {
		t.Fatalf("not a bulk string: %q", raw)
	}
	body = strings.TrimSuffix(body, "\r\n")
	if head[0] == '=' {
		body = strings.TrimPrefix(body, "txt:")
	}
	return body
}

// stableClientFields are the CLIENT LIST fields both servers must agree
// on for like connections; the others (id, addr, fd, age, the buffer
// sizes) differ by nature.
var stableClientFields = []string{"name", "flags", "db", "sub", "psub", "ssub", "multi", "cmd", "user", "redir", "resp"}

// TestClientListLikeRedis: CLIENT INFO and CLIENT LIST have Redis 7.0's
// fields in its order (then 7.2's lib-name and lib-ver) and agree with
// redis-server on every field that is not a connection's own, over RESP2
// and RESP3, named and not, inside a transaction and out; addr and laddr
// are the connection's own addresses.
func TestClientListLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	compare := func(what string, got, want string) {
		t.Helper()
		gn, gv := clientFields(got)
		wn, wv := clientFields(want)
		if gn = slices.DeleteFunc(gn, func(n string) bool { return n == "lib-name" || n == "lib-ver" }); !slices.Equal(gn, wn) {
			t.Errorf("%s: fields\n pykvd %v\n redis %v", what, gn, wn)
		}
		for _, f := range stableClientFields {
			if gv[f] != wv[f] {
				t.Errorf("%s: %s=%q, redis-server %s=%q", what, f, gv[f], f, wv[f])
			}
		}
	}
	for _, proto := range []int{2, 3} {
		p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
		leg := "RESP" + strconv.Itoa(proto)
		if proto == 3 {
			hello3(t, p, "pykvd")
			hello3(t, r, "redis-server")
		}
		info := bulkText(t, p.call("CLIENT", "INFO"))
		compare(leg+" CLIENT INFO", info, bulkText(t, r.call("CLIENT", "INFO")))
		_, vals := clientFields(info)
		if vals["addr"] != p.c.LocalAddr().String() || vals["laddr"] != p.c.RemoteAddr().String() {
			t.Errorf("%s: addr=%s laddr=%s, the connection is %s to %s", leg, vals["addr"], vals["laddr"],
				p.c.LocalAddr(), p.c.RemoteAddr())
		}
		for _, c := range []*respRaw{p, r} {
			c.call("CLIENT", "SETNAME", "twin")
			c.call("CLIENT", "NO-EVICT", "ON")
		}
		compare(leg+" named, no-evict", bulkText(t, p.call("CLIENT", "INFO")), bulkText(t, r.call("CLIENT", "INFO")))
		for _, c := range []*respRaw{p, r} {
			c.call("CLIENT", "NO-EVICT", "OFF")
			c.call("MULTI")
			c.call("SET", "k", "v")
			c.call("CLIENT", "INFO")
		}
		gotExec, wantExec := p.call("EXEC"), r.call("EXEC")
		gotLine := gotExec[strings.Index(gotExec, "id="):]
		wantLine := wantExec[strings.Index(wantExec, "id="):]
		compare(leg+" in EXEC", gotLine[:strings.Index(gotLine, "\n")], wantLine[:strings.Index(wantLine, "\n")])
		// Another connection's line in CLIENT LIST, after its last command.
		po, ro := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
		po.call("GET", "x")
		ro.call("GET", "x")
		pid, rid := strings.TrimSpace(po.call("CLIENT", "ID")[1:]), strings.TrimSpace(ro.call("CLIENT", "ID")[1:])
		compare(leg+" CLIENT LIST ID", bulkText(t, p.call("CLIENT", "LIST", "ID", pid)), bulkText(t, r.call("CLIENT", "LIST", "ID", rid)))
		all := bulkText(t, p.call("CLIENT", "LIST"))
		if n := strings.Count(all, "\n"); n < 2 || !strings.Contains(all, "id="+pid+" ") {
			t.Errorf("%s CLIENT LIST: %d lines, lacks id=%s: %q", leg, n, pid, all)
		}
	}
	// The native protocol's connections are listed alike.
	n := dialNative(t, tw.pykv.Addr())
	line := string(n.do("CLIENT", "INFO").Bytes)
	names, _ := clientFields(line)
	wantNames, _ := clientFields(bulkText(t, dialRESPRaw(t, tw.redisAddr).call("CLIENT", "INFO")))
	if names = slices.DeleteFunc(names, func(n string) bool { return n == "lib-name" || n == "lib-ver" }); !slices.Equal(names, wantNames) {
		t.Errorf("native CLIENT INFO fields %v", names)
	}
}

// TestClientKillAndReply: CLIENT KILL closes the connections its filters
// match (ID, ADDR, LADDR with ID, the old ip:port form, SKIPME no), and
// CLIENT REPLY OFF, SKIP and ON send the bytes redis-server sends.
func TestClientKillAndReply(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	for _, addr := range []string{tw.pykv.RESPAddr(), tw.redisAddr} {
		a := dialRESPRaw(t, addr)
		victim := func() (*respRaw, string) {
			v := dialRESPRaw(t, addr)
			return v, strings.TrimSpace(v.call("CLIENT", "ID")[1:])
		}
		v, id := victim()
		if got := a.call("CLIENT", "KILL", "ID", id); got != ":1\r\n" {
			t.Errorf("%s CLIENT KILL ID: %q", addr, got)
		}
		v.expectClosed()
		v, _ = victim()
		if got := a.call("CLIENT", "KILL", v.c.LocalAddr().String()); got != "+OK\r\n" {
			t.Errorf("%s CLIENT KILL ip:port: %q", addr, got)
		}
		v.expectClosed()
		v, id = victim()
		if got := a.call("CLIENT", "KILL", "ADDR", v.c.LocalAddr().String(), "LADDR", addr, "ID", id); got != ":1\r\n" {
			t.Errorf("%s CLIENT KILL ADDR LADDR ID: %q", addr, got)
		}
		v.expectClosed()
		v, id = victim()
		if got := v.call("CLIENT", "KILL", "ID", id); got != ":0\r\n" {
			t.Errorf("%s CLIENT KILL of itself, SKIPME yes: %q", addr, got)
		}
		if got := v.call("CLIENT", "KILL", "ID", id, "SKIPME", "no"); got != ":1\r\n" {
			t.Errorf("%s CLIENT KILL of itself, SKIPME no: %q", addr, got)
		}
		v.expectClosed()

		// CLIENT REPLY: nothing for OFF, for SKIP and the command after it.
		c := dialRESPRaw(t, addr)
		c.write("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n*1\r\n$4\r\nPING\r\n" +
			"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nfoo\r\n" +
			"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\n" +
			"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n" +
			"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nbad\r\n")
		c.expect("+OK\r\n$1\r\na\r\n$1\r\nc\r\n-ERR syntax error\r\n")
	}
}

// monitorStamp is what differs in the two servers' monitor lines: the
// time and the client's port.
var monitorStamp = regexp.MustCompile(`^\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] `)

// TestMonitorLikeRedis: MONITOR's lines are redis-server's once the time
// and the port are set aside (quoting of binary bytes, AUTH and HELLO
// redacted, a transaction's commands before EXEC, admin and refused
// commands left out), the port is the client's, and a second monitor
// sees the same lines.
func TestMonitorLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	script := []string{
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\"b\\c\r\n",
		"*3\r\n$3\r\nset\r\n$3\r\nbin\r\n$10\r\n\x01\xff\t\n\r\a\b\x7f \x00\r\n",
		"*1\r\n$5\r\nMULTI\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nn\r\n$2\r\n10\r\n", "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", "*1\r\n$4\r\nEXEC\r\n",
		"*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n",
		"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n",
		"*5\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$1\r\nx\r\n",
		"*2\r\n$3\r\nGET\r\n$5\r\nnokey\r\n",
		"*2\r\n$6\r\nNOSUCH\r\n$1\r\nx\r\n",
		"*1\r\n$3\r\nGET\r\n",
		"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n",
		"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$1\r\nn\r\n",
		"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n",
		"*1\r\n$4\r\nPING\r\n",
	}
	const lines = 13 // what each server shows of the script
	run := func(addr string) (a, b []string, client string) {
		m1, m2 := dialRESPRaw(t, addr), dialRESPRaw(t, addr)
		for _, m := range []*respRaw{m1, m2} {
			m.write("*1\r\n$7\r\nMONITOR\r\n")
			m.expect("+OK\r\n")
		}
		c := dialRESPRaw(t, addr)
		for _, cmd := range script {
			c.write(cmd)
			readRESPReply(c)
		}
		read := func(m *respRaw) []string {
			var got []string
			for range lines {
				m.c.SetDeadline(time.Now().Add(ioTimeout))
				l, err := m.r.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: monitor read after %q: %v", addr, got, err)
				}
				got = append(got, l)
			}
			return got
		}
		return read(m1), read(m2), c.c.LocalAddr().String()
	}
	pa, pb, client := run(tw.pykv.RESPAddr())
	ra, _, _ := run(tw.redisAddr)
	if !slices.Equal(pa, pb) {
		t.Errorf("the two monitors differ:\n%q\n%q", pa, pb)
	}
	for i := range lines {
		if !strings.Contains(pa[i], "[0 "+client+"] ") {
			t.Errorf("line %d does not name the client %s: %q", i, client, pa[i])
		}
		got, want := monitorStamp.ReplaceAllString(pa[i], ""), monitorStamp.ReplaceAllString(ra[i], "")
		if got != want || got == pa[i] {
			t.Errorf("line %d: pykvd %q, redis-server %q", i, pa[i], ra[i])
		}
	}
}

// TestMonitorNative: a native-protocol connection can monitor too, and
// sees the commands of a RESP client.
func TestMonitorNative(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	if r := n.do("MONITOR"); r.String() != "OK" {
		t.Fatalf("MONITOR: %v", r)
	}
	c := dialRESPRaw(t, d.RESPAddr())
	c.call("SET", "a", "1")
	line := n.read()
	if !strings.HasSuffix(string(line.Bytes), `] "SET" "a" "1"`) {
		t.Errorf("native monitor line %v", line)
	}
}

// TestShutdownCommand: SHUTDOWN stops a real pykvd as SIGTERM does: the
// connection closes without a reply, the process exits 0, and what was
// written (merged first with SAVE) is there after a restart.
func TestShutdownCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"SHUTDOWN"}, {"SHUTDOWN", "SAVE", "NOW"}, {"SHUTDOWN", "NOSAVE", "FORCE"}, {"native", "SHUTDOWN", "SAVE"}} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			d := testdaemon.Start(t, testdaemon.Options{Fsync: "always"})
			c := dialRESPRaw(t, d.RESPAddr())
			c.call("SET", "kept", strings.Join(args, " "))
			other := dialRESPRaw(t, d.RESPAddr())
			if args[0] == "native" { // over the native protocol, alike
				n := dialNative(t, d.Addr())
				n.send(args[1:]...)
				n.flush()
				n.expectClosed()
			} else {
				c.write(respCommand(args...)) // no reply: the connection closes
			}
			c.expectClosed()
			other.expectClosed()
			if code := d.WaitExit(); code != 0 {
				t.Fatalf("pykvd exited %d after %v:\n%s", code, args, d.Stderr())
			}
			if !strings.Contains(d.Stderr(), "reason=\"SHUTDOWN command\"") {
				t.Errorf("the log does not say why it stopped:\n%s", d.Stderr())
			}
			d.Restart()
			c = dialRESPRaw(t, d.RESPAddr())
			if got := c.call("GET", "kept"); got != "$"+strconv.Itoa(len(strings.Join(args, " ")))+"\r\n"+strings.Join(args, " ")+"\r\n" {
				t.Errorf("after restart GET kept = %q", got)
			}
		})
	}
}

// respCommand encodes args as a RESP command.
func respCommand(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

// usecFields are the timings of INFO commandstats, which differ by nature.
var usecFields = regexp.MustCompile(`usec=\d+,usec_per_call=\d+\.\d\d`)

// TestStatsLikeRedis: after CONFIG RESETSTAT, INFO commandstats counts
// calls, rejected calls (arity) and failed calls (an error reply) per
// command and subcommand, INFO errorstats counts error replies by code
// (unknown commands and subcommands included), and INFO stats' totals
// agree, as redis-server's do, over RESP2, RESP3 and the native protocol;
// only the timings differ.
func TestStatsLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	script := [][]string{
		{"CONFIG", "RESETSTAT"},
		{"SET", "a", "1"}, {"GET", "a"}, {"GET"}, {"INCR", "a"},
		{"SET", "s", "x"}, {"INCR", "s"}, {"NOSUCH"}, {"CLIENT", "NOSUCH"},
		{"CLIENT", "SETNAME", "bad name"}, {"CLIENT", "GETNAME"}, {"SELECT", "9"},
	}
	sections := func(call func(...string) string) (cmdstats []string, errstats, totals string) {
		for _, cmd := range script {
			call(cmd...)
		}
		text := bulkText(t, call("INFO", "commandstats"))
		for _, l := range strings.Split(strings.TrimSpace(text), "\r\n")[1:] {
			cmdstats = append(cmdstats, usecFields.ReplaceAllString(l, "usec=T"))
		}
		slices.Sort(cmdstats)
		errstats = bulkText(t, call("INFO", "errorstats"))
		for _, l := range strings.Split(bulkText(t, call("INFO", "stats")), "\r\n") {
			if strings.HasPrefix(l, "total_commands_processed:") || strings.HasPrefix(l, "total_error_replies:") {
				totals += l + " "
			}
		}
		return
	}
	legs := map[string]func(...string) string{}
	for _, proto := range []int{2, 3} {
		p := dialRESPRaw(t, tw.pykv.RESPAddr())
		if proto == 3 {
			hello3(t, p, "pykvd")
		}
		legs["RESP"+strconv.Itoa(proto)] = func(args ...string) string { return p.call(args...) }
	}
	n := dialNative(t, tw.pykv.Addr())
	legs["native"] = func(args ...string) string { return nativeAsRESP2(t, n, args) }
	r := dialRESPRaw(t, tw.redisAddr)
	wantCmd, wantErr, wantTotals := sections(func(args ...string) string { return r.call(args...) })
	if len(wantCmd) < 5 {
		t.Fatalf("redis-server's commandstats: %q", wantCmd)
	}
	for leg, call := range legs {
		gotCmd, gotErr, gotTotals := sections(call)
		if !slices.Equal(gotCmd, wantCmd) {
			t.Errorf("%s commandstats:\n pykvd %q\n redis %q", leg, gotCmd, wantCmd)
		}
		if gotErr != wantErr || gotTotals != wantTotals {
			t.Errorf("%s errorstats/totals:\n pykvd %q %q\n redis %q %q", leg, gotErr, gotTotals, wantErr, wantTotals)
		}
	}
}

// TestInfoSectionsLikeRedis: INFO, INFO default, all, everything and a
// list of sections give redis-server's sections in its order (but for
// Latencystats, which pykv does not keep), and the cpu, keyspace,
// commandstats and errorstats sections its field names.
func TestInfoSectionsLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
	for _, c := range []*respRaw{p, r} {
		c.call("SET", "k", "v", "EX", "100")
		c.call("SET", "j", "v")
		c.call("GET")
	}
	titles := func(text string) (ts []string) {
		for _, l := range strings.Split(text, "\r\n") {
			if strings.HasPrefix(l, "# ") {
				ts = append(ts, l)
			}
		}
		return
	}
	names := func(text, section string) (ns []string) {
		in := false
		for _, l := range strings.Split(text, "\r\n") {
			switch {
			case strings.HasPrefix(l, "# "):
				in = l == "# "+section
			case in && l != "":
				name, _, _ := strings.Cut(l, ":")
				ns = append(ns, name)
			}
		}
		slices.Sort(ns)
		return slices.Compact(ns)
	}
	for _, args := range [][]string{{"INFO"}, {"INFO", "default"}, {"INFO", "all"}, {"INFO", "everything"},
		{"INFO", "keyspace", "SERVER", "cpu"}, {"INFO", "default", "commandstats"}, {"INFO", "errorstats", "nosuch"}} {
		got, want := bulkText(t, p.call(args...)), bulkText(t, r.call(args...))
		if g, w := titles(got), titles(want); !slices.Equal(g, w) {
			t.Errorf("%s: sections\n pykvd %v\n redis %v", quoteArgs(args), g, w)
		}
		if strings.HasSuffix(got, "\r\n\r\n") || !strings.HasSuffix(got, "\r\n") {
			t.Errorf("%s ends %q", quoteArgs(args), got[max(0, len(got)-8):])
		}
	}
	all, want := bulkText(t, p.call("INFO", "everything")), bulkText(t, r.call("INFO", "everything"))
	for _, sec := range []string{"CPU", "Keyspace", "Errorstats", "Latencystats"} {
		g, w := names(all, sec), names(want, sec)
		if sec == "CPU" { // Redis's children and main-thread times: pykv has neither
			w = slices.DeleteFunc(w, func(n string) bool { return strings.Contains(n, "_children") || strings.Contains(n, "_main_thread") })
		}
		if !slices.Equal(g, w) {
			t.Errorf("INFO %s fields:\n pykvd %v\n redis %v", sec, g, w)
		}
	}
	// Each latencystats line is written as Redis writes it: microseconds
	// with three decimals, at Redis's default percentiles.
	latLine := regexp.MustCompile(`^latency_percentiles_usec_[a-z|]+:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$`)
	for server, text := range map[string]string{"pykvd": all, "redis-server": want} {
		for _, l := range strings.Split(text, "\r\n") {
			if strings.HasPrefix(l, "latency_percentiles_usec_") && !latLine.MatchString(l) {
				t.Errorf("%s: INFO latencystats line %q", server, l)
			}
		}
	}
	for _, sec := range []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication"} {
		g := names(all, sec)
		for _, n := range g {
			if !strings.HasPrefix(n, "pykv_") && !slices.Contains(names(want, sec), n) {
				t.Errorf("INFO %s: field %s is neither Redis's nor pykv's own", sec, n)
			}
		}
	}
}

// TestMemoryUsage: MEMORY USAGE of an existing key is an estimate that
// counts its cached value (a value read once is cached), and Nil once the
// key is gone, over RESP and the native protocol.
func TestMemoryUsage(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	c := dialRESPRaw(t, d.RESPAddr())
	value := strings.Repeat("v", 4096)
	c.call("SET", "big", value)
	c.call("GET", "big")
	got := c.call("MEMORY", "USAGE", "big")
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(got, ":")))
	if err != nil || n < len(value)+len("big") || n > 2*len(value)+4096 {
		t.Errorf("MEMORY USAGE big = %q, want the 4 KiB value and a little", got)
	}
	if r := dialNative(t, d.Addr()).do("MEMORY", "USAGE", "big", "SAMPLES", "0"); r.Int != int64(n) {
		t.Errorf("native MEMORY USAGE = %v, RESP %d", r, n)
	}
	c.call("DEL", "big")
	if got := c.call("MEMORY", "USAGE", "big"); got != "$-1\r\n" {
		t.Errorf("MEMORY USAGE of a deleted key = %q", got)
	}
}

// TestAvgTTLLikeRedis: INFO keyspace's avg_ttl is, on both servers, the
// active expiry cycle's estimate of the milliseconds keys with an expiry
// have left, in (0, 100000] for keys set with EX 100, and 0 again once no
// key has an expiry.
func TestAvgTTLLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	for name, c := range map[string]*respRaw{"pykvd": dialRESPRaw(t, tw.pykv.RESPAddr()), "redis-server": dialRESPRaw(t, tw.redisAddr)} {
		avgTTL := func() int64 {
			t.Helper()
			line := c.call("INFO", "keyspace")
			_, v, ok := strings.Cut(line, "avg_ttl=")
			if !ok {
				return -1 // no db0 line: no key at all
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("%s: INFO keyspace: %q", name, line)
			}
			return n
		}
		for i := range 20 {
			c.call("SET", "t"+strconv.Itoa(i), "v", "EX", "100")
		}
		c.call("SET", "forever", "v")
		var got int64
		waitFor(t, 10*time.Second, name+"'s avg_ttl", func() bool { got = avgTTL(); return got > 0 })
		if got > 100_000 {
			t.Errorf("%s: avg_ttl %d for keys set with EX 100", name, got)
		}
		for i := range 20 {
			c.call("PERSIST", "t"+strconv.Itoa(i))
		}
		waitFor(t, 10*time.Second, name+"'s avg_ttl back to 0", func() bool { return avgTTL() == 0 })
	}
}

// commandInfoFields names COMMAND INFO's ten fields, for messages.
var commandInfoFields = [...]string{"name", "arity", "flags", "first key", "last key", "key step",
	"ACL categories", "tips", "key specifications", "subcommands"}

// commandInfoDiffers is each field of COMMAND INFO that pykvd answers
// otherwise than redis-server 7.0, by command: the list of
// docs/protocol.md (Differences from Redis 7, COMMAND DOCS), each for the
// reason it gives there. Every other field of every command both servers
// have is redis-server's byte for byte, and an entry here that no longer
// differs fails the test, so that the list stays true.
var commandInfoDiffers = map[string][]int{
	// PSYNC takes pykv's own arguments (its log's position), over the
	// native protocol only.
	"psync": {1},
	// REPLICAOF and SLAVEOF are no_multi: they need the engine's write
	// lock, which EXEC holds, so pykv refuses them in a transaction.
	"replicaof": {2},
	"slaveof":   {2},
}

// TestCommandInfoLikeRedis (twin): COMMAND INFO of every command and
// subcommand both servers have is redis-server 7.0.15's, field by field
// and byte for byte, over RESP2 and RESP3 (where flags, ACL categories,
// tips, key specifications and a command's missing subcommands are sets):
// name, arity, flags, first key, last key, key step, ACL categories, tips
// and the key specifications cluster clients route by, but for
// commandInfoDiffers. A container's subcommands are compared one by one
// (Redis's CLIENT and CONFIG have more, in its hash table's order). COMMAND
// without arguments answers the same entries, and the native protocol the
// RESP2 ones.
func TestCommandInfoLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	native := dialNative(t, tw.pykv.Addr())
	pykvOnly := map[string]bool{"compact": true, "export": true, "backup": true, "client|setinfo": true}
	var names []string
	for _, sp := range spec.All() {
		names = append(names, sp.Name)
		for _, sub := range sp.Subcommands {
			names = append(names, sub.Name)
		}
	}
	for _, proto := range []int{2, 3} {
		p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
		if proto == 3 {
			hello3(t, p, "pykvd")
			hello3(t, r, "redis-server")
		}
		differs := map[string][]int{}
		entries := map[string]string{}
		for _, name := range names {
			raw := p.call("COMMAND", "INFO", name)
			got := respElems(t, raw)
			if len(got) != 1 {
				t.Fatalf("RESP%d COMMAND INFO %s from pykvd: %q", proto, name, raw)
			}
			entries[name] = got[0]
			if proto == 2 {
				if n := nativeAsRESP2(t, native, []string{"COMMAND", "INFO", name}); n != raw {
					t.Errorf("COMMAND INFO %s: native %q, RESP2 %q", name, n, raw)
				}
			}
			want := respElems(t, r.call("COMMAND", "INFO", name))
			if len(want) != 1 || slices.Contains([]string{"$-1\r\n", "*-1\r\n", "_\r\n"}, want[0]) {
				if !pykvOnly[name] {
					t.Errorf("redis-server has no %s", name)
				}
				continue
			}
			g, w := respElems(t, got[0]), respElems(t, want[0])
			if len(g) != 10 || len(w) != 10 {
				t.Fatalf("RESP%d COMMAND INFO %s: %d fields from pykvd, %d from redis-server", proto, name, len(g), len(w))
			}
			for i := range g {
				if i == 9 && len(respElems(t, w[i])) > 0 {
					// A container's subcommands, each compared as a name of
					// its own; here only their type (an array, not a set).
					if g[i][0] != w[i][0] {
						t.Errorf("RESP%d COMMAND INFO %s, subcommands: pykvd's start %q, redis-server's %q", proto, name, g[i][:1], w[i][:1])
					}
					continue
				}
				if g[i] != w[i] {
					differs[name] = append(differs[name], i)
					if !slices.Contains(commandInfoDiffers[name], i) {
						t.Errorf("RESP%d COMMAND INFO %s, %s:\n pykvd        %q\n redis-server %q",
							proto, name, commandInfoFields[i], g[i], w[i])
					}
				}
			}
		}
		for name, fields := range commandInfoDiffers {
			for _, i := range fields {
				if !slices.Contains(differs[name], i) {
					t.Errorf("RESP%d COMMAND INFO %s, %s: listed as differing, but is redis-server's", proto, name, commandInfoFields[i])
				}
			}
		}
		// COMMAND answers each top-level command's COMMAND INFO entry.
		all := respElems(t, p.call("COMMAND"))
		if len(all) != len(spec.All()) {
			t.Fatalf("RESP%d COMMAND: %d entries for %d commands", proto, len(all), len(spec.All()))
		}
		for i, sp := range spec.All() {
			if all[i] != entries[sp.Name] {
				t.Errorf("RESP%d COMMAND's entry of %s %q, COMMAND INFO's %q", proto, sp.Name, all[i], entries[sp.Name])
			}
		}
	}
}

// TestGoRedisCommandLikeRedis (twin): go-redis's Command, which its
// cluster client reads to route commands, parses from pykvd, over RESP2
// and RESP3, for every command redis-server has too, what it parses from
// redis-server: arity, flags, ACL categories, first key, last key, key
// step, read-only, and the request and response policies and other tips
// it makes of the tips, but for commandInfoDiffers.
func TestGoRedisCommandLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	for _, proto := range []int{2, 3} {
		got, err := newRedis(t, tw.pykv.RESPAddr(), proto, nil).Command(testCtx(t)).Result()
		if err != nil {
			t.Fatalf("RESP%d pykvd COMMAND: %v", proto, err)
		}
		want, err := newRedis(t, tw.redisAddr, proto, nil).Command(testCtx(t)).Result()
		if err != nil {
			t.Fatalf("RESP%d redis-server COMMAND: %v", proto, err)
		}
		if len(got) != len(spec.All()) {
			t.Errorf("RESP%d: go-redis parsed %d commands from pykvd, which has %d", proto, len(got), len(spec.All()))
		}
		compared := 0
		for name, g := range got {
			w, ok := want[name]
			if !ok {
				continue // COMPACT, EXPORT, BACKUP: pykv's own
			}
			compared++
			if slices.Contains(commandInfoDiffers[name], 1) {
				g.Arity = w.Arity
			}
			if slices.Contains(commandInfoDiffers[name], 2) {
				g.Flags = w.Flags
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("RESP%d go-redis COMMAND %s:\n pykvd        %+v %+v\n redis-server %+v %+v", proto, name, g, g.CommandPolicy, w, w.CommandPolicy)
			}
		}
		if compared < 75 {
			t.Errorf("RESP%d: only %d commands compared", proto, compared)
		}
		// Cluster routing reads these: the first key of MSET, every other
		// argument, and DEL's and MGET's fan-out over shards.
		if m := got["mset"]; m == nil || m.FirstKeyPos != 1 || m.StepCount != 2 || m.CommandPolicy == nil || m.CommandPolicy.Request.String() != "multi_shard" {
			t.Errorf("RESP%d go-redis COMMAND mset from pykvd: %+v", proto, m)
		}
	}
}

// respElems splits one RESP2 or RESP3 reply, raw, into the raw bytes of
// each of its elements (a map's keys and values in turn); none for a
// reply that is not an aggregate, or a null one.
func respElems(t *testing.T, raw string) []string {
	t.Helper()
	n, body := respHeader(t, raw)
	var elems []string
	for range n {
		end := respSkip(t, body)
		elems = append(elems, body[:end])
		body = body[end:]
	}
	if body != "" {
		t.Fatalf("RESP reply %q: %q after its elements", raw, body)
	}
	return elems
}

// respHeader returns how many elements the aggregate reply raw has (0 if
// it is none) and the bytes after its header line.
func respHeader(t *testing.T, raw string) (int, string) {
	t.Helper()
	line, rest, ok := strings.Cut(raw, "\r\n")
	if !ok || line == "" || !strings.ContainsRune("*~>%|", rune(line[0])) {
		return 0, ""
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil {
		t.Fatalf("RESP header %q: %v", line, err)
	}
	if line[0] == '%' || line[0] == '|' {
		n *= 2
	}
	return max(n, 0), rest
}

// respSkip returns the length of the one reply raw begins with.
func respSkip(t *testing.T, raw string) int {
	t.Helper()
	line, _, ok := strings.Cut(raw, "\r\n")
	if !ok || line == "" {
		t.Fatalf("RESP reply %q: no line", raw)
	}
	head := len(line) + 2
	switch line[0] {
	case '$', '=', '!':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			t.Fatalf("RESP length %q: %v", line, err)
		}
		if n < 0 {
			return head
		}
		return head + n + 2
	case '*', '~', '>', '%', '|':
		n, body := respHeader(t, raw)
		end := head
		for range n {
			k := respSkip(t, body)
			body, end = body[k:], end+k
		}
		return end
	default: // + - : , # _ (
		return head
	}
}
