package client_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
)

// server is a real pykv server in the test's process: the engine in a
// temporary directory, the command table, and the native protocol on a
// free loopback port.
type server struct {
	addr string
	db   *storage.DB
}

type serverOptions struct {
	password string
	idle     time.Duration
	tls      *tls.Config
	proto    netproto.Protocol
}

// startServer starts a server that the test's cleanup shuts down.
func startServer(t testing.TB, so serverOptions) *server {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	// The client's tests need no durability: spare them the fsyncs.
	db, err := storage.Open(t.TempDir(), storage.Options{Sync: segment.SyncNo, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if so.proto == nil {
		so.proto = netproto.Native{}
	}
	table := command.New(db, command.Config{Password: so.password})
	srv := netproto.NewServer(netproto.ServerConfig{Addr: "127.0.0.1:0", IdleTimeout: so.idle, TLS: so.tls, Logger: quiet},
		table, so.proto)
	if err := srv.Listen(); err != nil {
		db.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return &server{addr: srv.Addr().String(), db: db}
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

func bg() context.Context { return context.Background() }
