package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/reply"
)

func TestGetSet(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	if _, err := c.Get(ctx, "missing").Result(); !errors.Is(err, client.ErrNil) {
		t.Fatalf("Get of a missing key: %v, want ErrNil", err)
	}
	if old, err := c.Set(ctx, "k", "v1", client.SetArgs{}).Result(); err != nil || old != nil {
		t.Fatalf("Set: %q, %v", old, err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || string(v) != "v1" {
		t.Fatalf("Get: %q, %v", v, err)
	}
	// Binary-safe keys and values, and the empty value (not a missing one).
	bin := []byte{0, 1, 0xff, '\r', '\n'}
	if _, err := c.Set(ctx, "bin\x00key", bin, client.SetArgs{}).Result(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "bin\x00key").Result(); err != nil || !bytes.Equal(v, bin) {
		t.Fatalf("binary Get: %q, %v", v, err)
	}
	if _, err := c.Set(ctx, "empty", "", client.SetArgs{}).Result(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "empty").Result(); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get of an empty value: %q (nil %v), %v", v, v == nil, err)
	}
	// Numbers and bools are sent in decimal.
	for _, tt := range []struct {
		value any
		want  string
	}{{42, "42"}, {int64(-7), "-7"}, {uint8(255), "255"}, {1.5, "1.5"}, {true, "1"}, {false, "0"}} {
		if _, err := c.Set(ctx, "n", tt.value, client.SetArgs{}).Result(); err != nil {
			t.Fatal(err)
		}
		if v, _ := c.Get(ctx, "n").Result(); string(v) != tt.want {
			t.Errorf("Set(%T %v) stored %q, want %q", tt.value, tt.value, v, tt.want)
		}
	}
}

func TestSetOptions(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	if _, err := c.Set(ctx, "k", "a", client.SetArgs{XX: true}).Result(); !errors.Is(err, client.ErrNil) {
		t.Errorf("SET XX of a missing key: %v, want ErrNil", err)
	}
	if _, err := c.Set(ctx, "k", "a", client.SetArgs{NX: true}).Result(); err != nil {
		t.Errorf("SET NX of a missing key: %v", err)
	}
	if _, err := c.Set(ctx, "k", "b", client.SetArgs{NX: true}).Result(); !errors.Is(err, client.ErrNil) {
		t.Errorf("SET NX of an existing key: %v, want ErrNil", err)
	}
	if old, err := c.Set(ctx, "k", "c", client.SetArgs{Get: true}).Result(); err != nil || string(old) != "a" {
		t.Errorf("SET GET: %q, %v, want \"a\"", old, err)
	}
	if _, err := c.Set(ctx, "fresh", "x", client.SetArgs{Get: true}).Result(); !errors.Is(err, client.ErrNil) {
		t.Errorf("SET GET of a missing key: %v, want ErrNil", err)
	}

	if _, err := c.Set(ctx, "ttl", "v", client.SetArgs{TTL: 100 * time.Second}).Result(); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := c.TTL(ctx, "ttl").Result(); ttl != 100*time.Second {
		t.Errorf("TTL after SET EX 100: %v", ttl)
	}
	if _, err := c.Set(ctx, "ttl", "v", client.SetArgs{TTL: 1500 * time.Millisecond}).Result(); err != nil {
		t.Fatal(err)
	}
	if pttl, _ := c.PTTL(ctx, "ttl").Result(); pttl <= time.Second || pttl > 1500*time.Millisecond {
		t.Errorf("PTTL after SET PX 1500: %v", pttl)
	}
	if _, err := c.Set(ctx, "ttl", "w", client.SetArgs{KeepTTL: true}).Result(); err != nil {
		t.Fatal(err)
	}
	if pttl, _ := c.PTTL(ctx, "ttl").Result(); pttl <= 0 {
		t.Errorf("PTTL after SET KEEPTTL: %v, want the TTL kept", pttl)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	if _, err := c.Set(ctx, "ttl", "v", client.SetArgs{ExpireAt: at}).Result(); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := c.TTL(ctx, "ttl").Result(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("TTL after SET EXAT in an hour: %v", ttl)
	}
	if _, err := c.Set(ctx, "ttl", "v", client.SetArgs{}).Result(); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := c.TTL(ctx, "ttl").Result(); ttl != client.NoExpiry {
		t.Errorf("TTL after a plain SET: %v, want NoExpiry", ttl)
	}

	// Contradictory options fail before a round trip.
	for _, a := range []client.SetArgs{
		{NX: true, XX: true},
		{TTL: time.Second, KeepTTL: true},
		{TTL: time.Second, ExpireAt: at},
		{TTL: -time.Second},
	} {
		if _, err := c.Set(ctx, "k", "v", a).Result(); err == nil || errors.As(err, new(*client.Error)) {
			t.Errorf("Set with %+v: %v, want a client-side error", a, err)
		}
	}
	if _, err := c.Set(ctx, "k", time.Second, client.SetArgs{}).Result(); err == nil {
		t.Error("Set of a time.Duration: no error, want one (it has no unit a server could know)")
	}
	if st := c.PoolStats(); st.Discarded != 0 {
		t.Errorf("%d connections discarded, want none: client-side errors leave them alone", st.Discarded)
	}
}

func TestKeysAndCounters(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	if err := c.MSet(ctx, "a", "1", "b", []byte("2"), "c", 3).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.MSet(ctx, map[string]string{"d": "4", "e": "5"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.MSet(ctx, "odd").Err(); err == nil {
		t.Error("MSet with an odd count: no error")
	}
	vals, err := c.MGet(ctx, "a", "missing", "c", "e").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{[]byte("1"), nil, []byte("3"), []byte("5")}
	if !slices.EqualFunc(vals, want, func(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }) {
		t.Errorf("MGet = %q, want %q", vals, want)
	}
	if n, err := c.Exists(ctx, "a", "a", "missing").Result(); err != nil || n != 2 {
		t.Errorf("Exists = %d, %v, want 2", n, err)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 5 {
		t.Errorf("DBSize = %d, %v, want 5", n, err)
	}
	if n, err := c.Del(ctx, "a", "b", "missing").Result(); err != nil || n != 2 {
		t.Errorf("Del = %d, %v, want 2", n, err)
	}
	if _, err := c.Del(ctx).Result(); err == nil {
		t.Error("Del without keys: no error")
	}
	if st, err := c.FlushAll(ctx).Result(); err != nil || st != "OK" {
		t.Errorf("FlushAll = %q, %v, want OK", st, err)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("DBSize after FlushAll = %d, %v, want 0", n, err)
	}
	if _, err := c.Get(ctx, "c").Result(); !errors.Is(err, client.ErrNil) {
		t.Errorf("Get after FlushAll: %v, want ErrNil", err)
	}

	steps := []struct {
		name string
		do   func() (int64, error)
		want int64
	}{
		{"Incr", func() (int64, error) { return c.Incr(ctx, "n").Result() }, 1},
		{"IncrBy", func() (int64, error) { return c.IncrBy(ctx, "n", 10).Result() }, 11},
		{"Decr", func() (int64, error) { return c.Decr(ctx, "n").Result() }, 10},
		{"DecrBy", func() (int64, error) { return c.DecrBy(ctx, "n", 15).Result() }, -5},
		{"IncrBy negative", func() (int64, error) { return c.IncrBy(ctx, "n", -5).Result() }, -10},
	}
	for _, st := range steps {
		if got, err := st.do(); err != nil || got != st.want {
			t.Errorf("%s = %d, %v, want %d", st.name, got, err, st.want)
		}
	}
}

func TestExpiry(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	if ttl, err := c.TTL(ctx, "missing").Result(); err != nil || ttl != client.KeyMissing {
		t.Errorf("TTL of a missing key = %v, %v, want KeyMissing", ttl, err)
	}
	if ttl, err := c.PTTL(ctx, "missing").Result(); err != nil || ttl != client.KeyMissing {
		t.Errorf("PTTL of a missing key = %v, %v, want KeyMissing", ttl, err)
	}
	if ok, err := c.Expire(ctx, "missing", time.Second).Result(); err != nil || ok {
		t.Errorf("Expire of a missing key = %v, %v, want false", ok, err)
	}
	c.Set(ctx, "k", "v", client.SetArgs{})
	if ttl, _ := c.TTL(ctx, "k").Result(); ttl != client.NoExpiry {
		t.Errorf("TTL without expiry = %v, want NoExpiry", ttl)
	}
	if ok, err := c.Expire(ctx, "k", 10*time.Second).Result(); err != nil || !ok {
		t.Fatalf("Expire = %v, %v", ok, err)
	}
	if ttl, _ := c.TTL(ctx, "k").Result(); ttl != 10*time.Second {
		t.Errorf("TTL after Expire 10s = %v", ttl)
	}
	// Expire keeps sub-second precision rather than rounding to 0 (which
	// would delete the key).
	if ok, err := c.Expire(ctx, "k", 2500*time.Millisecond).Result(); err != nil || !ok {
		t.Fatalf("Expire 2.5s = %v, %v", ok, err)
	}
	if pttl, _ := c.PTTL(ctx, "k").Result(); pttl <= 2*time.Second || pttl > 2500*time.Millisecond {
		t.Errorf("PTTL after Expire 2.5s = %v", pttl)
	}
	if ok, err := c.PExpire(ctx, "k", 800*time.Millisecond).Result(); err != nil || !ok {
		t.Fatalf("PExpire = %v, %v", ok, err)
	}
	if pttl, _ := c.PTTL(ctx, "k").Result(); pttl <= 0 || pttl > 800*time.Millisecond {
		t.Errorf("PTTL after PExpire 800ms = %v", pttl)
	}
	if ok, err := c.Persist(ctx, "k").Result(); err != nil || !ok {
		t.Errorf("Persist = %v, %v, want true", ok, err)
	}
	if ok, _ := c.Persist(ctx, "k").Result(); ok {
		t.Error("Persist of a key without expiry = true, want false")
	}
	if ok, err := c.PExpire(ctx, "k", time.Millisecond).Result(); err != nil || !ok {
		t.Fatalf("PExpire 1ms = %v, %v", ok, err)
	}
	// The millisecond passes on the server's clock: ask until the key is
	// gone, each Get a round trip, within a bound.
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, err := c.Get(ctx, "k").Result()
		if errors.Is(err, client.ErrNil) {
			break
		}
		if err != nil {
			t.Fatalf("Get of a key expiring: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("Get still finds the key 5s after PExpire 1ms, want ErrNil")
		}
	}
}

func TestServerInfoAndDo(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{ClientName: "tester"})
	ctx := bg()

	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	text, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.Fatalf("Info(server): %v", err)
	}
	info, err := testdaemon.ParseInfo(text)
	if err != nil {
		t.Fatalf("Info(server): %v", err)
	}
	if !slices.Equal(info.Sections, []string{"Server"}) || info.Fields["redis_version"] == "" {
		t.Errorf("Info(server): sections %q, redis_version %q; want the Server section alone, with a version",
			info.Sections, info.Fields["redis_version"])
	}
	text, err = c.Info(ctx).Result()
	if err != nil {
		t.Fatalf("Info(): %v", err)
	}
	if info, err = testdaemon.ParseInfo(text); err != nil {
		t.Fatalf("Info(): %v", err)
	}
	if len(info.Sections) < 2 || info.Sections[0] != "Server" || !info.HasSection("Keyspace") {
		t.Errorf("Info() sections %q, want every section, Server first, Keyspace among them", info.Sections)
	}

	rep, err := c.Do(ctx, "ECHO", "hello").Result()
	if err != nil || rep.Kind != reply.KindBytes || string(rep.Bytes) != "hello" {
		t.Errorf("Do ECHO = %v, %v", rep, err)
	}
	rep, err = c.Do(ctx, "client", "getname").Result()
	if err != nil || string(rep.Bytes) != "tester" {
		t.Errorf("CLIENT GETNAME = %v, %v, want the ClientName option", rep, err)
	}
	rep, err = c.Do(ctx, "GET", "missing").Result()
	if err != nil || rep.Kind != reply.KindNil {
		t.Errorf("Do GET missing = %v, %v, want a Nil reply and no error", rep, err)
	}
	rep, err = c.Do(ctx, "FROB", 1, 2.5).Result()
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "ERR" || rep.Kind != reply.KindError {
		t.Errorf("Do FROB = %v, %v, want an ERR reply and *Error", rep, err)
	}
	if _, err := c.Do(ctx).Result(); err == nil {
		t.Error("Do without a command: no error")
	}
}

func TestErrorReplies(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{PoolSize: 1})
	ctx := bg()

	c.Set(ctx, "word", "hello", client.SetArgs{})
	_, err := c.Incr(ctx, "word").Result()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("INCR of a non-integer: %v (%T), want *client.Error", err, err)
	}
	if e.Code != "ERR" || e.Msg != "value is not an integer or out of range" {
		t.Errorf("error = %+v", e)
	}
	if err.Error() != "ERR value is not an integer or out of range" {
		t.Errorf("Error() = %q, want Redis's text", err.Error())
	}
	// An error reply leaves the connection in step: it is reused.
	if v, err := c.Get(ctx, "word").Result(); err != nil || string(v) != "hello" {
		t.Errorf("Get after an error reply: %q, %v", v, err)
	}
	if st := c.PoolStats(); st.Misses != 1 || st.Discarded != 0 {
		t.Errorf("pool stats %+v: want one dial and nothing discarded", st)
	}
}

func TestAuth(t *testing.T) {
	s := startServer(t, serverOptions{password: "s3cret"})
	ctx := bg()

	t.Run("required", func(t *testing.T) {
		c := newClient(t, s.addr, client.Options{})
		_, err := c.Get(ctx, "k").Result()
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "NOAUTH" {
			t.Fatalf("Get without AUTH: %v, want NOAUTH", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := newClient(t, s.addr, client.Options{Password: "guess"})
		err := c.Ping(ctx).Err()
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "WRONGPASS" {
			t.Fatalf("Ping with a wrong password: %v, want WRONGPASS", err)
		}
		if st := c.PoolStats(); st.TotalConns != 0 {
			t.Errorf("%d connections kept after a failed AUTH", st.TotalConns)
		}
	})
	t.Run("right password", func(t *testing.T) {
		for _, user := range []string{"", "default"} {
			c := newClient(t, s.addr, client.Options{Username: user, Password: "s3cret"})
			if _, err := c.Set(ctx, "k", "v", client.SetArgs{}).Result(); err != nil {
				t.Fatalf("user %q: %v", user, err)
			}
			if v, err := c.Get(ctx, "k").Result(); err != nil || string(v) != "v" {
				t.Fatalf("user %q: Get = %q, %v", user, v, err)
			}
		}
	})
}

func TestScanAndIterator(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	p := c.Pipeline()
	want := map[string]bool{}
	for i := range 250 {
		k := fmt.Sprintf("user:%03d", i)
		want[k] = true
		p.Set(ctx, k, i, client.SetArgs{})
		p.Set(ctx, fmt.Sprintf("other:%03d", i), i, client.SetArgs{})
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	page, err := c.Scan(ctx, 0, "user:*", 20).Result()
	if err != nil || len(page.Keys) == 0 || page.Cursor == 0 {
		t.Fatalf("first Scan = %d keys, cursor %d, %v", len(page.Keys), page.Cursor, err)
	}

	seen := map[string]bool{}
	it := c.Iterator("user:*", 20)
	for it.Next(ctx) {
		if !strings.HasPrefix(it.Key(), "user:") {
			t.Fatalf("Iterator returned %q, which does not match", it.Key())
		}
		seen[it.Key()] = true
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(want) {
		t.Errorf("Iterator saw %d distinct keys, want %d", len(seen), len(want))
	}

	n := 0
	for k, err := range c.All(ctx, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if k == "" {
			t.Fatal("All yielded an empty key")
		}
		n++
	}
	if n < 500 {
		t.Errorf("All saw %d keys, want at least 500", n)
	}
	// Stopping early is allowed.
	for range c.All(ctx, "", 0) {
		break
	}
}

func TestClosedClient(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	if err := c.Ping(bg()).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.Ping(bg()).Err(); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
	if st := c.PoolStats(); st.TotalConns != 0 {
		t.Errorf("%d connections open after Close", st.TotalConns)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, o := range []client.Options{
		{Addr: "no-port"},
		{PoolSize: -1},
		{Username: "default"},
	} {
		if _, err := client.New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
	c, err := client.New(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Addr != client.DefaultAddr || o.PoolSize <= 0 || o.ReadTimeout != client.DefaultReadTimeout ||
		o.WriteTimeout != o.ReadTimeout || o.PoolTimeout != o.ReadTimeout+time.Second {
		t.Errorf("defaults: %+v", o)
	}
}
