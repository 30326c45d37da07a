//go:build linux

package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
)

// The event loop serves RESP connections as Redis's ae does: each loop
// waits in epoll_wait (level-triggered) for the sockets that are ready,
// reads each once, runs every whole command it got, and before it waits
// again makes the turn's writes durable (one Wait covers them all under
// everysec) and writes each connection's replies with one write(2). A
// request then costs one read and one write, where a goroutine per
// connection also pays the read that finds the socket empty, the park in
// Go's network poller and the wake-up that follows.
//
// What may block a loop is kept off it:
//
//   - Under fsync always (Config.WaitBlocks), the wait for the fsync runs
//     in a goroutine of the turn's; the connections it covers read
//     nothing until it is done, and the loop serves the others meanwhile.
//   - Commands that wait, or that keep the connection for themselves
//     (handoffCommands: WAIT, PSYNC, MONITOR, EXPORT, SAVE, SHUTDOWN ...),
//     are not run on the loop: the connection, its session and what it
//     had buffered are handed to the goroutine server (serveTaken), which
//     serves it from then on.
//   - A request that has not arrived whole within handoffRequest bytes
//     (a large value) is handed over as well, so that the loop never
//     re-parses a long partial request as its bytes come in.
//
// Requests are parsed by netproto/resp's Reader, the one the goroutine
// server uses, over a bufio.Reader of the same size filled from the bytes
// received: a request that has not arrived whole is parsed again from its
// first byte when more come.

// handoffRequest is the most bytes of one request the loop buffers
// before it hands the connection to the goroutine server.
const handoffRequest = 64 << 10

// handoffCommands are the commands that may block, or that keep the
// connection (a stream, a monitor, replication), run by the goroutine
// server instead of a loop.
var handoffCommands = map[string]bool{
	"wait": true, "waitaof": true, "psync": true, "sync": true, "monitor": true,
	"export": true, "save": true, "backup": true, "shutdown": true,
	"replicaof": true, "slaveof": true, "flushall": true, "flushdb": true,
	"debug": true,
}

// isHandoff reports whether name, in any case, is one of handoffCommands.
func isHandoff(name []byte) bool {
	if len(name) < 4 || len(name) > 9 {
		return false
	}
	var lower [9]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return handoffCommands[string(lower[:len(name)])]
}

// errNeedMore is what a connection's input returns once its bytes are
// parsed: the request in progress waits for the next read.
var errNeedMore = errors.New("pykv/server: request incomplete")

// inputSource gives a loop's bufio.Reader the bytes a connection received,
// then errNeedMore.
type inputSource struct {
	b   []byte
	pos int
}

func (s *inputSource) Read(p []byte) (int, error) {
	if s.pos == len(s.b) {
		return 0, errNeedMore
	}
	n := copy(p, s.b[s.pos:])
	s.pos += n
	return n, nil
}

// outputSink appends what a loop's bufio.Writer flushes to the reply
// bytes of the connection being served.
type outputSink struct{ c *loopConn }

func (s *outputSink) Write(p []byte) (int, error) {
	s.c.out = append(s.c.out, p...)
	return len(p), nil
}

// eventLoops serves the Server's listener from Config.EventLoops loops.
type eventLoops struct {
	s     *Server
	lfd   int
	loops []*eventLoop
}

