package client_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/daemontest"
	"github.com/pykv/pykv/internal/testtls"
	"github.com/pykv/pykv/netproto"
)

// server is a real pykvd in the test's process (internal/daemontest):
// the engine in a temporary directory and the native protocol on a free
// loopback port.
type server struct {
	addr string
	pool *x509.CertPool // trusts the server's certificate when it speaks TLS
}

type serverOptions struct {
	password string
	idle     time.Duration
	// tls makes the listener speak TLS with a self-signed certificate.
	tls bool
}

// startServer starts a server that the test's cleanup shuts down.
func startServer(t testing.TB, so serverOptions) *server {
	t.Helper()
	var pool *x509.CertPool
	d := daemontest.Start(t, func(c *config.Config) {
		c.Password = so.password
		c.IdleTimeout.Duration = so.idle
		c.RESP.Addr, c.HTTP.Addr = "", "" // the client speaks the native protocol only
		if so.tls {
			c.TLS.CertFile, c.TLS.KeyFile, pool = testtls.WriteSelfSigned(t, t.TempDir())
		}
	})
	return &server{addr: d.Native, pool: pool}
}

// newClient returns a client of addr with opts, closed by the test's
// cleanup.
func newClient(t testing.TB, addr string, opts client.Options) *client.Client {
	t.Helper()
	opts.Addr = addr
	c, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startSilentServer starts a server that accepts the handshake and then
// reads requests without ever answering: a hung server, for timeouts and
// cancellation. It returns the address.
func startSilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				bw := bufio.NewWriter(c)
				r := netproto.NewReader(br, netproto.Limits{})
				w := netproto.NewWriter(bw)
				if _, err := r.ReadHandshake(); err != nil {
					return
				}
				w.WriteHandshakeReply(nil)
				w.Flush()
				var argv [][]byte
				for {
					if argv, err = r.ReadRequest(argv); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// fakeClock is a clock that moves only when the test moves it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func bg() context.Context { return context.Background() }
