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
// While someone does, the command's path only copies what the line is made
// of (the time, the client's address, the arguments' bytes) into each
// monitor's pending batch, under one mutex for all monitors (so that every
// monitor sees the commands in one order, and the times, read under it,
// never go back), and wakes the monitor's connection when its batch was
// empty; the connection's goroutine formats the lines, writes the whole
// batch and flushes once (MonitorStream.Drain), so that no command pays
// for Redis's quoting or a wake-up of its own. After a batch the monitor
// is held for MonitorHold: the lines of the commands that run meanwhile
// wait for the hold to end (or for monitorFlushLines of them, or
// monitorFlushBytes), and leave together, so that a busy server wakes a
// monitor's goroutine and writes to its socket about once per MonitorHold,
// not every few commands, while a line after a quiet spell leaves at once.
// The hold delays a line by at most MonitorHold beyond the writing of the
// batch before it (and the timer's lateness); it never reorders or drops
// one. A monitor whose backlog (lines pending and being written) reaches
// monitorBacklog lines or monitorBacklogBytes bytes of held commands is
// disconnected, never waited for, so that a slow monitor cannot slow the
// writers; what it was sent up to then it got whole and in order.

// The bounds of one monitor's backlog.
const (
	monitorBacklog      = 4096
	monitorBacklogBytes = 32 << 20
)

// MonitorHold is how long a monitor is held after each batch it is sent,
// collecting the lines of the commands that run meanwhile: the longest a
// line waits for it beyond the time to write the batch before (and what
// lateness the timer and the scheduler add on a busy machine). A
// millisecond is too short for a person watching to notice, and at 40,000
// commands a second a batch then carries some 40 lines where the wake-ups
// alone gathered 15 to 25, with as many fewer writes to the monitor's
// socket and wake-ups of its reader (docs/performance.md, "What a MONITOR
// costs"). It is well under the time a busy server takes to fill the
// backlog (4096 lines are 14 ms at 300,000 commands a second).
const MonitorHold = time.Millisecond

// monitorFlushLines and monitorFlushBytes end a hold early: a batch that
// holds that many lines, or commands of that many bytes, is sent at once,
// so that a hold never brings a monitor near its backlog's bounds.
const (
	monitorFlushLines = monitorBacklog / 8
	monitorFlushBytes = monitorBacklogBytes / 8
)

// monitorEntryBytes is what a pending line holds beside its arguments'
// bytes (its entry and argument lengths), counted against
// monitorBacklogBytes.
const monitorEntryBytes = 64

// MonitorStream is what a front end serves a monitoring connection from,
// once MONITOR's reply is sent (Session.Monitor): wait for Ready, Drain
// the lines into the connection and flush, until Gone or the connection
// ends, then Stop.
type MonitorStream struct {
	m    *monitor
	stop func()
}

// Ready receives a value when lines wait to be drained: at the first
// line after a quiet spell, when the hold after a Drain ends with lines
// waiting (MonitorHold), or when so many wait that the hold ends early.
func (ms *MonitorStream) Ready() <-chan struct{} { return ms.m.ready }

// Gone is closed when the table disconnected the monitor for not keeping
// up: the front end closes the connection.
func (ms *MonitorStream) Gone() <-chan struct{} { return ms.m.gone }

// Drain hands emit each waiting line, as a status reply, in the order the
// commands ran, and returns emit's first error. The reply's bytes are
// valid only during the call to emit. Drain is called by one goroutine at
// a time, the connection's.
func (ms *MonitorStream) Drain(emit func(Reply) error) error { return ms.m.drain(emit) }

// Stop ends the monitoring; the front end calls it once, when it stops
// serving the connection for any reason.
func (ms *MonitorStream) Stop() { ms.stop() }

// monitorBatch is lines waiting to be formatted: per line an entry, and
// the bytes of every argument one after another in args, their lengths in
// lens.
type monitorBatch struct {
	entries []monitorEntry
	lens    []int
	args    []byte
	bytes   int64 // held, for monitorBacklogBytes
}