// serveEventLoops serves the listener with event loops until Shutdown.
// ok false means it cannot (the listener has no file descriptor), and
// the caller serves a goroutine per connection instead.
func (s *Server) serveEventLoops() (ok bool, err error) {
	sc, isConn := s.ln.(syscall.Conn)
	if !isConn {
		return false, nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	lfd := -1
	if err := raw.Control(func(fd uintptr) { lfd = int(fd) }); err != nil || lfd < 0 {
		return false, nil
	}
	n := s.cfg.EventLoops
	if n <= 0 {
		n = DefaultEventLoops()
	}
	el := &eventLoops{s: s, lfd: lfd}
	for i := range n {
		l, err := newEventLoop(s, el, lfd, i)
		if err != nil {
			for _, l := range el.loops {
				l.closeFDs()
			}
			return true, err
		}
		el.loops = append(el.loops, l)
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		for _, l := range el.loops {
			l.closeFDs()
		}
		return true, nil
	}
	s.loops = el
	var done sync.WaitGroup
	for _, l := range el.loops {
		done.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer done.Done()
			l.run()
		}()
	}
	s.mu.Unlock()
	s.log.Info("serving from event loops", "addr", s.Addr().String(), "loops", n)
	done.Wait()
	return true, nil
}

// EventLoops returns how many event loops serve the listener: 0 while
// Serve has not started them, or when a goroutine per connection serves
// (Config.EventLoop off, TLS, a listener without a descriptor).
func (s *Server) EventLoops() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.loops.(*eventLoops); ok {
		return len(el.loops)
	}
	return 0
}

// stop makes every loop stop accepting, serve what its connections have
// buffered, and close them; it returns once no loop accepts any more, so
// that the listener can be closed.
func (el *eventLoops) stop() {
	var acks sync.WaitGroup
	for _, l := range el.loops {
		acks.Add(1)
		if !l.post(func() { l.beginStop(); acks.Done() }) {
			acks.Done() // it has ended: an earlier Shutdown stopped it
		}
	}
	acks.Wait()
}

// closeAll closes every connection of every loop at once (Shutdown's
// context ended).
func (el *eventLoops) closeAll() {
	for _, l := range el.loops {
		l.post(func() {
			for _, c := range l.conns {
				l.closeConn(c)
			}
		})
	}
}

// eventLoop is one goroutine's epoll set: the listener, its connections
// and an eventfd that other goroutines wake it with (post).
type eventLoop struct {
	s   *Server
	set *eventLoops
	id  int
	// load counts the loop's connections, and those posted to it, for
	// the choice of a loop for each new one.
	load atomic.Int64
	epfd int
	efd  int
	lfd  int // the listener's, while this loop accepts

	conns    map[int]*loopConn
	stopping bool

	mu     sync.Mutex // guards tasks and dead, and efd's closing
	tasks  []func()
	dead   bool // the loop has ended: posts are dropped
	woken  atomic.Bool
	events []unix.EpollEvent
	rbuf   []byte // what a read gets when the connection had nothing pending

	// acceptAgain, when set, is when the listener, taken out of the
	// epoll set after an accept error (out of descriptors), goes back.
	acceptAgain time.Time

	// Shared by the loop's connections, one served at a time.
	br    *bufio.Reader
	bw    *bufio.Writer
	src   inputSource
	sink  outputSink
	argv  [][]byte
	dirty []*loopConn // connections with replies to send this turn
	spare []*loopConn // the storage of the last turn's dirty list

	nextSweep time.Time
}

func newEventLoop(s *Server, set *eventLoops, lfd, id int) (*eventLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("pykv/server: event loop: epoll_create1: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("pykv/server: event loop: eventfd: %w", err)
	}
	l := &eventLoop{s: s, set: set, id: id, epfd: epfd, efd: efd, lfd: lfd, conns: map[int]*loopConn{},
		events: make([]unix.EpollEvent, 128), argv: make([][]byte, 0, 8), rbuf: make([]byte, bufSize)}
	l.br = bufio.NewReaderSize(&l.src, bufSize)
	l.bw = bufio.NewWriterSize(&l.sink, bufSize)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("pykv/server: event loop: epoll_ctl eventfd: %w", err)
	}
	// EPOLLEXCLUSIVE: a new connection wakes one loop, not all.
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(lfd)}); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("pykv/server: event loop: epoll_ctl listener: %w", err)
	}
	return l, nil
}

