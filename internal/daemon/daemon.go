// Package daemon wires pykvd together as a value: New opens the engine,
// builds the command table and binds the native, RESP and HTTP listeners;
// Serve serves them; Shutdown stops everything in order (stop accepting,
// finish requests in flight, fsync, close the engine); Reload applies a new
// configuration's run-time keys while it serves (reload.go). cmd/pykvd parses
// flags, maps signals and systemd notification onto these methods; tests
// run a Daemon in their own process over a file system they control.
package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/httpapi"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/repl"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/server"
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
	// LogLevel, when set, is the level of the daemon's logger, changed by
	// Reload (SIGHUP, CONFIG SET loglevel).
	LogLevel *slog.LevelVar
	// FS, when set, is the file system the engine uses instead of the
	// operating system's: tests inject faults through it.
	FS vfs.FS
	// Listeners, when set, are sockets already listening, by name, that
	// New serves instead of binding: systemd's socket activation
	// (activation.ListenersWithNames), named by the socket unit's
	// FileDescriptorName. "native", "resp" and "http" each serve that
	// front end, in place of its configured address (and even when that
	// is empty); one listener a name. Any other name is an error.
	Listeners map[string][]net.Listener
	// EventLoops, when above 0, is how many event loops serve RESP
	// (resp.event_loop), in place of server.DefaultEventLoops: pykvd's
	// main sets it when it sizes GOMAXPROCS for them.
	EventLoops int
}

// EventLoopProcs returns the GOMAXPROCS to run with and how many RESP event
// loops, for a configuration whose loops serve under fsync always, given
// the operating system, the GOMAXPROCS the runtime chose and whether the
// GOMAXPROCS variable set it; loops 0 means leave both as they are.
// pykvd's main sets GOMAXPROCS and Info.EventLoops from it.
//
// Under fsync always a goroutine of each turn waits for the fsync, so that
// the loop serves other connections meanwhile, and it holds a P of Go's
// scheduler through its fdatasync. With no other P idle, the runtime's
// monitor takes that P back after 20 µs, wakes a thread to hold it, and
// keeps waking every 20 µs itself: one P more than the runtime chose, and
// the loops still one fewer than that choice (server.DefaultEventLoops),
// keeps one idle while the fsync waits. Under everysec the same P cost
// unpipelined SETs throughput (docs/performance.md, "One loop fewer than
// the cores"), so only always gets it. Off Linux or with TLS the loops do
// not serve, and a GOMAXPROCS set by hand is kept.
func EventLoopProcs(cfg config.Config, goos string, procs int, procsSet bool) (gomaxprocs, loops int) {
	policy, err := segment.ParseSyncPolicy(cfg.Storage.Fsync)
	if err != nil || policy != segment.SyncAlways || !cfg.RESP.EventLoop || goos != "linux" || cfg.TLS.CertFile != "" || procsSet {
		return procs, 0
	}
	return procs + 1, server.EventLoopsFor(procs)
}

// activationNames are the socket names Info.Listeners may use.
var activationNames = []string{"native", "resp", "http"}

