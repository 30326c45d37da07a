package main

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// followerStopBound is how long a follower may take to exit after SIGTERM
// while its leader streams to it: its own shutdown, well under
// testdaemon.StopTimeout, after which the test helper would kill it.
const followerStopBound = 10 * time.Second

// TestFollowerStopsWhileItsLeaderStreams: SIGTERM stops a follower promptly
// and cleanly while its leader, still running, streams a write load to it.
// A stop used to be lost when it came while the follower was applying a
// frame (bench/replication.sh found it: followers it stopped hung 30 s):
// the deadline the stop set on the connection was replaced by the next
// read's, and the follower read on, heartbeat after heartbeat, until its
// leader went away. Five stops, each in the middle of the stream.
func TestFollowerStopsWhileItsLeaderStreams(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	bench := testdaemon.Tool(t, "pykv-bench")
	leader := testdaemon.Start(t, testdaemon.Options{Fsync: "always"})
	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--replicaof", leader.Addr()}})

	load := exec.CommandContext(ctx, bench, "--addr", leader.Addr(), "-c", "4", "-P", "16", "-d", "100",
		"-r", "100000", "-t", "set", "--duration", "120s")
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		load.Process.Kill() // by its PID; it started nothing of its own
		load.Wait()
	}()
	for cycle := range 5 {
		fc := newRedis(t, follower.RESPAddr(), 2, nil)
		before := replSeq(t, ctx, fc, "slave_repl_offset")
		waitFor(t, 30*time.Second, "the follower applying the leader's load (cycle "+strconv.Itoa(cycle)+")", func() bool {
			info := replInfo(t, ctx, fc)
			seq, _ := strconv.ParseUint(info["slave_repl_offset"], 10, 64)
			return seq > before+1000 && info["master_link_status"] == "up"
		})
		fc.Close()
		start := time.Now()
		code := follower.Stop()
		if took := time.Since(start); took > followerStopBound || code != 0 {
			t.Fatalf("cycle %d: the follower exited with code %d %v after SIGTERM (want 0 within %v)\n%s",
				cycle, code, took.Round(time.Millisecond), followerStopBound, follower.Stderr())
		}
		if !leader.Running() {
			t.Fatalf("cycle %d: the leader exited\n%s", cycle, leader.Stderr())
		}
		follower.Restart()
	}
}
