package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pykv/pykv/command"
)

// Codec frames one connection's commands and replies. The Server owns the
// loop; a Codec only translates bytes.
type Codec interface {
	// Handshake runs once, before the first command. A non-nil refuse
	// (too many clients) is answered in the protocol's own way, flushed,
	// and returned: the server then closes the connection.
	Handshake(refuse error) error
	// SetAuthenticated tells the codec whether the connection's session
	// has authenticated (or needs no password): before, it holds requests
	// to the small limits of UnauthMaxFrame and UnauthMaxArgs (RESP:
	// Redis's). The server calls it after the handshake and whenever a
	// command changed the session's Authed. A new codec is authenticated.
	SetAuthenticated(authed bool)
	// ReadCommand reads the next command's argv, reusing argv's storage.
	ReadCommand(argv [][]byte) ([][]byte, error)
	// WriteReply encodes one reply for the session (whose protocol version
	// may have changed, as HELLO 3 does in RESP).
	WriteReply(s *command.Session, r command.Reply) error
	// Buffered returns how many input bytes are already read: the server
	// flushes replies when it is zero.
	Buffered() int
	// Flush writes buffered replies out.
	Flush() error
	// ErrorReply turns a read error into the reply sent before the
	// connection closes; ok false means close without a reply (EOF).
	// recoverable reports whether the stream is still in step after the
	// reply, so that the connection can go on.
	ErrorReply(err error) (reply command.Reply, ok, recoverable bool)
}

// Protocol makes a Codec for each connection of a listener.
type Protocol interface {
	// Name names the protocol in logs ("native", "resp").
	Name() string
	// NewCodec wraps a connection's buffered reader and writer.
	NewCodec(r *bufio.Reader, w *bufio.Writer) Codec
}

// Config configures a Server. Zero values mean the documented
// defaults.
type Config struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:7379".
	Addr string
	// TLS, when set, makes the listener speak TLS.
	TLS *tls.Config
	// MaxClients bounds connections; one more gets an error reply and is
	// closed. Shared across listeners when Clients is shared. 0 = no
	// limit, as httpapi.Config.MaxConns.
	MaxClients int
	// Clients counts open connections; share one counter between the
	// listeners of a daemon so MaxClients bounds them together. nil = own.
	Clients *atomic.Int64
	// IdleTimeout closes a connection that sends nothing for this long:
	// it counts from the last byte received, so a long request that keeps
	// arriving, however slowly, is not cut. 0 = never.
	IdleTimeout time.Duration
	// AuthTimeout closes a connection that has not authenticated this long
	// after it was accepted, when the table wants a password (the daemon's
	// auth_timeout). It bounds how long a client that does not know the
	// password can hold a slot of MaxClients. 0 = never.
	AuthTimeout time.Duration
	// RequestTimeout closes a connection whose request has begun (its
	// first byte arrived) but has not arrived whole this long after: a
	// client that trickles a request a byte at a time, which IdleTimeout
	// never cuts, holds its slot and its partial request at most this
	// long. The time between requests is IdleTimeout's, not this. Redis
	// has no such bound; net/http's ReadTimeout is this bound for HTTP.
	// 0 = never.
	RequestTimeout time.Duration
	// WriteTimeout closes a connection whose replies make no progress for
	// this long: the kernel took none of the next WriteChunk bytes because
	// the client does not read them. Without it a client that sends
	// requests and never reads the replies holds its goroutine, its slot
	// and the reply it is blocked on for ever. 0 = never.
	WriteTimeout time.Duration
	// Logger receives connection events; default slog.Default.
	Logger *slog.Logger
	// Deferred, when set, makes each connection's store: the connection's
	// commands return once done in memory, and the server waits
	// (DeferredStore.Wait) until every write they made or saw is durable
	// before any bytes of their replies leave. A pipeline then shares one
	// wait, one write and under fsync always one fsync.
	Deferred func() DeferredStore
	// EventLoop, for RESP on Linux without TLS, serves the connections
	// from EventLoops epoll loops (eventloop_linux.go) instead of one
	// goroutine each; otherwise it is ignored.
	EventLoop bool
	// EventLoops is how many loops serve with EventLoop; 0 means
	// DefaultEventLoops().
	EventLoops int
	// WaitBlocks reports whether DeferredStore.Wait waits for an fsync
	// (fsync always): an event loop then waits in another goroutine,
	// not on the loop. nil means never.
	WaitBlocks func() bool
}