// closeFDs ends the loop: posts are refused from now on, and those that
// came after its last turn run here (a Shutdown's stop, whose ack its
// caller waits for).
func (l *eventLoop) closeFDs() {
	l.mu.Lock()
	l.dead = true
	unix.Close(l.epfd)
	unix.Close(l.efd)
	tasks := l.tasks
	l.tasks = nil
	l.mu.Unlock()
	for _, fn := range tasks {
		fn()
	}
}

// post runs fn on the loop's goroutine at its next turn; after the loop
// has ended, never, and it returns false.
func (l *eventLoop) post(fn func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return false
	}
	l.tasks = append(l.tasks, fn)
	if !l.woken.Swap(true) {
		one := [8]byte{1}
		unix.Write(l.efd, one[:])
	}
	return true
}

func (l *eventLoop) runTasks() {
	var buf [8]byte
	unix.Read(l.efd, buf[:])
	l.woken.Store(false)
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = nil
	l.mu.Unlock()
	for _, fn := range tasks {
		fn()
	}
}

// sweepEvery is how often a loop checks its connections' timeouts: a
// tenth of the shortest timeout, within [minSweep, maxSweep].
func (l *eventLoop) sweepEvery() time.Duration {
	d := maxSweep
	to := l.s.timeouts.Load()
	for _, t := range []time.Duration{to.Idle, to.Auth, to.Request, to.Write} {
		if t > 0 {
			d = min(d, t/10)
		}
	}
	return max(d, minSweep)
}

const (
	minSweep = 5 * time.Millisecond
	maxSweep = 250 * time.Millisecond
)

func (l *eventLoop) run() {
	defer l.closeFDs()
	l.nextSweep = time.Now().Add(l.sweepEvery())
	for {
		if l.stopping && len(l.conns) == 0 {
			return
		}
		wait := int(time.Until(l.nextSweep) / time.Millisecond)
		n, err := unix.EpollWait(l.epfd, l.events, max(wait, 0))
		if err != nil && err != unix.EINTR {
			l.s.log.Error("event loop: epoll_wait failed", "loop", l.id, "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for _, ev := range l.events[:max(n, 0)] {
			fd := int(ev.Fd)
			switch {
			case fd == l.efd:
				l.runTasks()
			case fd == l.lfd:
				l.accept()
			default:
				if c := l.conns[fd]; c != nil {
					l.ready(c, ev.Events)
				}
			}
		}
		l.flushDirty()
		if now := time.Now(); !now.Before(l.nextSweep) {
			if !l.acceptAgain.IsZero() && !now.Before(l.acceptAgain) && !l.stopping {
				l.acceptAgain = time.Time{}
				unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.lfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(l.lfd)})
			}
			l.sweep(now)
			l.nextSweep = now.Add(l.sweepEvery())
		}
	}
}

// beginStop is Shutdown's order: accept no more, serve what every
// connection has buffered, send the replies and close.
func (l *eventLoop) beginStop() {
	l.stopping = true
	if l.lfd >= 0 {
		if l.acceptAgain.IsZero() {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lfd, nil)
		}
		l.lfd = -1
	}
	for _, c := range l.conns {
		c.eof = true
		l.serve(c)
		l.finish(c)
	}
}

func (l *eventLoop) accept() {
	for !l.stopping {
		fd, sa, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR && err != unix.ECONNABORTED {
				// Out of descriptors and the like: the listener stays
				// readable, so it leaves the epoll set for a while.
				retry := 100 * time.Millisecond
				l.s.log.Error("accept failed", "err", err, "retry_in", retry)
				unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lfd, nil)
				l.acceptAgain = time.Now().Add(retry)
			}
			return
		}
		// The loop that accepted is the one epoll woke, often the same
		// one for a whole burst of connections: each goes to the loop
		// with the fewest, so that the loops share the cores.
		to := l
		for _, o := range l.set.loops {
			if o.load.Load() < to.load.Load() {
				to = o
			}
		}
		to.load.Add(1)
		if to == l || !to.post(func() { to.open(fd, sa) }) {
			if to != l {
				to.load.Add(-1)
				l.load.Add(1)
			}
			l.open(fd, sa)
		}
	}
}

