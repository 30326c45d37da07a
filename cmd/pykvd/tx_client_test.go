package main

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestGoRedisTransactions: go-redis's TxPipelined (MULTI ... EXEC) and
// its Watch with the retry loop of its documentation, under contention
// from several clients, over RESP2 and RESP3: every increment lands once.
func TestGoRedisTransactions(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	ctx := testCtx(t)
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			c := newRedis(t, d.RESPAddr(), proto, nil)
			p := "gr" + strconv.Itoa(proto) + ":"

			cmds, err := c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Set(ctx, p+"a", "1", 0)
				pipe.Incr(ctx, p+"a")
				pipe.Get(ctx, p+"a")
				return nil
			})
			if err != nil || len(cmds) != 3 {
				t.Fatalf("TxPipelined: %d commands, %v", len(cmds), err)
			}
			if v := cmds[2].(*redis.StringCmd).Val(); v != "2" {
				t.Fatalf("GET inside the transaction = %q, want 2", v)
			}

			// A run-time error inside EXEC is that command's; the rest ran.
			cmds, err = c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Set(ctx, p+"s", "text", 0)
				pipe.Incr(ctx, p+"s")
				pipe.Set(ctx, p+"after", "1", 0)
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), "not an integer") || cmds[2].Err() != nil {
				t.Fatalf("TxPipelined with INCR of a word: %v; SET after it: %v", err, cmds[2].Err())
			}
			check(t, "GET after", c.Get(ctx, p+"after").Val(), nil, "1")

			// Watch and retry: increments from several clients.
			key := p + "counter"
			const workers, rounds = 4, 25
			incr := func(c *redis.Client) error {
				for range 100 {
					err := c.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, key).Int()
						if err != nil && !errors.Is(err, redis.Nil) {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
							pipe.Set(ctx, key, n+1, 0)
							return nil
						})
						return err
					}, key)
					if !errors.Is(err, redis.TxFailedErr) {
						return err // nil: done
					}
				}
				return errors.New("increment failed after 100 retries")
			}
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for range workers {
				wc := newRedis(t, d.RESPAddr(), proto, nil)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range rounds {
						if err := incr(wc); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			n, err := c.Get(ctx, key).Int()
			check(t, "counter", n, err, workers*rounds)

			// Another client's write between WATCH and EXEC: TxFailedErr.
			other := newRedis(t, d.RESPAddr(), proto, nil)
			err = c.Watch(ctx, func(tx *redis.Tx) error {
				if err := other.Set(ctx, key, "0", 0).Err(); err != nil {
					return err
				}
				_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
					pipe.Set(ctx, key, "loser", 0)
					return nil
				})
				return err
			}, key)
			if !errors.Is(err, redis.TxFailedErr) {
				t.Fatalf("EXEC after another client's write: %v, want %v", err, redis.TxFailedErr)
			}
			check(t, "counter after the failed transaction", c.Get(ctx, key).Val(), nil, "0")
		})
	}
}

// pythonWithRedis returns a python3 that can import redis (Debian's
// python3-redis, which `make deps` installs), or skips the test.
func pythonWithRedis(t *testing.T) string {
	t.Helper()
	var tried []string
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if out, err := exec.Command(p, "-c", "import redis").CombinedOutput(); err == nil {
			return p
		} else {
			tried = append(tried, p+": "+strings.TrimSpace(string(out)))
		}
	}
	t.Skipf("no python3 with the redis module (apt-get install -y python3-redis, or make deps): %s", strings.Join(tried, "; "))
	return ""
}

// TestPythonRedisClient runs testdata/tx_client.py against pykvd: redis-py's
// default transactional pipeline(), its WATCH/MULTI/EXEC optimistic-locking
// loop under contention from several threads, and scan_iter.
func TestPythonRedisClient(t *testing.T) {
	t.Parallel()
	py := pythonWithRedis(t)
	d := testdaemon.Start(t, testdaemon.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/tx_client.py", strconv.Itoa(d.RESPPort()))
	out, err := cmd.CombinedOutput()
	t.Logf("tx_client.py:\n%s", out)
	if err != nil {
		t.Fatalf("tx_client.py: %v", err)
	}
	if !strings.Contains(string(out), "all ok") {
		t.Fatal("tx_client.py did not finish its checks")
	}
}
