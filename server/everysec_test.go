//go:build linux

package server_test

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/server"
	"github.com/pykv/pykv/vfs"
)

// TestEverySecRepliesBesideTheFsync: under fsync everysec a write is
// acknowledged once it is written to the OS, so neither a SET nor a GET
// of the key it wrote waits for the once-a-second fsync. The file system
// holds that fsync while clients of both front ends (a goroutine per
// connection, and the event loop, where a wait stalls every connection of
// the loop) write and read over RESP on loopback; their replies arrive
// before it is let go. With the syncer holding the log's round through its
// fsync, as it once did, the SET waits for it and the test times out.
func TestEverySecRepliesBesideTheFsync(t *testing.T) {
	for _, eventLoop := range []bool{false, true} {
		name := "goroutines"
		if eventLoop {
			name = "event loop"
		}
		t.Run(name, func(t *testing.T) {
			var armed, holding atomic.Bool
			entered, release := make(chan struct{}), make(chan struct{})
			released := false
			let := func() {
				if !released {
					released = true
					close(release)
				}
			}
			f := startRESPWith(t, eventLoop, respOptions{
				sync: segment.SyncEverySec,
				hook: func(op vfs.Op, path string) error {
					if op == vfs.OpSync && strings.HasSuffix(path, segment.Ext) && armed.CompareAndSwap(true, false) {
						holding.Store(true)
						close(entered)
						<-release
						holding.Store(false)
					}
					return nil
				},
				set: func(c *server.Config) {
					c.EventLoops = 1
					c.WaitBlocks = func() bool { return false }
				},
			})
			t.Cleanup(let) // registered after startRESPWith's, so it runs before the Shutdown
			writer, reader := f.dial(t), f.dial(t)
			roundTrip := func(c io.ReadWriter, req, want string) {
				t.Helper()
				if _, err := c.Write([]byte(req)); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len(want))
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
					t.Fatalf("%q: got %q (%v), want %q", req, buf, err, want)
				}
			}
			roundTrip(writer, "SET a 1\r\n", "+OK\r\n") // something for the syncer to fsync
			armed.Store(true)
			select {
			case <-entered: // the syncer's next tick, within about a second
			case <-time.After(10 * time.Second):
				t.Fatal("the everysec syncer never fsynced the log")
			}
			// dial sets a 20 s deadline on each connection: a reply that
			// waits for the held fsync fails the test then.
			roundTrip(writer, "SET b 2\r\n", "+OK\r\n")
			roundTrip(reader, "GET b\r\n", "$1\r\n2\r\n")
			roundTrip(reader, "GET a\r\n", "$1\r\n1\r\n")
			if !holding.Load() {
				t.Fatal("the fsync was let go before the replies came")
			}
			let()
		})
	}
}