// DefaultEventLoops is how many event loops serve when Config.EventLoops
// is 0: one fewer than GOMAXPROCS, and at least one. A loop waits in
// epoll_wait holding a P (a processor of Go's scheduler) as a system call,
// and the runtime's monitor takes a P back from a system call that lasts
// past its tick (20 µs) whenever no other P is idle: were there a loop per
// P, it would take a waiting loop's P back again and again, waking a thread
// to hold it and moving the loop to another when its wait ends, and keep
// itself waking every 20 µs. The P left over keeps one idle for the rest
// of the daemon (the log's writer and syncer, the native protocol, HTTP,
// timers, the collector), so the loops keep theirs. Measured on 2 cores
// (docs/performance.md, "One loop fewer than the cores"), one loop spends
// 29% less CPU than two per unpipelined GET, 7% less per SET.
func DefaultEventLoops() int { return EventLoopsFor(runtime.GOMAXPROCS(0)) }

// EventLoopsFor is DefaultEventLoops for a GOMAXPROCS of procs.
func EventLoopsFor(procs int) int { return max(procs-1, 1) }

// DeferredStore runs one connection's commands without waiting for
// durability; Wait makes durable every write they made or saw.
// storage.Deferred implements it.
type DeferredStore interface {
	command.Store
	// Wait returns once every write the commands so far made or saw is
	// durable under the fsync policy; after an error, their replies must
	// not be sent.
	Wait() error
	// Pending reports whether the replies so far wait for Wait: false
	// once everything they made or saw is durable already.
	Pending() bool
}

// durableWriter is what a connection's buffered writer writes into: before
// any reply bytes reach the socket, the writes they acknowledge are made
// durable. A failed wait fails the write, and the connection closes with
// those replies unsent.
//
// It also keeps the write deadline: each WriteChunk of a write must be
// taken by the kernel within timeout (Config.WriteTimeout), counted
// from when that chunk's write began, so a slow reader of a large reply
// is not cut while it keeps reading, and one that reads nothing is. The
// wait for durability is not counted. by, when set, is a hard limit as
// well: the handshake's, or the last words before a close.
type durableWriter struct {
	conn    net.Conn
	d       DeferredStore
	timeout time.Duration
	by      time.Time
	set     bool   // a deadline is set on conn
	meter   *meter // what CLIENT LIST shows of the bytes being written
}

// WriteChunk is the most reply bytes written under one write deadline:
// a client must read at least this much every WriteTimeout.
const WriteChunk = 64 << 10

func (w *durableWriter) Write(p []byte) (int, error) {
	w.meter.writeStarts(len(p))
	defer w.meter.writeEnds()
	if w.d != nil {
		if err := w.d.Wait(); err != nil {
			return 0, fmt.Errorf("pykv/netproto: replies withheld, their writes are not durable: %w", err)
		}
	}
	if w.timeout <= 0 && w.by.IsZero() {
		if w.set {
			w.conn.SetWriteDeadline(time.Time{})
			w.set = false
		}
		return w.conn.Write(p)
	}
	n := 0
	for len(p) > 0 {
		var by time.Time
		if w.timeout > 0 {
			by = time.Now().Add(w.timeout)
		}
		if !w.by.IsZero() && (by.IsZero() || w.by.Before(by)) {
			by = w.by
		}
		w.conn.SetWriteDeadline(by)
		w.set = true
		m, err := w.conn.Write(p[:min(len(p), WriteChunk)])
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
		w.meter.writeLeft(len(p))
	}
	return n, nil
}

// bufSize is the per-connection read and write buffer.
const bufSize = 16 << 10

// handshakeTimeout bounds how long a new connection may take to say which
// protocol it speaks.
const handshakeTimeout = 10 * time.Second

// closeReplyTimeout bounds the write of the error that tells a client why
// it is being closed (not authenticated in time, a request not received
// in time): a client that reads nothing must not hold the close up.
const closeReplyTimeout = time.Second

// errTooManyClients refuses a connection over Config.MaxClients; its
// text is Redis's.
var errTooManyClients = errors.New("max number of clients reached")