// monitorEntry is one command to show: when it ran (Unix microseconds),
// who ran it, and how many of the batch's arguments are its.
type monitorEntry struct {
	us   int64
	addr string
	sp   *Spec
	argc int
	size int64 // counted against monitorBacklogBytes
}

func (b *monitorBatch) reset() {
	clear(b.entries) // let go of the addresses and specs
	b.entries, b.lens, b.args, b.bytes = b.entries[:0], b.lens[:0], b.args[:0], 0
}

// monitor is one monitoring connection.
type monitor struct {
	id    uint64
	ready chan struct{} // capacity 1: a wake-up is pending
	gone  chan struct{}

	mu       *sync.Mutex // the set's feed, shared by every monitor
	pending  monitorBatch
	inflight int   // lines taken by drain and not yet released (drainRelease)
	inBytes  int64 // their bytes
	dropped  bool
	held     bool      // a batch was taken less than MonitorHold ago: offer wakes nobody
	hold     holdTimer // ends the hold: release
	goneOnce sync.Once

	// What only drain's goroutine touches.
	spare monitorBatch
	argv  [][]byte
	line  []byte
}

// holdTimer is what ends a monitor's hold: a *time.Timer of
// time.AfterFunc, or a test's.
type holdTimer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// monitorSet is the monitoring connections, copied on write, so that a
// command reads it with one atomic load and no lock.
type monitorSet struct {
	mu   sync.Mutex // serialises changes
	list atomic.Pointer[[]*monitor]

	// feed guards every monitor's pending batch and backlog: a command
	// adds its line to all of them under one lock, so that two monitors
	// never see two commands in different orders.
	feed sync.Mutex

	// newHold, when set (by tests), makes the timer that calls release
	// instead of time.AfterFunc.
	newHold func(release func()) holdTimer
}

// newMonitor returns a monitor for the session with ID id, its hold's
// timer made but not running.
func (ms *monitorSet) newMonitor(id uint64) *monitor {
	m := &monitor{id: id, ready: make(chan struct{}, 1), gone: make(chan struct{}), mu: &ms.feed}
	if ms.newHold != nil {
		m.hold = ms.newHold(m.release)
	} else {
		t := time.AfterFunc(time.Hour, m.release)
		t.Stop()
		m.hold = t
	}
	return m
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
	m := t.monitors.newMonitor(s.ID)
	s.mon = m
	if e := s.conn; e != nil {
		e.monitor.Store(true)
	}
	t.monitors.add(m)
	s.Monitor = &MonitorStream{m: m, stop: func() { t.stopMonitor(s) }}
	return OK
}

// stopMonitor ends s's monitoring, if any.
func (t *Table) stopMonitor(s *Session) {
	if s.mon == nil {
		return
	}
	t.monitors.remove(s.mon)
	s.mon.hold.Stop()
	s.mon = nil
	if e := s.conn; e != nil {
		e.monitor.Store(false)
	}
}

// feedMonitors offers the line of argv, run by s, to every monitor: the
// time it ran and copies of its arguments, formatted later by each
// monitor's connection.
func (t *Table) feedMonitors(list []*monitor, s *Session, sp *Spec, argv [][]byte) {
	if sp.Flags&FlagAdmin != 0 {
		return
	}
	size := int64(monitorEntryBytes + len(s.RemoteAddr))
	for _, a := range argv {
		size += int64(len(a)) + 8
	}
	t.monitors.feed.Lock()
	us := time.Now().UnixMicro() // under the lock: the lines' times never go back
	for _, m := range list {
		if !m.offerLocked(us, s.RemoteAddr, sp, argv, size) {
			t.dropMonitor(m)
		}
	}
	t.monitors.feed.Unlock()
}

