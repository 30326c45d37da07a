package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

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