// Server serves a command table over TCP with one goroutine per
// connection, buffered I/O, and a flush only when the input runs dry, so
// that pipelined replies come back in request order with few syscalls.
type Server struct {
	cfg   Config
	table *command.Table
	proto Protocol
	log   *slog.Logger

	ln       net.Listener
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	closing  atomic.Bool
	stopping chan struct{} // closed by Shutdown: connections taken over stop
	stopOnce sync.Once
	accepted atomic.Uint64
	rejected atomic.Uint64
	// maxClients is Config.MaxClients, changed by SetMaxClients.
	maxClients atomic.Int64
	// timeouts are Config's, changed by SetTimeouts.
	timeouts atomic.Pointer[Timeouts]
	// loops, set under mu, are the event loops that serve with
	// Config.EventLoop.
	loops loopSet
}

// loopSet is what Shutdown needs of the event loops.
type loopSet interface {
	// stop returns once no loop accepts; the loops then serve what their
	// connections have buffered, and close them.
	stop()
	// closeAll closes every connection of every loop.
	closeAll()
}

// Timeouts are Config's IdleTimeout, AuthTimeout, RequestTimeout and
// WriteTimeout, which SetTimeouts changes together.
type Timeouts struct {
	Idle, Auth, Request, Write time.Duration
}

// SetTimeouts changes the timeouts while the server serves: connections
// accepted from then on get the new ones; those open keep theirs.
func (s *Server) SetTimeouts(t Timeouts) { s.timeouts.Store(&t) }

// New returns a server of table speaking proto.
func New(cfg Config, table *command.Table, proto Protocol) *Server {
	if cfg.Clients == nil {
		cfg.Clients = new(atomic.Int64)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, table: table, proto: proto, conns: map[net.Conn]struct{}{},
		stopping: make(chan struct{}), log: cfg.Logger.With("listener", proto.Name())}
	s.maxClients.Store(int64(cfg.MaxClients))
	s.SetTimeouts(Timeouts{Idle: cfg.IdleTimeout, Auth: cfg.AuthTimeout, Request: cfg.RequestTimeout, Write: cfg.WriteTimeout})
	return s
}

// SetMaxClients changes Config.MaxClients while the server serves: it
// applies to connections accepted from now on; a lower limit closes none
// of those already open.
func (s *Server) SetMaxClients(n int) { s.maxClients.Store(int64(n)) }

// Listen binds the address; Serve then accepts on it.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("pykv/netproto: listen %s (%s): %w", s.cfg.Addr, s.proto.Name(), err)
	}
	s.UseListener(ln)
	return nil
}

