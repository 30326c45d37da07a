package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestReplicationRedisCLI runs redis-cli against a follower, as an
// operator would: INFO replication says role:slave with the link up and
// the leader's address, ROLE names the leader's host and port, and a SET
// is refused with Redis's READONLY error, in both of redis-cli's
// renderings; a GET reads what the leader wrote.
func TestReplicationRedisCLI(t *testing.T) {
	t.Parallel()
	cli := needTool(t, "redis-cli")
	ctx := testCtx(t)
	leader := testdaemon.Start(t, testdaemon.Options{})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	if err := lc.Set(ctx, "from-leader", "hello", 0).Err(); err != nil {
		t.Fatal(err)
	}
	follower := testdaemon.Start(t, testdaemon.Options{Args: []string{"--replicaof", leader.Addr()}})
	fc := newRedis(t, follower.RESPAddr(), 2, nil)
	seq := waitFollowers(t, ctx, 20*time.Second, lc, fc)
	port := strconv.Itoa(follower.RESPPort())
	leaderPort := strconv.Itoa(leader.NativePort())

	info := parseInfo(t, runTool(t, cli, "", "-p", port, "INFO", "replication"))
	if got := info.Sections; len(got) != 1 || got[0] != "Replication" {
		t.Fatalf("redis-cli INFO replication: sections %q, want [Replication]", got)
	}
	for field, want := range map[string]string{
		"role":               "slave",
		"master_host":        "127.0.0.1",
		"master_port":        leaderPort,
		"master_link_status": "up",
		"slave_read_only":    "1",
	} {
		if got := info.Fields[field]; got != want {
			t.Errorf("redis-cli INFO replication: %s:%s, want %s:%s", field, got, field, want)
		}
	}

	// ROLE: slave, the leader's host and port, the link's state and the
	// follower's seq; raw (one element a line) and as on a terminal.
	wantRole := "slave\n127.0.0.1\n" + leaderPort + "\nconnected\n" + strconv.FormatUint(seq, 10) + "\n"
	if got := runTool(t, cli, "", "-p", port, "ROLE"); got != wantRole {
		t.Errorf("redis-cli ROLE:\n%s\nwant:\n%s", got, wantRole)
	}
	wantRole = "1) \"slave\"\n2) \"127.0.0.1\"\n3) (integer) " + leaderPort + "\n4) \"connected\"\n5) (integer) " + strconv.FormatUint(seq, 10) + "\n"
	if got := runTool(t, cli, "", "--no-raw", "-p", port, "ROLE"); got != wantRole {
		t.Errorf("redis-cli --no-raw ROLE:\n%s\nwant:\n%s", got, wantRole)
	}

	const readonly = "READONLY You can't write against a read only replica."
	if got, want := runTool(t, cli, "", "--no-raw", "-p", port, "SET", "k", "v"), "(error) "+readonly+"\n"; got != want {
		t.Errorf("redis-cli --no-raw SET k v = %q, want %q", got, want)
	}
	if got, want := runTool(t, cli, "", "-p", port, "SET", "k", "v"), readonly+"\n\n"; got != want {
		t.Errorf("redis-cli SET k v = %q, want %q", got, want)
	}
	if got := runTool(t, cli, "", "-p", port, "GET", "from-leader"); got != "hello\n" {
		t.Errorf("redis-cli GET from-leader = %q, want \"hello\\n\"", got)
	}
	if got := runTool(t, cli, "", "-p", port, "EXISTS", "k"); strings.TrimSpace(got) != "0" {
		t.Errorf("redis-cli EXISTS k = %q after the refused SET, want 0", got)
	}
}
