package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
)

// newRedis returns a go-redis client of addr speaking RESP proto (2 or 3),
// closed by t's cleanup. Retries are off, so that an error reply or a
// dropped connection shows up in the test instead of being retried away.
func newRedis(t testing.TB, addr string, proto int, opt func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{
		Addr:         addr,
		Protocol:     proto,
		DialTimeout:  ioTimeout,
		ReadTimeout:  ioTimeout,
		WriteTimeout: ioTimeout,
		MaxRetries:   -1,
		PoolSize:     4,
	}
	if opt != nil {
		opt(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// testCtx is a context bounded by ioTimeout's order of magnitude, ended
// with the test.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// check fails the test when err is not nil or got is not want.
func check[T any](t testing.TB, what string, got T, err error, want T) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: error %v, want %v", what, err, want)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// checkErr fails the test unless err's text is want.
func checkErr(t testing.TB, what string, err error, want string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Errorf("%s: error %v, want %q", what, err, want)
	}
}

// checkNil fails the test unless err is redis.Nil, go-redis's missing key.
func checkNil(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, redis.Nil) {
		t.Errorf("%s: error %v, want redis.Nil", what, err)
	}
}

func inRange(t testing.TB, what string, got time.Duration, err error, lo, hi time.Duration) {
	t.Helper()
	if err != nil || got < lo || got > hi {
		t.Errorf("%s = %v (%v), want %v to %v", what, got, err, lo, hi)
	}
}

// TestRESPGoRedis runs every command pykv supports through go-redis, over
// RESP2 and RESP3, and checks the values the client hands back.
func TestRESPGoRedis(t *testing.T) {
	t.Parallel()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			d := testdaemon.Start(t, testdaemon.Options{})
			rdb := newRedis(t, d.RESPAddr(), proto, nil)
			testStrings(t, rdb)
			testCounters(t, rdb)
			testExpiry(t, rdb)
			testKeys(t, rdb)
			testConnection(t, rdb, proto)
			testServer(t, rdb, d)
		})
	}
}

func testStrings(t *testing.T, rdb *redis.Client) {
	ctx := testCtx(t)
	_, err := rdb.Get(ctx, "s").Result()
	checkNil(t, "GET missing", err)
	v, err := rdb.Set(ctx, "s", "v1", 0).Result()
	check(t, "SET", v, err, "OK")
	v, err = rdb.Get(ctx, "s").Result()
	check(t, "GET", v, err, "v1")
	b, err := rdb.SetNX(ctx, "s", "x", 0).Result()
	check(t, "SETNX existing", b, err, false)
	b, err = rdb.SetNX(ctx, "s2", "x", 0).Result()
	check(t, "SETNX new", b, err, true)
	b, err = rdb.SetNX(ctx, "s3", "x", time.Minute).Result() // SET NX EX
	check(t, "SET NX EX", b, err, true)
	b, err = rdb.SetXX(ctx, "s", "v2", 0).Result()
	check(t, "SET XX existing", b, err, true)
	b, err = rdb.SetXX(ctx, "nosuch", "v", 0).Result()
	check(t, "SET XX missing", b, err, false)
	_, err = rdb.SetArgs(ctx, "s", "v3", redis.SetArgs{Mode: "NX"}).Result()
	checkNil(t, "SET NX existing", err)
	v, err = rdb.SetArgs(ctx, "s", "v3", redis.SetArgs{Get: true}).Result()
	check(t, "SET GET", v, err, "v2")
	_, err = rdb.SetArgs(ctx, "fresh", "f", redis.SetArgs{Get: true}).Result()
	checkNil(t, "SET GET of a missing key", err)
	v, err = rdb.SetArgs(ctx, "s", "v4", redis.SetArgs{Mode: "XX", Get: true}).Result()
	check(t, "SET XX GET", v, err, "v3")
	v, err = rdb.GetDel(ctx, "fresh").Result()
	check(t, "GETDEL", v, err, "f")
	_, err = rdb.GetDel(ctx, "fresh").Result()
	checkNil(t, "GETDEL again", err)
	bin := "\x00\r\n\xff binary"
	check(t, "SET binary", rdb.Set(ctx, "bin", bin, 0).Val(), nil, "OK")
	v, err = rdb.Get(ctx, "bin").Result()
	check(t, "GET binary", v, err, bin)
	big := strings.Repeat("x", 1<<20)
	check(t, "SET 1 MiB", rdb.Set(ctx, "big", big, 0).Val(), nil, "OK")
	v, err = rdb.Get(ctx, "big").Result()
	if err != nil || v != big {
		t.Errorf("GET 1 MiB value: %d bytes, %v", len(v), err)
	}

	check(t, "MSET", rdb.MSet(ctx, "m1", "1", "m2", "2").Val(), nil, "OK")
	vals, err := rdb.MGet(ctx, "m1", "nosuch", "m2").Result()
	check(t, "MGET", vals, err, []any{"1", nil, "2"})
	err = rdb.Do(ctx, "MSET", "m1").Err()
	checkErr(t, "MSET odd", err, "ERR wrong number of arguments for 'mset' command")
	err = rdb.Do(ctx, "SET", "s", "v", "NX", "XX").Err()
	checkErr(t, "SET NX XX", err, "ERR syntax error")
	err = rdb.Do(ctx, "GET").Err()
	checkErr(t, "GET without key", err, "ERR wrong number of arguments for 'get' command")
}

