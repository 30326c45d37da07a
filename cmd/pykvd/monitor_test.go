package main

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// monitorSetLine is a monitor's line of a SET of TestMonitorConcurrentClients:
// the time, the client's port, its key and value.
var monitorSetLine = regexp.MustCompile(`^\+(\d{10}\.\d{6}) \[0 127\.0\.0\.1:(\d+)\] "SET" "k(\d+)" "(\d+)"\r\n$`)

// TestMonitorConcurrentClients: with clients sending pipelined commands at
// once, every monitor of a real pykvd gets the line of every command, each
// client's in the order it sent them, no line twice, every monitor the
// same lines in the same order, their times never going back; with either
// RESP front end (the event loop hands a monitor over to a goroutine). The
// lines are held and sent in batches (command.MonitorHold); this checks
// that nothing of a batch is lost or reordered.
func TestMonitorConcurrentClients(t *testing.T) {
	t.Parallel()
	fronts := map[string][]string{"goroutines": nil}
	if runtime.GOOS == "linux" {
		fronts["eventloop"] = []string{"--resp-event-loop"}
	}
	for name, args := range fronts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := testdaemon.Start(t, testdaemon.Options{Args: args})
			testMonitorConcurrentClients(t, d.RESPAddr())
		})
	}
}

func testMonitorConcurrentClients(t *testing.T, addr string) {
	const clients, each, depth = 6, 400, 10 // 2400 lines: under the backlog's 4096
	mons := []*respRaw{dialRESPRaw(t, addr), dialRESPRaw(t, addr)}
	for _, m := range mons {
		m.write("*1\r\n$7\r\nMONITOR\r\n")
		m.expect("+OK\r\n")
	}
	ports := map[string]int{} // client port -> client number
	conns := make([]net.Conn, clients)
	for c := range clients {
		conn, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns[c] = conn
		_, port, _ := net.SplitHostPort(conn.LocalAddr().String())
		ports[port] = c
	}
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sendSets(conn, c, each, depth)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A PING after all of them: the line that follows the last SET of
	// each monitor, so that no line more is hiding behind them.
	last := dialRESPRaw(t, addr)
	if got := last.call("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}

	var streams [][]string
	for i, m := range mons {
		var lines []string
		next := make([]int, clients)
		var prev string
		for n := range clients * each {
			m.c.SetDeadline(time.Now().Add(ioTimeout))
			l, err := m.r.ReadString('\n')
			if err != nil {
				t.Fatalf("monitor %d: line %d of %d: %v", i, n, clients*each, err)
			}
			f := monitorSetLine.FindStringSubmatch(l)
			if f == nil {
				t.Fatalf("monitor %d: line %d is no client's SET: %q", i, n, l)
			}
			c, ok := ports[f[2]]
			if !ok || f[3] != strconv.Itoa(c) {
				t.Fatalf("monitor %d: line %d names another client or key: %q", i, n, l)
			}
			if f[4] != strconv.Itoa(next[c]) {
				t.Fatalf("monitor %d: line %d %q: client %d's value %d was due", i, n, l, c, next[c])
			}
			next[c]++
			if f[1] < prev { // same width: the strings compare as the times
				t.Fatalf("monitor %d: line %d %q goes back in time from %s", i, n, l, prev)
			}
			prev = f[1]
			lines = append(lines, l)
		}
		m.c.SetDeadline(time.Now().Add(ioTimeout))
		if l, err := m.r.ReadString('\n'); err != nil || !strings.HasSuffix(l, `] "PING"`+"\r\n") {
			t.Fatalf("monitor %d: after the SETs %q (%v), want the PING", i, l, err)
		}
		streams = append(streams, lines)
	}
	if !slices.Equal(streams[0], streams[1]) {
		t.Error("the two monitors saw the commands in different orders")
	}
}

// sendSets sends client c's SET kc 0 .. SET kc each-1 on conn, depth at
// a time, and reads their replies.
func sendSets(conn net.Conn, c, each, depth int) error {
	r := bufio.NewReader(conn)
	key := "k" + strconv.Itoa(c)
	for j := 0; j < each; j += depth {
		var b strings.Builder
		for v := j; v < min(j+depth, each); v++ {
			val := strconv.Itoa(v)
			fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(val), val)
		}
		conn.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := conn.Write([]byte(b.String())); err != nil {
			return fmt.Errorf("client %d: %w", c, err)
		}
		for v := j; v < min(j+depth, each); v++ {
			l, err := r.ReadString('\n')
			if err != nil || l != "+OK\r\n" {
				return fmt.Errorf("client %d: SET %s %d: %q, %v", c, key, v, l, err)
			}
		}
	}
	return nil
}
