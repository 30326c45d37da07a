package config

import (
	"flag"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pykv/pykv/segment"
)

// Param is one setting of pykvd: its key in pykv.toml, what it means in a
// line (the usage of its pykvd flag), and the values it may take. Params
// is the one list of them: pykvd's flags are made from it (Param.Flag,
// Param.Value), Validate checks each value against it, and tests check
// pykv.toml and `pykvd --help` against it. The defaults are Default()'s.
type Param struct {
	// Key is the TOML key, dotted under its table: "storage.fsync".
	Key string
	// Usage is the flag's one-line help. It says what 0 or "" means when
	// that is more than "none".
	Usage string
	// Min and Max bound a number (a count or a size; a duration's in
	// nanoseconds). Max 0 means no upper bound. A duration is never
	// negative whatever its Min.
	Min, Max int64
	// Choices, when set, are the only values a string may take.
	Choices []string
	// Live says that a running pykvd applies a new value without a
	// restart, on SIGHUP or CONFIG SET (daemon.Reload); a change of any
	// other key is logged as waiting for the next start.
	Live bool
	// field returns a pointer to the setting's field of c.
	field func(c *Config) any
}

// Params lists every setting in the order pykv.toml shows them.
var Params = []Param{
	{Key: "data_dir", Usage: "data directory", field: func(c *Config) any { return &c.DataDir }},
	{Key: "password", Live: true, Usage: "require AUTH with this password (prefer the config file: flags show in ps)",
		field: func(c *Config) any { return &c.Password }},
	{Key: "protected_mode", Usage: "yes: refuse to listen beyond loopback without a password; no: allow it (trusted networks only)",
		field: func(c *Config) any { return &c.ProtectedMode }},
	{Key: "auth_timeout", Live: true, Usage: "with a password, close connections not authenticated this long after connecting (0: never)",
		field: func(c *Config) any { return &c.AuthTimeout }},
	{Key: "max_clients", Live: true, Usage: "maximum connections of all listeners together", Min: 1, Max: 1 << 20,
		field: func(c *Config) any { return &c.MaxClients }},
	{Key: "idle_timeout", Live: true, Usage: "close connections idle this long (0: never)",
		field: func(c *Config) any { return &c.IdleTimeout }},
	{Key: "request_timeout", Usage: "close connections whose request has not arrived whole this long after its first byte (0: never)",
		field: func(c *Config) any { return &c.RequestTimeout }},
	{Key: "write_timeout", Live: true, Usage: "close connections whose replies are not read for this long (0: never)",
		field: func(c *Config) any { return &c.WriteTimeout }},
	{Key: "max_frame_bytes", Usage: "largest native request frame or RESP bulk string in bytes (at least max-value-size)",
		Min: 1024, Max: 1<<31 - 1, field: func(c *Config) any { return &c.MaxFrame }},
	{Key: "replicaof", Usage: "follow the leader whose native listener is host:port (empty: a leader)",
		field: func(c *Config) any { return &c.ReplicaOf }},
	{Key: "leader_password", Usage: "password to AUTH with to the leader (prefer the config file: flags show in ps)",
		field: func(c *Config) any { return &c.LeaderPassword }},
	{Key: "leader_tls_ca_file", Usage: "PEM CA certificate to verify a TLS leader with: set, the link to the leader speaks TLS (empty: plain TCP)",
		field: func(c *Config) any { return &c.LeaderTLSCAFile }},
	{Key: "repl_backlog_bytes", Usage: "log kept after a merge for followers that were away, in bytes (0: none)", Min: 0,
		field: func(c *Config) any { return &c.ReplBacklogBytes }},
	{Key: "repl_backlog_age", Usage: "how long after it was written merged log is kept for followers (0: not at all)",
		field: func(c *Config) any { return &c.ReplBacklogAge }},
	{Key: "min_replicas_to_write", Live: true, Usage: "refuse writes unless this many followers acknowledged within min-replicas-max-lag (0: never refuse)", Min: 0,
		field: func(c *Config) any { return &c.MinReplicasToWrite }},
	{Key: "min_replicas_max_lag", Live: true, Usage: "how recently a follower must have acknowledged to count for min-replicas-to-write",
		field: func(c *Config) any { return &c.MinReplicasMaxLag }},
	{Key: "native.addr", Usage: "native protocol listen address (empty: off)",
		field: func(c *Config) any { return &c.Native.Addr }},
	{Key: "resp.addr", Usage: "RESP (Redis protocol) listen address (empty: off)",
		field: func(c *Config) any { return &c.RESP.Addr }},
	{Key: "resp.event_loop", Usage: "serve RESP connections from epoll event loops instead of a goroutine each (Linux, no TLS; otherwise ignored)",
		field: func(c *Config) any { return &c.RESP.EventLoop }},
	{Key: "http.addr", Usage: "HTTP listen address: REST, /healthz, /metrics (empty: off)",
		field: func(c *Config) any { return &c.HTTP.Addr }},
	{Key: "tls.cert_file", Live: true, Usage: "PEM certificate: with tls-key-file, every listener speaks TLS only (empty: plain TCP)",
		field: func(c *Config) any { return &c.TLS.CertFile }},
	{Key: "tls.key_file", Live: true, Usage: "PEM private key of tls-cert-file",
		field: func(c *Config) any { return &c.TLS.KeyFile }},
	{Key: "storage.fsync", Usage: "fsync policy: always, everysec or no", Choices: []string{"always", "everysec", "no"},
		field: func(c *Config) any { return &c.Storage.Fsync }},
	{Key: "storage.segment_size", Usage: "log segment size in bytes", Min: 4096, Max: 1<<32 - 1,
		field: func(c *Config) any { return &c.Storage.SegmentSize }},
	{Key: "storage.cache_bytes", Live: true, Usage: "value cache budget in bytes (0: no cache)", Min: 0,
		field: func(c *Config) any { return &c.Storage.CacheBytes }},
	{Key: "storage.max_key_size", Usage: "largest key in bytes", Min: 1, Max: int64(segment.FormatLimits.MaxKey),
		field: func(c *Config) any { return &c.Storage.MaxKeySize }},
	{Key: "storage.max_value_size", Usage: "largest value in bytes", Min: 1, Max: int64(segment.FormatLimits.MaxValue),
		field: func(c *Config) any { return &c.Storage.MaxValueSize }},
	{Key: "storage.expiry_interval", Live: true, Usage: "period of the active expiry cycle (0: off; lazy expiry still applies)",
		field: func(c *Config) any { return &c.Storage.ExpiryInterval }},
	{Key: "storage.merge_sealed_segments", Live: true, Usage: "merge in the background once this many sealed log segments wait (0: not on their count)",
		Min: 0, Max: 1 << 20, field: func(c *Config) any { return &c.Storage.MergeSealedSegments }},
	{Key: "storage.merge_dead_bytes", Live: true, Usage: "the least dead bytes a background merge of the files past merge-dead-percent must reclaim (0: never on dead bytes)",
		Min: 0, field: func(c *Config) any { return &c.Storage.MergeDeadBytes }},
	{Key: "storage.merge_dead_percent", Live: true, Usage: "the share of a data file's records, in per cent, that must be dead for a background merge to rewrite it (the sealed segments count as one file)",
		Min: 1, Max: 100, field: func(c *Config) any { return &c.Storage.MergeDeadPercent }},
	{Key: "storage.merge_max_space_amp_percent", Live: true, Usage: "cap on the snapshot files' record bytes, in per cent of their live bytes: past it a background merge also takes the deadest files (0: no cap)",
		Min: 0, Max: 100000, field: func(c *Config) any { return &c.Storage.MergeMaxSpaceAmp }},
	{Key: "storage.merge_min_interval", Live: true, Usage: "least time from the end of one background merge to the start of the next (0: no pause)",
		field: func(c *Config) any { return &c.Storage.MergeMinInterval }},
	{Key: "log.level", Live: true, Usage: "log level: debug, info, warn or error", Choices: []string{"debug", "info", "warn", "error"},
		field: func(c *Config) any { return &c.Log.Level }},
	{Key: "log.format", Usage: "log format: text or json", Choices: []string{"text", "json"},
		field: func(c *Config) any { return &c.Log.Format }},
}