// UseListener serves on an existing listener (socket activation).
func (s *Server) UseListener(ln net.Listener) {
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.ln = ln
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Protocol names the server's protocol ("native", "resp"), for logs.
func (s *Server) Protocol() string { return s.proto.Name() }

// Accepted and Rejected count connections served and refused.
func (s *Server) Accepted() uint64 { return s.accepted.Load() }

// Rejected counts connections refused because of MaxClients.
func (s *Server) Rejected() uint64 { return s.rejected.Load() }

// Serve accepts connections until Shutdown; it returns nil after Shutdown.
// It logs nothing of its start: the caller logs "listening" once Listen
// has bound the address, so that the log's order is the order of events.
func (s *Server) Serve() error {
	if _, isRESP := s.proto.(RESP); isRESP && s.cfg.EventLoop && s.cfg.TLS == nil {
		if ok, err := s.serveEventLoops(); ok {
			return err
		}
		s.log.Warn("event loop unavailable on this listener; serving a goroutine per connection")
	}
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			// Out of file descriptors and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Error("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		// Added under mu, as Shutdown sets closing before it waits: a
		// connection accepted as the server shuts down is either waited
		// for or closed here, never added while Wait runs.
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	if !s.track(c, true) {
		return
	}
	defer s.track(c, false)
	n := s.cfg.Clients.Add(1)
	defer s.cfg.Clients.Add(-1)

	sess := s.table.NewSession()
	defer s.table.EndSession(sess) // after the Wait below: releases its WATCHed keys
	sess.Native = s.proto.Name() == "native"
	sess.RemoteAddr = c.RemoteAddr().String()
	sess.LocalAddr = c.LocalAddr().String()
	sess.FD = connFD(c)
	sess.Kill = func() { c.Close() }
	m := newMeter(bufSize, bufSize)
	sess.Buffers = m.pub
	s.table.Connect(sess)
	to := s.timeouts.Load()
	dr := &deadlineReader{conn: c, idle: to.Idle, request: to.Request, auth: to.Auth, closing: &s.closing, meter: m}
	if !sess.Authed && to.Auth > 0 {
		dr.authBy = time.Now().Add(to.Auth)
	}
	dw := &durableWriter{conn: c, timeout: to.Write, meter: m}
	if s.cfg.Deferred != nil {
		dw.d = s.cfg.Deferred()
		sess.Store = dw.d
		// Writes whose replies were never read still become durable, so
		// that what other clients saw of them is not lost.
		defer dw.d.Wait()
	}
	br := bufio.NewReaderSize(dr, bufSize)
	bw := bufio.NewWriterSize(dw, bufSize)
	m.br, m.bw = br, bw
	codec := s.proto.NewCodec(br, bw)
	log := s.log.With("client", c.RemoteAddr().String(), "id", sess.ID)
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic in connection handler; closing the connection", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()

	var refuse error
	maxClients := s.maxClients.Load()
	if maxClients > 0 && n > maxClients {
		refuse = errTooManyClients
		s.rejected.Add(1) // before the client can read the refusal
	}
	dw.by = time.Now().Add(handshakeTimeout)
	dr.handshakeBy = dw.by
	if err := codec.Handshake(refuse); err != nil {
		if refuse != nil {
			log.Warn("refused connection: max clients reached", "max_clients", maxClients)
		} else {
			log.Debug("handshake failed", "err", err)
		}
		return
	}
	dw.by = time.Time{}
	dr.handshakeBy = time.Time{}
	m.parsed()
	s.accepted.Add(1)
	codec.SetAuthenticated(sess.Authed)
	s.loop(dr, dw, br, codec, sess, log)
}

// deadlineReader is what a connection's buffered reader reads from: before
// each read it sets the connection's read deadline to the nearest of the
// handshake's, the idle timeout's (counted from now, so from the last byte
// received, not from the start of a request), the request timeout's
// (counted from the first byte of the request being read) and, until the
// session has authenticated, AuthTimeout's. Shutdown wakes a blocked read
// with a deadline in the past; the check of closing after each deadline is
// set keeps a read that began just then from setting a later one over it.
type deadlineReader struct {
	conn        net.Conn
	idle        time.Duration
	request     time.Duration // RequestTimeout
	auth        time.Duration // AuthTimeout, for the log
	closing     *atomic.Bool
	handshakeBy time.Time // zero after the handshake
	authBy      time.Time // zero once authenticated, or when not asked for
	reading     bool      // a request is being read
	requestBy   time.Time // zero until the request's first byte arrives
	lastRead    time.Time // when the last read that returned bytes did
	set         bool      // a deadline is set on conn
	meter       *meter    // what CLIENT LIST shows of the bytes read
}

// beginRequest is called before each request is read; started says that
// its first bytes are already buffered, so they came with the last read:
// its time is the request's start, and a pipeline's requests cost no clock
// reading each.
func (d *deadlineReader) beginRequest(started bool) {
	d.reading, d.requestBy = d.request > 0, time.Time{}
	if d.reading && started {
		d.requestBy = d.lastRead.Add(d.request)
	}
}

// endRequest is called when a request has been read whole.
func (d *deadlineReader) endRequest() { d.reading, d.requestBy = false, time.Time{} }

func (d *deadlineReader) Read(p []byte) (int, error) {
	var by time.Time
	if d.idle > 0 {
		by = time.Now().Add(d.idle)
	}
	for _, t := range []time.Time{d.handshakeBy, d.authBy, d.requestBy} {
		if !t.IsZero() && (by.IsZero() || t.Before(by)) {
			by = t
		}
	}
	if !by.IsZero() || d.set {
		d.conn.SetReadDeadline(by)
		d.set = !by.IsZero()
	}
	if d.closing.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := d.conn.Read(p)
	if n > 0 {
		d.meter.got(n)
	}
	if n > 0 && d.request > 0 {
		d.lastRead = time.Now()
		if d.reading && d.requestBy.IsZero() {
			d.requestBy = d.lastRead.Add(d.request) // the request's first byte
		}
	}
	return n, err
}

// authTimedOut reports whether err is the AuthTimeout's deadline passing.
func (d *deadlineReader) authTimedOut(err error) bool {
	return timedOut(err, d.authBy)
}

// requestTimedOut reports whether err is the RequestTimeout's deadline
// passing.
func (d *deadlineReader) requestTimedOut(err error) bool {
	return timedOut(err, d.requestBy)
}

func timedOut(err error, by time.Time) bool {
	return !by.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(by)
}

// errAuthTimeout is sent to a connection closed by Config.AuthTimeout.
var errAuthTimeout = command.Errorf("NOAUTH", "Authentication required; not authenticated in time, closing the connection.")

// errRequestTimeout is sent to a connection closed by
// Config.RequestTimeout.
var errRequestTimeout = command.Errorf("ERR", "request not received whole within request_timeout, closing the connection")

// loop serves commands until the peer leaves, QUIT, a protocol error, or
// shutdown.
func (s *Server) loop(dr *deadlineReader, dw *durableWriter, br *bufio.Reader, codec Codec, sess *command.Session, log *slog.Logger) {
	defer func() {
		if sess.Stream != nil { // its command's reply was never sent
			run := sess.Stream
			sess.Stream = nil
			run(func(command.Reply) error { return errStreamAbandoned })
		}
	}()
	argv := make([][]byte, 0, 8)
	for {
		if codec.Buffered() == 0 {
			if err := codec.Flush(); err != nil {
				s.writeFailed(err, log)
				return
			}
			if s.closing.Load() {
				return
			}
		}
		var err error
		dr.beginRequest(codec.Buffered() > 0)
		argv, err = codec.ReadCommand(argv[:0])
		if err != nil {
			// Whatever ends the reading, the replies of the requests
			// already executed go out: their writes are applied.
			if s.closing.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
				codec.Flush()
				return
			}
			if !sess.Authed && dr.authTimedOut(err) {
				s.lastWords(dw, codec, sess, errAuthTimeout)
				log.Info("closing connection: not authenticated within auth_timeout", "auth_timeout", dr.auth)
				return
			}
			if dr.requestTimedOut(err) {
				s.lastWords(dw, codec, sess, errRequestTimeout)
				log.Info("closing connection: request not received whole within request_timeout", "request_timeout", dr.request)
				return
			}
			reply, send, recoverable := codec.ErrorReply(err)
			if send {
				codec.WriteReply(sess, reply)
			}
			codec.Flush()
			if !send || !recoverable {
				if !errors.Is(err, io.EOF) {
					log.Info("closing connection", "err", err)
				}
				return
			}
			continue
		}
		dr.endRequest()
		dr.meter.parsed()
		if len(argv) == 0 {
			continue
		}
		authed := sess.Authed
		reply := s.table.Exec(sess, argv)
		if sess.Authed != authed {
			codec.SetAuthenticated(sess.Authed)
			dr.authBy = time.Time{}
		}
		if sess.Drop { // SHUTDOWN: no reply, as the process exits
			codec.Flush()
			return
		}
		if !sess.Mute { // CLIENT REPLY OFF or SKIP
			if err := codec.WriteReply(sess, reply); err != nil {
				s.writeFailed(err, log)
				return
			}
		}
		if sess.Quit {
			codec.Flush()
			return
		}
		if sess.Takeover != nil {
			s.takeover(dr.conn, br, codec, sess, log)
			return
		}
		if sess.Monitor != nil {
			s.monitor(dr.conn, codec, sess, log)
			return
		}
		if sess.Stream != nil && !s.stream(codec, sess, log) {
			return
		}
	}
}

