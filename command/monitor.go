package command

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/internal/redisfmt"
)

// MONITOR streams every command that runs to each monitoring connection,
// as Redis prints it: "+1700000000.123456 [0 127.0.0.1:5555] "SET" "k"
// "v"", the arguments quoted as Redis's sdscatrepr quotes them. Like
// Redis, it shows a command once it has run (the commands of a
// transaction as EXEC runs them, before EXEC's own line), leaves out
// commands refused before they run and admin commands, and redacts AUTH's
// and HELLO ... AUTH's arguments.
//
// It costs a command nothing but one atomic load while nobody monitors.
// While someone does, each command formats its line once and offers it
// to every monitor without waiting: a monitor whose backlog reaches
// monitorBacklog lines or monitorBacklogBytes bytes is disconnected,
// never waited for, so that a slow monitor cannot slow the writers; what
// it was sent up to then it got whole and in order.

// The bounds of one monitor's backlog.
const (
	monitorBacklog      = 4096
	monitorBacklogBytes = 32 << 20
)

// MonitorStream is what a front end serves a monitoring connection from,
// once MONITOR's reply is sent (Session.Monitor).
type MonitorStream struct {
	// Lines are the monitor's lines, as status replies, in the order the
	// commands ran.
	Lines <-chan Reply
	// Gone is closed when the table disconnected the monitor for not
	// keeping up: the front end closes the connection.
	Gone <-chan struct{}
	// Sent is called with each line once written, to release its bytes
	// from the backlog's bound.
	Sent func(Reply)
	// Stop ends the monitoring; the front end calls it once, when it stops
	// serving the connection for any reason.
	Stop func()
}

// monitor is one monitoring connection.
type monitor struct {
	id     uint64
	lines  chan Reply
	bytes  atomic.Int64
	gone   chan struct{}
	goneMu sync.Once
}

// monitorSet is the monitoring connections, copied on write, so that a
// command reads it with one atomic load and no lock.
type monitorSet struct {
	mu   sync.Mutex // serialises changes
	list atomic.Pointer[[]*monitor]
}

func (ms *monitorSet) add(m *monitor) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	var next []*monitor
	if cur := ms.list.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, m)
	ms.list.Store(&next)
}

func (ms *monitorSet) remove(m *monitor) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	cur := ms.list.Load()
	if cur == nil {
		return
	}
	var next []*monitor
	for _, x := range *cur {
		if x != m {
			next = append(next, x)
		}
	}
	if len(next) == 0 {
		ms.list.Store(nil)
		return
	}
	ms.list.Store(&next)
}

// MONITOR: the reply is OK, and then the connection is a monitor
// (Session.Monitor). Run by EXEC, it is Redis's error for a client that
// expects one reply per command.
func (t *Table) monitorCmd(s *Session, _ [][]byte) Reply {
	if s.tx.running != nil {
		return Err("MONITOR isn't allowed for DENY BLOCKING client")
	}
	if s.mon != nil {
		return OK
	}
	m := &monitor{id: s.ID, lines: make(chan Reply, monitorBacklog), gone: make(chan struct{})}
	s.mon = m
	if e := s.conn; e != nil {
		e.monitor.Store(true)
	}
	t.monitors.add(m)
	s.Monitor = &MonitorStream{Lines: m.lines, Gone: m.gone,
		Sent: func(r Reply) { m.bytes.Add(-int64(len(r.Bytes))) },
		Stop: func() { t.stopMonitor(s) }}
	return OK
}

// stopMonitor ends s's monitoring, if any.
func (t *Table) stopMonitor(s *Session) {
	if s.mon == nil {
		return
	}
	t.monitors.remove(s.mon)
	s.mon = nil
	if e := s.conn; e != nil {
		e.monitor.Store(false)
	}
}

// feedMonitors offers the line of argv, run by s, to every monitor.
func (t *Table) feedMonitors(list []*monitor, s *Session, sp *Spec, argv [][]byte) {
	if sp.Flags&FlagAdmin != 0 {
		return
	}
	line := Reply{Kind: KindStatus, Bytes: monitorLine(nil, time.Now(), s.RemoteAddr, sp, argv)}
	for _, m := range list {
		if m.bytes.Add(int64(len(line.Bytes))) > monitorBacklogBytes {
			t.dropMonitor(m)
			continue
		}
		select {
		case m.lines <- line:
		default:
			t.dropMonitor(m)
		}
	}
}

// dropMonitor disconnects a monitor that did not keep up: it is sent
// nothing more, and its front end closes the connection.
func (t *Table) dropMonitor(m *monitor) {
	m.goneMu.Do(func() {
		close(m.gone)
		t.monitors.remove(m)
	})
}

// monitorLine appends Redis's monitor line, without its "+" and line end:
// the time with microseconds, "[0 addr]" and each argument quoted, with
// AUTH's arguments and HELLO's AUTH username and password redacted.
func monitorLine(b []byte, now time.Time, addr string, sp *Spec, argv [][]byte) []byte {
	us := now.UnixMicro()
	b = strconv.AppendInt(b, us/1e6, 10)
	b = append(b, '.')
	frac := strconv.AppendInt(nil, us%1e6, 10)
	for range 6 - len(frac) {
		b = append(b, '0')
	}
	b = append(b, frac...)
	b = append(b, " [0 "...)
	b = append(b, addr...)
	b = append(b, "] "...)
	redact := redacted(sp, argv)
	for j, a := range argv {
		if j > 0 {
			b = append(b, ' ')
		}
		if j < len(redact) && redact[j] {
			a = []byte("(redacted)")
		}
		b = redisfmt.AppendRepr(b, a)
	}
	return b
}

// redacted marks the arguments a monitor must not see: AUTH's, and the
// username and password of each of HELLO's AUTH options. Unlike Redis,
// which redacts only once it has parsed them, they are redacted in a
// command that fails too (AUTH a b c, HELLO 4 AUTH u p).
func redacted(sp *Spec, argv [][]byte) []bool {
	var r []bool
	switch sp.Name {
	case "auth":
		r = make([]bool, len(argv))
		for j := 1; j < len(argv); j++ {
			r[j] = true
		}
	case "hello":
		r = make([]bool, len(argv))
		for j := 2; j < len(argv); j++ {
			more := len(argv) - 1 - j
			switch {
			case is(argv[j], "AUTH") && more >= 2:
				r[j+1], r[j+2] = true, true
				j += 2
			case is(argv[j], "SETNAME") && more >= 1:
				j++
			}
		}
	}
	return r
}
