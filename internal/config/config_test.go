package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShippedFileMatchesDefaults: the documented pykv.toml holds exactly the
// built-in defaults, so the comments there are true of a daemon run without it.
func TestShippedFileMatchesDefaults(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "pykv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if c != Default() {
		t.Fatalf("pykv.toml differs from Default():\n file    %+v\n default %+v", c, Default())
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "data_dirr = \"x\"\n", "unknown key data_dirr"},
		{"unknown nested key", "[storage]\nfsynk = \"no\"\n", "unknown key storage.fsynk"},
		{"bad type", "max_clients = \"many\"\n", "max_clients"},
		{"bad duration", "idle_timeout = \"soon\"\n", "idle_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pykv.toml")
			os.WriteFile(path, []byte(tt.body), 0o644)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"fsync", func(c *Config) { c.Storage.Fsync = "sometimes" }, "storage.fsync = sometimes"},
		{"addr", func(c *Config) { c.RESP.Addr = "nocolon" }, "resp.addr = nocolon"},
		{"http addr", func(c *Config) { c.HTTP.Addr = "7381" }, "http.addr = 7381"},
		{"clients", func(c *Config) { c.MaxClients = 0 }, "max_clients = 0"},
		{"tls pair", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls.cert_file"},
		{"frame vs value", func(c *Config) { c.MaxFrame = 2048 }, "max_frame_bytes = 2048"},
		{"both off", func(c *Config) { c.Native.Addr, c.RESP.Addr = "", "" }, "both off"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level = loud"},
		{"request timeout", func(c *Config) { c.RequestTimeout.Duration = -time.Second }, "request_timeout = -1s"},
		{"write timeout", func(c *Config) { c.WriteTimeout.Duration = -time.Second }, "write_timeout = -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want mention of %q", err, tt.want)
			}
		})
	}
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

// TestProtectedMode: with no password, a listener beyond loopback is
// refused, naming the key and both ways out; a password or
// protected_mode = false allows it, and loopback is always allowed.
func TestProtectedMode(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		refused string // the key named, or "" when allowed
	}{
		{"defaults: loopback", func(*Config) {}, ""},
		{"every interface", func(c *Config) { c.Native.Addr = "0.0.0.0:7380" }, "native.addr = 0.0.0.0:7380"},
		{"empty host", func(c *Config) { c.RESP.Addr = ":7379" }, "resp.addr = :7379"},
		{"IPv6 any", func(c *Config) { c.HTTP.Addr = "[::]:7381" }, "http.addr = [::]:7381"},
		{"LAN address", func(c *Config) { c.Native.Addr = "192.168.1.5:7380" }, "native.addr = 192.168.1.5:7380"},
		{"host name", func(c *Config) { c.RESP.Addr = "db.example.com:7379" }, "resp.addr = db.example.com:7379"},
		{"localhost", func(c *Config) { c.Native.Addr = "localhost:7380" }, ""},
		{"IPv6 loopback", func(c *Config) { c.Native.Addr = "[::1]:7380" }, ""},
		{"127.0.0.2", func(c *Config) { c.RESP.Addr = "127.0.0.2:7379" }, ""},
		{"HTTP off", func(c *Config) { c.HTTP.Addr = "" }, ""},
		{"with a password", func(c *Config) { c.Native.Addr, c.Password = "0.0.0.0:7380", "s3cret" }, ""},
		{"turned off", func(c *Config) { c.Native.Addr, c.ProtectedMode = "0.0.0.0:7380", false }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("allowed, want refused")
			}
			for _, want := range []string{tt.refused, "protected mode", "--password", "protected_mode = false", "--protected-mode=no"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%v\ndoes not say %q", err, want)
				}
			}
		})
	}
}

// TestParamsCoverConfig: every field of Config that pykv.toml can set is
// in Params exactly once, under its TOML key, so no setting lacks a flag
// or bounds.
func TestParamsCoverConfig(t *testing.T) {
	var keys []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			key := prefix + f.Tag.Get("toml")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
				walk(key+".", f.Type)
				continue
			}
			keys = append(keys, key)
		}
	}
	walk("", reflect.TypeFor[Config]())
	var params, flags []string
	for _, p := range Params {
		params = append(params, p.Key)
		flags = append(flags, p.Flag())
	}
	slices.Sort(keys)
	sorted := slices.Sorted(slices.Values(params))
	if !slices.Equal(keys, sorted) {
		t.Fatalf("Config's keys %q\nParams' keys   %q", keys, sorted)
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(flags)))); n != len(flags) {
		t.Fatalf("two params share a flag name: %q", flags)
	}
	// The flags pykvd has always had keep their names.
	for key, flag := range map[string]string{"data_dir": "data-dir", "native.addr": "native-addr",
		"storage.fsync": "fsync", "storage.cache_bytes": "cache-bytes", "log.level": "log-level",
		"protected_mode": "protected-mode", "tls.cert_file": "tls-cert-file"} {
		if i := slices.Index(params, key); i < 0 || flags[i] != flag {
			t.Errorf("%s: flag %q, want %q", key, flags[max(i, 0)], flag)
		}
	}
}

