// Package config is pykvd's configuration: the built-in defaults, the
// pykv.toml file (read with github.com/BurntSushi/toml; an unknown key is an
// error naming the key), and the checks that turn a bad value into an error
// naming the key and the value. Command-line flags are applied on top by the
// daemon's main.
package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pykv/pykv/segment"
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

	Native Listener `toml:"native"`
	RESP   Listener `toml:"resp"`
	HTTP   Listener `toml:"http"`

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

	Storage Storage `toml:"storage"`
	Log     Log     `toml:"log"`
}

// Listener is one front end's address; an empty Addr turns it off.
type Listener struct {
	Addr string `toml:"addr"`
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
		DataDir:        "./data",
		Native:         Listener{Addr: DefaultNativeAddr},
		RESP:           Listener{Addr: DefaultRESPAddr},
		HTTP:           Listener{Addr: DefaultHTTPAddr},
		MaxClients:     10000,
		ProtectedMode:  true,
		IdleTimeout:    Duration{0},
		AuthTimeout:    Duration{DefaultAuthTimeout},
		RequestTimeout: Duration{DefaultRequestTimeout},
		WriteTimeout:   Duration{DefaultWriteTimeout},
		MaxFrame:       64<<20 + 128<<10,
		Storage: Storage{
			Fsync:          "always",
			SegmentSize:    64 << 20,
			CacheBytes:     256 << 20,
			MaxKeySize:     64 << 10,
			MaxValueSize:   64 << 20,
			ExpiryInterval: Duration{100 * time.Millisecond},
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

// Validate checks every value, naming the key of the first bad one.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, val any, why string) {
		errs = append(errs, fmt.Errorf("%s = %v: %s", key, val, why))
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
	if c.MaxClients <= 0 {
		bad("max_clients", c.MaxClients, "must be positive")
	}
	if c.IdleTimeout.Duration < 0 {
		bad("idle_timeout", c.IdleTimeout, "must not be negative")
	}
	if c.AuthTimeout.Duration < 0 {
		bad("auth_timeout", c.AuthTimeout, "must not be negative")
	}
	if c.RequestTimeout.Duration < 0 {
		bad("request_timeout", c.RequestTimeout, "must not be negative")
	}
	if c.WriteTimeout.Duration < 0 {
		bad("write_timeout", c.WriteTimeout, "must not be negative")
	}
	if c.MaxFrame < 1024 {
		bad("max_frame_bytes", c.MaxFrame, "must be at least 1024")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", c.TLS.CertFile, "tls.cert_file and tls.key_file go together")
	}
	if _, err := segment.ParseSyncPolicy(c.Storage.Fsync); err != nil {
		bad("storage.fsync", c.Storage.Fsync, "want always, everysec or no")
	}
	if c.Storage.SegmentSize < 4096 || c.Storage.SegmentSize > 1<<32-1 {
		bad("storage.segment_size", c.Storage.SegmentSize, "want 4096 to 4294967295 bytes")
	}
	if c.Storage.MaxKeySize <= 0 || c.Storage.MaxKeySize > 1<<30 {
		bad("storage.max_key_size", c.Storage.MaxKeySize, "want 1 to 1073741824")
	}
	if c.Storage.MaxValueSize < 0 || c.Storage.MaxValueSize > 1<<30 {
		bad("storage.max_value_size", c.Storage.MaxValueSize, "want 0 to 1073741824")
	}
	if c.MaxFrame < c.Storage.MaxValueSize {
		bad("max_frame_bytes", c.MaxFrame, fmt.Sprintf("smaller than storage.max_value_size (%d): the largest values could not be sent", c.Storage.MaxValueSize))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", c.Log.Level, "want debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", c.Log.Format, "want text or json")
	}
	return errors.Join(errs...)
}
