package daemon

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/server"
)

// Changes is what a Reload did: the keys it applied at once, and those
// whose new value differs from the running one but waits for a restart.
type Changes struct {
	Applied []string
	Restart []string
}

// plan works out what Reload(next) would do: the configuration that
// would then run (next's values of the keys that can change live, the
// running values of the others) and the Changes, and with TLS on, the
// certificate read from the files when they changed or rereadTLS says
// (a SIGHUP reads them again: a renewed certificate keeps its paths).
// It changes nothing. A next that does not validate, a running
// configuration it would make invalid, or certificate files that do not
// load are an error.
func (d *Daemon) plan(next config.Config, rereadTLS bool) (config.Config, Changes, *tls.Certificate, error) {
	if err := next.Validate(); err != nil {
		return config.Config{}, Changes{}, nil, err
	}
	cur := d.cfg
	run := cur
	var ch Changes
	for _, p := range config.Params {
		if p.Get(&cur) == p.Get(&next) {
			continue
		}
		if !p.Live || !d.canApply(p.Key, &next) {
			ch.Restart = append(ch.Restart, p.Key)
			continue
		}
		p.Copy(&run, &next)
		ch.Applied = append(ch.Applied, p.Key)
	}
	if err := run.Validate(); err != nil {
		return config.Config{}, Changes{}, nil, fmt.Errorf("with the keys that need a restart left as they run: %w", err)
	}
	if err := d.protected(run); err != nil {
		return config.Config{}, Changes{}, nil, err
	}
	var cert *tls.Certificate
	if d.cert.Load() != nil && (rereadTLS || run.TLS != cur.TLS) {
		var err error
		if cert, err = readCert(run.TLS); err != nil {
			return config.Config{}, Changes{}, nil, err
		}
	}
	return run, ch, cert, nil
}

// canApply reports whether a live key's change to next's value can be
// applied without a restart: the value cache and active expiry, off since
// start, cannot be turned on, and TLS can be neither turned on nor off
// (its certificate files can change).
func (d *Daemon) canApply(key string, next *config.Config) bool {
	switch key {
	case "storage.cache_bytes":
		return d.cacheOn || next.Storage.CacheBytes == 0
	case "storage.expiry_interval":
		return d.expiryOn || next.Storage.ExpiryInterval.Duration == 0
	case "tls.cert_file", "tls.key_file":
		return d.cert.Load() != nil && next.TLS.CertFile != ""
	}
	return true
}

// Reload applies a new configuration without a restart, as SIGHUP and
// CONFIG SET do: it validates next, applies every key that can change at
// run time (config.Param.Live: the password, max_clients, the native and
// RESP listeners' idle, auth and write timeouts, the TLS certificate files,
// the cache budget, the expiry interval, the merge thresholds,
// min_replicas_to_write and
// _max_lag, the log level) and logs each change; a key
// that cannot, whose new value differs, is logged as needing a restart and
// keeps its running value. source names where next came from ("SIGHUP
// /etc/pykv/pykv.toml", "CONFIG SET"), for the log; from a SIGHUP, the TLS
// certificate files are read again even when their names are the same. A
// bad next is an error and changes nothing.
func (d *Daemon) Reload(next config.Config, source string) (Changes, error) {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	run, ch, cert, err := d.plan(next, strings.HasPrefix(source, "SIGHUP"))
	if err != nil {
		d.log.Error("configuration not reloaded; the running one stays", "source", source, "err", err)
		return Changes{}, err
	}
	d.apply(run, ch, cert, source)
	return ch, nil
}