// errStreamAbandoned is what a stream's emit returns when the reply of
// its command could not be sent; errStreamShutdown when the server is
// shutting down.
var (
	errStreamAbandoned = errors.New("pykv/server: the connection failed before the stream started")
	errStreamShutdown  = errors.New("pykv/server: shutting down")
)

// stream runs the Session.Stream a command set (EXPORT) once its reply
// is out: every reply it emits is written and flushed, under the write
// timeout of every reply. It reports whether the connection can serve
// its next request.
func (s *Server) stream(codec Codec, sess *command.Session, log *slog.Logger) bool {
	run := sess.Stream
	sess.Stream = nil
	failed := codec.Flush() // the command's reply first, whatever the stream takes to start
	run(func(r command.Reply) error {
		if failed == nil && s.closing.Load() {
			failed = errStreamShutdown
		}
		if failed != nil {
			return failed
		}
		if failed = codec.WriteReply(sess, r); failed == nil {
			failed = codec.Flush()
		}
		return failed
	})
	if failed != nil {
		if !errors.Is(failed, errStreamShutdown) {
			s.writeFailed(failed, log)
		}
		return false
	}
	return true
}

// monitor serves a connection that ran MONITOR (command.MonitorStream):
// its reply first, then each batch of lines the table holds for it,
// written and flushed at once (a busy server's lines leave in few, large
// writes, one per command.MonitorHold or so), until the table drops the
// monitor for not keeping up, the client leaves or the server shuts down.
// What the client sends is read and discarded, so that its leaving is
// seen; the read has no deadline (Redis's timeout spares monitors), and
// Shutdown's wake-up ends it.
func (s *Server) monitor(conn net.Conn, codec Codec, sess *command.Session, log *slog.Logger) {
	m := sess.Monitor
	sess.Monitor = nil
	defer m.Stop()
	if err := codec.Flush(); err != nil {
		s.writeFailed(err, log)
		return
	}
	left := make(chan struct{})
	conn.SetReadDeadline(time.Time{})
	go func() {
		defer close(left)
		io.Copy(io.Discard, conn)
	}()
	defer func() { conn.Close(); <-left }()
	for {
		select {
		case <-m.Ready(): // at most about once per command.MonitorHold under load
			err := m.Drain(func(r command.Reply) error { return codec.WriteReply(sess, r) })
			if err == nil {
				err = codec.Flush()
			}
			if err != nil {
				s.writeFailed(err, log)
				return
			}
		case <-m.Gone():
			codec.Flush()
			log.Warn("closing monitor: it did not keep up with the commands")
			return
		case <-left:
			return
		case <-s.stopping:
			codec.Flush()
			return
		}
	}
}

