// Package daemon wires pykvd together: it opens the engine, builds the
// command table, starts the native, RESP and HTTP listeners, tells systemd
// when it is ready, and shuts everything down in order on SIGTERM or SIGINT
// (stop accepting, finish requests in flight, fsync, close the engine).
// cmd/pykvd only parses flags and calls Run.
package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/httpapi"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// shutdownGrace bounds how long in-flight requests may take at shutdown
// before their connections are cut.
const shutdownGrace = 10 * time.Second

// Info is what the daemon reports of itself.
type Info struct {
	Version    string
	ConfigFile string
	// LogLevel, when set, is the level of the daemon's logger, changed by a
	// reload (SIGHUP).
	LogLevel *slog.LevelVar
	// FS, when set, is the file system the engine uses instead of the
	// operating system's: tests inject faults through it.
	FS vfs.FS
}

// reload applies what SIGHUP can change without a restart: it reads the
// configuration file again and sets the log level. Other keys are read at
// start only; a reload names those that differ.
func reload(cfg config.Config, info Info, log *slog.Logger) {
	if info.ConfigFile == "" {
		log.Info("SIGHUP: no configuration file to reload")
		return
	}
	next, err := config.Load(info.ConfigFile)
	if err == nil {
		err = next.Validate()
	}
	if err != nil {
		log.Error("SIGHUP: configuration not reloaded", "file", info.ConfigFile, "err", err)
		return
	}
	if info.LogLevel != nil {
		var lvl slog.Level
		if lvl.UnmarshalText([]byte(next.Log.Level)) == nil {
			info.LogLevel.Set(lvl)
		}
	}
	next.Log.Level = cfg.Log.Level
	restart := ""
	if next != cfg {
		restart = "keys other than log.level changed; they apply at the next start"
	}
	log.Info("SIGHUP: configuration reloaded", "file", info.ConfigFile, "log_level", info.LogLevel, "note", restart)
}