// given returns the activated listener named name, or nil.
func (info Info) given(name string) net.Listener {
	if l := info.Listeners[name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

// checkListeners refuses listeners named other than activationNames, or
// more than one a name, closing every listener it was given then.
func checkListeners(ls map[string][]net.Listener) error {
	var err error
	for name, l := range ls {
		switch {
		case !slices.Contains(activationNames, name):
			err = fmt.Errorf("socket activation: a socket named %q: pykvd serves only sockets named native, resp and http (FileDescriptorName= in the .socket unit)", name)
		case len(l) > 1:
			err = fmt.Errorf("socket activation: %d sockets named %q: one each", len(l), name)
		}
	}
	if err != nil {
		for _, l := range ls {
			for _, ln := range l {
				ln.Close()
			}
		}
	}
	return err
}

// Daemon is one pykvd: the engine, the command table and the listeners.
// New opens and binds them, Serve serves until it is told to stop, and
// Shutdown stops it gracefully, in the shape of net/http's Server and
// etcd's embed. Signals and systemd notification are the caller's:
// cmd/pykvd maps them onto these methods, and tests run a Daemon in their
// own process.
type Daemon struct {
	// cfg is the configuration running now; cfgMu guards it and orders
	// reloads.
	cfgMu sync.Mutex
	cfg   config.Config
	// cacheOn and expiryOn: the value cache and active expiry were on at
	// start, so a reload may change them (never turn them on).
	cacheOn, expiryOn bool
	// cert is the listeners' TLS certificate, nil without TLS; a reload
	// reads its files again.
	cert    atomic.Pointer[tls.Certificate]
	table   *command.Table
	info    Info
	log     *slog.Logger
	started time.Time

	db      *storage.DB
	repl    *repl.Replication
	clients atomic.Int64
	native  *server.Server
	resp    *server.Server
	servers []*server.Server // native and resp, those configured
	http    *httpapi.Server

	ready    chan struct{} // closed once Serve serves every listener
	stop     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	done     chan struct{} // closed once Shutdown has closed the engine
	stopErr  error         // Shutdown's result, set before done closes
	serving  sync.WaitGroup
}

// New opens the engine in cfg.DataDir, builds the command table and binds
// every configured listener, so that their addresses are known (a port of
// 0 picks a free one) before Serve. It logs what applies (the
// configuration file, AUTH, the fsync policy) and one line per listener.
// A configuration that does not pass cfg.Validate is an error before
// anything is opened. On error everything it opened is closed again.
func New(cfg config.Config, info Info, log *slog.Logger) (_ *Daemon, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bad configuration: %w", err)
	}
	if err := checkListeners(info.Listeners); err != nil {
		return nil, err
	}
	policy, err := segment.ParseSyncPolicy(cfg.Storage.Fsync)
	if err != nil {
		return nil, err
	}
	expiry := cfg.Storage.ExpiryInterval.Duration
	if expiry == 0 {
		expiry = -1
	}
	d := &Daemon{cfg: cfg, info: info, log: log, started: time.Now(),
		cacheOn: cfg.Storage.CacheBytes > 0, expiryOn: cfg.Storage.ExpiryInterval.Duration > 0,
		ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	logStarting(cfg, info, log)
	mt := mergeThresholds(cfg.Storage)
	d.db, err = storage.Open(cfg.DataDir, storage.Options{
		Sync:           policy,
		SegmentSize:    cfg.Storage.SegmentSize,
		CacheBytes:     cacheBytes(cfg.Storage.CacheBytes),
		MaxKeySize:     cfg.Storage.MaxKeySize,
		MaxValueSize:   cfg.Storage.MaxValueSize,
		ExpiryInterval: expiry,
		Replica:        cfg.ReplicaOf != "",
		Backlog:        backlog(cfg),
		Logger:         log,

		MergeSealedSegments: mt.SealedSegments,
		MergeDeadBytes:      mt.DeadBytes,
		MergeDeadRatio:      mt.DeadRatio,
		MergeMaxSpaceAmp:    mt.MaxSpaceAmp,
		MergeMinInterval:    mt.MinInterval,
		FS:                  info.FS,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.closeListeners()
			d.db.Close()
		}
	}()
	tlsConf, err := d.loadTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	srvCfg := server.Config{TLS: tlsConf, MaxClients: cfg.MaxClients, Clients: &d.clients,
		IdleTimeout: cfg.IdleTimeout.Duration, AuthTimeout: cfg.AuthTimeout.Duration,
		RequestTimeout: cfg.RequestTimeout.Duration, WriteTimeout: cfg.WriteTimeout.Duration, Logger: log,
		Deferred: func() server.DeferredStore { return d.db.Deferred() }}
	leaderTLS, err := loadLeaderTLS(cfg.LeaderTLSCAFile)
	if err != nil {
		return nil, err
	}
	d.repl, err = repl.New(d.db, repl.Options{LeaderPassword: cfg.LeaderPassword, TLS: leaderTLS, MaxFrame: cfg.MaxFrame,
		MinFollowers: cfg.MinReplicasToWrite, MaxLag: cfg.MinReplicasMaxLag.Duration,
		ListenPort: func() int {
			if a := d.NativeAddr(); a != nil {
				return port(a)
			}
			return 0
		}, Logger: log})
	if err != nil {
		return nil, err
	}
	table := command.New(d.db, command.Config{Password: cfg.Password, Info: d.serverInfo, Repl: d.repl,
		Settings: settings{d}, Shutdown: d.shutdownCommand})
	d.table = table
	if cfg.Native.Addr != "" || info.given("native") != nil {
		c := srvCfg
		c.Addr = cfg.Native.Addr
		d.native = server.New(c, table, server.Native{Limits: netproto.Limits{MaxFrame: cfg.MaxFrame}})
		d.servers = append(d.servers, d.native)
	}
	if cfg.RESP.Addr != "" || info.given("resp") != nil {
		c := srvCfg
		c.Addr = cfg.RESP.Addr
		c.EventLoop = cfg.RESP.EventLoop
		c.EventLoops = info.EventLoops
		c.WaitBlocks = func() bool { return policy == segment.SyncAlways }
		d.resp = server.New(c, table, server.RESP{Limits: resp.Limits{MaxBulk: cfg.MaxFrame, MaxCommand: cfg.MaxFrame}})
		d.servers = append(d.servers, d.resp)
	}
	for _, s := range d.servers {
		if ln := info.given(s.Protocol()); ln != nil {
			s.UseListener(ln)
		} else if err := s.Listen(); err != nil {
			return nil, err
		}
		logListening(log, s.Protocol(), s.Addr(), tlsConf != nil, info.given(s.Protocol()) != nil)
	}
	if cfg.HTTP.Addr != "" || info.given("http") != nil {
		d.http = httpapi.New(httpapi.Config{Addr: cfg.HTTP.Addr, TLS: tlsConf, Table: table, DB: d.db,
			RequestTimeout: cfg.RequestTimeout.Duration,
			Collectors:     []prometheus.Collector{newReplCollector(d.repl.State)},
			MaxConns:       cfg.MaxClients, Clients: &d.clients, ClientCount: d.clients.Load, Health: d.db.Healthy, Logger: log})
		if ln := info.given("http"); ln != nil {
			d.http.UseListener(ln)
		} else if err := d.http.Listen(); err != nil {
			return nil, err
		}
		logListening(log, "http", d.http.Addr(), tlsConf != nil, info.given("http") != nil)
	}
	if err := d.protected(cfg); err != nil {
		return nil, err
	}
	if cfg.ReplicaOf != "" {
		if _, err := d.repl.ReplicaOf(cfg.ReplicaOf); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// serverInfo is what INFO, HELLO and CONFIG GET report of the daemon.
func (d *Daemon) serverInfo() command.ServerInfo {
	si := command.ServerInfo{Version: d.info.Version, Started: d.started, ConfigFile: d.info.ConfigFile,
		ConnectedClients: int(d.clients.Load()), MaxClients: d.Config().MaxClients}
	if a := d.RESPAddr(); a != nil {
		si.TCPPort = port(a)
	}
	if a := d.NativeAddr(); a != nil {
		si.NativePort = port(a)
	}
	if a := d.HTTPAddr(); a != nil {
		si.HTTPPort = port(a)
	}
	for _, s := range d.servers {
		si.TotalConnections += s.Accepted()
		si.RejectedConnections += s.Rejected()
	}
	if d.http != nil {
		si.RejectedConnections += d.http.Rejected()
	}
	replicationInfo(&si, d.repl.State())
	return si
}

// replicationInfo fills what INFO replication shows from st.
func replicationInfo(si *command.ServerInfo, st repl.State) {
	field := func(name, value string) {
		si.Extra = append(si.Extra, command.InfoField{Section: "replication", Name: name, Value: value})
	}
	si.ConnectedSlaves = len(st.Followers)
	for i, f := range st.Followers {
		field("slave"+strconv.Itoa(i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d",
			f.IP, f.Port, f.State, f.Acked, int64(f.Lag.Seconds())))
	}
	if st.Following {
		fs := st.Follower
		si.Follower = true
		host, p, _ := net.SplitHostPort(fs.Leader)
		si.MasterHost = host
		si.MasterPort, _ = strconv.Atoi(p)
		si.MasterLinkUp = fs.LinkUp && !fs.Syncing
		last := int64(-1)
		if !fs.LastIO.IsZero() && fs.LastIO.UnixMilli() > 0 {
			last = int64(time.Since(fs.LastIO).Seconds())
		}
		field("master_last_io_seconds_ago", strconv.FormatInt(last, 10))
		field("master_sync_in_progress", strconv.Itoa(boolInt(fs.Syncing)))
		field("pykv_leader_seq", strconv.FormatUint(fs.LeaderSeq, 10))
		field("pykv_lag_records", strconv.FormatUint(fs.LeaderSeq-min(fs.LeaderSeq, fs.AppliedSeq), 10))
		field("pykv_full_syncs_received", strconv.FormatUint(fs.FullSyncs, 10))
		field("pykv_partial_syncs_received", strconv.FormatUint(fs.PartialSyncs, 10))
		if fs.Syncing {
			field("pykv_sync_keys_received", strconv.FormatUint(fs.SyncedKeys, 10))
		}
	}
	field("pykv_full_syncs_served", strconv.FormatUint(st.Full, 10))
	field("pykv_partial_syncs_served", strconv.FormatUint(st.Partial, 10))
	field("pykv_partial_syncs_refused", strconv.FormatUint(st.Refused, 10))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NativeAddr is the native protocol's listening address, nil when off.
func (d *Daemon) NativeAddr() net.Addr {
	if d.native == nil {
		return nil
	}
	return d.native.Addr()
}

// RESPAddr is the RESP listener's address, nil when off.
func (d *Daemon) RESPAddr() net.Addr {
	if d.resp == nil {
		return nil
	}
	return d.resp.Addr()
}

// HTTPAddr is the HTTP listener's address, nil when off.
func (d *Daemon) HTTPAddr() net.Addr {
	if d.http == nil {
		return nil
	}
	return d.http.Addr()
}

// Ready is closed once Serve serves every listener (and has logged
// "ready"): the moment to tell systemd.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Serve serves every listener until ctx is cancelled, Shutdown is called
// or a listener fails. When ctx ends it shuts the daemon down itself,
// giving requests in flight shutdownGrace. It returns nil after a clean
// stop, else the listener's or the shutdown's error. Call it once.
func (d *Daemon) Serve(ctx context.Context) error {
	serveErr := make(chan error, len(d.servers)+1)
	for _, s := range d.servers {
		d.serving.Go(func() {
			if err := s.Serve(); err != nil {
				serveErr <- err
			}
		})
	}
	if d.http != nil {
		d.serving.Go(func() {
			if err := d.http.Serve(); err != nil {
				serveErr <- err
			}
		})
	}
	// Every listener is bound and listening by now (the kernel completes
	// connections into its backlog), so "ready" follows every "listening"
	// line, as systemd's READY=1 does.
	d.log.Info("ready", "version", d.info.Version, "pid", os.Getpid(), "data_dir", d.Config().DataDir,
		"keys", d.db.DBSize(), "startup", time.Since(d.started).Round(time.Millisecond))
	close(d.ready)
	var runErr error
	select {
	case <-ctx.Done():
		d.log.Info("shutting down", "reason", "context cancelled")
	case runErr = <-serveErr:
		d.log.Error("listener failed; shutting down", "err", runErr)
	case <-d.stop:
		<-d.done
		return d.stopErr
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := d.Shutdown(sctx); runErr == nil {
		runErr = err
	}
	return runErr
}

// Shutdown stops the daemon gracefully: the listeners stop accepting,
// requests in flight finish (or, at ctx's end, their connections are cut),
// and the engine fsyncs and closes. It may be called more than once and
// from any goroutine; every call returns the first one's result once the
// engine is closed.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.stopOnce.Do(func() {
		close(d.stop)
		for _, s := range d.servers {
			if err := s.Shutdown(ctx); err != nil {
				d.log.Warn("connections cut at shutdown deadline", "err", err)
			}
		}
		if d.http != nil {
			if err := d.http.Shutdown(ctx); err != nil {
				d.log.Warn("HTTP requests cut at shutdown deadline", "err", err)
			}
		}
		d.serving.Wait()
		d.repl.Close()
		if err := d.db.Close(); err != nil {
			d.stopErr = fmt.Errorf("close engine: %w", err)
		} else {
			d.log.Info("stopped", "uptime", time.Since(d.started).Round(time.Millisecond))
		}
		close(d.done)
	})
	<-d.done
	return d.stopErr
}

// protected applies protected mode to the addresses the daemon listens on
// (cfg.Validate checked the configured ones; systemd's sockets are only
// known bound): with protected mode on and no password, a listener beyond
// loopback is an error naming it.
func (d *Daemon) protected(cfg config.Config) error {
	if !cfg.ProtectedMode || cfg.Password != "" {
		return nil
	}
	addrs := []net.Addr{d.NativeAddr(), d.RESPAddr(), d.HTTPAddr()}
	for i, name := range []string{"native", "resp", "http"} {
		if a, ok := addrs[i].(*net.TCPAddr); ok && !a.IP.IsLoopback() {
			return fmt.Errorf("protected mode: the %s listener (%s) listens beyond loopback and no password is set, "+
				"so anyone who can reach it could read and change every key: set a password, listen on loopback only, "+
				"or, if the network is trusted, turn protected mode off (protected_mode = false)", name, a)
		}
	}
	return nil
}

// shutdownCommand starts the stop SHUTDOWN asks for, the one SIGTERM
// makes, and returns at once: the connection that asked is one Shutdown
// waits for. Serve then returns Shutdown's result, as after Shutdown.
func (d *Daemon) shutdownCommand() error {
	d.log.Info("shutting down", "reason", "SHUTDOWN command")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = d.Shutdown(ctx) // Serve returns its result
	}()
	return nil
}

// closeListeners closes what New bound when New fails after binding.
func (d *Daemon) closeListeners() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing is served yet: nothing to wait for
	for _, s := range d.servers {
		_ = s.Shutdown(ctx)
	}
	if d.http != nil {
		_ = d.http.Shutdown(ctx)
	}
}

// noConfigFile is what the start-up log says of the configuration file
// when there is none.
const noConfigFile = "none: built-in defaults"

// logStarting writes the first line of the log: what a newcomer needs to
// know before anything else, namely which configuration file applies (or
// none), whether clients must AUTH, and the fsync policy in force.
func logStarting(cfg config.Config, info Info, log *slog.Logger) {
	file := info.ConfigFile
	if file == "" {
		file = noConfigFile
	}
	auth := "off"
	if cfg.Password != "" {
		auth = "required"
	}
	log.Info("starting", "version", info.Version, "pid", os.Getpid(), "config_file", file,
		"data_dir", cfg.DataDir, "auth", auth, "fsync", cfg.Storage.Fsync)
}

// logListening writes one line per listener once it is bound: its
// protocol, the address it accepts on, and whether systemd passed it.
func logListening(log *slog.Logger, protocol string, addr net.Addr, tls, activated bool) {
	if activated {
		log.Info("listening", "protocol", protocol, "addr", addr.String(), "tls", tls, "socket", "systemd")
		return
	}
	log.Info("listening", "protocol", protocol, "addr", addr.String(), "tls", tls)
}

// backlog maps the config's repl_backlog_bytes and _age, where 0 keeps
// none, onto the engine's Backlog, where zero means the default.
func backlog(cfg config.Config) storage.Backlog {
	if cfg.ReplBacklogBytes == 0 || cfg.ReplBacklogAge.Duration == 0 {
		return storage.Backlog{Bytes: -1}
	}
	return storage.Backlog{Bytes: cfg.ReplBacklogBytes, Age: cfg.ReplBacklogAge.Duration}
}

// mergeThresholds maps the config's merge keys, where 0 turns a trigger
// off, onto the engine's, where 0 means its default and a negative value
// turns it off.
func mergeThresholds(s config.Storage) storage.MergeThresholds {
	off := func(n int64) int64 {
		if n == 0 {
			return -1
		}
		return n
	}
	return storage.MergeThresholds{
		SealedSegments: int(off(int64(s.MergeSealedSegments))),
		DeadBytes:      off(s.MergeDeadBytes),
		DeadRatio:      float64(s.MergeDeadPercent) / 100,
		MaxSpaceAmp:    float64(off(int64(s.MergeMaxSpaceAmp))) / 100,
		MinInterval:    time.Duration(off(int64(s.MergeMinInterval.Duration))),
	}
}

func cacheBytes(n int64) int64 {
	if n == 0 {
		return -1 // the config's 0 means no cache; the engine's 0 means default
	}
	return n
}

func port(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

// loadLeaderTLS returns the client configuration of a TLS link to a
// leader verified against the CA certificates in caFile, or nil without
// one. The server name is set per leader, from replicaof's host.
func loadLeaderTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("leader_tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("leader_tls_ca_file %s: no PEM certificate in it", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// loadTLS returns the listeners' TLS configuration, or nil without
// [tls]. Its certificate is d.cert's, which a reload replaces (reloadTLS):
// every handshake takes the one in force.
func (d *Daemon) loadTLS(c config.TLS) (*tls.Config, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := readCert(c)
	if err != nil {
		return nil, err
	}
	d.cert.Store(cert)
	return &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return d.cert.Load(), nil }}, nil
}

// readCert reads the certificate and key files of c.
func readCert(c config.TLS) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", c.CertFile, c.KeyFile, err)
	}
	return &cert, nil
}
