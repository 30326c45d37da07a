package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/netproto"
)

func TestPoolReusesConnections(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{PoolSize: 3})
	ctx := bg()
	for range 100 {
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.PoolStats(); st.Misses != 1 || st.Hits != 99 || st.TotalConns != 1 || st.IdleConns != 1 {
		t.Errorf("after 100 sequential calls: %+v, want 1 dial and 99 reuses", st)
	}

	// Many goroutines share at most PoolSize connections.
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := c.Incr(ctx, "counter").Result(); err != nil {
					t.Errorf("goroutine %d, call %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := c.Get(ctx, "counter").Result(); string(n) != "1000" {
		t.Errorf("counter = %s, want 1000", n)
	}
	if st := c.PoolStats(); st.TotalConns > 3 || st.Misses > 3 {
		t.Errorf("after concurrent calls: %+v, want at most 3 connections", st)
	}
}

func TestPoolDiscardsAfterIOError(t *testing.T) {
	s := startServer(t, serverOptions{})
	ctx := bg()
	// A reply larger than MaxFrame leaves the stream out of step: the
	// connection must be closed, not reused.
	c := newClient(t, s.addr, client.Options{MaxFrame: 1024, PoolSize: 1})
	if _, err := c.Set(ctx, "big", strings.Repeat("x", 4096), client.SetArgs{}).Result(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(ctx, "big").Result()
	if !errors.Is(err, netproto.ErrFrameTooLarge) || errors.As(err, new(*client.Error)) {
		t.Fatalf("Get of a reply over MaxFrame: %v, want ErrFrameTooLarge and not a server error", err)
	}
	st := c.PoolStats()
	if st.Discarded != 1 || st.TotalConns != 0 {
		t.Fatalf("after the error: %+v, want the connection discarded", st)
	}
	if _, err := c.Set(ctx, "small", "v", client.SetArgs{}).Result(); err != nil {
		t.Fatalf("the next call on a new connection: %v", err)
	}
	if st := c.PoolStats(); st.Misses != 2 {
		t.Errorf("after recovery: %+v, want a second dial", st)
	}
}

func TestPoolReplacesConnectionsTheServerClosed(t *testing.T) {
	s := startServer(t, serverOptions{idle: 50 * time.Millisecond})
	// Through a proxy, which says when the server's idle timeout has
	// closed the connection.
	p := startProxy(t, s.addr)
	c := newClient(t, p.addr, client.Options{})
	ctx := bg()
	if _, err := c.Set(ctx, "k", "v", client.SetArgs{}).Result(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.serverClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not close the idle connection within 10s; its idle timeout is 50ms")
	}
	// A non-idempotent command must not be sent on the dead connection and
	// fail: the pool sees it is closed and dials.
	if n, err := c.Incr(ctx, "n").Result(); err != nil || n != 1 {
		t.Fatalf("Incr after the server closed the idle connection: %d, %v", n, err)
	}
	if st := c.PoolStats(); st.StaleConns != 1 || st.Misses != 2 {
		t.Errorf("%+v: want the stale connection replaced", st)
	}
}

// TestPoolIdleTimeout moves the pool's clock, a fake one, between two
// calls: a connection idle longer than ConnMaxIdleTime is replaced, one
// idle exactly that long is still reused.
func TestPoolIdleTimeout(t *testing.T) {
	s := startServer(t, serverOptions{})
	const limit = time.Minute
	for _, tc := range []struct {
		name    string
		maxIdle time.Duration // ConnMaxIdleTime
		idle    time.Duration // how far the clock moves between the calls
		reused  bool
	}{
		{"not idle", limit, 0, true},
		{"idle the limit exactly", limit, limit, true},
		{"idle past the limit", limit, limit + time.Nanosecond, false},
		{"no limit", -1, 365 * 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			c := newClient(t, s.addr, client.Options{ConnMaxIdleTime: tc.maxIdle})
			client.SetPoolClock(c, clock.Now)
			if err := c.Ping(bg()).Err(); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tc.idle)
			if err := c.Ping(bg()).Err(); err != nil {
				t.Fatal(err)
			}
			want := client.PoolStats{Hits: 1, Misses: 1, TotalConns: 1, IdleConns: 1}
			if !tc.reused {
				want = client.PoolStats{Misses: 2, StaleConns: 1, TotalConns: 1, IdleConns: 1}
			}
			if st := c.PoolStats(); st != want {
				t.Errorf("ConnMaxIdleTime %v, idle %v: %+v, want %+v", tc.maxIdle, tc.idle, st, want)
			}
		})
	}
}

