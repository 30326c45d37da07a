package config

import (
	"os"
	"path/filepath"
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