// takeover hands the connection to the command that asked for it
// (Session.Takeover: a follower's PSYNC) once its reply is out, with
// what the reader had buffered past the request and no deadline of the
// server's: the connection is the taker's until it returns.
func (s *Server) takeover(conn net.Conn, br *bufio.Reader, codec Codec, sess *command.Session, log *slog.Logger) {
	take := sess.Takeover
	sess.Takeover = nil
	if err := codec.Flush(); err != nil {
		s.writeFailed(err, log)
		take(nil, nil, nil)
		return
	}
	buffered, _ := br.Peek(br.Buffered())
	buffered = bytes.Clone(buffered)
	conn.SetDeadline(time.Time{})
	log.Debug("connection taken over", "by", "replication")
	take(conn, buffered, s.stopping)
}

// lastWords sends the reply that says why the connection is closed, within
// closeReplyTimeout, after the replies already buffered.
func (s *Server) lastWords(dw *durableWriter, codec Codec, sess *command.Session, why command.Reply) {
	dw.by = time.Now().Add(closeReplyTimeout)
	codec.WriteReply(sess, why)
	codec.Flush()
}

// writeFailed logs why replies could not be written: a client that did not
// read them within WriteTimeout is worth a line; one that hung up is not.
func (s *Server) writeFailed(err error, log *slog.Logger) {
	if errors.Is(err, os.ErrDeadlineExceeded) && !s.closing.Load() {
		log.Warn("closing connection: replies not read within write_timeout", "write_timeout", s.timeouts.Load().Write)
		return
	}
	log.Debug("closing connection: write failed", "err", err)
}

// Shutdown stops accepting, lets every connection finish the requests it
// has read and flush their replies, and waits for them, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.mu.Lock()
	s.closing.Store(true)
	loops := s.loops
	s.mu.Unlock()
	if loops != nil {
		loops.stop() // before the listener closes: no loop accepts on its descriptor then
	}
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	// Wake readers blocked on an idle connection; a connection in the
	// middle of a pipeline finishes what it has buffered first.
	for c := range s.conns {
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		if loops != nil {
			loops.closeAll()
		}
		<-done
		return ctx.Err()
	}
}

// connFD returns c's file descriptor, for CLIENT LIST's fd, or -1 when
// it has none to tell (TLS, a test's pipe).
func connFD(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	_ = raw.Control(func(f uintptr) { fd = int(f) })
	return fd
}