func TestPoolTimeout(t *testing.T) {
	s := startSilentServer(t)
	c := newClient(t, s.addr, client.Options{PoolSize: 1, PoolTimeout: 50 * time.Millisecond, ReadTimeout: -1})
	ctx, cancel := context.WithCancel(bg())
	defer cancel()
	held := make(chan error, 1)
	go func() { held <- c.Ping(ctx).Err() }() // holds the only connection until ctx is cancelled
	// Once the server has the PING, its call holds the connection.
	if err := s.await("PING", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(bg()).Err(); !errors.Is(err, client.ErrPoolTimeout) {
		t.Errorf("Ping with the pool exhausted: %v, want ErrPoolTimeout", err)
	}
	if st := c.PoolStats(); st.Timeouts != 1 || st.Misses != 1 {
		t.Errorf("%+v: want one timeout and one dial", st)
	}
	cancel()
	select {
	case err := <-held:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the Ping holding the connection: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Ping holding the connection did not return within 10s of its cancellation")
	}
}

func TestContextCancellation(t *testing.T) {
	s := startSilentServer(t)
	c := newClient(t, s.addr, client.Options{ReadTimeout: -1})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Get(ctx, "k").Result()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get past the deadline: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Get returned %v after a 100ms deadline", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg())
		defer cancel()
		// Cancel once the server has the whole pipeline: Exec is then
		// waiting for the replies.
		arrived := make(chan error, 1)
		go func() {
			err := s.await("INCR b", 10*time.Second)
			cancel()
			arrived <- err
		}()
		p := c.Pipeline()
		g := p.Get(ctx, "a")
		n := p.Incr(ctx, "b")
		err := p.Exec(ctx)
		if err := <-arrived; err != nil {
			t.Fatal(err)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Exec cancelled: %v, want context.Canceled", err)
		}
		if !errors.Is(g.Err(), context.Canceled) || !errors.Is(n.Err(), context.Canceled) {
			t.Errorf("results: %v, %v, want both cancelled", g.Err(), n.Err())
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg())
		cancel()
		before := c.PoolStats()
		if err := c.Ping(ctx).Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Ping with a cancelled context: %v", err)
		}
		if after := c.PoolStats(); after.Misses != before.Misses || after.Hits != before.Hits {
			t.Errorf("a cancelled call took a connection: %+v -> %+v", before, after)
		}
	})
	// Whether a call was cut off while dialling or while waiting for its
	// reply depends on the machine's speed; either way no connection it
	// touched may go back to the pool.
	if st := c.PoolStats(); st.TotalConns != 0 || st.Hits != 0 {
		t.Errorf("%+v: want the interrupted connections discarded, none reused", st)
	}
}

func TestReadTimeout(t *testing.T) {
	s := startSilentServer(t)
	c := newClient(t, s.addr, client.Options{ReadTimeout: 100 * time.Millisecond})
	start := time.Now()
	err := c.Ping(bg()).Err()
	if !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping to a silent server: %v, want a read timeout", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%v is not a net.Error timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed out after %v", d)
	}
}

func TestDialErrors(t *testing.T) {
	// A port nobody listens on: take a free one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, addr, client.Options{})
	err = c.Ping(bg()).Err()
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Ping of a closed port: %v, want connection refused naming %s", err, addr)
	}
	if errors.As(err, new(*client.Error)) {
		t.Errorf("a dial error is a *client.Error: %v", err)
	}

	// A server that speaks something else (here HTTP) is recognised at
	// its first bytes.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release, served := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		<-release // open until the client has judged the bytes, so it reads them and not an EOF
	}()
	c = newClient(t, ln.Addr().String(), client.Options{})
	if err := c.Ping(bg()).Err(); !errors.Is(err, netproto.ErrBadMagic) {
		t.Errorf("Ping of an HTTP server: %v, want ErrBadMagic", err)
	}
	close(release)
	ln.Close()
	<-served
}

func TestTLS(t *testing.T) {
	s := startServer(t, serverOptions{tls: true})
	c := newClient(t, s.addr, client.Options{TLSConfig: &tls.Config{RootCAs: s.pool}})
	if _, err := c.Set(bg(), "k", "over tls", client.SetArgs{}).Result(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(bg(), "k").Result(); err != nil || string(v) != "over tls" {
		t.Fatalf("Get over TLS: %q, %v", v, err)
	}
	// The idle-connection check looks under the TLS layer.
	c.Ping(bg())
	if st := c.PoolStats(); st.Misses != 1 || st.StaleConns != 0 {
		t.Errorf("%+v: want one TLS connection reused", st)
	}
	// Without the CA, the certificate is refused.
	c = newClient(t, s.addr, client.Options{TLSConfig: &tls.Config{}})
	if err := c.Ping(bg()).Err(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Ping with an unknown CA: %v, want a certificate error", err)
	}
}