// Run serves until ctx is cancelled or SIGTERM/SIGINT arrives, then shuts
// down gracefully. It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg config.Config, info Info, log *slog.Logger) error {
	// Signals are caught from the first instant: a SIGTERM during start-up
	// (systemd stopping a unit it just started) waits in the channel and
	// becomes a clean shutdown once serving starts, instead of killing the
	// process by the default action.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	policy, err := segment.ParseSyncPolicy(cfg.Storage.Fsync)
	if err != nil {
		return err
	}
	expiry := cfg.Storage.ExpiryInterval.Duration
	if expiry == 0 {
		expiry = -1
	}
	started := time.Now()
	db, err := storage.Open(cfg.DataDir, storage.Options{
		Sync:           policy,
		SegmentSize:    cfg.Storage.SegmentSize,
		CacheBytes:     cacheBytes(cfg.Storage.CacheBytes),
		MaxKeySize:     cfg.Storage.MaxKeySize,
		MaxValueSize:   cfg.Storage.MaxValueSize,
		ExpiryInterval: expiry,
		Logger:         log,
		FS:             info.FS,
	})
	if err != nil {
		return err
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()

	tlsConf, err := loadTLS(cfg.TLS)
	if err != nil {
		return err
	}
	var clients atomic.Int64
	var servers []*netproto.Server
	var nativeSrv, respSrv *netproto.Server
	var httpSrv *httpapi.Server
	srvCfg := netproto.ServerConfig{TLS: tlsConf, MaxClients: cfg.MaxClients, Clients: &clients,
		IdleTimeout: cfg.IdleTimeout.Duration, AuthTimeout: cfg.AuthTimeout.Duration,
		RequestTimeout: cfg.RequestTimeout.Duration, WriteTimeout: cfg.WriteTimeout.Duration, Logger: log,
		Deferred: func() netproto.DeferredStore { return db.Deferred() }}

	table := command.New(db, command.Config{
		Password: cfg.Password,
		Info: func() command.ServerInfo {
			si := command.ServerInfo{Version: info.Version, Started: started, ConfigFile: info.ConfigFile,
				ConnectedClients: int(clients.Load()), MaxClients: cfg.MaxClients}
			if respSrv != nil {
				si.TCPPort = port(respSrv.Addr())
			}
			if nativeSrv != nil {
				si.NativePort = port(nativeSrv.Addr())
			}
			for _, s := range servers {
				si.TotalConnections += s.Accepted()
				si.RejectedConnections += s.Rejected()
			}
			if httpSrv != nil {
				si.RejectedConnections += httpSrv.Rejected()
			}
			return si
		},
	})
	if cfg.Native.Addr != "" {
		c := srvCfg
		c.Addr = cfg.Native.Addr
		nativeSrv = netproto.NewServer(c, table, netproto.Native{Limits: netproto.Limits{MaxFrame: cfg.MaxFrame}})
		servers = append(servers, nativeSrv)
	}
	if cfg.RESP.Addr != "" {
		c := srvCfg
		c.Addr = cfg.RESP.Addr
		respSrv = netproto.NewServer(c, table, netproto.RESP{Limits: resp.Limits{MaxBulk: cfg.MaxFrame, MaxCommand: cfg.MaxFrame}})
		servers = append(servers, respSrv)
	}
	for _, s := range servers {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	if cfg.HTTP.Addr != "" {
		httpSrv = httpapi.New(httpapi.Config{Addr: cfg.HTTP.Addr, TLS: tlsConf, Table: table, DB: db,
			MaxKeySize: cfg.Storage.MaxKeySize, MaxValueSize: cfg.Storage.MaxValueSize,
			RequestTimeout: httpTimeout(cfg.RequestTimeout.Duration),
			MaxConns:       cfg.MaxClients, Clients: &clients, ClientCount: clients.Load, Health: db.Healthy, Logger: log})
		if err := httpSrv.Listen(); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	serveErr := make(chan error, len(servers)+1)
	for _, s := range servers {
		wg.Add(1)
		go func(s *netproto.Server) {
			defer wg.Done()
			if err := s.Serve(); err != nil {
				serveErr <- err
			}
		}(s)
	}
	if httpSrv != nil {
		wg.Go(func() {
			if err := httpSrv.Serve(); err != nil {
				serveErr <- err
			}
		})
	}
	log.Info("ready", "version", info.Version, "pid", os.Getpid(), "data_dir", cfg.DataDir,
		"keys", db.DBSize(), "startup", time.Since(started).Round(time.Millisecond))
	daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS=serving")
	stopWatchdog := startWatchdog(log)
	defer stopWatchdog()

	var runErr error
wait:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "reason", "context cancelled")
			break wait
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload(cfg, info, log)
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			break wait
		case runErr = <-serveErr:
			log.Error("listener failed; shutting down", "err", runErr)
			break wait
		}
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)

	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			log.Warn("connections cut at shutdown deadline", "err", err)
		}
	}
	if httpSrv != nil {
		if err := httpSrv.Shutdown(sctx); err != nil {
			log.Warn("HTTP requests cut at shutdown deadline", "err", err)
		}
	}
	wg.Wait()
	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("close engine: %w", err)
	}
	log.Info("stopped", "uptime", time.Since(started).Round(time.Millisecond))
	return runErr
}

func cacheBytes(n int64) int64 {
	if n == 0 {
		return -1 // the config's 0 means no cache; the engine's 0 means default
	}
	return n
}

// httpTimeout maps a timeout of the config, where 0 means never, onto
// httpapi's, where 0 means the default and a negative value never.
func httpTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func port(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

func loadTLS(c config.TLS) (*tls.Config, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", c.CertFile, c.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// startWatchdog pings systemd's watchdog at half its interval when the
// unit sets WatchdogSec.
func startWatchdog(log *slog.Logger) (stop func()) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			}
		}
	}()
	log.Debug("systemd watchdog enabled", "interval", interval)
	return func() { close(done) }
}
