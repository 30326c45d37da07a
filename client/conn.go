package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/reply"
)

// bufSize is the read and write buffer of a connection. A batch of
// requests that fits in it goes out in one write.
const bufSize = 32 << 10

// errAborted is what a read or write of an aborted connection returns
// before touching the network; the caller reports the context's error.
var errAborted = errors.New("pykv/client: operation aborted")

// timedConn applies the timeouts to every read and write of a connection,
// bounded by the current operation's context deadline, and lets a context
// cancellation abort whatever is blocked. A per-read deadline, rather than
// one per command, lets a large reply take as long as its bytes keep
// coming.
type timedConn struct {
	net.Conn
	readTimeout, writeTimeout time.Duration // <= 0: none

	mu       sync.Mutex
	deadline time.Time // the operation's context deadline; zero: none
	aborted  bool
}

func (t *timedConn) Read(p []byte) (int, error) {
	if err := t.setDeadline(true); err != nil {
		return 0, err
	}
	return t.Conn.Read(p)
}

func (t *timedConn) Write(p []byte) (int, error) {
	if err := t.setDeadline(false); err != nil {
		return 0, err
	}
	return t.Conn.Write(p)
}

// setDeadline sets the read or write deadline for the next call. It holds
// the lock while it does so that abort, which also takes it, cannot be
// overwritten by a later deadline.
func (t *timedConn) setDeadline(read bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		return errAborted
	}
	d := t.deadline
	timeout := t.writeTimeout
	if read {
		timeout = t.readTimeout
	}
	if timeout > 0 {
		if at := time.Now().Add(timeout); d.IsZero() || at.Before(d) {
			d = at
		}
	}
	if read {
		return t.Conn.SetReadDeadline(d)
	}
	return t.Conn.SetWriteDeadline(d)
}

// abort makes every blocked and future read and write fail at once.
func (t *timedConn) abort() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.aborted = true
	t.Conn.SetDeadline(time.Unix(1, 0))
}

// arm starts an operation under ctx. The returned stop ends it; it reports
// false when ctx was cancelled meanwhile and the connection has been (or is
// being) aborted, so that the caller discards it.
func (t *timedConn) arm(ctx context.Context) (stop func() bool) {
	dl, _ := ctx.Deadline()
	t.mu.Lock()
	t.deadline = dl
	t.mu.Unlock()
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, t.abort)
}

// conn is one connection to the server, past the handshake and AUTH.
type conn struct {
	tc        *timedConn
	bw        *bufio.Writer
	w         *netproto.Writer
	r         *netproto.Reader
	createdAt time.Time
	usedAt    time.Time // when it last went back to the pool
	// broken is set when a context cancellation hit the connection: its
	// deadlines are poisoned, so it must not go back to the pool even if
	// every reply arrived.
	broken bool
}

// netConn returns the connection under the TLS layer, if any: what the
// liveness check peeks at.
func (cn *conn) netConn() net.Conn {
	if tc, ok := cn.tc.Conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return cn.tc.Conn
}

func (cn *conn) close() error { return cn.tc.Conn.Close() }

// dial opens a connection: TCP (or o.Dialer), TLS when configured, then
// the protocol handshake, AUTH and CLIENT SETNAME, written together so that
// a new connection costs one round trip after TCP and TLS.
func dial(ctx context.Context, o *Options) (*conn, error) {
	if o.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.DialTimeout)
		defer cancel()
	}
	nc, err := o.Dialer(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, dialError(ctx, o.Addr, err)
	}
	if o.TLSConfig != nil {
		cfg := o.TLSConfig
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			host, _, _ := net.SplitHostPort(o.Addr)
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, dialError(ctx, o.Addr, fmt.Errorf("TLS handshake: %w", err))
		}
		nc = tc
	}
	cn := newConn(nc, o)
	if err := cn.handshake(ctx, o); err != nil {
		cn.close()
		return nil, err
	}
	return cn, nil
}

func newConn(nc net.Conn, o *Options) *conn {
	tc := &timedConn{Conn: nc, readTimeout: o.ReadTimeout, writeTimeout: o.WriteTimeout}
	bw := bufio.NewWriterSize(tc, bufSize)
	now := time.Now()
	return &conn{
		tc:        tc,
		bw:        bw,
		w:         netproto.NewWriter(bw),
		r:         netproto.NewReader(bufio.NewReaderSize(tc, bufSize), netproto.Limits{MaxFrame: o.MaxFrame}),
		createdAt: now,
		usedAt:    now,
	}
}