// loopConn is one connection served by a loop.
type loopConn struct {
	fd   int
	sess *command.Session
	d    DeferredStore
	rd   *resp.Reader
	wr   *resp.Writer
	m    *meter
	log  *slog.Logger
	to   Timeouts

	in  []byte // received, not yet parsed: the request in progress, whole or not
	own []byte // c.in's storage when it is not the loop's read buffer
	out []byte // replies, sent once durable

	dirty bool // in the loop's dirty list

	events   uint32 // what epoll watches for
	sniffed  bool
	eof      bool // the peer closed its side, or the server stops: read no more
	quit     bool // close once the replies are out
	waiting  bool // the replies wait for a Wait in another goroutine
	closed   bool
	lastRead time.Time
	authBy   time.Time
	reqSince time.Time // when the request in progress began to arrive
	stalled  time.Time // when out last made no progress
	// handed is the goroutine server's Kill once the loop handed the
	// connection over.
	handed atomic.Pointer[func()]
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	case *unix.SockaddrInet6:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	}
	return ""
}

func (l *eventLoop) open(fd int, sa unix.Sockaddr) {
	s := l.s
	if l.stopping { // accepted by another loop as this one stopped
		unix.Close(fd)
		l.load.Add(-1)
		return
	}
	n := s.cfg.Clients.Add(1)
	if maxClients := s.maxClients.Load(); maxClients > 0 && n > maxClients {
		// Counted before the client can read the refusal, which is
		// small: it fits an empty socket buffer.
		s.cfg.Clients.Add(-1)
		s.rejected.Add(1)
		msg := "-ERR " + errTooManyClients.Error() + "\r\n"
		unix.Write(fd, []byte(msg))
		unix.Close(fd)
		l.load.Add(-1)
		s.log.Warn("refused connection: max clients reached", "max_clients", maxClients)
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c := &loopConn{fd: fd, to: *s.timeouts.Load(), m: newMeter(bufSize, bufSize)}
	sess := s.table.NewSession()
	sess.RemoteAddr = sockaddrString(sa)
	if la, err := unix.Getsockname(fd); err == nil {
		sess.LocalAddr = sockaddrString(la)
	}
	sess.FD = fd
	sess.Kill = func() {
		if k := c.handed.Load(); k != nil {
			(*k)()
			return
		}
		l.post(func() {
			if !c.closed {
				l.closeConn(c)
			} else if k := c.handed.Load(); k != nil {
				(*k)() // handed over while the kill was on its way
			}
		})
	}
	sess.Buffers = c.m.pub
	c.sess = sess
	s.table.Connect(sess)
	if s.cfg.Deferred != nil {
		c.d = s.cfg.Deferred()
		sess.Store = c.d
	}
	lim := resp.Limits{}
	if p, ok := s.proto.(RESP); ok {
		lim = p.Limits
	}
	c.rd = resp.NewReader(l.br, lim)
	c.wr = resp.NewWriter(l.bw)
	c.rd.SetUnauthenticated(!sess.Authed)
	c.lastRead = time.Now()
	if !sess.Authed && c.to.Auth > 0 {
		c.authBy = c.lastRead.Add(c.to.Auth)
	}
	c.log = s.log.With("client", sess.RemoteAddr, "id", sess.ID)
	c.events = unix.EPOLLIN
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: c.events, Fd: int32(fd)}); err != nil {
		c.log.Error("event loop: epoll_ctl", "err", err)
		s.table.EndSession(sess)
		unix.Close(fd)
		l.load.Add(-1)
		s.cfg.Clients.Add(-1)
		return
	}
	l.conns[fd] = c
	s.accepted.Add(1)
}

