package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/config"
)

// TestDaemonLifecycle: New binds every listener (ports of 0 pick free
// ones), Serve serves until Shutdown, Shutdown may be called twice, and a
// cancelled context makes Serve shut down by itself. A second daemon on the
// same directory is refused while the first holds it, and starts once the
// first is shut down.
func TestDaemonLifecycle(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Native.Addr, cfg.RESP.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	quiet := slog.New(slog.DiscardHandler)

	d, err := New(cfg, Info{Version: "test"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]net.Addr{"native": d.NativeAddr(), "resp": d.RESPAddr(), "http": d.HTTPAddr()} {
		if a == nil || a.(*net.TCPAddr).Port == 0 {
			t.Fatalf("%s address %v after New, want a bound port", name, a)
		}
	}
	if _, err := New(cfg, Info{Version: "test"}, quiet); err == nil {
		t.Fatal("a second daemon opened a data directory the first holds")
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	<-d.Ready()
	c, err := net.Dial("tcp", d.RESPAddr().String())
	if err != nil {
		t.Fatalf("dial RESP: %v", err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", d.RESPAddr().String()); err == nil {
		t.Fatal("RESP still accepts after Shutdown")
	}

	// The directory is free again; this time a cancelled context stops it.
	d, err = New(cfg, Info{Version: "test"}, quiet)
	if err != nil {
		t.Fatalf("New after Shutdown: %v", err)
	}
	sctx, stop := context.WithCancel(context.Background())
	go func() { served <- d.Serve(sctx) }()
	<-d.Ready()
	stop()
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after its context ended: %v", err)
	}
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after Serve stopped itself: %v", err)
	}
}
