package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

// nutcrackerConf is twemproxy's configuration of one pool of pykvd shards,
// as docs/operations.md ("Sharding") shows it: keys spread by a ketama
// hash over the shards' RESP listeners. The servers are named, so the
// ring (and which shard holds a key) does not depend on the random ports
// (nor, in production, on a shard's address). fnv1a_64, which nutcracker
// truncates to 32 bits, put user:0..299 in 4 narrow arcs of the ring, so
// a shard whose ports placed it elsewhere got none of them.
const nutcrackerConf = `pykv:
  listen: %s
  redis: true
  hash: murmur
  distribution: ketama
  auto_eject_hosts: false
  timeout: 5000
  server_connections: 1
  servers:
%s`

// startNutcracker starts twemproxy in front of shards (their RESP
// addresses) and returns its listening address; the test's cleanup stops
// it by its PID.
func startNutcracker(t *testing.T, shards []string) string {
	t.Helper()
	bin, err := exec.LookPath("nutcracker")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nutcracker"); serr != nil {
			t.Skipf("nutcracker (twemproxy) is not installed (apt-get install -y nutcracker): %v", err)
		}
		bin = "/usr/sbin/nutcracker"
	}
	dir := t.TempDir()
	addr, stats := freeAddr(t), freeAddr(t)
	var servers strings.Builder
	for i, s := range shards {
		fmt.Fprintf(&servers, "   - %s:1 shard%d\n", s, i)
	}
	conf := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nutcrackerConf, addr, servers.String())), 0o600); err != nil {
		t.Fatal(err)
	}
	statsHost, statsPort, _ := net.SplitHostPort(stats)
	cmd := exec.Command(bin, "-c", conf, "-a", statsHost, "-s", statsPort, "-o", filepath.Join(dir, "nutcracker.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "nutcracker.log"))
			t.Logf("nutcracker log:\n%s", log)
		}
	})
	waitAccepting(t, "nutcracker", addr, exited, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "nutcracker.log"))
		return string(log)
	})
	return addr
}

// TestTwemproxyShards runs three pykvd shards behind twemproxy
// (nutcracker): the key commands work through the proxy with the answers
// one server would give, the keys spread over every shard, each key on
// exactly one, and redis-benchmark runs through it.
func TestTwemproxyShards(t *testing.T) {
	t.Parallel()
	var shards []*testdaemon.Daemon
	var addrs []string
	for range 3 {
		d := testdaemon.Start(t, testdaemon.Options{})
		shards = append(shards, d)
		addrs = append(addrs, d.RESPAddr())
	}
	proxy := startNutcracker(t, addrs)
	// twemproxy speaks RESP2 and closes a connection that sends what it
	// does not forward (HELLO, CLIENT): the requests go as raw RESP, and
	// the replies are compared byte for byte with what one server gives.
	c := dialRESPRaw(t, proxy)
	do := func(want string, args ...string) {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		c.write(b.String())
		c.expect(want)
	}
	const n = 300
	for i := range n {
		do("+OK\r\n", "SET", fmt.Sprintf("user:%d", i), strconv.Itoa(i))
	}
	do("$1\r\n7\r\n", "GET", "user:7")
	do("$-1\r\n", "GET", "nobody")
	do(":8\r\n", "INCR", "user:7")
	do(":5\r\n", "INCRBY", "counter", "5")
	do(":4\r\n", "DECR", "counter")
	do(":2\r\n", "APPEND", "user:1", "x")
	do(":2\r\n", "STRLEN", "user:1")
	do("$1\r\n1\r\n", "GETRANGE", "user:12", "0", "0")
	do(":0\r\n", "SETNX", "user:3", "no")
	do("+OK\r\n", "SETEX", "session", "3600", "s")
	do(":3600\r\n", "TTL", "session")
	do(":1\r\n", "PERSIST", "session")
	do(":-1\r\n", "TTL", "session")
	do(":1\r\n", "EXPIRE", "user:2", "3600")
	do(":1\r\n", "EXISTS", "user:4")
	// Multi-key commands twemproxy splits by shard and joins again.
	do("+OK\r\n", "MSET", "m:a", "1", "m:b", "2", "m:c", "3", "m:d", "4")
	do("*5\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n$1\r\n4\r\n", "MGET", "m:a", "m:b", "nobody", "m:c", "m:d")
	do(":4\r\n", "DEL", "m:a", "m:b", "m:c", "m:d", "nobody")
	do("$1\r\n5\r\n", "GETDEL", "user:5")
	ctx := testCtx(t)

	// Every key lives on exactly one shard, and every shard has some.
	total := int64(0)
	for i, d := range shards {
		sc := newRedis(t, d.RESPAddr(), 2, nil)
		size, err := sc.DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			t.Errorf("shard %d holds no key: the proxy did not spread them", i)
		}
		total += size
	}
	// user:0..299 less user:5 (GETDEL), counter, session.
	if want := int64(n - 1 + 2); total != want {
		t.Errorf("the shards hold %d keys in all, want %d", total, want)
	}

	bench := needTool(t, "redis-benchmark")
	host, port, _ := net.SplitHostPort(proxy)
	cmd := exec.Command(bench, "-h", host, "-p", port, "-t", "set,get", "-n", "20000", "-c", "20", "-r", "10000", "-q")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("redis-benchmark through the proxy: %v\n%s", err, stderr.String())
	}
	// twemproxy does not forward CONFIG, which redis-benchmark asks for
	// first; that is its one complaint.
	if e := strings.TrimSpace(stderr.String()); e != "" && e != "WARNING: Could not fetch server CONFIG" {
		t.Errorf("redis-benchmark through the proxy complained: %s", e)
	}
	// -q prints each test's figure after a carriage return.
	out := stdout.String()
	for _, test := range []string{"SET", "GET"} {
		if !strings.Contains(out, test+": ") || !strings.Contains(out, "requests per second") {
			t.Errorf("redis-benchmark through the proxy did not report %s:\n%s", test, out)
		}
	}
	t.Logf("redis-benchmark through twemproxy in front of 3 shards:\n%s", out)
}