// handshake runs the protocol handshake and the connection's set-up
// commands.
func (cn *conn) handshake(ctx context.Context, o *Options) (err error) {
	stop := cn.tc.arm(ctx)
	defer func() {
		if !stop() && err == nil {
			err = ctxError(ctx)
			if err == nil {
				err = errAborted
			}
		}
	}()
	var setup [][][]byte
	if o.Password != "" {
		auth := [][]byte{[]byte("AUTH"), []byte(o.Password)}
		if o.Username != "" {
			auth = [][]byte{auth[0], []byte(o.Username), auth[1]}
		}
		setup = append(setup, auth)
	}
	if o.ClientName != "" {
		setup = append(setup, [][]byte{[]byte("CLIENT"), []byte("SETNAME"), []byte(o.ClientName)})
	}
	if err := cn.w.WriteHandshake(); err != nil {
		return ioError(ctx, o.Addr, err)
	}
	for _, argv := range setup {
		if err := cn.w.WriteRequest(argv); err != nil {
			return ioError(ctx, o.Addr, err)
		}
	}
	if err := cn.bw.Flush(); err != nil {
		return ioError(ctx, o.Addr, err)
	}
	if _, err := cn.r.ReadHandshakeReply(); err != nil {
		return ioError(ctx, o.Addr, err)
	}
	for _, argv := range setup {
		rep, err := cn.r.ReadReply()
		if err != nil {
			return ioError(ctx, o.Addr, err)
		}
		if rep.IsError() {
			return fmt.Errorf("pykv/client: %s failed: %w", argv[0], replyError(rep))
		}
	}
	return nil
}

// pending is a command on its way: its argv, and where its reply goes.
type pending interface {
	// args returns the argv to send, or the error that stopped it from
	// being built (it is then not sent).
	args() ([][]byte, error)
	// deliver hands over the command's reply, or the error that kept it
	// from arriving.
	deliver(reply.Reply, error)
}

// roundTrip sends cmds and delivers their replies in order. A batch that
// fits in the write buffer is written, flushed and then read; a larger one
// is written by a second goroutine while this one reads, so that neither
// side can fill its socket buffers and wait on the other forever. The
// error, if any, is one the connection cannot survive; after it, or when
// cn.broken is set, the caller discards the connection.
func (cn *conn) roundTrip(ctx context.Context, addr string, cmds []pending, argvs [][][]byte, size int) error {
	stop := cn.tc.arm(ctx)
	defer func() {
		if !stop() {
			// Cancelled, perhaps just as the last reply arrived: the
			// replies may be whole, but the deadlines are poisoned.
			cn.broken = true
		}
	}()
	if size <= bufSize {
		if err := cn.write(argvs); err != nil {
			err = ioError(ctx, addr, err)
			fail(cmds, err)
			return err
		}
		return cn.read(ctx, addr, cmds)
	}
	werr := make(chan error, 1)
	go func() {
		err := cn.write(argvs)
		if err != nil {
			cn.tc.abort() // the reader would wait for replies that never come
		}
		werr <- err
	}()
	rerr := cn.read(ctx, addr, cmds)
	if rerr != nil {
		cn.tc.abort()
	}
	if err := <-werr; err != nil && !errors.Is(err, errAborted) {
		// The write failed first; the reader only saw the abort.
		return ioError(ctx, addr, err)
	}
	return rerr
}

// write encodes every argv and flushes.
func (cn *conn) write(argvs [][][]byte) error {
	for _, argv := range argvs {
		if err := cn.w.WriteRequest(argv); err != nil {
			return err
		}
	}
	return cn.bw.Flush()
}

// read delivers one reply to each command, in order. After an error, the
// commands without a reply get that error.
func (cn *conn) read(ctx context.Context, addr string, cmds []pending) error {
	for i, c := range cmds {
		rep, err := cn.r.ReadReply()
		if err != nil {
			err = ioError(ctx, addr, err)
			fail(cmds[i:], err)
			return err
		}
		c.deliver(rep, nil)
	}
	return nil
}

// fail delivers err to every command of cmds.
func fail(cmds []pending, err error) {
	for _, c := range cmds {
		c.deliver(reply.Reply{}, err)
	}
}

// ctxError returns the context's error, wrapped, when ctx is done (or its
// deadline has passed, which the connection may notice a moment before the
// context does); otherwise nil.
func ctxError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pykv/client: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return fmt.Errorf("pykv/client: %w", context.DeadlineExceeded)
	}
	return nil
}

// ioError wraps an error of the connection to addr, preferring the
// context's error when the context is what stopped it.
func ioError(ctx context.Context, addr string, err error) error {
	if errors.Is(err, errAborted) || errors.Is(err, os.ErrDeadlineExceeded) {
		if cerr := ctxError(ctx); cerr != nil {
			return cerr
		}
	}
	return fmt.Errorf("pykv/client: %s: %w", addr, err)
}

// dialError wraps an error of connecting to addr. A net.OpError names the
// address already. When the context stopped the dial, the error wraps the
// context's error too, so that errors.Is(err, context.Canceled) holds.
func dialError(ctx context.Context, addr string, err error) error {
	prefix := "pykv/client: "
	if op := new(net.OpError); !errors.As(err, &op) {
		prefix += "connect to " + addr + ": "
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s%w (%w)", prefix, err, cerr)
	}
	return fmt.Errorf("%s%w", prefix, err)
}
