package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/config"
)

// TestReloadSortsKeys: Reload applies the live keys, leaves the others
// at their running values and names them, refuses a configuration that
// does not validate as a whole, and never turns on a value cache or
// active expiry that were off at start; CONFIG SET (settings) refuses
// such a change instead of leaving it waiting.
func TestReloadSortsKeys(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Native.Addr, cfg.RESP.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.Storage.CacheBytes = 0
	cfg.Storage.ExpiryInterval = config.Duration{}
	d, err := New(cfg, Info{Version: "test", LogLevel: new(slog.LevelVar)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	for _, tc := range []struct {
		name             string
		change           func(c *config.Config)
		applied, restart []string
		err              string
	}{
		{"live keys", func(c *config.Config) {
			c.Password, c.MaxClients, c.Log.Level, c.MinReplicasToWrite = "pw", 20, "debug", 0
		}, []string{"password", "max_clients", "log.level"}, nil, ""},
		{"start-only keys", func(c *config.Config) {
			c.Storage.Fsync, c.RESP.Addr, c.Storage.MaxValueSize = "no", "127.0.0.1:1", 1024
		}, nil, []string{"resp.addr", "storage.fsync", "storage.max_value_size"}, ""},
		{"cache and expiry off at start", func(c *config.Config) {
			c.Storage.CacheBytes, c.Storage.ExpiryInterval = 1<<20, config.Duration{Duration: time.Second}
		}, nil, []string{"storage.cache_bytes", "storage.expiry_interval"}, ""},
		{"invalid", func(c *config.Config) { c.MaxClients, c.Password = 0, "other" }, nil, nil, "max_clients = 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := d.Config()
			tc.change(&next)
			ch, err := d.Reload(next, "test")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %q", err, tc.err)
				}
				if d.Config().Password != "pw" {
					t.Fatal("a refused reload changed the password")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.Applied, tc.applied) || !slices.Equal(ch.Restart, tc.restart) {
				t.Fatalf("applied %q restart %q, want %q and %q", ch.Applied, ch.Restart, tc.applied, tc.restart)
			}
			run := d.Config()
			for _, key := range tc.restart {
				p, _ := config.ParamByKey(key)
				if p.Get(&run) != p.Get(&cfg) {
					t.Errorf("%s runs as %s, want its value at start %s", key, p.Get(&run), p.Get(&cfg))
				}
			}
			for _, key := range tc.applied {
				p, _ := config.ParamByKey(key)
				if p.Get(&run) != p.Get(&next) {
					t.Errorf("%s runs as %s, want %s", key, p.Get(&run), p.Get(&next))
				}
			}
		})
	}
	if got := d.info.LogLevel.Level(); got != slog.LevelDebug {
		t.Errorf("log level %v after the reload, want DEBUG", got)
	}
	var se *command.SettingError
	err = settings{d}.ConfigSet([]command.ConfigParam{{Name: "max-clients", Value: "30"}, {Name: "cache-bytes", Value: "4096"}})
	if !errors.As(err, &se) || se.Name != "cache-bytes" || !strings.Contains(se.Reason, "restart") {
		t.Fatalf("CONFIG SET cache-bytes on a cache off at start: %v", err)
	}
	if d.Config().MaxClients != 20 {
		t.Fatalf("a refused CONFIG SET changed max_clients to %d", d.Config().MaxClients)
	}
}

// TestReloadWhileServing: reloads, CONFIG SETs, AUTHs and INFOs at once
// (run with -race): the live settings are read and written safely.
func TestReloadWhileServing(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Native.Addr, cfg.RESP.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	d, err := New(cfg, Info{Version: "test", LogLevel: new(slog.LevelVar)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	<-d.Ready()
	done := make(chan struct{})
	var wg, reloads sync.WaitGroup
	reloads.Go(func() {
		for i := range 200 {
			next := d.Config()
			next.Password = []string{"", "a", "b"}[i%3]
			next.MaxClients = 100 + i
			next.Storage.CacheBytes = int64(1<<20 + i)
			next.Log.Level = []string{"info", "debug"}[i%2]
			if _, err := d.Reload(next, "test"); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for w := range 3 {
		wg.Go(func() {
			s := d.table.NewSession()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				args := [][]string{{"AUTH", "a"}, {"INFO"}, {"CONFIG", "GET", "*"},
					{"CONFIG", "SET", "maxclients", strconv.Itoa(50 + i + w)}, {"SET", "k", "v"}, {"GET", "k"}}[i%6]
				argv := make([][]byte, len(args))
				for j, a := range args {
					argv[j] = []byte(a)
				}
				d.table.Exec(s, argv)
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			c, err := net.Dial("tcp", d.RESPAddr().String())
			if err != nil {
				t.Error(err)
				return
			}
			c.Close()
		}
	})
	reloads.Wait() // the reloads end by themselves; then the others are told to stop
	close(done)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-served
}
