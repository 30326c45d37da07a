package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/redis/go-redis/v9"
)

// TestWaitAndTheLostLeader runs a leader and two followers that speak TLS
// only, the followers verifying their leader's certificate: WAIT counts 0, 1 and 2 followers as they come
// up, and a write WAIT reported on both survives the loss of the leader
// with its whole data directory, once a follower is promoted.
func TestWaitAndTheLostLeader(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	leaderConf := filepath.Join(dir, "leader.toml")
	if err := os.WriteFile(leaderConf, []byte("[tls]\ncert_file = "+strconv.Quote(certFile)+"\nkey_file = "+strconv.Quote(keyFile)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	leader := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--config", leaderConf}})
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	lc := newRedis(t, leader.RESPAddr(), 2, func(o *redis.Options) { o.TLSConfig = tlsConf })
	wait := func(n, ms int) int64 {
		t.Helper()
		got, err := lc.Do(ctx, "WAIT", n, ms).Int64()
		if err != nil {
			t.Fatalf("WAIT %d %d: %v", n, ms, err)
		}
		return got
	}
	if err := lc.Set(ctx, "k0", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := wait(0, 0); got != 0 {
		t.Fatalf("WAIT 0 0 with no follower: %d", got)
	}
	if got := wait(1, 100); got != 0 {
		t.Fatalf("WAIT 1 100 with no follower: %d", got)
	}
	// The followers speak TLS to their clients too, so that either can be
	// the leader the other follows.
	args := []string{"--replicaof", leader.Addr(), "--leader-tls-ca-file", certFile, "--tls-cert-file", certFile, "--tls-key-file", keyFile}
	f1 := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: args})
	if got := wait(1, 10000); got != 1 {
		t.Fatalf("WAIT 1 10000 with one follower: %d", got)
	}
	f2 := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: args})
	if err := lc.Set(ctx, "precious", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := wait(2, 10000); got != 2 {
		t.Fatalf("WAIT 2 10000 with two followers: %d", got)
	}

	// The leader and its disk are lost.
	leader.Kill()
	if err := os.RemoveAll(leader.DataDir()); err != nil {
		t.Fatal(err)
	}
	withTLS := func(o *redis.Options) { o.TLSConfig = tlsConf }
	c1 := newRedis(t, f1.RESPAddr(), 2, withTLS)
	if err := c1.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c1.Get(ctx, "precious").Result(); err != nil || v != "kept" {
		t.Fatalf("after promotion: GET precious = %q, %v", v, err)
	}
	if err := c1.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The other follower moves to the promoted one, with a partial sync.
	c2 := newRedis(t, f2.RESPAddr(), 2, withTLS)
	if err := c2.Do(ctx, "REPLICAOF", "127.0.0.1", f1.NativePort()).Err(); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, ctx, c1, c2)
	if v, err := c2.Get(ctx, "after").Result(); err != nil || v != "1" {
		t.Fatalf("the second follower, now following the promoted one: GET after = %q, %v", v, err)
	}
	if pi := replInfo(t, ctx, c1); pi["pykv_partial_syncs_served"] != "1" || pi["pykv_full_syncs_served"] != "0" {
		t.Fatalf("the promoted follower served: %v", pi)
	}
}

// TestMinReplicasToWrite: a leader asked for one follower refuses writes
// with Redis's NOREPLICAS until a follower is up, takes them while it is,
// and refuses them again once it is gone; reads go on throughout.
func TestMinReplicasToWrite(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	leader := testdaemon.Start(t, testdaemon.Options{Args: []string{"--min-replicas-to-write", "1", "--min-replicas-max-lag", "3s"}})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	if err := lc.Set(ctx, "k", "v", 0).Err(); err == nil || err.Error() != "NOREPLICAS Not enough good replicas to write." {
		t.Fatalf("SET without a follower: %v", err)
	}
	if err := lc.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET without a follower: %v", err)
	}
	follower := testdaemon.Start(t, testdaemon.Options{Args: []string{"--replicaof", leader.Addr()}})
	waitFor(t, 10*time.Second, "the leader to take writes once its follower is up", func() bool {
		return lc.Set(ctx, "k", "v", 0).Err() == nil
	})
	follower.Kill()
	waitFor(t, 70*time.Second, "the leader to refuse writes once its follower is gone", func() bool {
		err := lc.Set(ctx, "k", "v2", 0).Err()
		return err != nil && strings.HasPrefix(err.Error(), "NOREPLICAS")
	})
}
