package command

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMonitorLineQuotesAsRedis(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	get, _ := Lookup([]byte("get"))
	auth, _ := Lookup([]byte("auth"))
	hello, _ := Lookup([]byte("hello"))
	for _, tc := range []struct {
		sp   *Spec
		argv []string
		want string
	}{
		{get, []string{"GET", "k"}, `1700000000.123456 [0 127.0.0.1:5555] "GET" "k"`},
		{get, []string{"get", "a\"b\\c"}, `1700000000.123456 [0 127.0.0.1:5555] "get" "a\"b\\c"`},
		{get, []string{"GET", "\x01\xff\t\n\r\a\b\x7f ~\x00"}, `1700000000.123456 [0 127.0.0.1:5555] "GET" "\x01\xff\t\n\r\a\b\x7f ~\x00"`},
		{get, []string{"GET", ""}, `1700000000.123456 [0 127.0.0.1:5555] "GET" ""`},
		{auth, []string{"AUTH", "pw"}, `1700000000.123456 [0 127.0.0.1:5555] "AUTH" "(redacted)"`},
		{auth, []string{"auth", "u", "pw"}, `1700000000.123456 [0 127.0.0.1:5555] "auth" "(redacted)" "(redacted)"`},
		{auth, []string{"AUTH", "a", "b", "c"}, `1700000000.123456 [0 127.0.0.1:5555] "AUTH" "(redacted)" "(redacted)" "(redacted)"`},
		{hello, []string{"HELLO", "3", "SETNAME", "AUTH", "AUTH", "u", "p"}, `1700000000.123456 [0 127.0.0.1:5555] "HELLO" "3" "SETNAME" "AUTH" "AUTH" "(redacted)" "(redacted)"`},
		{hello, []string{"HELLO", "3", "AUTH", "u"}, `1700000000.123456 [0 127.0.0.1:5555] "HELLO" "3" "AUTH" "u"`},
	} {
		argv := make([][]byte, len(tc.argv))
		for i, a := range tc.argv {
			argv[i] = []byte(a)
		}
		if got := string(monitorLine(nil, at.UnixMicro(), "127.0.0.1:5555", tc.sp, argv)); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.argv, got, tc.want)
		}
	}
	if got := string(monitorLine(nil, time.Unix(5, 7000).UnixMicro(), "a", get, [][]byte{[]byte("PING")})); got != `5.000007 [0 a] "PING"` {
		t.Errorf("microseconds are not zero-padded: %s", got)
	}
}

