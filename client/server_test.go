package client_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
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

// silentServer accepts the handshake and then reads requests without ever
// answering: a hung server, for timeouts and cancellation. It tells the
// test each request it read, so that a test knows a call is waiting for
// its reply without sleeping.
type silentServer struct {
	addr string
	// requests carries each request read, its words joined by spaces
	// ("GET k"), in the order they came.
	requests chan string
}

// startSilentServer starts a silent server that the test's cleanup stops,
// closing the connections it accepted.
func startSilentServer(t testing.TB) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{addr: ln.Addr().String(), requests: make(chan string)}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := netproto.NewReader(bufio.NewReader(c), netproto.Limits{})
				bw := bufio.NewWriter(c)
				w := netproto.NewWriter(bw)
				if _, err := r.ReadHandshake(); err != nil {
					return
				}
				w.WriteHandshakeReply(nil)
				bw.Flush()
				var argv [][]byte
				for {
					if argv, err = r.ReadRequest(argv); err != nil {
						return
					}
					words := make([]string, len(argv))
					for i, a := range argv {
						words[i] = string(a)
					}
					select {
					case s.requests <- strings.Join(words, " "):
					case <-done:
						return
					}
				}
			}()
		}
	}()
	return s
}

// await takes the requests the server read until want comes, and returns
// an error naming it if it has not come within timeout.
func (s *silentServer) await(want string, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case got := <-s.requests:
			if got == want {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("the silent server did not receive %q within %v", want, timeout)
		}
	}
}

// proxy relays connections between clients and a server, and says when
// the server has closed one: by then the proxy has closed the client's
// end too, so a test knows the client's connection is dead without
// sleeping through the server's idle timeout.
type proxy struct {
	addr string
	// serverClosed receives a value each time the server closed a
	// connection, after the proxy closed the client's end of it.
	serverClosed chan struct{}
}

// startProxy starts a proxy to target that the test's cleanup stops.
func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), serverClosed: make(chan struct{})}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Add(2)
			go func() { // client to server
				defer wg.Done()
				io.Copy(server, client)
				server.Close()
			}()
			go func() { // server to client
				defer wg.Done()
				_, err := io.Copy(client, server)
				client.Close()
				if err != nil {
					return // the proxy closed it, not the server
				}
				select {
				case p.serverClosed <- struct{}{}:
				case <-done:
				}
			}()
		}
	}()
	return p
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
