package command

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// fakeHold is a monitor's hold timer that ends only when the test fires
// it (and never by itself): the hold's rules are then tested without
// waiting for a clock.
type fakeHold struct {
	release func()
	armed   bool
	d       time.Duration // of the last Reset
	resets  int
	stopped bool
}

func (h *fakeHold) Reset(d time.Duration) bool {
	was := h.armed
	h.armed, h.d = true, d
	h.resets++
	return was
}

func (h *fakeHold) Stop() bool {
	was := h.armed
	h.armed, h.stopped = false, true
	return was
}

// fire ends the hold as its timer would.
func (h *fakeHold) fire(t *testing.T) {
	t.Helper()
	if !h.armed {
		t.Fatal("the hold fired is not running")
	}
	h.armed = false
	h.release()
}

func holdOf(m *MonitorStream) *fakeHold { return m.m.hold.(*fakeHold) }

func isReady(m *MonitorStream) bool {
	select {
	case <-m.Ready():
		return true
	default:
		return false
	}
}

// monitorFixture is a table with n monitoring sessions, their holds
// fake (holdOf), and a client.
func monitorFixture(t *testing.T, n int) (*Table, []*Session, *Session) {
	tab := New(newMemStore(), Config{})
	tab.monitors.newHold = func(release func()) holdTimer { return &fakeHold{release: release} }
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
		holdOf(fast.Monitor).fire(t)
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
	if !holdOf(slow.Monitor).stopped || !holdOf(fast.Monitor).stopped {
		t.Error("a monitor's hold timer runs on after it stopped")
	}
}

// TestMonitorHold: the first line after a quiet spell wakes the monitor
// at once; the lines of the commands that run in the MonitorHold after a
// batch wake nobody until the hold ends, and then leave together, in
// order; a hold that ends with nothing pending leaves the monitor
// unheld; and monitorFlushLines lines, or monitorFlushBytes of commands,
// end a hold early.
func TestMonitorHold(t *testing.T) {
	tab, mons, client := monitorFixture(t, 1)
	m := mons[0].Monitor
	h := holdOf(m)
	incr := func(key string) { tab.Exec(client, [][]byte{[]byte("INCR"), []byte(key)}) }

	incr("first")
	if !isReady(m) {
		t.Fatal("the first line did not wake the monitor")
	}
	if l := drainLines(t, m); len(l) != 1 {
		t.Fatalf("drained %q", l)
	}
	if !h.armed || h.d != MonitorHold {
		t.Fatalf("after a batch the hold is armed %v for %v, want %v", h.armed, h.d, MonitorHold)
	}
	for i := range 10 {
		incr("held" + strconv.Itoa(i))
		if isReady(m) {
			t.Fatalf("command %d woke a held monitor", i)
		}
	}
	h.fire(t)
	if !isReady(m) {
		t.Fatal("the end of the hold did not wake the monitor with lines waiting")
	}
	lines := drainLines(t, m)
	for i, l := range lines {
		if !strings.HasSuffix(l, `"held`+strconv.Itoa(i)+`"`) {
			t.Fatalf("line %d of the held batch: %q", i, l)
		}
	}
	if len(lines) != 10 {
		t.Fatalf("drained %d held lines, want 10", len(lines))
	}

	// Nothing ran during this hold: it ends quietly and the next line
	// wakes the monitor at once.
	h.fire(t)
	if isReady(m) {
		t.Fatal("a hold with nothing pending woke the monitor")
	}
	if l := drainLines(t, m); len(l) != 0 || h.armed {
		t.Fatalf("an empty drain took %q and armed the hold %v", l, h.armed)
	}
	incr("quiet")
	if !isReady(m) {
		t.Fatal("the line after a quiet hold did not wake the monitor")
	}
	drainLines(t, m)

	// Held, monitorFlushLines lines end the hold early.
	for i := range monitorFlushLines - 1 {
		incr("k" + strconv.Itoa(i))
	}
	if isReady(m) {
		t.Fatalf("%d lines ended the hold", monitorFlushLines-1)
	}
	incr("last")
	if !isReady(m) {
		t.Fatalf("%d lines did not end the hold", monitorFlushLines)
	}
	if l := drainLines(t, m); len(l) != monitorFlushLines || !strings.HasSuffix(l[len(l)-1], `"last"`) {
		t.Fatalf("drained %d lines, want %d", len(l), monitorFlushLines)
	}

	// Held, commands of monitorFlushBytes end it too.
	big := make([]byte, 1<<20)
	for i := range monitorFlushBytes>>20 - 1 {
		tab.Exec(client, [][]byte{[]byte("SET"), []byte("k"), big})
		if isReady(m) {
			t.Fatalf("%d MiB ended the hold", i+1)
		}
	}
	tab.Exec(client, [][]byte{[]byte("SET"), []byte("k"), big})
	if !isReady(m) {
		t.Fatalf("%d MiB of commands did not end the hold", monitorFlushBytes>>20)
	}
	if l := drainLines(t, m); len(l) != monitorFlushBytes>>20 {
		t.Fatalf("drained %d lines", len(l))
	}
	if isGone(m) {
		t.Error("a monitor that kept up was dropped")
	}
}

