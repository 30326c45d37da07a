package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestKeydirScanDuringChurn checks SCAN's guarantee while other goroutines
// grow and shrink the tables underneath it: every key present for the whole
// scan is returned.
func TestKeydirScanDuringChurn(t *testing.T) {
	k := NewKeydir(4) // few shards, so each table resizes many times
	const stable, churn = 3000, 8000
	stableKey := func(i int) []byte { return fmt.Appendf(nil, "stable:%d", i) }
	for i := range stable {
		k.Put(stableKey(i), Entry{Seq: uint64(i)})
	}

	var stop atomic.Bool
	var progress atomic.Int64 // churn operations done
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			var seq uint64
			for round := 0; !stop.Load(); round++ {
				for i := range churn { // grow
					seq++
					k.Put(fmt.Appendf(nil, "churn:%d:%d", w, i), Entry{Seq: seq, ExpireAt: int64(i % 2)})
					progress.Add(1)
				}
				for i := range churn { // and shrink
					k.Delete(fmt.Appendf(nil, "churn:%d:%d", w, i))
					progress.Add(1)
				}
			}
		})
	}
	wg.Go(func() { // rewrite stable keys, moving records that gain or lose an expiry
		for seq := uint64(stable); !stop.Load(); seq++ {
			i := rand.IntN(stable)
			k.Put(stableKey(i), Entry{Seq: seq, ExpireAt: int64(seq % 2)})
		}
	})

	for scan := range 2 {
		seen := make([]bool, stable)
		cursor, calls := uint64(0), 0
		for {
			cursor = k.Scan(cursor, 100, func(key []byte, _ Entry) {
				var i int
				if _, err := fmt.Sscanf(string(key), "stable:%d", &i); err == nil {
					seen[i] = true
				}
			})
			calls++
			if cursor == 0 {
				break
			}
			// Let the churn move on between calls, whatever the speed of
			// either side, so tables resize in the middle of the scan.
			for p := progress.Load(); progress.Load() < p+200; {
				runtime.Gosched()
			}
		}
		for i, ok := range seen {
			if !ok {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("scan %d (%d calls) missed stable:%d", scan, calls, i)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	checkInvariants(t, k)
}

// TestKeydirConcurrent hammers one Keydir from many goroutines under the
// race detector. Each writer owns a range of keys and keeps a model of it;
// all of them also fight over a few shared keys; readers walk the whole
// keydir meanwhile.
func TestKeydirConcurrent(t *testing.T) {
	k := NewKeydir(8)
	const writers, keysEach, ops, shared = 4, 500, 10000, 16
	var seq atomic.Uint64
	var stop atomic.Bool
	var readers sync.WaitGroup
	readers.Go(func() {
		for !stop.Load() {
			k.Range(func(key []byte, e Entry) bool { return len(key) > 0 || e.Seq == 0 })
			for c := k.Scan(0, 100, func([]byte, Entry) {}); c != 0 && !stop.Load(); {
				c = k.Scan(c, 100, func([]byte, Entry) {})
			}
		}
	})
	readers.Go(func() {
		for !stop.Load() {
			k.SampleExpiring(20, func(key []byte, e Entry) { k.DeleteIf(key, e.Seq) })
			_, _, _ = k.Len(), k.LenWithTTL(), k.Bytes()
		}
	})

	models := make([]map[string]Entry, writers)
	var wg sync.WaitGroup
	for w := range writers {
		models[w] = map[string]Entry{}
		wg.Go(func() {
			model := models[w]
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range ops {
				if r.IntN(10) == 0 { // shared key: no model, just contention
					key := fmt.Appendf(nil, "shared:%d", r.IntN(shared))
					if e, ok := k.Get(key); ok {
						k.CompareAndSwap(key, e.Seq, Entry{Seq: seq.Add(1)})
					} else {
						k.Put(key, Entry{Seq: seq.Add(1)})
					}
					continue
				}
				key := fmt.Appendf(nil, "w%d:%d", w, r.IntN(keysEach))
				switch r.IntN(4) {
				case 0, 1:
					// no expiry, so the sampling reader never deletes these
					e := Entry{Seq: seq.Add(1), FileID: uint32(w), Offset: uint64(r.IntN(1 << 40))}
					k.Put(key, e)
					model[string(key)] = e
				case 2:
					k.Delete(key)
					delete(model, string(key))
				case 3:
					got, ok := k.Get(key)
					if want, had := model[string(key)]; ok != had || got != want {
						t.Errorf("writer %d: Get %s = %+v %v, want %+v %v", w, key, got, ok, want, had)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	checkInvariants(t, k)
	for w, model := range models {
		for key, want := range model {
			if got, ok := k.Get([]byte(key)); !ok || got != want {
				t.Fatalf("writer %d: %s = %+v %v, want %+v", w, key, got, ok, want)
			}
		}
	}
}

// TestKeydirScanAcrossResize resizes the tables between every two Scan
// calls, growing and shrinking them by large factors.
func TestKeydirScanAcrossResize(t *testing.T) {
	for _, shards := range []int{1, 8} {
		t.Run(fmt.Sprint("shards=", shards), func(t *testing.T) {
			k := NewKeydir(shards)
			const stable = 500
			for i := range stable {
				k.Put(fmt.Appendf(nil, "stable:%d", i), Entry{Seq: 1})
			}
			seen := map[string]int{}
			cursor, step := uint64(0), 0
			for {
				cursor = k.Scan(cursor, 7, func(key []byte, _ Entry) { seen[string(key)]++ })
				if cursor == 0 {
					break
				}
				step++
				n := 200 << (step % 6) // from 200 to 6400 extra keys, then none
				if step%2 == 0 {
					for i := range n {
						k.Put(fmt.Appendf(nil, "churn:%d", i), Entry{Seq: 2})
					}
				} else {
					for i := range 6400 {
						k.Delete(fmt.Appendf(nil, "churn:%d", i))
					}
				}
			}
			for i := range stable {
				if seen[fmt.Sprintf("stable:%d", i)] == 0 {
					t.Fatalf("scan of %d steps missed stable:%d", step, i)
				}
			}
			checkInvariants(t, k)
		})
	}
}
