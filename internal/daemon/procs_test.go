package daemon

import (
	"testing"

	"github.com/pykv/pykv/internal/config"
)

// TestEventLoopProcs: GOMAXPROCS is raised by one, and the event loops are one
// fewer than the runtime's choice, only for RESP event loops that serve
// under fsync always; everything else keeps the runtime's choice.
func TestEventLoopProcs(t *testing.T) {
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
			procs, loops := EventLoopProcs(tc.cfg, tc.goos, tc.procs, tc.procsSet)
			if tc.wantUnchanged {
				tc.wantProcs, tc.wantLoops = tc.procs, 0
			}
			if procs != tc.wantProcs || loops != tc.wantLoops {
				t.Fatalf("EventLoopProcs = %d procs, %d loops; want %d, %d", procs, loops, tc.wantProcs, tc.wantLoops)
			}
		})
	}
}