// TestMonitorHoldTimer: with the real timer, a held line leaves once the
// hold ends, and not before MonitorHold has passed since the batch was
// taken (a timer never fires early; how late it fires is the machine's).
func TestMonitorHoldTimer(t *testing.T) {
	tab := New(newMemStore(), Config{})
	mon, client := tab.NewSession(), tab.NewSession()
	for _, s := range []*Session{mon, client} {
		tab.Connect(s)
		t.Cleanup(func() { tab.EndSession(s) })
	}
	tab.Exec(mon, [][]byte{[]byte("MONITOR")})
	m := mon.Monitor
	defer m.Stop()
	tab.Exec(client, [][]byte{[]byte("PING")})
	<-m.Ready()
	taken := time.Now()
	drainLines(t, m)
	tab.Exec(client, [][]byte{[]byte("ECHO"), []byte("held")})
	select {
	case <-m.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the held line was not released within 10 s")
	}
	if waited := time.Since(taken); waited < MonitorHold {
		t.Errorf("the hold ended after %v, before MonitorHold (%v)", waited, MonitorHold)
	}
	if l := drainLines(t, m); len(l) != 1 || !strings.HasSuffix(l[0], `"ECHO" "held"`) {
		t.Errorf("drained %q", l)
	}
}

// TestMonitorsSeeOneOrder: commands of concurrent sessions reach every
// monitor in one order, each session's in the order it ran them, none
// lost or repeated, and the lines' times never go back.
func TestMonitorsSeeOneOrder(t *testing.T) {
	const clients, each = 8, 400 // fewer lines than the backlog holds
	tab := New(newMemStore(), Config{})
	var mons []*MonitorStream
	for range 3 {
		s := tab.NewSession()
		tab.Connect(s)
		t.Cleanup(func() { tab.EndSession(s) })
		tab.Exec(s, [][]byte{[]byte("MONITOR")})
		mons = append(mons, s.Monitor)
	}
	got := make([][]string, len(mons))
	var drainers sync.WaitGroup
	for i, m := range mons {
		drainers.Add(1)
		go func() {
			defer drainers.Done()
			defer m.Stop()
			for len(got[i]) < clients*each {
				select {
				case <-m.Ready():
				case <-m.Gone():
					return
				case <-time.After(10 * time.Second): // lines lost: fail, not hang
					return
				}
				m.Drain(func(r Reply) error { got[i] = append(got[i], string(r.Bytes)); return nil })
			}
		}()
	}
	var wg sync.WaitGroup
	for c := range clients {
		s := tab.NewSession()
		s.RemoteAddr = "c" + strconv.Itoa(c)
		tab.Connect(s)
		t.Cleanup(func() { tab.EndSession(s) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				tab.Exec(s, [][]byte{[]byte("SET"), []byte("k"), []byte(strconv.Itoa(j))})
			}
		}()
	}
	wg.Wait()
	drainers.Wait()
	for i, m := range mons {
		if isGone(m) {
			t.Fatalf("monitor %d was dropped", i)
		}
		if len(got[i]) != clients*each {
			t.Fatalf("monitor %d got %d lines, want %d", i, len(got[i]), clients*each)
		}
		if !slices.Equal(got[i], got[0]) {
			t.Fatalf("monitor %d saw another order than monitor 0", i)
		}
	}
	next := map[string]int{}
	var last float64
	for n, l := range got[0] {
		var at float64
		var who, val string
		if _, err := fmt.Sscanf(l, "%f [0 %s \"SET\" \"k\" %s", &at, &who, &val); err != nil {
			t.Fatalf("line %d %q: %v", n, l, err)
		}
		who = strings.TrimSuffix(who, "]")
		if want := `"` + strconv.Itoa(next[who]) + `"`; val != want {
			t.Fatalf("line %d %q: client %s's value %s, want %s", n, l, who, val, want)
		}
		next[who]++
		if at < last {
			t.Fatalf("line %d %q: its time goes back from %f", n, l, last)
		}
		last = at
	}
	if len(next) != clients {
		t.Errorf("lines of %d clients, want %d", len(next), clients)
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
