// Package daemontest runs pykvd's wiring, a daemon.Daemon, inside a test's
// process: the engine in a temporary directory and every listener on a
// free loopback port, shut down by the test's cleanup. Tests of the client
// library, the tools and the wire codecs use it instead of wiring an
// engine, a command table and servers by hand. Tests that need a real
// process (signals, kill -9, exit codes) use internal/testdaemon.
package daemontest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/daemon"
)

// Daemon is a running daemon.Daemon and its listeners' addresses.
type Daemon struct {
	*daemon.Daemon
	// Native, RESP and HTTP are host:port, empty for a listener turned off.
	Native, RESP, HTTP string
	// DataDir is the engine's directory.
	DataDir string
}

// Start starts a daemon on the built-in defaults with every listener on
// 127.0.0.1:0, data under a temporary directory and fsync "no" (tests of
// behaviour need no fsyncs; set it in configure to test durability), after
// configure, when not nil, has changed the configuration. The test's
// cleanup shuts it down and fails the test if the shutdown fails.
func Start(tb testing.TB, configure func(*config.Config)) *Daemon {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Native.Addr, cfg.RESP.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Storage.Fsync = "no"
	cfg.RESP.EventLoop = os.Getenv("PYKV_TEST_RESP_EVENT_LOOP") == "1" // testdaemon.EventLoopEnv
	if configure != nil {
		configure(&cfg)
	}
	d, err := daemon.New(cfg, daemon.Info{Version: "test"}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			tb.Errorf("daemon shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("daemon serve: %v", err)
		}
	})
	select {
	case <-d.Ready():
	case err := <-served:
		tb.Fatalf("daemon stopped before it served: %v", err)
	}
	td := &Daemon{Daemon: d, DataDir: cfg.DataDir}
	if a := d.NativeAddr(); a != nil {
		td.Native = a.String()
	}
	if a := d.RESPAddr(); a != nil {
		td.RESP = a.String()
	}
	if a := d.HTTPAddr(); a != nil {
		td.HTTP = a.String()
	}
	return td
}