func testCounters(t *testing.T, rdb *redis.Client) {
	ctx := testCtx(t)
	n, err := rdb.Incr(ctx, "c").Result()
	check(t, "INCR", n, err, int64(1))
	n, err = rdb.IncrBy(ctx, "c", 41).Result()
	check(t, "INCRBY", n, err, int64(42))
	n, err = rdb.Decr(ctx, "c").Result()
	check(t, "DECR", n, err, int64(41))
	n, err = rdb.DecrBy(ctx, "c", 50).Result()
	check(t, "DECRBY", n, err, int64(-9))
	v, err := rdb.Get(ctx, "c").Result()
	check(t, "GET counter", v, err, "-9")
	rdb.Set(ctx, "text", "abc", 0)
	_, err = rdb.Incr(ctx, "text").Result()
	checkErr(t, "INCR on text", err, "ERR value is not an integer or out of range")
	var re redis.Error
	if !errors.As(err, &re) {
		t.Errorf("INCR on text: %T is not a redis.Error", err)
	}
	_, err = rdb.Do(ctx, "INCRBY", "c", "1.5").Result()
	checkErr(t, "INCRBY 1.5", err, "ERR value is not an integer or out of range")
	rdb.Set(ctx, "max", strconv.FormatInt(1<<63-1, 10), 0)
	_, err = rdb.Incr(ctx, "max").Result()
	checkErr(t, "INCR at MaxInt64", err, "ERR increment or decrement would overflow")
}

