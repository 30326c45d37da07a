package client_test

import (
	"strconv"
	"testing"

	"github.com/pykv/pykv/client"
)

// The benchmarks run against an in-process server over loopback TCP, with
// the engine's fsync off (serverOptions): they measure the client, the
// protocol and the command path, not the disk.
//
//	go test -run '^$' -bench . -benchtime 2s ./client/

// benchKeys stores n keys of 32-byte values and returns their names.
func benchKeys(b *testing.B, c *client.Client, n int) []string {
	b.Helper()
	keys := make([]string, n)
	p := c.Pipeline()
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
		p.Set(bg(), keys[i], "0123456789abcdef0123456789abcdef", client.SetArgs{})
	}
	if err := p.Exec(bg()); err != nil {
		b.Fatal(err)
	}
	return keys
}

func reportCommands(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "cmds/s")
}

// BenchmarkPipeline100 sends 100 commands per round trip: GETs, SETs
// (each of which the engine writes to its log), and half of each.
func BenchmarkPipeline100(b *testing.B) {
	s := startServer(b, serverOptions{})
	c := newClient(b, s.addr, client.Options{})
	keys := benchKeys(b, c, 100)
	for _, mix := range []struct {
		name     string
		setEvery int // a SET every setEvery commands; 0: none
	}{{"get", 0}, {"set", 1}, {"half", 2}} {
		b.Run(mix.name, func(b *testing.B) {
			p := c.Pipeline()
			b.ReportAllocs()
			for b.Loop() {
				for i, k := range keys {
					if mix.setEvery > 0 && i%mix.setEvery == 0 {
						p.Set(bg(), k, "0123456789abcdef0123456789abcdef", client.SetArgs{})
					} else {
						p.Get(bg(), k)
					}
				}
				if err := p.Exec(bg()); err != nil {
					b.Fatal(err)
				}
			}
			reportCommands(b, len(keys))
		})
	}
}

// BenchmarkGet sends one GET per round trip, for comparison.
func BenchmarkGet(b *testing.B) {
	s := startServer(b, serverOptions{})
	c := newClient(b, s.addr, client.Options{})
	keys := benchKeys(b, c, 100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Get(bg(), keys[i%len(keys)]).Result(); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCommands(b, 1)
}

// BenchmarkGetParallel sends single GETs from many goroutines sharing the
// pool.
func BenchmarkGetParallel(b *testing.B) {
	s := startServer(b, serverOptions{})
	c := newClient(b, s.addr, client.Options{})
	keys := benchKeys(b, c, 100)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Get(bg(), keys[i%len(keys)]).Result(); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	reportCommands(b, 1)
}
