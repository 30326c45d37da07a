package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

func TestMain(m *testing.M) { testdaemon.Main(m) }

// TestRESPPortIsNamed points pykv-cli at pykvd's RESP port, the mistake of
// `pykv-cli -p 7379`: it must say at once that the port speaks RESP and
// which to use, not wait for the handshake to time out.
func TestRESPPortIsNamed(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	cli := testdaemon.Tool(t, "pykv-cli")
	port := strconv.Itoa(d.RESPPort())
	stdout, stderr, code := runCLI(t, cli, "", "-p", port, "PING")
	want := "127.0.0.1:" + port + " speaks RESP (Redis's protocol), not pykv's native protocol: " +
		"use -p 7380 (the native port by default) or redis-cli -p " + port + "\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Fatalf("pykv-cli -p %s PING: exit %d, stdout %q, stderr %q; want exit 1 and stderr %q",
			port, code, stdout, stderr, want)
	}
	if strings.Contains(stderr, "timeout") {
		t.Errorf("pykv-cli waited for a timeout: %q", stderr)
	}
}
