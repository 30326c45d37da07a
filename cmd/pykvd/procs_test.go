package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/testdaemon"
)

// TestLoopProcs: GOMAXPROCS is raised by one, and the event loops are one
// fewer than the runtime's choice, only for RESP event loops that serve
// under fsync always; everything else keeps the runtime's choice.
func TestLoopProcs(t *testing.T) {
	loopAlways := config.Default()
	loopAlways.RESP.EventLoop = true
	loopAlways.Storage.Fsync = "always"
	with := func(change func(*config.Config)) config.Config {
		c := loopAlways
		change(&c)
		return c
	}
	tests := []struct {
		name          string
		cfg           config.Config
		goos          string
		procs         int
		procsSet      bool
		wantProcs     int
		wantLoops     int
		wantUnchanged bool
	}{
		{name: "loop, always, 2 cores", cfg: loopAlways, goos: "linux", procs: 2, wantProcs: 3, wantLoops: 1},
		{name: "loop, always, 1 core", cfg: loopAlways, goos: "linux", procs: 1, wantProcs: 2, wantLoops: 1},
		{name: "loop, always, 8 cores", cfg: loopAlways, goos: "linux", procs: 8, wantProcs: 9, wantLoops: 7},
		{name: "loop, everysec", cfg: with(func(c *config.Config) { c.Storage.Fsync = "everysec" }), goos: "linux", procs: 2, wantUnchanged: true},
		{name: "loop, no", cfg: with(func(c *config.Config) { c.Storage.Fsync = "no" }), goos: "linux", procs: 2, wantUnchanged: true},
		{name: "goroutines, always", cfg: with(func(c *config.Config) { c.RESP.EventLoop = false }), goos: "linux", procs: 2, wantUnchanged: true},
		{name: "TLS, always", cfg: with(func(c *config.Config) { c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem" }), goos: "linux", procs: 2, wantUnchanged: true},
		{name: "darwin, always", cfg: loopAlways, goos: "darwin", procs: 2, wantUnchanged: true},
		{name: "GOMAXPROCS set", cfg: loopAlways, goos: "linux", procs: 2, procsSet: true, wantUnchanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			procs, loops := loopProcs(tc.cfg, tc.goos, tc.procs, tc.procsSet)
			if tc.wantUnchanged {
				tc.wantProcs, tc.wantLoops = tc.procs, 0
			}
			if procs != tc.wantProcs || loops != tc.wantLoops {
				t.Fatalf("loopProcs = %d procs, %d loops; want %d, %d", procs, loops, tc.wantProcs, tc.wantLoops)
			}
		})
	}
}

// TestEventLoopUnderAlwaysRaisesGOMAXPROCS: a pykvd serving RESP from its
// event loops under fsync always says at start that it raised GOMAXPROCS
// by one, runs one loop fewer than the cores (the RESP server's own log
// line counts them), and serves; under everysec it changes neither.
func TestEventLoopUnderAlwaysRaisesGOMAXPROCS(t *testing.T) {
	if runtime.GOOS != "linux" || os.Getenv("GOMAXPROCS") != "" {
		t.Skip("the event loop is Linux's; a GOMAXPROCS set by hand is kept")
	}
	n := runtime.GOMAXPROCS(0)
	d := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--resp-event-loop"}})
	line := logLine(d.WaitLog("GOMAXPROCS raised"), "GOMAXPROCS raised")
	for _, want := range []string{fmt.Sprintf("gomaxprocs=%d", n+1), fmt.Sprintf("event_loops=%d", max(n-1, 1))} {
		if !strings.Contains(line, want) {
			t.Fatalf("start-up log lacks %s:\n%s", want, line)
		}
	}
	if line := logLine(d.WaitLog("serving from event loops"), "serving from event loops"); !strings.Contains(line, fmt.Sprintf(" loops=%d", max(n-1, 1))) {
		t.Fatalf("the RESP server does not run the loops main asked for:\n%s", line)
	}
	if got := respDo(t, d.RESPAddr(), "SET", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	if got := respDo(t, d.RESPAddr(), "GET", "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("GET: %q", got)
	}

	e := testdaemon.Start(t, testdaemon.Options{Fsync: "everysec", Args: []string{"--resp-event-loop"}})
	log := e.WaitLog(`msg=ready`)
	if strings.Contains(log, "GOMAXPROCS raised") {
		t.Fatalf("under everysec GOMAXPROCS was raised:\n%s", log)
	}
}

// logLine returns the line of log that holds text.
func logLine(log, text string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, text) {
			return line
		}
	}
	return ""
}
