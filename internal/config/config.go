// Package config is pykvd's configuration: the built-in defaults
// (Default), the one list of settings with their keys, flags and bounds
// (Params), the pykv.toml file (read with github.com/BurntSushi/toml; an
// unknown key is an error naming the key), and the checks that turn a bad
// value into an error naming the key and the value. pykvd's main makes its
// flags from Params and applies them on top of the file.
//
// In pykv.toml 0 never stands for "the default": a timeout of 0 is off,
// cache_bytes 0 caches nothing, expiry_interval 0 turns active expiry
// off, and a limit (max_clients, max_frame_bytes, segment_size,
// max_key_size, max_value_size) must be positive. The engine's own
// Options, where 0 means the default, are filled in by the daemon.
package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
)

// Default ports: our own, not Redis's 6379, so that pykvd never clashes with
// a local Redis.
const (
	DefaultNativeAddr = "127.0.0.1:7380"
	DefaultRESPAddr   = "127.0.0.1:7379"
	DefaultHTTPAddr   = "127.0.0.1:7381"
)

// DefaultAuthTimeout is auth_timeout's default: long enough for any client
// that knows the password to send AUTH (or HELLO ... AUTH) across a slow
// link, short enough that clients that do not cannot hold the slots of
// max_clients for long.
const DefaultAuthTimeout = 10 * time.Second

// DefaultRequestTimeout is request_timeout's default: a request, once its
// first byte has arrived, must arrive whole within it. It is net/http's
// ReadTimeout of the HTTP listener too, where it had been 2 minutes: long
// enough for a value of the default 64 MiB limit at about 4.5 Mbit/s,
// short enough that a client trickling requests a byte at a time
// (slowloris), which idle_timeout never cuts, holds its slot for minutes,
// not for ever.
const DefaultRequestTimeout = 2 * time.Minute

// DefaultWriteTimeout is write_timeout's default: a connection whose
// replies make no progress (64 KiB not taken by the kernel) this long is
// closed, so a client that sends requests and never reads the replies
// does not hold its slot and goroutine for ever. Redis closes no normal
// client for its output (client-output-buffer-limit normal 0 0 0) but
// buffers it in memory without bound; pykvd stops reading instead, so its
// memory stays bounded, and this frees the rest.
const DefaultWriteTimeout = 30 * time.Second

// DefaultMaxClients is max_clients's default, Redis's maxclients.
const DefaultMaxClients = 10000

// FrameOverhead is what max_frame_bytes's default allows beyond the largest
// value: room for the command, the key and the frame around the value.
const FrameOverhead = 128 << 10

// Duration is a time.Duration written as a string ("10s", "5m") in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is everything pykvd can be told. Field tags are the TOML keys;
// pykv.toml documents each one.
type Config struct {
	DataDir string `toml:"data_dir"`

	Native Listener     `toml:"native"`
	RESP   RESPListener `toml:"resp"`
	HTTP   Listener     `toml:"http"`

	Password string `toml:"password"`
	// ProtectedMode refuses to start with a listener beyond loopback and
	// no password, as Redis's protected-mode refuses such clients.
	ProtectedMode bool     `toml:"protected_mode"`
	MaxClients    int      `toml:"max_clients"`
	IdleTimeout   Duration `toml:"idle_timeout"`
	AuthTimeout   Duration `toml:"auth_timeout"`
	// RequestTimeout bounds how long a request takes to arrive once its
	// first byte has; WriteTimeout how long replies may make no progress.
	RequestTimeout Duration `toml:"request_timeout"`
	WriteTimeout   Duration `toml:"write_timeout"`
	MaxFrame       int      `toml:"max_frame_bytes"`
	TLS            TLS      `toml:"tls"`

	// ReplicaOf is the leader this daemon follows, "host:port" of its
	// native listener; empty: a leader. LeaderPassword is the leader's
	// password.
	ReplicaOf      string `toml:"replicaof"`
	LeaderPassword string `toml:"leader_password"`
	// LeaderTLSCAFile, when set, makes the link to the leader speak TLS,
	// verifying the leader's certificate against this PEM file.
	LeaderTLSCAFile string `toml:"leader_tls_ca_file"`
	// ReplBacklogBytes and ReplBacklogAge bound the log a leader keeps
	// after merging it, for followers that were away.
	ReplBacklogBytes int64    `toml:"repl_backlog_bytes"`
	ReplBacklogAge   Duration `toml:"repl_backlog_age"`
	// MinReplicasToWrite, when positive, refuses writes on a leader
	// unless that many followers acknowledged within MinReplicasMaxLag.
	MinReplicasToWrite int      `toml:"min_replicas_to_write"`
	MinReplicasMaxLag  Duration `toml:"min_replicas_max_lag"`

	Storage Storage `toml:"storage"`
	Log     Log     `toml:"log"`
}

// Listener is one front end's address; an empty Addr turns it off.
type Listener struct {
	Addr string `toml:"addr"`
}

// RESPListener is the RESP front end's address (empty: off) and how its
// connections are served.
type RESPListener struct {
	Addr string `toml:"addr"`
	// EventLoop serves the RESP connections from a few epoll event
	// loops instead of one goroutine per connection (server.Config's
	// EventLoop; docs/performance.md, "An event loop for RESP"). With
	// TLS, or off Linux, the goroutine server serves them all the same.
	EventLoop bool `toml:"event_loop"`
}