func testExpiry(t *testing.T, rdb *redis.Client) {
	ctx := testCtx(t)
	rdb.Set(ctx, "e", "v", 0)
	d, err := rdb.TTL(ctx, "e").Result()
	check(t, "TTL without expiry", d, err, time.Duration(-1))
	d, err = rdb.TTL(ctx, "nosuch").Result()
	check(t, "TTL missing", d, err, time.Duration(-2))
	d, err = rdb.PTTL(ctx, "nosuch").Result()
	check(t, "PTTL missing", d, err, time.Duration(-2))

	b, err := rdb.Expire(ctx, "e", 100*time.Second).Result()
	check(t, "EXPIRE", b, err, true)
	d, err = rdb.TTL(ctx, "e").Result()
	check(t, "TTL", d, err, 100*time.Second)
	b, err = rdb.PExpire(ctx, "e", 50500*time.Millisecond).Result()
	check(t, "PEXPIRE", b, err, true)
	d, err = rdb.PTTL(ctx, "e").Result()
	inRange(t, "PTTL", d, err, 48*time.Second, 50500*time.Millisecond)
	at := time.Now().Add(200 * time.Second).Truncate(time.Second)
	b, err = rdb.ExpireAt(ctx, "e", at).Result()
	check(t, "EXPIREAT", b, err, true)
	d, err = rdb.TTL(ctx, "e").Result()
	inRange(t, "TTL after EXPIREAT", d, err, 198*time.Second, 200*time.Second)
	b, err = rdb.PExpireAt(ctx, "e", time.Now().Add(300*time.Second)).Result()
	check(t, "PEXPIREAT", b, err, true)
	d, err = rdb.PTTL(ctx, "e").Result()
	inRange(t, "PTTL after PEXPIREAT", d, err, 298*time.Second, 300*time.Second)
	b, err = rdb.Expire(ctx, "nosuch", time.Second).Result()
	check(t, "EXPIRE missing", b, err, false)
	b, err = rdb.ExpireNX(ctx, "e", time.Second).Result()
	check(t, "EXPIRE NX of a key with an expiry", b, err, false)
	b, err = rdb.Persist(ctx, "e").Result()
	check(t, "PERSIST", b, err, true)
	b, err = rdb.Persist(ctx, "e").Result()
	check(t, "PERSIST again", b, err, false)
	d, err = rdb.TTL(ctx, "e").Result()
	check(t, "TTL after PERSIST", d, err, time.Duration(-1))

	// SET's expiry options as go-redis spells them.
	rdb.Set(ctx, "ex", "v", 10*time.Second) // EX 10
	d, err = rdb.TTL(ctx, "ex").Result()
	check(t, "SET EX", d, err, 10*time.Second)
	rdb.Set(ctx, "px", "v", 100500*time.Millisecond) // PX 100500
	d, err = rdb.PTTL(ctx, "px").Result()
	inRange(t, "SET PX", d, err, 98*time.Second, 100500*time.Millisecond)
	rdb.SetArgs(ctx, "exat", "v", redis.SetArgs{ExpireAt: at}) // EXAT
	d, err = rdb.TTL(ctx, "exat").Result()
	inRange(t, "SET EXAT", d, err, 198*time.Second, 200*time.Second)
	rdb.SetArgs(ctx, "pxat", "v", redis.SetArgs{ExpireAt: at.Add(500 * time.Millisecond)}) // PXAT
	d, err = rdb.PTTL(ctx, "pxat").Result()
	inRange(t, "SET PXAT", d, err, 198*time.Second, 200500*time.Millisecond)
	v, err := rdb.Set(ctx, "ex", "kept", redis.KeepTTL).Result()
	check(t, "SET KEEPTTL", v, err, "OK")
	d, err = rdb.TTL(ctx, "ex").Result()
	inRange(t, "TTL after KEEPTTL", d, err, 9*time.Second, 10*time.Second)
	v, err = rdb.Do(ctx, "SETEX", "setex", 60, "v").Text() // go-redis deprecates its SetEx
	check(t, "SETEX", v, err, "OK")
	d, err = rdb.TTL(ctx, "setex").Result()
	check(t, "TTL after SETEX", d, err, time.Minute)

	// A short expiry really expires.
	rdb.Set(ctx, "short", "v", 50*time.Millisecond)
	waitFor(t, 5*time.Second, "key short to expire", func() bool {
		return errors.Is(rdb.Get(ctx, "short").Err(), redis.Nil)
	})
}

