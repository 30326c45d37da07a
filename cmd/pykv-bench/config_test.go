package main

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "127.0.0.1:7380", Protocol: protoNative, Clients: 50, Requests: 100000, Pipeline: 1,
		DataSize: 100, Keyspace: 100000, Tests: []Test{TestSet, TestGet}, SetRatio: 1, GetRatio: 10}
	if !equalConfig(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want func(*Config)
	}{
		{"resp default port", []string{"--protocol", "resp"}, func(c *Config) { c.Protocol, c.Addr = protoRESP, "127.0.0.1:7379" }},
		{"host and port as redis-benchmark", []string{"-h", "localhost", "-p", "6400"}, func(c *Config) { c.Addr = "localhost:6400" }},
		{"addr wins over -h -p", []string{"-h", "x", "-p", "1", "--addr", "127.0.0.2:9"}, func(c *Config) { c.Addr = "127.0.0.2:9" }},
		{"redis-benchmark flags", []string{"-c", "8", "-n", "1000", "-P", "16", "-d", "32", "-r", "5000", "-a", "pw"},
			func(c *Config) {
				c.Clients, c.Requests, c.Pipeline, c.DataSize, c.Keyspace, c.Password = 8, 1000, 16, 32, 5000, "pw"
			}},
		{"double dash works too", []string{"--c", "3", "--P", "4"}, func(c *Config) { c.Clients, c.Pipeline = 3, 4 }},
		{"duration", []string{"--duration", "2s"}, func(c *Config) { c.Duration = 2 * time.Second }},
		{"tests in order, any case", []string{"-t", "MGET, incr,mixed"}, func(c *Config) { c.Tests = []Test{TestMGet, TestIncr, TestMixed} }},
		{"none with preload", []string{"-t", "none", "--preload", "500"}, func(c *Config) { c.Tests, c.Preload = nil, 500 }},
		{"ratio", []string{"--ratio", "3:7"}, func(c *Config) { c.SetRatio, c.GetRatio = 3, 7 }},
		{"reads only", []string{"--ratio", "0:1"}, func(c *Config) { c.SetRatio, c.GetRatio = 0, 1 }},
		{"json and seed", []string{"--json", "--seed", "7"}, func(c *Config) { c.JSON, c.Seed = true, 7 }},
		{"latency out", []string{"--latency-out", "lat.json"}, func(c *Config) { c.LatencyOut = "lat.json" }},
		{"wait ready", []string{"--wait-ready", "30s", "--since", "12345"}, func(c *Config) { c.WaitReady, c.Since = 30*time.Second, 12345 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := parseFlags(nil, io.Discard)
			tc.want(&want)
			if !equalConfig(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--protocol", "http"},
		{"-c", "0"},
		{"-P", "0"},
		{"-P", "100000"},
		{"-d", "-1"},
		{"-r", "0"},
		{"-r", "1000000000001"},
		{"-n", "0"},
		{"-t", "set,flushall"},
		{"-t", ","},
		{"--ratio", "1"},
		{"--ratio", "0:0"},
		{"--ratio", "-1:2"},
		{"--addr", "nocolon"},
		{"-p", "70000"},
		{"--duration", "-1s"},
		{"--preload", "-5"},
		{"stray"},
		{"--no-such-flag"},
	} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
	if _, err := parseFlags([]string{"--help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: err = %v, want flag.ErrHelp", err)
	}
}

func TestRunExitCodes(t *testing.T) {
	if code := run([]string{"--help"}, io.Discard, io.Discard, false); code != 0 {
		t.Errorf("--help: exit %d, want 0", code)
	}
	if code := run([]string{"-c", "0"}, io.Discard, io.Discard, false); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	// Nothing listens on port 1 of loopback.
	if code := run([]string{"--addr", "127.0.0.1:1", "-n", "1", "-c", "1"}, io.Discard, io.Discard, false); code != 1 {
		t.Errorf("no server: exit %d, want 1", code)
	}
}

func equalConfig(a, b Config) bool {
	return slices.Equal(a.Tests, b.Tests) && reflect.DeepEqual(withoutTests(a), withoutTests(b))
}

func withoutTests(c Config) Config {
	c.Tests = nil
	return c
}