// LiveParams returns the keys of the Params a running pykvd changes
// without a restart (Param.Live), in Params' order.
func LiveParams() []string {
	var keys []string
	for _, p := range Params {
		if p.Live {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// ParamByKey returns the Param whose TOML key is key.
func ParamByKey(key string) (Param, bool) {
	i := slices.IndexFunc(Params, func(p Param) bool { return p.Key == key })
	if i < 0 {
		return Param{}, false
	}
	return Params[i], true
}

// Set parses s as p's flag does and sets p's field of c to it.
func (p Param) Set(c *Config, s string) error { return value{p.field(c)}.Set(s) }

// Check returns why c's value of p is out of p's bounds, or "" when it is
// within them.
func (p Param) Check(c *Config) string { return p.check(c) }

// Flag is the name of the pykvd flag that sets p: its key with the
// "storage." table left out and "." and "_" written "-", so
// storage.max_key_size is --max-key-size and native.addr --native-addr.
func (p Param) Flag() string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(strings.TrimPrefix(p.Key, "storage."))
}

// Value returns a flag.Value that reads and sets p's field of c.
func (p Param) Value(c *Config) flag.Value { return value{p.field(c)} }

// Arg names the kind of value p's flag takes in --help: string, bytes,
// int, duration, or "" for a yes/no flag that may stand alone.
func (p Param) Arg() string {
	switch p.field(&Config{}).(type) {
	case *bool:
		return ""
	case *Duration:
		return "duration"
	case *int, *int64:
		if strings.HasSuffix(p.Key, "_size") || strings.HasSuffix(p.Key, "_bytes") {
			return "bytes"
		}
		return "int"
	}
	if len(p.Choices) > 0 {
		return strings.Join(p.Choices, "|")
	}
	return "string"
}

// IsString reports whether p's value is a string, which --help quotes.
func (p Param) IsString() bool {
	_, ok := p.field(&Config{}).(*string)
	return ok
}

// Copy sets p's field of dst to its value in src.
func (p Param) Copy(dst, src *Config) {
	reflect.ValueOf(p.field(dst)).Elem().Set(reflect.ValueOf(p.field(src)).Elem())
}

// Get returns p's value in c, written as pykv.toml and the flag write it.
func (p Param) Get(c *Config) string { return value{p.field(c)}.String() }

// ParamByFlag returns the Param whose flag is name.
func ParamByFlag(name string) (Param, bool) {
	i := slices.IndexFunc(Params, func(p Param) bool { return p.Flag() == name })
	if i < 0 {
		return Param{}, false
	}
	return Params[i], true
}

// check returns why c's value of p is out of its bounds, or "".
func (p Param) check(c *Config) string {
	var n int64
	switch v := p.field(c).(type) {
	case *string:
		if len(p.Choices) > 0 && !slices.Contains(p.Choices, *v) {
			return "want " + orList(p.Choices)
		}
		return ""
	case *bool:
		return ""
	case *Duration:
		if v.Duration < 0 {
			return "must not be negative"
		}
		n = int64(v.Duration)
	case *int:
		n = int64(*v)
	case *int64:
		n = *v
	}
	switch {
	case p.Max > 0 && (n < p.Min || n > p.Max):
		return fmt.Sprintf("want %d to %d", p.Min, p.Max)
	case n < p.Min && p.Min == 1:
		return "must be positive"
	case n < p.Min:
		return fmt.Sprintf("must be at least %d", p.Min)
	}
	return ""
}

// orList writes "a, b or c".
func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// value is the flag.Value of one field, by the field's type. The zero
// value (which flag's PrintDefaults makes to tell a default from none)
// prints as "".
type value struct{ p any }

func (v value) String() string {
	switch p := v.p.(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *Duration:
		return p.String()
	case *bool:
		if *p {
			return "yes"
		}
		return "no"
	}
	return ""
}

func (v value) Set(s string) error {
	switch p := v.p.(type) {
	case *string:
		*p = s
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer, not %q", s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer, not %q", s)
		}
		*p = n
	case *Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration such as 10s or 5m, not %q", s)
		}
		p.Duration = d
	case *bool:
		// Written as Redis writes its own: yes or no (true, false, 1
		// and 0 too).
		switch strings.ToLower(s) {
		case "yes", "true", "1":
			*p = true
		case "no", "false", "0":
			*p = false
		default:
			return fmt.Errorf("want yes or no, not %q", s)
		}
	}
	return nil
}

// IsBoolFlag lets a yes/no flag stand alone, as a yes.
func (v value) IsBoolFlag() bool {
	_, ok := v.p.(*bool)
	return ok
}