// watch sets what epoll reports of c: input while it reads, room to
// write while replies wait for it.
func (l *eventLoop) watch(c *loopConn) {
	if c.closed {
		return // its descriptor is closed, or the goroutine server's
	}
	var ev uint32
	if !c.eof && !c.waiting && len(c.out) == 0 {
		ev |= unix.EPOLLIN
	}
	if len(c.out) > 0 && !c.waiting {
		ev |= unix.EPOLLOUT
	}
	if ev != c.events {
		c.events = ev
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: ev, Fd: int32(c.fd)})
	}
}

// ready handles epoll's report of c.
func (l *eventLoop) ready(c *loopConn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 && len(c.out) > 0 && !c.waiting {
		if !l.write(c) {
			return
		}
		if len(c.out) == 0 {
			l.serve(c) // input left while the replies could not leave
			l.finish(c)
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) == 0 || c.eof || c.waiting || len(c.out) > 0 {
		return
	}
	// With nothing pending, the bytes go to the loop's buffer, and only
	// a request that has not arrived whole is copied to the
	// connection's own: an idle connection holds no input buffer.
	borrowed := len(c.in) == 0
	var buf []byte
	if borrowed {
		buf = l.rbuf
	} else {
		if cap(c.in)-len(c.in) < bufSize {
			c.in = slices.Grow(c.in, bufSize)
		}
		buf = c.in[len(c.in):cap(c.in)]
	}
	n, err := unix.Read(c.fd, buf)
	switch {
	case n > 0:
		if borrowed {
			c.in = l.rbuf[:n]
		} else {
			c.in = c.in[:len(c.in)+n]
		}
		c.lastRead = time.Now()
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		c.log.Debug("closing connection: read failed", "err", err)
		l.closeConn(c)
		return
	default:
		c.eof = true
	}
	l.serve(c)
	if borrowed && !c.closed {
		c.in = append(c.own[:0], c.in...) // what is left: an incomplete request
		c.own = c.in
	}
	l.finish(c)
}

// finish queues c's replies for the end of the turn, or closes it when
// it is done.
func (l *eventLoop) finish(c *loopConn) {
	if c.closed {
		return
	}
	if len(c.out) > 0 || c.waiting {
		l.markDirty(c)
		return
	}
	if c.quit || c.eof {
		l.closeConn(c)
		return
	}
	l.watch(c)
}

func (l *eventLoop) markDirty(c *loopConn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// serve runs the whole requests c has received. It stops at an
// incomplete one, which stays in c.in, and hands the connection over for
// a command that may block.
func (l *eventLoop) serve(c *loopConn) {
	if c.closed || c.waiting || c.quit {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("panic in connection handler; closing the connection", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			l.closeConn(c)
		}
	}()
	l.sink.c = c
	l.bw.Reset(&l.sink)
	defer func() {
		l.bw.Flush()
		l.sink.c = nil
	}()
	if !c.sniffed {
		switch native, undecided := nativePrefix(c.in); {
		case undecided:
			l.checkRequest(c, 0)
			return
		case native:
			c.wr.WriteReply(command.Err(errNativeOnRESP.Error()))
			c.log.Info("closing connection", "err", errNativeOnRESP)
			c.in, c.quit = nil, true
			return
		}
		c.sniffed = true
	}
	l.src.b, l.src.pos = c.in, 0
	l.br.Reset(&l.src)
	done := 0 // bytes of c.in parsed into whole commands
	for !c.quit && !c.closed {
		start := done
		argv, err := c.rd.ReadCommand(l.argv[:0])
		l.argv = argv[:0]
		if err != nil {
			if errors.Is(err, errNeedMore) {
				break
			}
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				c.wr.WriteReply(pe.Reply())
			}
			c.log.Info("closing connection", "err", err)
			c.in, c.quit = nil, true
			return
		}
		done = l.src.pos - l.br.Buffered()
		c.m.setQuery(int64(len(c.in) - done))
		c.m.setBuffered(int64(len(c.out) + l.bw.Buffered()))
		if isHandoff(argv[0]) {
			l.bw.Flush()
			l.handoff(c, c.in[start:])
			return
		}
		if !l.exec(c, argv) {
			return
		}
		if c.sess.Takeover != nil || c.sess.Monitor != nil || c.sess.Stream != nil {
			l.bw.Flush()
			l.handoff(c, c.in[done:])
			return
		}
	}
	rest := copy(c.in, c.in[done:])
	c.in = c.in[:rest]
	l.checkRequest(c, done)
	if c.closed {
		return // handed over: the connection and its meter are the goroutine server's
	}
	c.m.setQuery(int64(len(c.in)))
	if cap(c.in) > maxKeep && len(c.in) < bufSize {
		c.in = append([]byte(nil), c.in...)
	}
}

// maxKeep is the most input buffer a connection keeps between requests.
const maxKeep = 64 << 10

// checkRequest keeps the clock of the request in progress (for
// RequestTimeout), and hands a connection whose request has grown past
// handoffRequest to the goroutine server. done is how much of what was
// buffered was whole requests.
func (l *eventLoop) checkRequest(c *loopConn, done int) {
	switch {
	case len(c.in) == 0:
		c.reqSince = time.Time{}
	case done > 0 || c.reqSince.IsZero():
		c.reqSince = c.lastRead // its first bytes came with the last read
	}
	if len(c.in) > handoffRequest && !c.quit && !c.closed {
		l.bw.Flush()
		l.handoff(c, c.in)
	}
}

// exec runs one command and encodes its reply; false means the
// connection is done (SHUTDOWN's drop).
func (l *eventLoop) exec(c *loopConn, argv [][]byte) bool {
	sess := c.sess
	authed := sess.Authed
	reply := l.s.table.Exec(sess, argv)
	if sess.Authed != authed {
		c.rd.SetUnauthenticated(!sess.Authed)
		c.authBy = time.Time{}
	}
	if sess.Drop {
		c.quit, c.in = true, nil
		return false
	}
	if !sess.Mute {
		if p := max(sess.Proto, 2); p != c.wr.Proto() {
			c.wr.SetProto(p)
		}
		if err := c.wr.WriteReply(reply); err != nil {
			c.log.Debug("closing connection: reply not encoded", "err", err)
			c.quit, c.in = true, nil
			return false
		}
	}
	if sess.Quit {
		c.quit, c.in = true, nil
		return false
	}
	return true
}

// flushDirty sends the replies of the turn: once their writes (and the
// writes their reads saw) are durable, each connection's in one write.
// Under fsync always the wait runs in a goroutine of its own, and the
// connections it covers are sent from the turn after it ends.
func (l *eventLoop) flushDirty() {
	var later []*loopConn
	// Sending serves what came behind the replies, which may make more
	// replies: round after round until none is left.
	for len(l.dirty) > 0 {
		dirty := l.dirty
		l.dirty = l.spare[:0]
		for _, c := range dirty {
			c.dirty = false
		}
		for _, c := range dirty {
			if c.closed || c.waiting {
				continue
			}
			if c.d != nil && c.d.Pending() {
				if l.s.cfg.WaitBlocks != nil && l.s.cfg.WaitBlocks() {
					c.waiting = true
					l.watch(c)
					later = append(later, c)
					continue
				}
				if err := c.d.Wait(); err != nil {
					c.log.Debug("closing connection: write failed", "err", fmt.Errorf("pykv/netproto: replies withheld, their writes are not durable: %w", err))
					l.closeConn(c)
					continue
				}
			}
			l.send(c)
		}
		clear(dirty)
		l.spare = dirty[:0]
	}
	if len(later) > 0 {
		go l.waitDurable(later)
	}
}

// waitDurable waits, off the loop, until the replies of conns may be
// sent, and gives them back to the loop. The first Wait covers the
// others' writes in most cases, which then return at once.
func (l *eventLoop) waitDurable(conns []*loopConn) {
	errs := make([]error, len(conns))
	for i, c := range conns {
		errs[i] = c.d.Wait()
	}
	l.post(func() {
		for i, c := range conns {
			c.waiting = false
			if c.closed {
				continue
			}
			if errs[i] != nil {
				c.log.Debug("closing connection: write failed", "err", fmt.Errorf("pykv/netproto: replies withheld, their writes are not durable: %w", errs[i]))
				l.closeConn(c)
				continue
			}
			l.send(c)
		}
	})
}

// send writes c's replies and serves what it received meanwhile.
func (l *eventLoop) send(c *loopConn) {
	if !l.write(c) {
		return
	}
	if len(c.out) > 0 {
		l.watch(c)
		return
	}
	if len(c.in) > 0 && !c.quit {
		// Requests that came behind the replies (a wait, a full socket).
		l.serve(c)
		if len(c.out) > 0 || c.waiting {
			l.markDirty(c)
			return
		}
	}
	if c.quit || c.eof || l.stopping {
		l.closeConn(c)
		return
	}
	l.watch(c)
}

// write writes what it can of c.out; false means it closed c.
func (l *eventLoop) write(c *loopConn) bool {
	n, err := unix.Write(c.fd, c.out)
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		c.log.Debug("closing connection: write failed", "err", err)
		l.closeConn(c)
		return false
	}
	if n > 0 {
		// A partial write moves the rest down, so that c.out keeps its
		// storage for the next replies.
		c.out = c.out[:copy(c.out, c.out[n:])]
		c.stalled = time.Time{}
	}
	if len(c.out) == 0 {
		if cap(c.out) > maxKeep {
			c.out = nil
		}
		c.m.setBuffered(0)
	} else {
		if c.stalled.IsZero() {
			c.stalled = time.Now()
		}
		c.m.setBuffered(int64(len(c.out)))
	}
	return true
}

