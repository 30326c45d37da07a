package main

import (
	"testing"
	"time"
)

// TestReplicationCommandsLikeRedis: on a leader with no follower, the
// replication commands' replies and errors are redis-server's, byte for
// byte, over RESP2, RESP3 and the native protocol (REPLICAOF's port
// checks, WAIT's argument errors and counts, ROLE, REPLICAOF and SLAVEOF
// NO ONE).
func TestReplicationCommandsLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	runTwinLegs(t, tw, func(string, time.Time) [][]string {
		return [][]string{
			{"REPLICAOF", "127.0.0.1", "notaport"},
			{"REPLICAOF", "127.0.0.1", "70000"},
			{"REPLICAOF", "127.0.0.1", "-1"},
			{"SLAVEOF", "127.0.0.1", "x"},
			{"REPLICAOF", "NO"},
			{"WAIT", "1", "-1"},
			{"WAIT", "x", "0"},
			{"WAIT", "0", "abc"},
			{"WAIT", "0", "0"},
			{"WAIT", "1", "10"},
			{"WAIT", "-1", "0"},
			{"ROLE"},
			{"ROLE", "extra"},
			{"REPLICAOF", "NO", "ONE"},
			{"SLAVEOF", "no", "one"},
		}
	})
}