// TestShippedFileDocumentsEveryParam: pykv.toml shows every key of
// Params, in Params' order, each under a comment of its own or of the
// group it opens with, and nothing else.
func TestShippedFileDocumentsEveryParam(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "pykv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	section, commented := "", false
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			commented = false // a blank line ends a group
		case strings.HasPrefix(line, "#"):
			commented = true
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]") + "."
		default:
			key, _, ok := strings.Cut(line, " = ")
			if !ok {
				t.Fatalf("pykv.toml line %d: %q is not key = value", i+1, line)
			}
			if !commented {
				t.Errorf("pykv.toml line %d: %s%s has no comment above it", i+1, section, key)
			}
			keys = append(keys, section+key)
		}
	}
	var params []string
	for _, p := range Params {
		params = append(params, p.Key)
	}
	if !slices.Equal(keys, params) {
		t.Fatalf("pykv.toml's keys %q\nParams' keys     %q", keys, params)
	}
}

// TestBounds: each bounded setting refuses the value just past each
// bound, naming the key and the bounds, and takes the bounds themselves;
// 0 is never taken as "the default" where it means nothing.
func TestBounds(t *testing.T) {
	for _, p := range Params {
		if p.Min == 0 && p.Max == 0 {
			continue
		}
		t.Run(p.Key, func(t *testing.T) {
			try := func(n int64) error {
				c := Default()
				c.MaxFrame = 1 << 31 // out of the way of the value limit's rule
				p.Value(&c).Set(strconv.FormatInt(n, 10))
				return c.Validate()
			}
			if err := try(p.Min); err != nil && !strings.Contains(err.Error(), "max_frame_bytes") {
				t.Errorf("min %d refused: %v", p.Min, err)
			}
			if err := try(p.Min - 1); err == nil || !strings.Contains(err.Error(), p.Key+" = ") {
				t.Errorf("%d: err %v, want one naming %s", p.Min-1, err, p.Key)
			}
			if p.Max > 0 {
				if err := try(p.Max + 1); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("want %d to %d", p.Min, p.Max)) {
					t.Errorf("%d: err %v, want the bounds", p.Max+1, err)
				}
			}
		})
	}
	c := Default()
	c.Storage.MaxValueSize = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "storage.max_value_size = 0: want 1 to") {
		t.Fatalf("max_value_size = 0: %v", err)
	}
}

// TestFlagValues: a flag's text sets the field as pykv.toml would, and
// bad text is refused with what was wanted.
func TestFlagValues(t *testing.T) {
	tests := []struct {
		flag, text, want, bad string
	}{
		{"fsync", "everysec", "everysec", ""},
		{"max-clients", "12", "12", ""},
		{"max-clients", "many", "", "want an integer"},
		{"cache-bytes", "0", "0", ""},
		{"idle-timeout", "5m", "5m0s", ""},
		{"idle-timeout", "soon", "", "want a duration"},
		{"protected-mode", "no", "no", ""},
		{"protected-mode", "true", "yes", ""},
		{"protected-mode", "maybe", "", "want yes or no"},
	}
	for _, tt := range tests {
		p, ok := ParamByFlag(tt.flag)
		if !ok {
			t.Fatalf("no param has the flag %s", tt.flag)
		}
		c := Default()
		err := p.Value(&c).Set(tt.text)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("--%s=%s: err %v, want %q", tt.flag, tt.text, err, tt.bad)
			}
			continue
		}
		if err != nil || p.Get(&c) != tt.want {
			t.Errorf("--%s=%s: %q, %v; want %q", tt.flag, tt.text, p.Get(&c), err, tt.want)
		}
		var back Config
		p.Copy(&back, &c)
		if p.Get(&back) != tt.want {
			t.Errorf("Copy of --%s: %q", tt.flag, p.Get(&back))
		}
	}
}

// TestShippedFileSaysWhatReloads: the comment above each key of pykv.toml
// (its own, or for a key right below another one, its group's) mentions
// SIGHUP exactly when its Param is Live, so the file says which keys a
// running pykvd changes.
func TestShippedFileSaysWhatReloads(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "pykv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	comments := map[string]string{}
	section, comment, afterKey := "", "", false
	for line := range strings.SplitSeq(string(text), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			comment, afterKey = "", false
		case strings.HasPrefix(line, "#"):
			if afterKey {
				comment, afterKey = "", false // a key's own comment within a group
			}
			comment += line + "\n"
		case strings.HasPrefix(line, "["):
			section, comment, afterKey = strings.Trim(line, "[]")+".", "", false
		default:
			key, _, _ := strings.Cut(line, " = ")
			comments[section+key] = comment
			afterKey = true
		}
	}
	for _, p := range Params {
		if says := strings.Contains(comments[p.Key], "SIGHUP"); says != p.Live {
			t.Errorf("pykv.toml: the comment above %s mentions SIGHUP: %v; Param.Live: %v\n%s", p.Key, says, p.Live, comments[p.Key])
		}
	}
	if len(LiveParams()) == 0 {
		t.Fatal("no Param is Live")
	}
}
