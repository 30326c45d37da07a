package client_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/reply"
)

// TestEmptyKey: the empty key, a key like any other as in Redis, goes
// through every key method as a zero-length arg of the native protocol,
// and the scans yield it.
func TestEmptyKey(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := newClient(t, s.addr, client.Options{})
	ctx := bg()
	if _, err := c.Get(ctx, "").Result(); !errors.Is(err, client.ErrNil) {
		t.Fatalf("Get of the missing empty key: %v, want ErrNil", err)
	}
	if _, err := c.Set(ctx, "", 41, client.SetArgs{TTL: time.Hour}).Result(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Incr(ctx, "").Result(); err != nil || n != 42 {
		t.Fatalf("Incr of the empty key = %d, %v", n, err)
	}
	if ttl, err := c.TTL(ctx, "").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL of the empty key = %v, %v", ttl, err)
	}
	if _, err := c.MSet(ctx, "", "m", "other", "o").Result(); err != nil {
		t.Fatal(err)
	}
	vals, err := c.MGet(ctx, "other", "").Result()
	if err != nil || len(vals) != 2 || string(vals[1]) != "m" {
		t.Fatalf("MGet = %q, %v", vals, err)
	}
	var all []string
	for k, err := range c.All(ctx, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, k)
	}
	if slices.Sort(all); !slices.Equal(all, []string{"", "other"}) {
		t.Fatalf("All yielded %q, want the empty key and other", all)
	}
	// MATCH "" matches the empty key only, as in Redis; Scan's "" sends no
	// MATCH, so Do sends it.
	r, err := c.Do(ctx, "SCAN", 0, "MATCH", "", "COUNT", 100).Result()
	if err != nil || len(r.Array) != 2 || len(r.Array[1].Array) != 1 || r.Array[1].Array[0].Kind != reply.KindBytes || len(r.Array[1].Array[0].Bytes) != 0 {
		t.Fatalf("SCAN 0 MATCH \"\" = %v, %v; want the empty key alone", r, err)
	}
	if n, err := c.Del(ctx, "", "").Result(); err != nil || n != 1 {
		t.Fatalf("Del of the empty key twice = %d, %v", n, err)
	}
	if n, err := c.Exists(ctx, "").Result(); err != nil || n != 0 {
		t.Fatalf("Exists of the deleted empty key = %d, %v", n, err)
	}
}
