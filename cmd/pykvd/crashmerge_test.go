package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/storage"
)

// TestKillDuringMerge kills a real pykvd with SIGKILL at random instants of
// merges, a bounded number of times, while a writer runs. Each time the
// directory passes the offline check and reopens with every acknowledged
// write.
func TestKillDuringMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills pykvd several times")
	}
	d := testdaemon.Start(t, testdaemon.Options{Fsync: "always", Args: []string{"--segment-size", "65536"}})
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	wrng := rand.New(rand.NewSource(rng.Int63())) // the writer's own
	acked := map[string]string{}                  // key -> last acknowledged value
	var inflightKey, inflightVal string           // the write a kill may cut: durable or not
	ctx := context.Background()
	seq := 0
	write := func(c *client.Client, n int) error {
		for i := 0; i < n; i++ {
			seq++
			k := fmt.Sprintf("key-%d", wrng.Intn(5000))
			v := fmt.Sprintf("%d-%080d", seq, seq)
			inflightKey, inflightVal = k, v
			if _, err := c.Set(ctx, k, v, client.SetArgs{}).Result(); err != nil {
				return err
			}
			acked[k] = v
		}
		inflightKey = ""
		return nil
	}
	c, err := client.New(client.Options{Addr: d.Addr(), PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(c, 20000); err != nil {
		t.Fatal(err)
	}
	c.Close()

	rounds := 5
	if os.Getenv("PYKV_TORTURE") != "" {
		rounds = 100 // make torture
	}
	for round := 0; round < rounds; round++ {
		c, err := client.New(client.Options{Addr: d.Addr(), PoolSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		// The writer's acknowledgements are recorded only when the reply
		// arrived, so a write cut by the kill is not expected back.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			write(c, 1_000_000) // until the kill breaks the connection
		}()
		if _, err := c.Do(ctx, "BGREWRITEAOF").Result(); err != nil {
			t.Fatalf("round %d: BGREWRITEAOF: %v", round, err)
		}
		time.Sleep(time.Duration(rng.Intn(60)) * time.Millisecond) // a random instant of the merge
		d.Kill()
		wg.Wait()
		c.Close()

		rep := storage.Check(d.DataDir(), storage.Options{}, nil)
		if len(rep.Problems) > 0 {
			t.Fatalf("round %d: check after kill -9: %v", round, rep.Problems)
		}
		d.Restart()
		c, err = client.New(client.Options{Addr: d.Addr(), PoolSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range acked {
			got, err := c.Get(ctx, k).Result()
			if k == inflightKey && string(got) == inflightVal {
				acked[k] = inflightVal // written, its reply lost to the kill
				continue
			}
			if err != nil || string(got) != want {
				if errors.Is(err, client.ErrNil) {
					err = fmt.Errorf("missing")
				}
				t.Fatalf("round %d: %s = %q, %v; acknowledged %q", round, k, got, err, want)
			}
		}
		c.Close()
	}
}