func testKeys(t *testing.T, rdb *redis.Client) {
	ctx := testCtx(t)
	rdb.MSet(ctx, "k1", "1", "k2", "2", "k3", "3")
	n, err := rdb.Exists(ctx, "k1", "k1", "nosuch").Result()
	check(t, "EXISTS", n, err, int64(2))
	n, err = rdb.Del(ctx, "k1", "k2", "nosuch").Result()
	check(t, "DEL", n, err, int64(2))
	n, err = rdb.Unlink(ctx, "k3").Result()
	check(t, "UNLINK", n, err, int64(1))

	var want []string
	for i := range 120 {
		k := fmt.Sprintf("scan:%03d", i)
		want = append(want, k)
		rdb.Set(ctx, k, "v", 0)
	}
	var got []string
	var cursor uint64
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatalf("SCAN did not end")
		}
		keys, next, err := rdb.Scan(ctx, cursor, "scan:*", 25).Result()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		got = append(got, keys...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(got)
	if got = slices.Compact(got); !slices.Equal(got, want) {
		t.Errorf("SCAN MATCH scan:* COUNT 25 found %d keys, want %d", len(got), len(want))
	}
	var iterated int
	it := rdb.Scan(ctx, 0, "scan:1*", 7).Iterator()
	for it.Next(ctx) {
		iterated++
	}
	if err := it.Err(); err != nil || iterated != 20 {
		t.Errorf("SCAN iterator over scan:1*: %d keys (%v), want 20", iterated, err)
	}
	keys, _, err := rdb.ScanType(ctx, 0, "scan:*", 1000, "hash").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("SCAN TYPE hash = %q (%v), want none", keys, err)
	}
}

func testConnection(t *testing.T, rdb *redis.Client, proto int) {
	ctx := testCtx(t)
	v, err := rdb.Ping(ctx).Result()
	check(t, "PING", v, err, "PONG")
	v, err = rdb.Echo(ctx, "hello\r\nworld").Result()
	check(t, "ECHO", v, err, "hello\r\nworld")

	hello, err := rdb.Do(ctx, "HELLO", strconv.Itoa(proto)).Result()
	if err != nil {
		t.Fatalf("HELLO %d: %v", proto, err)
	}
	fields := map[string]any{}
	switch h := hello.(type) {
	case map[any]any: // RESP3: a map
		if proto != 3 {
			t.Errorf("HELLO 2 answered with a RESP3 map")
		}
		for k, v := range h {
			fields[fmt.Sprint(k)] = v
		}
	case []any: // RESP2: a flat array of name, value...
		if proto != 2 {
			t.Errorf("HELLO 3 answered with a RESP2 array")
		}
		for i := 0; i+1 < len(h); i += 2 {
			fields[fmt.Sprint(h[i])] = h[i+1]
		}
	default:
		t.Fatalf("HELLO reply %T %v", hello, hello)
	}
	for k, want := range map[string]any{"server": "pykv", "version": "7.0.0", "proto": int64(proto),
		"mode": "standalone", "role": "master"} {
		if !reflect.DeepEqual(fields[k], want) {
			t.Errorf("HELLO %d: %s = %#v, want %#v", proto, k, fields[k], want)
		}
	}
	err = rdb.Do(ctx, "HELLO", "4").Err()
	checkErr(t, "HELLO 4", err, "NOPROTO unsupported protocol version")

	// Per-connection state needs one connection.
	conn := rdb.Conn()
	defer conn.Close()
	_, err = conn.ClientGetName(ctx).Result()
	checkNil(t, "CLIENT GETNAME without a name", err)
	b, err := conn.ClientSetName(ctx, "e2e-conn").Result()
	check(t, "CLIENT SETNAME", b, err, true)
	v, err = conn.ClientGetName(ctx).Result()
	check(t, "CLIENT GETNAME", v, err, "e2e-conn")
	err = conn.ClientSetName(ctx, "has space").Err()
	checkErr(t, "CLIENT SETNAME with a space", err, "ERR Client names cannot contain spaces, newlines or special characters.")
	id, err := conn.ClientID(ctx).Result()
	if err != nil || id <= 0 {
		t.Errorf("CLIENT ID = %d, %v", id, err)
	}
	v, err = conn.Select(ctx, 0).Result()
	check(t, "SELECT 0", v, err, "OK")
	err = conn.Select(ctx, 1).Err()
	checkErr(t, "SELECT 1", err, "ERR DB index is out of range")
	// The client's own name option goes through HELLO ... SETNAME.
	named := newRedis(t, rdb.Options().Addr, proto, func(o *redis.Options) { o.ClientName = "named" })
	v, err = named.ClientGetName(ctx).Result()
	check(t, "CLIENT GETNAME of Options.ClientName", v, err, "named")
}