// sweep applies the timeouts: idle, auth, request and write.
func (l *eventLoop) sweep(now time.Time) {
	for _, c := range l.conns {
		to := c.to
		switch {
		case c.waiting:
		case len(c.out) > 0:
			if to.Write > 0 && !c.stalled.IsZero() && now.Sub(c.stalled) >= to.Write {
				c.log.Warn("closing connection: replies not read within write_timeout", "write_timeout", to.Write)
				l.closeConn(c)
			}
		case !c.authBy.IsZero() && !c.sess.Authed && !now.Before(c.authBy):
			l.lastWords(c, errAuthTimeout)
			c.log.Info("closing connection: not authenticated within auth_timeout", "auth_timeout", to.Auth)
		case to.Request > 0 && !c.reqSince.IsZero() && now.Sub(c.reqSince) >= to.Request:
			l.lastWords(c, errRequestTimeout)
			c.log.Info("closing connection: request not received whole within request_timeout", "request_timeout", to.Request)
		case to.Idle > 0 && now.Sub(c.lastRead) >= to.Idle:
			l.closeConn(c)
		}
	}
}

// lastWords sends why c is closed, if the socket takes it at once, and
// closes it.
func (l *eventLoop) lastWords(c *loopConn, why command.Reply) {
	l.sink.c = c
	l.bw.Reset(&l.sink)
	c.wr.WriteReply(why)
	l.bw.Flush()
	l.sink.c = nil
	unix.Write(c.fd, c.out)
	l.closeConn(c)
}

