package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/reply"
)

func TestPipelineOf10000Commands(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	const n = 10000
	p := c.Pipeline()
	type step struct {
		set *client.Result[[]byte]
		get *client.Result[[]byte]
		inc *client.Result[int64]
	}
	steps := make([]step, 0, n/3+1)
	for i := 0; p.Len() < n; i++ {
		key := "key:" + strconv.Itoa(i)
		st := step{set: p.Set(ctx, key, i, client.SetArgs{})}
		if p.Len() < n {
			st.get = p.Get(ctx, key)
		}
		if p.Len() < n {
			st.inc = p.Incr(ctx, "counter")
		}
		steps = append(steps, st)
	}
	if p.Len() != n {
		t.Fatalf("queued %d commands", p.Len())
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if p.Len() != 0 {
		t.Errorf("Len after Exec = %d, want 0", p.Len())
	}
	for i, st := range steps {
		if err := st.set.Err(); err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
		if st.get != nil {
			if v, err := st.get.Result(); err != nil || string(v) != strconv.Itoa(i) {
				t.Fatalf("get %d = %q, %v: replies out of order?", i, v, err)
			}
		}
		if st.inc != nil {
			if v, err := st.inc.Result(); err != nil || v != int64(i+1) {
				t.Fatalf("incr %d = %d, %v, want %d", i, v, err, i+1)
			}
		}
	}
	if st := c.PoolStats(); st.Misses != 1 || st.TotalConns != 1 {
		t.Errorf("%+v: want the whole pipeline on one connection", st)
	}
}

func TestPipelineLargerThanSocketBuffers(t *testing.T) {
	// Megabytes each way: the requests are written while the replies are
	// read, or both sides would stall on full buffers.
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	value := bytes.Repeat([]byte("v"), 64<<10)
	p := c.Pipeline()
	var gets []*client.Result[[]byte]
	for i := range 80 {
		key := fmt.Sprint("big:", i)
		p.Set(bg(), key, value, client.SetArgs{})
		gets = append(gets, p.Get(bg(), key))
	}
	done := make(chan error, 1)
	go func() { done <- p.Exec(bg()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a large pipeline deadlocked")
	}
	for i, g := range gets {
		if v, err := g.Result(); err != nil || !bytes.Equal(v, value) {
			t.Fatalf("get %d: %d bytes, %v", i, len(v), err)
		}
	}
}

func TestPipelineResultsAndErrors(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()

	p := c.Pipeline()
	set := p.Set(ctx, "word", "hello", client.SetArgs{})
	missing := p.Get(ctx, "missing")
	bad := p.Incr(ctx, "word")
	unsent := p.Set(ctx, "k", "v", client.SetArgs{NX: true, XX: true})
	mset := p.MSet(ctx, "a", 1, "b", 2)
	mget := p.MGet(ctx, "a", "nope", "b")
	del := p.Del(ctx, "a")
	exists := p.Exists(ctx, "b", "a")
	incrBy := p.IncrBy(ctx, "n", 5)
	decr := p.Decr(ctx, "n")
	decrBy := p.DecrBy(ctx, "n", 2)
	expire := p.Expire(ctx, "b", time.Minute)
	pexpire := p.PExpire(ctx, "b", 90*time.Second)
	ttl := p.TTL(ctx, "b")
	pttl := p.PTTL(ctx, "b")
	persist := p.Persist(ctx, "b")
	scan := p.Scan(ctx, 0, "", 100)
	size := p.DBSize(ctx)
	info := p.Info(ctx, "keyspace")
	ping := p.Ping(ctx)
	do := p.Do(ctx, "ECHO", "x")

	if _, err := set.Result(); !errors.Is(err, client.ErrNotExecuted) {
		t.Errorf("Result before Exec: %v, want ErrNotExecuted", err)
	}
	err := p.Exec(ctx)
	if err == nil || !strings.Contains(err.Error(), "NX and XX") {
		t.Errorf("Exec = %v, want the first failure, the unsendable SET", err)
	}
	if set.Err() != nil || !errors.Is(missing.Err(), client.ErrNil) {
		t.Errorf("set %v, missing %v", set.Err(), missing.Err())
	}
	var e *client.Error
	if !errors.As(bad.Err(), &e) || e.Code != "ERR" {
		t.Errorf("INCR of a word: %v, want an ERR reply", bad.Err())
	}
	if unsent.Err() == nil {
		t.Error("contradictory SET has no error")
	}
	keyspace, infoErr := testdaemon.ParseInfo(info.Val())
	db0, db0Err := keyspace.Sub("db0")
	checks := []struct {
		name string
		got  any
		err  error
		want any
	}{
		{"MSet", mset.Val(), mset.Err(), "OK"},
		{"MGet", fmt.Sprintf("%q", mget.Val()), mget.Err(), `["1" "" "2"]`},
		{"MGet nil", mget.Val()[1] == nil, nil, true},
		{"Del", del.Val(), del.Err(), int64(1)},
		{"Exists", exists.Val(), exists.Err(), int64(1)},
		{"IncrBy", incrBy.Val(), incrBy.Err(), int64(5)},
		{"Decr", decr.Val(), decr.Err(), int64(4)},
		{"DecrBy", decrBy.Val(), decrBy.Err(), int64(2)},
		{"Expire", expire.Val(), expire.Err(), true},
		{"PExpire", pexpire.Val(), pexpire.Err(), true},
		{"TTL", ttl.Val(), ttl.Err(), 90 * time.Second},
		{"PTTL > 89s", pttl.Val() > 89*time.Second, pttl.Err(), true},
		{"Persist", persist.Val(), persist.Err(), true},
		{"Scan keys", len(scan.Val().Keys), scan.Err(), 3},
		{"Scan cursor", scan.Val().Cursor, nil, uint64(0)},
		{"DBSize", size.Val(), size.Err(), int64(3)},
		{"Info sections", fmt.Sprint(keyspace.Sections), errors.Join(info.Err(), infoErr), "[Keyspace]"},
		{"Info db0 keys", db0["keys"], db0Err, "3"},
		{"Info db0 expires", db0["expires"], db0Err, "0"},
		{"Ping", ping.Val(), ping.Err(), "PONG"},
		{"Do", do.Val().Kind, do.Err(), reply.KindBytes},
	}
	for _, ch := range checks {
		if ch.err != nil || ch.got != ch.want {
			t.Errorf("%s = %v, %v, want %v", ch.name, ch.got, ch.err, ch.want)
		}
	}

	// Without the unsendable command, Exec reports the first error reply,
	// never ErrNil.
	p.Get(ctx, "missing")
	p.Incr(ctx, "word")
	if err := p.Exec(ctx); !errors.As(err, &e) {
		t.Errorf("Exec = %v, want the INCR's *Error", err)
	}
	p.Get(ctx, "missing")
	if err := p.Exec(ctx); err != nil {
		t.Errorf("Exec of a GET of a missing key = %v, want nil", err)
	}
	if err := p.Exec(ctx); err != nil {
		t.Errorf("Exec of an empty pipeline = %v", err)
	}
	p.Get(ctx, "x")
	p.Discard()
	if p.Len() != 0 {
		t.Error("Discard left commands")
	}
}

func TestPipelineIOErrorReachesTheRest(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{MaxFrame: 1024})
	ctx := bg()
	c.Set(ctx, "big", strings.Repeat("x", 4096), client.SetArgs{})

	p := c.Pipeline()
	before := p.Incr(ctx, "n")
	big := p.Get(ctx, "big")
	after := p.Incr(ctx, "n")
	err := p.Exec(ctx)
	if !errors.Is(err, netproto.ErrFrameTooLarge) {
		t.Fatalf("Exec = %v, want ErrFrameTooLarge", err)
	}
	if v, err := before.Result(); err != nil || v != 1 {
		t.Errorf("command before the failure = %d, %v, want its reply", v, err)
	}
	if !errors.Is(big.Err(), netproto.ErrFrameTooLarge) || !errors.Is(after.Err(), netproto.ErrFrameTooLarge) {
		t.Errorf("failed %v, after %v: want the I/O error in both", big.Err(), after.Err())
	}
	if st := c.PoolStats(); st.Discarded != 1 {
		t.Errorf("%+v: want the connection discarded", st)
	}
}