// offerLocked adds one line to m's pending batch and wakes m's connection
// if the batch was empty and m is not held, or if the batch reaches
// monitorFlushLines lines or monitorFlushBytes. It reports false, adding
// nothing, when m's backlog is full: m is to be dropped. The caller holds
// m.mu.
func (m *monitor) offerLocked(us int64, addr string, sp *Spec, argv [][]byte, size int64) bool {
	p := &m.pending
	if m.dropped || len(p.entries)+m.inflight >= monitorBacklog || p.bytes+m.inBytes+size > monitorBacklogBytes {
		m.dropped = true
		return false
	}
	n := len(p.entries)
	wake := (n == 0 && !m.held) || n+1 == monitorFlushLines ||
		(p.bytes < monitorFlushBytes && p.bytes+size >= monitorFlushBytes)
	p.entries = append(p.entries, monitorEntry{us: us, addr: addr, sp: sp, argc: len(argv), size: size})
	for _, a := range argv {
		p.lens = append(p.lens, len(a))
		p.args = append(p.args, a...)
	}
	p.bytes += size
	if wake { // a send that never blocks; the lock is held for a wake-up per hold at most
		m.wake()
	}
	return true
}

// wake makes Ready receive, unless it already would.
func (m *monitor) wake() {
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// release ends m's hold, run by its timer MonitorHold after drain took a
// batch, and wakes m's connection if lines wait.
func (m *monitor) release() {
	m.mu.Lock()
	m.held = false
	wake := len(m.pending.entries) > 0
	m.mu.Unlock()
	if wake {
		m.wake()
	}
}

// drainRelease is how many emitted lines drain releases from the backlog
// at a time: one lock per that many lines.
const drainRelease = 256

// drain takes the pending batch, formats and emits its lines, and gives
// its memory back for the next batch. The lines stay counted in the
// backlog until they are emitted, released drainRelease at a time. Taking
// lines starts a hold of MonitorHold.
func (m *monitor) drain(emit func(Reply) error) error {
	m.mu.Lock()
	b := m.pending
	m.pending = m.spare
	m.inflight, m.inBytes = len(b.entries), b.bytes
	if len(b.entries) > 0 {
		m.held = true
		m.hold.Reset(MonitorHold)
	}
	m.mu.Unlock()
	var err error
	arg, off := 0, 0
	var doneLines int
	var doneBytes int64
	for i, e := range b.entries {
		m.argv = m.argv[:0]
		for _, n := range b.lens[arg : arg+e.argc] {
			m.argv = append(m.argv, b.args[off:off+n])
			off += n
		}
		arg += e.argc
		if err == nil {
			m.line = monitorLine(m.line[:0], e.us, e.addr, e.sp, m.argv)
			err = emit(Reply{Kind: KindStatus, Bytes: m.line})
		}
		doneLines++
		doneBytes += e.size
		if (i+1)%drainRelease == 0 {
			m.mu.Lock()
			m.inflight -= doneLines
			m.inBytes -= doneBytes
			m.mu.Unlock()
			doneLines, doneBytes = 0, 0
		}
	}
	b.reset()
	clear(m.argv)
	m.mu.Lock()
	m.spare = b
	m.inflight, m.inBytes = 0, 0
	m.mu.Unlock()
	return err
}

// dropMonitor disconnects a monitor that did not keep up: it is sent
// nothing more, and its front end closes the connection.
func (t *Table) dropMonitor(m *monitor) {
	m.goneOnce.Do(func() {
		close(m.gone)
		t.monitors.remove(m)
		m.hold.Stop()
	})
}

// monitorLine appends Redis's monitor line, without its "+" and line end:
// the time (Unix microseconds us) with six decimals, "[0 addr]" and each
// argument quoted, with AUTH's arguments and HELLO's AUTH username and
// password redacted.
func monitorLine(b []byte, us int64, addr string, sp *Spec, argv [][]byte) []byte {
	b = strconv.AppendInt(b, us/1e6, 10)
	var frac [7]byte
	strconv.AppendInt(frac[:0], 1e6+us%1e6, 10) // 1 and six digits, zero-padded
	b = append(b, '.')
	b = append(b, frac[1:]...)
	b = append(b, " [0 "...)
	b = append(b, addr...)
	b = append(b, "] "...)
	redact := redacted(sp, argv)
	for j, a := range argv {
		if j > 0 {
			b = append(b, ' ')
		}
		if j < len(redact) && redact[j] {
			a = redactedArg
		}
		b = redisfmt.AppendRepr(b, a)
	}
	return b
}

// redactedArg is what a monitor sees of a redacted argument.
var redactedArg = []byte("(redacted)")

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