func testServer(t *testing.T, rdb *redis.Client, d *testdaemon.Daemon) {
	ctx := testCtx(t)
	size, err := rdb.DBSize(ctx).Result()
	if err != nil || size < 100 {
		t.Errorf("DBSIZE = %d, %v", size, err)
	}
	info, err := rdb.InfoMap(ctx, "server", "clients", "keyspace").Result()
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	for section, fields := range map[string]map[string]string{
		"Server": {"redis_version": "7.0.0", "redis_mode": "standalone", "tcp_port": strconv.Itoa(d.RESPPort()),
			"pykv_version": testdaemon.Version, "process_id": strconv.Itoa(d.PID())},
		"Clients":  {"maxclients": "10000"},
		"Keyspace": {"db0": fmt.Sprintf("keys=%d,expires=6,avg_ttl=", size)},
	} {
		for k, want := range fields {
			got := info[section][k]
			if k == "db0" { // avg_ttl is the expiry cycle's estimate: under the hour that bounds every TTL set above
				ttl, err := strconv.ParseInt(strings.TrimPrefix(got, want), 10, 64)
				if !strings.HasPrefix(got, want) || err != nil || ttl < 0 || ttl > 3_600_000 {
					t.Errorf("INFO %s %s = %q, want %q and an avg_ttl in [0, 3600000]", section, k, got, want)
				}
				continue
			}
			if got != want {
				t.Errorf("INFO %s %s = %q, want %q", section, k, got, want)
			}
		}
	}
	if len(info) != 3 {
		t.Errorf("INFO server clients keyspace gave sections %v", reflect.ValueOf(info).MapKeys())
	}
	raw, err := rdb.Info(ctx).Result()
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	if s := parseInfo(t, raw).Sections; !slices.Equal(s, infoSections) {
		t.Errorf("INFO sections %q, want %q", s, infoSections)
	}
	cfg, err := rdb.ConfigGet(ctx, "save").Result()
	check(t, "CONFIG GET save", cfg, err, map[string]string{"save": ""})
	cfg, err = rdb.ConfigGet(ctx, "appendonly").Result()
	check(t, "CONFIG GET appendonly", cfg, err, map[string]string{"appendonly": "yes"})
	if err := rdb.Set(ctx, "flushed", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Errorf("FLUSHALL: %v", err)
	}
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("DBSIZE after FLUSHALL = %d, %v; want 0", n, err)
	}
	if err := rdb.Set(ctx, "flushed", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushDBAsync(ctx).Err(); err != nil {
		t.Errorf("FLUSHDB ASYNC: %v", err)
	}
	if err := rdb.Get(ctx, "flushed").Err(); err != redis.Nil {
		t.Errorf("GET after FLUSHDB ASYNC: %v, want redis.Nil", err)
	}
	n, err := rdb.Do(ctx, "COMMAND", "COUNT").Int64()
	if err != nil || n < 30 {
		t.Errorf("COMMAND COUNT = %d, %v", n, err)
	}
	err = rdb.Do(ctx, "HSET", "h", "f", "v").Err()
	checkErr(t, "HSET", err, "ERR unknown command 'HSET', with args beginning with: 'h' 'f' 'v' ")
}