// closeConn closes c and ends its session. Writes whose replies were
// never sent still become durable first, off the loop when that waits.
func (l *eventLoop) closeConn(c *loopConn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	l.load.Add(-1)
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	l.s.cfg.Clients.Add(-1)
	l.end(c)
}

// end ends c's session once what it wrote is durable.
func (l *eventLoop) end(c *loopConn) {
	if c.d != nil && c.d.Pending() {
		if l.s.cfg.WaitBlocks != nil && l.s.cfg.WaitBlocks() && !c.waiting {
			go func() { c.d.Wait(); l.s.table.EndSession(c.sess) }()
			return
		}
		if !c.waiting {
			c.d.Wait()
		}
	}
	l.s.table.EndSession(c.sess)
}

// handoff gives c to the goroutine server, with rest (what it received
// and the loop did not run) to read first and its replies so far to send
// first: it serves the connection from then on.
func (l *eventLoop) handoff(c *loopConn, rest []byte) {
	s := l.s
	rest = bytes.Clone(rest)
	out := c.out
	c.closed = true
	c.in, c.out = nil, nil
	delete(l.conns, c.fd)
	l.load.Add(-1)
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	f := os.NewFile(uintptr(c.fd), "resp")
	nc, err := net.FileConn(f) // a dup of the descriptor, in Go's poller
	f.Close()
	if err != nil {
		c.log.Error("event loop: hand-off failed; closing the connection", "err", err)
		s.cfg.Clients.Add(-1)
		l.end(c)
		return
	}
	kill := func() { nc.Close() }
	c.handed.Store(&kill)
	s.mu.Lock()
	if s.closing.Load() && len(rest) == 0 && len(out) == 0 && c.sess.Takeover == nil && c.sess.Monitor == nil && c.sess.Stream == nil {
		s.mu.Unlock()
		nc.Close()
		s.cfg.Clients.Add(-1)
		l.end(c)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.serveTaken(nc, c.sess, c.d, c.to, c.m, out, rest, c.authBy)
}

// serveTaken serves a connection a loop handed over: the replies out
// first, then the requests in rest, then what the connection sends.
func (s *Server) serveTaken(c net.Conn, sess *command.Session, d DeferredStore, to Timeouts, m *meter, out, rest []byte, authBy time.Time) {
	defer s.wg.Done()
	defer c.Close()
	defer s.cfg.Clients.Add(-1)
	defer s.table.EndSession(sess)
	if !s.track(c, true) {
		if d != nil {
			d.Wait()
		}
		return
	}
	defer s.track(c, false)
	dr := &deadlineReader{conn: c, idle: to.Idle, request: to.Request, auth: to.Auth, closing: &s.closing, meter: m, authBy: authBy}
	dw := &durableWriter{conn: c, timeout: to.Write, meter: m, d: d}
	if d != nil {
		defer d.Wait()
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), dr), bufSize)
	bw := bufio.NewWriterSize(dw, bufSize)
	m.br, m.bw = br, bw
	codec := s.proto.NewCodec(br, bw)
	if rc, ok := codec.(*respCodec); ok {
		rc.sniffed = true
	}
	codec.SetAuthenticated(sess.Authed)
	log := s.log.With("client", c.RemoteAddr().String(), "id", sess.ID)
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic in connection handler; closing the connection", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	bw.Write(out)
	switch {
	case sess.Takeover != nil:
		s.takeover(c, br, codec, sess, log)
		return
	case sess.Monitor != nil:
		s.monitor(c, codec, sess, log)
		return
	case sess.Stream != nil:
		if !s.stream(codec, sess, log) {
			return
		}
	}
	s.loop(dr, dw, br, codec, sess, log)
}

// nativePrefix tells whether b, the first bytes of a RESP connection,
// open with netproto.Magic (native), or are a prefix of it too short to
// tell (undecided).
func nativePrefix(b []byte) (native, undecided bool) {
	n := min(len(b), len(netproto.Magic))
	if !bytes.Equal(b[:n], []byte(netproto.Magic[:n])) {
		return false, false
	}
	return n == len(netproto.Magic), n < len(netproto.Magic)
}
