package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/config"
	"github.com/pykv/pykv/internal/daemon"
)

// The examples run against a real pykvd in their own process (a
// daemon.Daemon on a free loopback port, data in a temporary directory).
// An application connects to a running pykvd instead.
func Example() {
	addr, stop := exampleServer("")
	defer stop()

	// The client side: one Client per server, shared by the application.
	c, err := client.New(client.Options{Addr: addr})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Set(ctx, "greeting", "hello", client.SetArgs{}).Result(); err != nil {
		log.Fatal(err)
	}
	v, err := c.Get(ctx, "greeting").Result()
	fmt.Printf("%s %v\n", v, err)

	_, err = c.Get(ctx, "nobody").Result()
	fmt.Println(errors.Is(err, client.ErrNil))

	n, _ := c.Incr(ctx, "visits").Result()
	n, _ = c.IncrBy(ctx, "visits", 10).Result()
	fmt.Println(n)
	// Output:
	// hello <nil>
	// true
	// 11
}

// exampleServer starts pykvd's wiring in this process, with password when
// not empty, and returns its native address and a function that stops it.
func exampleServer(password string) (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "pykv-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Password = dir, password
	cfg.Native.Addr, cfg.RESP.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "", ""
	d, err := daemon.New(cfg, daemon.Info{Version: "example"}, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	<-d.Ready()
	return d.NativeAddr().String(), func() {
		d.Shutdown(context.Background())
		<-served
		os.RemoveAll(dir)
	}
}

// A pipeline sends many commands in one round trip; each has its own
// typed result.
func ExampleClient_Pipeline() {
	addr, stop := exampleServer("example-password")
	defer stop()
	c, _ := client.New(client.Options{Addr: addr, Password: "example-password"})
	defer c.Close()
	ctx := context.Background()

	p := c.Pipeline()
	p.Set(ctx, "fruit:1", "apple", client.SetArgs{})
	p.Set(ctx, "fruit:2", "pear", client.SetArgs{TTL: time.Hour})
	hits := p.IncrBy(ctx, "hits", 3)
	first := p.Get(ctx, "fruit:1")
	missing := p.Get(ctx, "fruit:3")
	ttl := p.TTL(ctx, "fruit:2")
	if err := p.Exec(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(hits.Val())
	fmt.Printf("%s\n", first.Val())
	fmt.Println(errors.Is(missing.Err(), client.ErrNil))
	fmt.Println(ttl.Val())
	// Output:
	// 3
	// apple
	// true
	// 1h0m0s
}

// Error replies are *client.Error values, with Redis's codes and texts.
func ExampleError() {
	addr, stop := exampleServer("example-password")
	defer stop()
	ctx := context.Background()

	anon, _ := client.New(client.Options{Addr: addr})
	defer anon.Close()
	_, err := anon.Get(ctx, "k").Result()
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code)
	}

	c, _ := client.New(client.Options{Addr: addr, Password: "example-password"})
	defer c.Close()
	c.Set(ctx, "name", "pykv", client.SetArgs{})
	_, err = c.Incr(ctx, "name").Result()
	fmt.Println(err)
	// Output:
	// NOAUTH
	// ERR value is not an integer or out of range
}

// SET's options: only if absent, with a time to live, returning the old
// value.
func ExampleClient_Set() {
	addr, stop := exampleServer("example-password")
	defer stop()
	c, _ := client.New(client.Options{Addr: addr, Password: "example-password"})
	defer c.Close()
	ctx := context.Background()

	_, err := c.Set(ctx, "lock", "owner-1", client.SetArgs{NX: true, TTL: 30 * time.Second}).Result()
	fmt.Println("first:", err)
	_, err = c.Set(ctx, "lock", "owner-2", client.SetArgs{NX: true, TTL: 30 * time.Second}).Result()
	fmt.Println("second:", err)
	old, _ := c.Set(ctx, "lock", "owner-3", client.SetArgs{Get: true, KeepTTL: true}).Result()
	fmt.Printf("replaced %s\n", old)
	ttl, _ := c.TTL(ctx, "lock").Result()
	fmt.Println(ttl)
	// Output:
	// first: <nil>
	// second: pykv/client: nil
	// replaced owner-1
	// 30s
}

// Iterating over keys with SCAN, one batch per round trip.
func ExampleClient_All() {
	addr, stop := exampleServer("example-password")
	defer stop()
	c, _ := client.New(client.Options{Addr: addr, Password: "example-password"})
	defer c.Close()
	ctx := context.Background()

	c.MSet(ctx, "user:1", "ada", "user:2", "alan", "user:3", "grace", "team:1", "core")
	var users []string
	for key, err := range c.All(ctx, "user:*", 100) {
		if err != nil {
			log.Fatal(err)
		}
		users = append(users, key)
	}
	slices.Sort(users) // SCAN returns keys in no particular order
	fmt.Println(users)
	// Output:
	// [user:1 user:2 user:3]
}

// Do runs commands the Client has no method for, and returns the reply as
// the server sent it.
func ExampleClient_Do() {
	addr, stop := exampleServer("example-password")
	defer stop()
	c, _ := client.New(client.Options{Addr: addr, Password: "example-password"})
	defer c.Close()
	ctx := context.Background()

	r, err := c.Do(ctx, "SETNX", "k", "v").Result()
	fmt.Println(r, err)
	r, err = c.Do(ctx, "SETNX", "k", "v").Result()
	fmt.Println(r, err)
	r, err = c.Do(ctx, "ECHO", "hi").Result()
	fmt.Println(r, err)
	// Output:
	// (integer) 1 <nil>
	// (integer) 0 <nil>
	// "hi" <nil>
}

// Code written against Cmdable works on a Client, which runs each command
// at once, and on a Pipeline, which sends them all with Exec.
func ExampleCmdable() {
	addr, stop := exampleServer("example-password")
	defer stop()
	c, _ := client.New(client.Options{Addr: addr, Password: "example-password"})
	defer c.Close()
	ctx := context.Background()

	// stock records a delivery: the same two commands either way.
	stock := func(c client.Cmdable, item string, n int64) *client.Result[int64] {
		c.Set(ctx, item+":seen", "yes", client.SetArgs{})
		return c.IncrBy(ctx, item+":count", n)
	}

	fmt.Println(stock(c, "apple", 3).Val()) // run at once

	p := c.Pipeline()
	pears := stock(p, "pear", 5)
	apples := stock(p, "apple", 2)
	fmt.Println(errors.Is(pears.Err(), client.ErrNotExecuted)) // queued, not sent
	if err := p.Exec(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(pears.Val(), apples.Val())
	// Output:
	// 3
	// true
	// 5 5
}