// TestRESPPipeline sends go-redis pipelines of many commands and checks
// every result, in order.
func TestRESPPipeline(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	for _, proto := range []int{2, 3} {
		rdb := newRedis(t, d.RESPAddr(), proto, nil)
		ctx := testCtx(t)
		const n = 2000
		prefix := fmt.Sprintf("p%d:", proto)
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range n {
				k := prefix + strconv.Itoa(i)
				p.Set(ctx, k, i, time.Hour)
				p.Get(ctx, k)
				p.Incr(ctx, prefix+"ctr")
				p.Get(ctx, prefix+"nosuch")
			}
			return nil
		})
		if !errors.Is(err, redis.Nil) { // the first error of the batch: the GETs of nosuch
			t.Fatalf("RESP%d pipeline: %v", proto, err)
		}
		if len(cmds) != 4*n {
			t.Fatalf("RESP%d pipeline: %d results, want %d", proto, len(cmds), 4*n)
		}
		for i := range n {
			set, get, incr, miss := cmds[4*i].(*redis.StatusCmd), cmds[4*i+1].(*redis.StringCmd),
				cmds[4*i+2].(*redis.IntCmd), cmds[4*i+3].(*redis.StringCmd)
			if set.Val() != "OK" || get.Val() != strconv.Itoa(i) || incr.Val() != int64(i+1) ||
				!errors.Is(miss.Err(), redis.Nil) {
				t.Fatalf("RESP%d pipeline group %d: %v %v %v %v", proto, i, set, get, incr, miss)
			}
		}
	}
}

// TestRESPAuth runs with --password: go-redis authenticates with a
// password alone and with the user "default" in both protocols (through
// HELLO AUTH), a wrong password fails the connection with WRONGPASS, and
// AUTH in both forms works on a connection that started without one.
func TestRESPAuth(t *testing.T) {
	t.Parallel()
	const pass = "s3cret"
	d := testdaemon.Start(t, testdaemon.Options{Password: pass})
	ctx := testCtx(t)
	for _, proto := range []int{2, 3} {
		for _, user := range []string{"", "default"} {
			rdb := newRedis(t, d.RESPAddr(), proto, func(o *redis.Options) { o.Username, o.Password = user, pass })
			v, err := rdb.Set(ctx, "k", "v", 0).Result()
			check(t, fmt.Sprintf("RESP%d user %q: SET", proto, user), v, err, "OK")
		}
		wrong := newRedis(t, d.RESPAddr(), proto, func(o *redis.Options) { o.Password = "wrong" })
		err := wrong.Ping(ctx).Err()
		if err == nil || !strings.Contains(err.Error(), "WRONGPASS invalid username-password pair or user is disabled.") {
			t.Errorf("RESP%d with a wrong password: %v, want WRONGPASS", proto, err)
		}
	}

	none := newRedis(t, d.RESPAddr(), 2, nil)
	conn := none.Conn()
	defer conn.Close()
	err := conn.Get(ctx, "k").Err()
	checkErr(t, "GET before AUTH", err, "NOAUTH Authentication required.")
	err = conn.Ping(ctx).Err()
	checkErr(t, "PING before AUTH", err, "NOAUTH Authentication required.")
	err = conn.Do(ctx, "AUTH", "wrong").Err()
	checkErr(t, "AUTH wrong", err, "WRONGPASS invalid username-password pair or user is disabled.")
	v, err := conn.Do(ctx, "AUTH", pass).Text()
	check(t, "AUTH password", v, err, "OK")
	v, err = conn.Get(ctx, "k").Result()
	check(t, "GET after AUTH", v, err, "v")

	conn2 := none.Conn()
	defer conn2.Close()
	err = conn2.Do(ctx, "AUTH", "default", "wrong").Err()
	checkErr(t, "AUTH default wrong", err, "WRONGPASS invalid username-password pair or user is disabled.")
	v, err = conn2.Do(ctx, "AUTH", "default", pass).Text()
	check(t, "AUTH default password", v, err, "OK")
	v, err = conn2.Get(ctx, "k").Result()
	check(t, "GET after AUTH default", v, err, "v")
}