// apply makes run the running configuration, setting each key of
// ch.Applied in its subsystem and cert, when not nil, as the listeners'
// certificate, and logs what changed.
func (d *Daemon) apply(run config.Config, ch Changes, cert *tls.Certificate, source string) {
	old := d.cfg
	if cert != nil {
		d.cert.Store(cert)
		attrs := []any{"source", source, "cert_file", run.TLS.CertFile}
		if cert.Leaf != nil {
			attrs = append(attrs, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		d.log.Info("TLS certificate loaded", attrs...)
	}
	for _, key := range ch.Applied {
		switch key {
		case "password":
			d.table.SetPassword(run.Password)
		case "max_clients":
			for _, s := range d.servers {
				s.SetMaxClients(run.MaxClients)
			}
			if d.http != nil {
				d.http.SetMaxConns(run.MaxClients)
			}
		case "storage.cache_bytes":
			if err := d.db.SetCacheBytes(run.Storage.CacheBytes); err != nil {
				d.log.Error("cache budget not changed", "err", err) // canApply ruled this out
			}
		case "storage.merge_sealed_segments", "storage.merge_dead_bytes", "storage.merge_dead_percent", "storage.merge_max_space_amp_percent", "storage.merge_min_interval":
			d.db.SetMergeThresholds(mergeThresholds(run.Storage))
		case "storage.expiry_interval":
			if err := d.db.SetExpiryInterval(run.Storage.ExpiryInterval.Duration); err != nil {
				d.log.Error("expiry interval not changed", "err", err) // canApply ruled this out
			}
		case "idle_timeout", "auth_timeout", "write_timeout":
			for _, s := range d.servers {
				s.SetTimeouts(server.Timeouts{Idle: run.IdleTimeout.Duration, Auth: run.AuthTimeout.Duration,
					Request: run.RequestTimeout.Duration, Write: run.WriteTimeout.Duration})
			}
		case "min_replicas_to_write", "min_replicas_max_lag":
			d.repl.SetMinFollowers(run.MinReplicasToWrite, run.MinReplicasMaxLag.Duration)
		case "log.level":
			if d.info.LogLevel != nil {
				var lvl slog.Level
				if lvl.UnmarshalText([]byte(run.Log.Level)) == nil {
					d.info.LogLevel.Set(lvl)
				}
			}
		}
	}
	d.cfg = run
	for _, key := range ch.Applied {
		p, _ := config.ParamByKey(key)
		from, to := p.Get(&old), p.Get(&run)
		if key == "password" || key == "leader_password" {
			from, to = redact(from), redact(to)
		}
		d.log.Info("configuration changed", "source", source, "key", key, "from", from, "to", to)
	}
	for _, key := range ch.Restart {
		d.log.Warn("configuration change needs a restart; the running value stays", "source", source, "key", key)
	}
	d.log.Info("configuration reloaded", "source", source, "changed", strings.Join(ch.Applied, ","),
		"needs_restart", strings.Join(ch.Restart, ","))
}

// redact shows a password's presence, never the password.
func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "(set)"
}

// Config returns the configuration running now: the one New was given
// with the changes Reload applied since.
func (d *Daemon) Config() config.Config {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	return d.cfg
}

// settings is the daemon's configuration as CONFIG GET and CONFIG SET see
// it, by pykvd's flag names.
type settings struct{ d *Daemon }

// ConfigParams lists every config.Param by its flag name, settable when
// it changes at run time.
func (s settings) ConfigParams() []command.ConfigParam {
	cfg := s.d.Config()
	out := make([]command.ConfigParam, 0, len(config.Params))
	for _, p := range config.Params {
		out = append(out, command.ConfigParam{Name: p.Flag(), Value: p.Get(&cfg), Settable: p.Live})
	}
	return out
}

// ConfigSet parses each value as its flag does, checks it, and reloads the
// running configuration with them, all or none. A change Reload could
// apply only at a restart (turning a cache that was off since start on) is
// an error: CONFIG SET never leaves a change waiting.
func (s settings) ConfigSet(pairs []command.ConfigParam) error {
	d := s.d
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	next := d.cfg
	for _, pr := range pairs {
		p, ok := config.ParamByFlag(pr.Name)
		if !ok {
			return &command.SettingError{Name: pr.Name, Reason: "no such parameter"}
		}
		if err := p.Set(&next, pr.Value); err != nil {
			return &command.SettingError{Name: pr.Name, Reason: err.Error()}
		}
		if why := p.Check(&next); why != "" {
			return &command.SettingError{Name: pr.Name, Reason: why}
		}
	}
	run, ch, cert, err := d.plan(next, false)
	if err != nil {
		return &command.SettingError{Name: pairs[0].Name, Reason: oneLine(err)}
	}
	if len(ch.Restart) > 0 {
		p, _ := config.ParamByKey(ch.Restart[0])
		return &command.SettingError{Name: p.Flag(), Reason: restartReason(p.Key)}
	}
	d.apply(run, ch, cert, "CONFIG SET")
	return nil
}

// restartReason says why a live key's change must wait for a restart.
func restartReason(key string) string {
	switch key {
	case "storage.cache_bytes":
		return "the value cache was off at start: turning it on takes a restart"
	case "storage.expiry_interval":
		return "active expiry was off at start: turning it on takes a restart"
	case "tls.cert_file", "tls.key_file":
		return "turning TLS on or off takes a restart"
	}
	return "takes a restart"
}

// oneLine joins err's lines (errors.Join's) with "; ".
func oneLine(err error) string {
	var lines []string
	for l := range strings.SplitSeq(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(slices.Compact(lines), "; ")
}
