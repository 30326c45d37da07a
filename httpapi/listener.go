package httpapi

import (
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// refuseTimeout bounds the refusal of one connection over the limit: its
// TLS handshake, when there is TLS, and the write of the 503.
const refuseTimeout = 2 * time.Second

// maxRefusing bounds the refusals in flight. A flood past the limit is
// refused by closing its connections without a word once this many are
// being answered, so refusing costs a bounded number of goroutines.
const maxRefusing = 64

// refusalBody is the body of the 503 sent to a connection over
// max_clients, in the shape of every error of the API; the daemon's other
// listeners send Redis's "max number of clients reached" too.
const refusalBody = `{"error":{"code":"ERR","message":"max number of clients reached"}}` + "\n"

// refusal is the whole answer to a connection over max_clients, after
// which it is closed.
var refusal = []byte("HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: application/json\r\n" +
	"Connection: close\r\n" +
	"Content-Length: " + strconv.Itoa(len(refusalBody)) + "\r\n" +
	"\r\n" + refusalBody)

// limitListener admits at most max connections at a time, counted in
// clients, which the daemon shares with its native and RESP listeners so
// that max_clients bounds them all together. A connection over the limit
// is answered 503 and closed, as the other listeners refuse theirs,
// instead of waiting: a waiting HTTP client could be held up for as long as
// other protocols' clients hold their slots.
type limitListener struct {
	net.Listener
	max      atomic.Int64
	clients  *atomic.Int64
	tls      *tls.Config // the listener above speaks TLS: so must a refusal
	refusing chan struct{}
	refused  atomic.Uint64
}

// newLimitListener returns ln admitting at most n connections counted in
// clients (nil: a counter of its own).
func newLimitListener(ln net.Listener, n int, clients *atomic.Int64, tlsConf *tls.Config) *limitListener {
	if clients == nil {
		clients = new(atomic.Int64)
	}
	l := &limitListener{Listener: ln, clients: clients, tls: tlsConf,
		refusing: make(chan struct{}, maxRefusing)}
	l.max.Store(int64(n))
	return l
}

// Accept returns the next connection under the limit; the connection holds
// its place in the count until it is closed. Connections over the limit
// are refused in the background.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.clients.Add(1) <= l.max.Load() {
			return &limitConn{Conn: c, release: func() { l.clients.Add(-1) }}, nil
		}
		l.clients.Add(-1)
		l.refused.Add(1)
		select {
		case l.refusing <- struct{}{}:
			go l.refuse(c)
		default:
			c.Close()
		}
	}
}

// refuse answers c 503 and closes it, within refuseTimeout.
func (l *limitListener) refuse(c net.Conn) {
	defer func() { <-l.refusing }()
	defer c.Close()
	c.SetDeadline(time.Now().Add(refuseTimeout))
	if l.tls != nil {
		tc := tls.Server(c, l.tls)
		defer tc.Close()
		c = tc
	}
	c.Write(refusal)
}

// limitConn gives its place back on its first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