// TLS names the certificate and key; both empty means plain TCP.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Storage configures the engine.
type Storage struct {
	Fsync          string   `toml:"fsync"`
	SegmentSize    int64    `toml:"segment_size"`
	CacheBytes     int64    `toml:"cache_bytes"`
	MaxKeySize     int      `toml:"max_key_size"`
	MaxValueSize   int      `toml:"max_value_size"`
	ExpiryInterval Duration `toml:"expiry_interval"`
	// The background merge triggers (storage.MergeThresholds); 0 turns a
	// trigger (or the pause) off.
	MergeSealedSegments int      `toml:"merge_sealed_segments"`
	MergeDeadBytes      int64    `toml:"merge_dead_bytes"`
	MergeDeadPercent    int      `toml:"merge_dead_percent"`
	MergeMaxSpaceAmp    int      `toml:"merge_max_space_amp_percent"`
	MergeMinInterval    Duration `toml:"merge_min_interval"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Default returns the built-in configuration: loopback listeners on
// pykv's own ports, data under ./data, fsync always.
func Default() Config {
	return Config{
		DataDir:           "./data",
		Native:            Listener{Addr: DefaultNativeAddr},
		RESP:              RESPListener{Addr: DefaultRESPAddr},
		HTTP:              Listener{Addr: DefaultHTTPAddr},
		MaxClients:        DefaultMaxClients,
		ProtectedMode:     true,
		IdleTimeout:       Duration{0},
		AuthTimeout:       Duration{DefaultAuthTimeout},
		RequestTimeout:    Duration{DefaultRequestTimeout},
		WriteTimeout:      Duration{DefaultWriteTimeout},
		MaxFrame:          segment.DefaultMaxValue + FrameOverhead,
		ReplBacklogBytes:  storage.DefaultBacklog.Bytes,
		ReplBacklogAge:    Duration{storage.DefaultBacklog.Age},
		MinReplicasMaxLag: Duration{10 * time.Second},
		Storage: Storage{
			Fsync:          segment.SyncAlways.String(),
			SegmentSize:    segment.DefaultSegmentSize,
			CacheBytes:     storage.DefaultCacheBytes,
			MaxKeySize:     segment.DefaultMaxKey,
			MaxValueSize:   segment.DefaultMaxValue,
			ExpiryInterval: Duration{storage.DefaultExpiryInterval},

			MergeSealedSegments: storage.DefaultMergeSealedSegments,
			MergeDeadBytes:      storage.DefaultMergeDeadBytes,
			MergeDeadPercent:    int(storage.DefaultMergeDeadRatio * 100),
			MergeMaxSpaceAmp:    int(storage.DefaultMergeMaxSpaceAmp * 100),
			MergeMinInterval:    Duration{storage.DefaultMergeMinInterval},
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Load reads the TOML file at path over the defaults. A key the file
// names that pykvd does not know is an error naming the key.
func Load(path string) (Config, error) {
	c := Default()
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}

// Loopback reports whether the listen address addr ("host:port") binds
// loopback only: "localhost" or a loopback IP. An empty host (every
// interface), any other IP and any other host name are not: a name may
// resolve anywhere, and the check never asks DNS.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks every value, naming the key of each bad one: first
// each against its bounds in Params, then the rules that join two.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, val any, why string) {
		errs = append(errs, fmt.Errorf("%s = %v: %s", key, val, why))
	}
	for _, p := range Params {
		if why := p.check(&c); why != "" {
			bad(p.Key, p.Get(&c), why)
		}
	}
	if c.DataDir == "" {
		bad("data_dir", `""`, "must name a directory")
	}
	listeners := []struct {
		key  string
		addr string
	}{{"native.addr", c.Native.Addr}, {"resp.addr", c.RESP.Addr}, {"http.addr", c.HTTP.Addr}}
	for _, l := range listeners {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			bad(l.key, l.addr, "want host:port")
		}
	}
	if c.ProtectedMode && c.Password == "" {
		for _, l := range listeners {
			if l.addr != "" && !Loopback(l.addr) {
				bad(l.key, l.addr, "protected mode: this listens beyond loopback and no password is set, "+
					"so anyone who can reach it could read and change every key. Set a password "+
					"(password in pykv.toml, or --password), listen on 127.0.0.1 only, or, if the network "+
					"is trusted, turn protected mode off (protected_mode = false, or --protected-mode=no)")
			}
		}
	}
	if c.Native.Addr == "" && c.RESP.Addr == "" {
		bad("native.addr", `""`, "native and resp listeners are both off: nothing could reach the daemon")
	}
	if c.ReplicaOf != "" {
		if _, _, err := net.SplitHostPort(c.ReplicaOf); err != nil {
			bad("replicaof", c.ReplicaOf, "want host:port of the leader's native listener")
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", c.TLS.CertFile, "tls.cert_file and tls.key_file go together")
	}
	if c.MaxFrame < c.Storage.MaxValueSize {
		bad("max_frame_bytes", c.MaxFrame, fmt.Sprintf("smaller than storage.max_value_size (%d): the largest values could not be sent", c.Storage.MaxValueSize))
	}
	return errors.Join(errs...)
}
