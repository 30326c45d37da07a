package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/reply"
	"github.com/redis/go-redis/v9"
)

// TestBitopLCSClients: BITOP and LCS through go-redis over RESP2 and
// RESP3 and through the native protocol, answers as the clients parse
// them; BITOP's result survives a SIGKILL (it was logged before the
// reply); and neither sees half of an MSET running beside it.
func TestBitopLCSClients(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	for _, proto := range []int{2, 3} {
		rdb := newRedis(t, d.RESPAddr(), proto, nil)
		ctx := testCtx(t)
		p := fmt.Sprintf("r%d:", proto)
		if err := rdb.MSet(ctx, p+"a", "foobar", p+"b", "abcdef", p+"c", "\x00\xff").Err(); err != nil {
			t.Fatal(err)
		}
		n, err := rdb.BitOpAnd(ctx, p+"and", p+"a", p+"b").Result()
		check(t, "BITOP AND", n, err, int64(6))
		v, err := rdb.Get(ctx, p+"and").Result()
		check(t, "BITOP AND's value", v, err, "`bc`ab")
		n, err = rdb.BitOpOr(ctx, p+"or", p+"c", p+"a").Result()
		check(t, "BITOP OR", n, err, int64(6))
		v, err = rdb.Get(ctx, p+"or").Result()
		check(t, "BITOP OR's value", v, err, "f\xffobar")
		n, err = rdb.BitOpXor(ctx, p+"xor", p+"a", p+"a", p+"none").Result()
		check(t, "BITOP XOR", n, err, int64(6))
		n, err = rdb.BitOpNot(ctx, p+"not", p+"c").Result()
		check(t, "BITOP NOT", n, err, int64(2))
		v, err = rdb.Get(ctx, p+"not").Result()
		check(t, "BITOP NOT's value", v, err, "\xff\x00")
		n, err = rdb.BitOpNot(ctx, p+"not", p+"none").Result()
		check(t, "BITOP NOT of a missing key", n, err, int64(0))
		n, err = rdb.Exists(ctx, p+"not").Result()
		check(t, "EXISTS after an empty BITOP", n, err, int64(0))
		// Redis 8's DIFF is not Redis 7.0's.
		checkErr(t, "BITOP DIFF", rdb.BitOpDiff(ctx, p+"d", p+"a", p+"b").Err(), "ERR syntax error")

		if err := rdb.MSet(ctx, p+"l1", "ohmytext", p+"l2", "mynewtext").Err(); err != nil {
			t.Fatal(err)
		}
		m, err := rdb.LCS(ctx, &redis.LCSQuery{Key1: p + "l1", Key2: p + "l2"}).Result()
		check(t, "LCS", m, err, &redis.LCSMatch{MatchString: "mytext"})
		m, err = rdb.LCS(ctx, &redis.LCSQuery{Key1: p + "l1", Key2: p + "l2", Len: true}).Result()
		check(t, "LCS LEN", m, err, &redis.LCSMatch{Len: 6})
		m, err = rdb.LCS(ctx, &redis.LCSQuery{Key1: p + "l1", Key2: p + "l2", Idx: true, WithMatchLen: true}).Result()
		check(t, "LCS IDX WITHMATCHLEN", m, err, &redis.LCSMatch{Len: 6, Matches: []redis.LCSMatchedPosition{
			{Key1: redis.LCSPosition{Start: 4, End: 7}, Key2: redis.LCSPosition{Start: 5, End: 8}, MatchLen: 4},
			{Key1: redis.LCSPosition{Start: 2, End: 3}, Key2: redis.LCSPosition{Start: 0, End: 1}, MatchLen: 2},
		}})
		m, err = rdb.LCS(ctx, &redis.LCSQuery{Key1: p + "l1", Key2: p + "l2", Idx: true, MinMatchLen: 3}).Result()
		check(t, "LCS IDX MINMATCHLEN", m, err, &redis.LCSMatch{Len: 6, Matches: []redis.LCSMatchedPosition{
			{Key1: redis.LCSPosition{Start: 4, End: 7}, Key2: redis.LCSPosition{Start: 5, End: 8}},
		}})
		err = rdb.Do(ctx, "LCS", p+"l1", p+"l2", "LEN", "IDX").Err()
		checkErr(t, "LCS LEN IDX", err, "ERR If you want both the length and indexes, please just use IDX.")
	}

	n := dialNative(t, d.Addr())
	for _, c := range []struct {
		args []string
		want reply.Reply
	}{
		{[]string{"SET", "n:a", "\x0f\xf0"}, reply.OK},
		{[]string{"BITOP", "NOT", "n:not", "n:a"}, reply.Int(2)},
		{[]string{"GET", "n:not"}, reply.Bytes([]byte("\xf0\x0f"))},
		{[]string{"BITOP", "NOT", "n:not", "n:a", "n:a"}, reply.Err("BITOP NOT must be called with a single source key.")},
		{[]string{"SET", "n:l", "mynewtext"}, reply.OK},
		{[]string{"LCS", "n:l", "r2:l1"}, reply.Bytes([]byte("mytext"))},
		{[]string{"LCS", "n:l", "r2:l1", "IDX", "MINMATCHLEN", "4"}, reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{
			reply.Bytes([]byte("matches")),
			reply.Array([]reply.Reply{reply.Array([]reply.Reply{
				reply.Array([]reply.Reply{reply.Int(5), reply.Int(8)}),
				reply.Array([]reply.Reply{reply.Int(4), reply.Int(7)}),
			})}),
			reply.Bytes([]byte("len")), reply.Int(6),
		}}},
	} {
		if got := n.do(c.args...); got.String() != c.want.String() || got.Kind != c.want.Kind {
			t.Errorf("native %q = %v (kind %d), want %v (kind %d)", c.args, got, got.Kind, c.want, c.want.Kind)
		}
	}

	// Two keys MSET to one value together: BITOP XOR of them (each named
	// eight times, so that a torn read has room) is zeros and their LCS is
	// the whole value, unless a read saw half of an MSET.
	rdb := newRedis(t, d.RESPAddr(), 2, nil)
	ctx := testCtx(t)
	const rounds, size = 300, 1024
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(1))
		buf := make([]byte, size)
		for range 100 * rounds {
			select {
			case <-stop:
				return
			default:
			}
			rng.Read(buf)
			if err := rdb.MSet(ctx, "m:a", string(buf), "m:b", string(buf)).Err(); err != nil {
				t.Errorf("MSET: %v", err)
				return
			}
		}
	}()
	if err := rdb.MSet(ctx, "m:a", strings.Repeat("x", size), "m:b", strings.Repeat("x", size)).Err(); err != nil {
		t.Fatal(err)
	}
	var sources []string
	for range 8 {
		sources = append(sources, "m:a", "m:b")
	}
	for i := 0; i < rounds && !t.Failed(); i++ {
		if _, err := rdb.BitOpXor(ctx, "m:x", sources...).Result(); err != nil {
			t.Fatalf("BITOP: %v", err)
		}
		v, err := rdb.Get(ctx, "m:x").Bytes()
		if err != nil || !bytes.Equal(v, make([]byte, size)) {
			t.Fatalf("round %d: BITOP XOR of two keys MSET together: %d bytes, %d of them not zero (%v), want %d zero bytes",
				i, len(v), len(v)-bytes.Count(v, []byte{0}), err, size)
		}
		l, err := rdb.Do(ctx, "LCS", "m:a", "m:b", "LEN").Int64()
		if err != nil || l != size {
			t.Fatalf("round %d: LCS LEN of two keys MSET together = %d (%v), want %d", i, l, err, size)
		}
	}
	close(stop)
	wg.Wait()

	d.Kill()
	d.Restart()
	n = dialNative(t, d.Addr())
	if got := n.do("GET", "n:not"); string(got.Bytes) != "\xf0\x0f" {
		t.Errorf("after SIGKILL and restart, GET n:not = %v", got)
	}
	if got := n.do("EXISTS", "r2:not"); got.Int != 0 {
		t.Errorf("after SIGKILL and restart, the key an empty BITOP deleted: EXISTS = %v", got)
	}
}