// drainLines drains what m holds and returns the lines, copied.
func drainLines(t *testing.T, m *MonitorStream) []string {
	t.Helper()
	var lines []string
	if err := m.Drain(func(r Reply) error {
		if r.Kind != KindStatus {
			t.Errorf("monitor line %v is not a status", r)
		}
		lines = append(lines, string(r.Bytes))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return lines
}

// monitorFixture is a table with n monitoring sessions and a client.
func monitorFixture(t *testing.T, n int) (*Table, []*Session, *Session) {
	tab := New(newMemStore(), Config{})
	var mons []*Session
	for range n + 1 {
		s := tab.NewSession()
		s.RemoteAddr = "127.0.0.1:1"
		tab.Connect(s)
		t.Cleanup(func() { tab.EndSession(s) })
		mons = append(mons, s)
	}
	for _, s := range mons[:n] {
		if r := tab.Exec(s, [][]byte{[]byte("MONITOR")}); r.Kind != KindOK {
			t.Fatalf("MONITOR: %v", r)
		}
	}
	return tab, mons[:n], mons[n]
}

func isGone(m *MonitorStream) bool {
	select {
	case <-m.Gone():
		return true
	default:
		return false
	}
}

// TestMonitorDisconnectsASlowMonitor: a monitor that reads nothing is
// disconnected once its backlog is full, and the commands go on without
// waiting for it; one that keeps up gets every line.
func TestMonitorDisconnectsASlowMonitor(t *testing.T) {
	tab, mons, client := monitorFixture(t, 2)
	slow, fast := mons[0], mons[1]
	for i := range monitorBacklog + 10 {
		tab.Exec(client, [][]byte{[]byte("SET"), []byte("k"), []byte("v" + strconv.Itoa(i))})
		select { // the monitor that keeps up is woken and drains each line as it comes
		case <-fast.Monitor.Ready():
		default:
			t.Fatalf("command %d: the monitor that keeps up was not woken", i)
		}
		lines := drainLines(t, fast.Monitor)
		if want := `] "SET" "k" "v` + strconv.Itoa(i) + `"`; len(lines) != 1 || !strings.HasSuffix(lines[0], want) {
			t.Fatalf("command %d: lines %q", i, lines)
		}
	}
	if !isGone(slow.Monitor) {
		t.Error("the monitor that reads nothing is still connected")
	}
	if isGone(fast.Monitor) {
		t.Error("the monitor that keeps up was disconnected")
	}
	if list := bytesOf(tab.Exec(client, [][]byte{[]byte("CLIENT"), []byte("LIST")})); strings.Count(list, "flags=O ") != 2 {
		t.Errorf("CLIENT LIST does not flag both monitors O:\n%s", list)
	}
	slow.Monitor.Stop()
	fast.Monitor.Stop()
	if tab.monitors.list.Load() != nil {
		t.Error("monitors remain after Stop")
	}
}

// TestMonitorBatches: lines wait in one batch, woken once, drained in the
// order the commands ran; the lines being written still count in the
// backlog, so that a monitor whose write takes too long is dropped too,
// until drainRelease of them are written;
// and a backlog of more than monitorBacklogBytes of commands drops a
// monitor before its line count does.
func TestMonitorBatches(t *testing.T) {
	tab, mons, client := monitorFixture(t, 1)
	m := mons[0].Monitor
	const n = monitorBacklog - 50
	for i := range n {
		tab.Exec(client, [][]byte{[]byte("INCR"), []byte("c" + strconv.Itoa(i))})
	}
	<-m.Ready()
	select {
	case <-m.Ready():
		t.Error("woken twice for one batch")
	default:
	}
	var lines []string
	err := m.Drain(func(r Reply) error {
		if len(lines) == 0 { // while the batch is written, 60 more commands run
			for i := range 60 {
				tab.Exec(client, [][]byte{[]byte("INCR"), []byte("late" + strconv.Itoa(i))})
			}
		}
		lines = append(lines, string(r.Bytes))
		return nil
	})
	if err != nil || len(lines) != n {
		t.Fatalf("drained %d lines, %v", len(lines), err)
	}
	for i, l := range lines {
		if !strings.HasSuffix(l, `] "INCR" "c`+strconv.Itoa(i)+`"`) {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	if !isGone(m) {
		t.Error("not dropped with its written and pending lines past the backlog")
	}

	// Once drainRelease lines of a batch are written, they leave the
	// backlog, before the batch ends.
	tab, mons, client = monitorFixture(t, 1)
	m = mons[0].Monitor
	for i := range n {
		tab.Exec(client, [][]byte{[]byte("INCR"), []byte("c" + strconv.Itoa(i))})
	}
	emitted := 0
	m.Drain(func(Reply) error {
		if emitted++; emitted == drainRelease+1 {
			for i := range 60 {
				tab.Exec(client, [][]byte{[]byte("INCR"), []byte("late" + strconv.Itoa(i))})
			}
		}
		return nil
	})
	if isGone(m) {
		t.Error("dropped although the lines written made room")
	}
	if lines := drainLines(t, m); len(lines) != 60 || !strings.HasSuffix(lines[59], `"late59"`) {
		t.Errorf("then drained %d lines", len(lines))
	}

	tab, mons, client = monitorFixture(t, 1)
	m = mons[0].Monitor
	big := make([]byte, 1<<20)
	for range monitorBacklogBytes>>20 - 1 { // 31 MiB and a little
		tab.Exec(client, [][]byte{[]byte("SET"), []byte("k"), big})
	}
	if isGone(m) {
		t.Fatal("dropped before its backlog held 32 MiB")
	}
	tab.Exec(client, [][]byte{[]byte("SET"), []byte("k"), big}) // past 32 MiB
	if !isGone(m) {
		t.Error("not dropped with more than 32 MiB held")
	}
	if lines := drainLines(t, m); len(lines) != monitorBacklogBytes>>20-1 {
		t.Errorf("%d lines held, want those that fit in 32 MiB", len(lines))
	}
}

func bytesOf(r Reply) string { return string(r.Bytes) }

func TestClientReplyMutes(t *testing.T) {
	f := newFixture(t, Config{})
	type want struct {
		cmd  string
		mute bool
	}
	for i, w := range []want{
		{"PING", false},
		{"CLIENT REPLY OFF", true},
		{"PING", true},
		{"CLIENT REPLY SKIP", true}, // OFF stays
		{"PING", true},
		{"CLIENT REPLY ON", false},
		{"CLIENT REPLY SKIP", true},
		{"PING", true},
		{"PING", false},
		{"CLIENT REPLY bad", false},
	} {
		f.exec(strings.Fields(w.cmd)...)
		if f.s.Mute != w.mute {
			t.Errorf("step %d %s: Mute = %v", i, w.cmd, f.s.Mute)
		}
	}
}

func TestShutdownCallsTheHook(t *testing.T) {
	calls := 0
	var fail error
	f := newFixture(t, Config{Shutdown: func() error { calls++; return fail }})
	f.run([]step{
		{cmd: "SHUTDOWN NOW NOW", want: "OK"},
	})
	if calls != 1 || !f.s.Drop {
		t.Fatalf("SHUTDOWN: %d calls, Drop %v", calls, f.s.Drop)
	}
	f.s.Drop = false
	fail = errors.New("no")
	f.run([]step{
		{cmd: "SHUTDOWN", want: "(error) ERR Errors trying to SHUTDOWN. Check logs."},
		{cmd: "SHUTDOWN SAVE", want: "(error) ERR Errors trying to SHUTDOWN. Check logs."}, // the memStore cannot merge
		{cmd: "SAVE", want: "(error) ERR SAVE is not supported by this storage engine"},
	})
	if calls != 2 || f.s.Drop {
		t.Errorf("after refusals: %d calls, Drop %v", calls, f.s.Drop)
	}
	g := newFixture(t, Config{})
	g.run([]step{{cmd: "SHUTDOWN", want: "(error) ERR SHUTDOWN is not supported by this server"}})
}

// TestResetStat: CONFIG RESETSTAT zeroes commandstats, errorstats and the
// stats counters, those the daemon and the engine count included.
func TestResetStat(t *testing.T) {
	si := ServerInfo{TotalConnections: 7, RejectedConnections: 2}
	f := newFixture(t, Config{Info: func() ServerInfo { return si }})
	f.run([]step{
		{cmd: "SET a 1", want: "OK"},
		{cmd: "GET a", want: `"1"`},
		{cmd: "GET b", want: "(nil)"},
		{cmd: "GET", want: "(error) ERR wrong number of arguments for 'get' command"},
		{cmd: "NOSUCH", want: "(error) ERR unknown command 'NOSUCH', with args beginning with: "},
	})
	_, stats := f.info("commandstats", "errorstats", "stats")
	for name, want := range map[string]string{
		"errorstat_ERR":              "count=2",
		"total_error_replies":        "2",
		"keyspace_hits":              "1",
		"total_connections_received": "7",
	} {
		if stats[name] != want {
			t.Errorf("before RESETSTAT %s = %q, want %q", name, stats[name], want)
		}
	}
	if !strings.HasPrefix(stats["cmdstat_get"], "calls=2,usec=") || !strings.HasSuffix(stats["cmdstat_get"], ",rejected_calls=1,failed_calls=0") {
		t.Errorf("cmdstat_get = %q", stats["cmdstat_get"])
	}
	f.run([]step{{cmd: "CONFIG RESETSTAT", want: "OK"}})
	si.TotalConnections = 9
	_, stats = f.info("commandstats", "errorstats", "stats")
	for name, want := range map[string]string{
		"errorstat_ERR":              "",
		"total_error_replies":        "0",
		"keyspace_hits":              "0",
		"keyspace_misses":            "0",
		"total_connections_received": "2",
		"rejected_connections":       "0",
		"total_commands_processed":   "1", // CONFIG RESETSTAT itself, and INFO not yet
		"cmdstat_get":                "",
	} {
		if stats[name] != want {
			t.Errorf("after RESETSTAT %s = %q, want %q", name, stats[name], want)
		}
	}
	if !strings.HasPrefix(stats["cmdstat_config|resetstat"], "calls=1,") {
		t.Errorf("cmdstat_config|resetstat = %q", stats["cmdstat_config|resetstat"])
	}
}

func TestTimeAndLastsave(t *testing.T) {
	f := newFixture(t, Config{})
	f.run([]step{
		{cmd: "TIME", want: `["1700000000" "0"]`},
		{cmd: "LASTSAVE", want: "(integer) 1700000000"},
		{advance: 1500 * time.Microsecond, cmd: "TIME", want: `["1700000000" "1500"]`},
		{cmd: "BGSAVE", want: "(error) ERR BGSAVE is not supported by this storage engine"},
		{cmd: "MEMORY USAGE k", want: "(error) ERR MEMORY USAGE is not supported by this storage engine"},
	})
}