// respRaw is a plain TCP connection to the RESP port, for exact bytes.
type respRaw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRESPRaw(t *testing.T, addr string) *respRaw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &respRaw{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *respRaw) write(s string) {
	r.t.Helper()
	r.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// expect reads exactly len(want) bytes and compares them with want.
func (r *respRaw) expect(want string) {
	r.t.Helper()
	r.c.SetDeadline(time.Now().Add(ioTimeout))
	got := make([]byte, len(want))
	n, err := readAll(r.r, got)
	if string(got[:n]) != want {
		r.t.Fatalf("read %q (%v), want %q", got[:n], err, want)
	}
}

func readAll(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// expectClosed checks that the server closed the connection with nothing
// more to say.
func (r *respRaw) expectClosed() {
	r.t.Helper()
	r.c.SetDeadline(time.Now().Add(ioTimeout))
	b, err := r.r.ReadByte()
	if err == nil {
		rest, _ := r.r.Peek(r.r.Buffered())
		r.t.Fatalf("connection still open: read %q", append([]byte{b}, rest...))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatalf("connection not closed within %v", ioTimeout)
	}
}

// TestRESPProtocolErrorClosesOnlyThatConnection sends a request that
// breaks RESP's grammar: the client gets Redis's error text and is
// disconnected, as Redis does, while other clients are served.
func TestRESPProtocolErrorClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	other := dialRESPRaw(t, d.RESPAddr())
	other.write("SET k v\r\n")
	other.expect("+OK\r\n")

	for _, tc := range []struct{ in, want string }{
		{"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"SET \"k v\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"*1\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
	} {
		bad := dialRESPRaw(t, d.RESPAddr())
		bad.write("PING\r\n" + tc.in)
		bad.expect("+PONG\r\n" + tc.want)
		bad.expectClosed()
	}

	other.write("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
	other.expect("$1\r\nv\r\n")
}

// TestRESPInlineAndRaw checks bytes on the wire: inline commands as telnet
// sends them, RESP2 and RESP3 encodings of the same replies, and a
// pipeline of raw requests in one write.
func TestRESPInlineAndRaw(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	c := dialRESPRaw(t, d.RESPAddr())
	c.write("PING\r\n")
	c.expect("+PONG\r\n")
	c.write("SET \"a key\" 'it''s'\r\n") // Redis's sdssplitargs: 'it' followed by 's' is unbalanced
	c.expect("-ERR Protocol error: unbalanced quotes in request\r\n")
	c.expectClosed()

	c = dialRESPRaw(t, d.RESPAddr())
	c.write("SET \"a key\" \"line\\r\\n\\x41\"\n\nGET \"a key\"\r\nGET nosuch\r\nINCR n\r\nMGET \"a key\" nosuch\r\n" +
		"HELLO 3\r\nGET nosuch\r\nMGET \"a key\" nosuch\r\nPING\r\nCONFIG GET save\r\n")
	c.expect("+OK\r\n" + "$7\r\nline\r\nA\r\n" + "$-1\r\n" + ":1\r\n" + "*2\r\n$7\r\nline\r\nA\r\n$-1\r\n")
	// HELLO 3's reply is already RESP3: a map.
	c.expect("%7\r\n$6\r\nserver\r\n$4\r\npykv\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n")
	line, err := c.r.ReadString('\n') // "$2\r\n" then "id", then the rest
	if err != nil || line != "$2\r\n" {
		t.Fatalf("HELLO 3 id field: %q %v", line, err)
	}
	c.expect("id\r\n")
	if line, _ = c.r.ReadString('\n'); !strings.HasPrefix(line, ":") {
		t.Fatalf("HELLO 3 id value: %q", line)
	}
	c.expect("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
	c.expect("_\r\n" + "*2\r\n$7\r\nline\r\nA\r\n_\r\n" + "+PONG\r\n" + "%1\r\n$4\r\nsave\r\n$0\r\n\r\n")
	// HELLO 2 goes back to RESP2; SETNAME in HELLO names the connection;
	// QUIT answers and closes.
	c.write("HELLO 2 SETNAME raw\r\nCLIENT GETNAME\r\nGET nosuch\r\nQUIT\r\nPING\r\n")
	c.expect("*14\r\n$6\r\nserver\r\n$4\r\npykv\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:2\r\n")
	for range 5 { // "id", its value, and the length of "mode"
		if _, err := c.r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	c.expect("$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
	c.expect("$3\r\nraw\r\n" + "$-1\r\n" + "+OK\r\n")
	c.expectClosed()
}

// TestRESPConcurrentClients runs go-redis from many goroutines over one
// pool: every INCR is counted once, whatever the interleaving.
func TestRESPConcurrentClients(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	rdb := newRedis(t, d.RESPAddr(), 3, func(o *redis.Options) { o.PoolSize = 8 })
	ctx := testCtx(t)
	const workers, each = 16, 250
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				if err := rdb.Incr(ctx, "ctr").Err(); err != nil {
					errs <- err
					return
				}
				if err := rdb.Set(ctx, fmt.Sprintf("w%d:%d", w, i), i, 0).Err(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n, err := rdb.Get(ctx, "ctr").Int()
	check(t, "counter after concurrent INCRs", n, err, workers*each)
	size, err := rdb.DBSize(ctx).Result()
	check(t, "DBSIZE", size, err, int64(workers*each+1))
}

// TestRESPMaxClients: over the client limit a RESP client gets Redis's
// error and is closed; native and RESP connections count together.
func TestRESPMaxClients(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--max-clients", "2"}})
	n := dialAdmitted(t, d.Addr())
	var r *respRaw
	waitFor(t, 5*time.Second, "a RESP connection under the limit", func() bool {
		r = dialRESPRaw(t, d.RESPAddr())
		r.write("PING\r\n")
		line, err := r.r.ReadString('\n')
		if err != nil {
			t.Fatalf("PING: %v", err)
		}
		if line == "+PONG\r\n" {
			return true
		}
		if line != "-ERR max number of clients reached\r\n" {
			t.Fatalf("PING = %q", line)
		}
		return false
	})
	over := dialRESPRaw(t, d.RESPAddr())
	over.expect("-ERR max number of clients reached\r\n")
	over.expectClosed()
	r.write("PING\r\n")
	r.expect("+PONG\r\n")
	converse(t, n, []step{{[]string{"PING"}, "PONG"}})
}

// TestRESPLimits checks the limits docs/protocol.md lists for RESP, with
// small values set in pykv.toml: a key or value over its limit is an error
// reply and the connection goes on; a bulk string over max_frame_bytes or
// an overlong inline line is a protocol error that closes it.
func TestRESPLimits(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	text := "max_frame_bytes = 4096\n\n[storage]\nmax_key_size = 16\nmax_value_size = 1024\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf}})
	bulk := func(args ...string) string {
		s := "*" + strconv.Itoa(len(args)) + "\r\n"
		for _, a := range args {
			s += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
		}
		return s
	}
	c := dialRESPRaw(t, d.RESPAddr())
	c.write(bulk("SET", strings.Repeat("k", 16), strings.Repeat("v", 1024)) +
		bulk("SET", strings.Repeat("k", 17), "v") +
		bulk("SET", "k", strings.Repeat("v", 1025)) +
		bulk("SET", "", "v") +
		bulk("GET", strings.Repeat("k", 16)))
	c.expect("+OK\r\n" +
		"-ERR key exceeds maximum allowed size\r\n" +
		"-ERR string exceeds maximum allowed size (max_value_size)\r\n" +
		"+OK\r\n" + // the empty key is a key like any other
		"$1024\r\n" + strings.Repeat("v", 1024) + "\r\n")

	c.write(bulk("SET", "k", strings.Repeat("v", 4097)))
	c.expect("-ERR Protocol error: invalid bulk length\r\n")
	c.expectClosed()

	c = dialRESPRaw(t, d.RESPAddr())
	// Without its end: a line's end that comes in the read that passed
	// 64 KiB is still found, as in Redis.
	c.write("GET " + strings.Repeat("k", 70<<10))
	c.expect("-ERR Protocol error: too big inline request\r\n")
	c.expectClosed()

	n := dialNative(t, d.Addr())
	n.raw([]byte{0, 0, 0x10, 0x01}) // 4097 bytes claimed
	n.flush()
	if got, want := n.read().String(), "(error) PROTO frame too large: 4097 bytes claimed, limit is 4096"; got != want {
		t.Errorf("native frame over max_frame_bytes: %s, want %s", got, want)
	}
	n.expectClosed()
}
