package index

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestLoaderMatchesPut loads the same entries through a Loader and through
// Put, in hash order and in insertion order, with repeats and expiry flips,
// and checks both keydirs hold the same entries and sound bookkeeping.
func TestLoaderMatchesPut(t *testing.T) {
	type kv struct {
		key string
		e   Entry
	}
	var in []kv
	for i := range 5000 {
		e := Entry{FileID: uint32(i % 3), Offset: uint64(i) * 64, Size: 40, Seq: uint64(i + 1)}
		if i%7 == 0 {
			e.ExpireAt = int64(1_700_000_000_000 + i)
		}
		in = append(in, kv{fmt.Sprintf("key:%d", i%4000), e}) // the last 1000 replace
	}
	for _, tc := range []struct {
		name   string
		shards int
		sorted bool
	}{
		{"one shard, insertion order", 1, false},
		{"one shard, hash order", 1, true},
		{"16 shards, insertion order", 16, false},
		{"16 shards, hash order", 16, true},
		{"256 shards, hash order", 256, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := NewKeydir(tc.shards)
			for _, x := range in {
				want.Put([]byte(x.key), x.e)
			}
			got := NewKeydir(tc.shards)
			order := slices.Clone(in)
			if tc.sorted {
				// Stable, so a key's later versions still come last.
				slices.SortStableFunc(order, func(a, b kv) int {
					ha, hb := got.Hash([]byte(a.key)), got.Hash([]byte(b.key))
					switch {
					case ha < hb:
						return -1
					case ha > hb:
						return 1
					}
					return 0
				})
			}
			l := got.NewLoader()
			for _, x := range order {
				l.Put([]byte(x.key), x.e)
			}
			l.Close()
			checkInvariants(t, got)
			if got.Len() != want.Len() || got.LenWithTTL() != want.LenWithTTL() {
				t.Fatalf("loader: %d keys (%d with ttl), Put: %d (%d)", got.Len(), got.LenWithTTL(), want.Len(), want.LenWithTTL())
			}
			want.Range(func(key []byte, e Entry) bool {
				if g, ok := got.Get(key); !ok || g != e {
					t.Fatalf("key %q: loader has %+v %v, Put has %+v", key, g, ok, e)
				}
				return true
			})
		})
	}
}

// TestLoaderReleasesShards: loaders on two goroutines, each on half the
// shards, must finish and leave every shard unlocked, so that readers and
// writers then reach every shard. A shard left locked fails the test by
// name, and loaders that block fail it within a bound instead of hanging.
func TestLoaderReleasesShards(t *testing.T) {
	k := NewKeydir(8)
	const perLoader = 2000
	keyOf := func(w, i int) []byte { return []byte(fmt.Sprintf("w%d:%d", w, i)) }
	half := func(key []byte) int { return int(k.hash(key) >> k.shift % 2) }
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := k.NewLoader()
				defer l.Close()
				for i := range perLoader {
					if key := keyOf(w, i); half(key) == w {
						l.Put(key, Entry{Seq: uint64(i + 1)})
					}
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-loaded:
	case <-time.After(10 * time.Second):
		t.Fatal("the two loaders did not finish within 10s: a Loader blocks on a shard it left locked")
	}
	for i := range k.shards {
		s := &k.shards[i]
		if !s.mu.TryLock() {
			t.Fatalf("shard %d is still locked after both loaders closed", i)
		}
		s.mu.Unlock()
	}
	checkInvariants(t, k)
	// Every shard now serves: the loaded keys are there, and a write of
	// each key, loaded or not, lands.
	var want int64
	for w := range 2 {
		for i := range perLoader {
			key := keyOf(w, i)
			e, ok := k.Get(key)
			if mine := half(key) == w; ok != mine || (ok && e.Seq != uint64(i+1)) {
				t.Fatalf("%s: %+v %v after loading, want present %v with seq %d", key, e, ok, mine, i+1)
			}
			k.Put(key, Entry{Seq: 9})
			if e, ok := k.Get(key); !ok || e.Seq != 9 {
				t.Fatalf("%s: %+v %v after Put, want seq 9", key, e, ok)
			}
			want++
		}
	}
	if k.Len() != want {
		t.Fatalf("%d keys after writing %d distinct ones", k.Len(), want)
	}
	checkInvariants(t, k)
}

// TestLoaderNewerWins: whatever the order, the version with the higher
// seq stays.
func TestLoaderNewerWins(t *testing.T) {
	k := NewKeydir(4)
	l := k.NewLoader()
	l.Put([]byte("a"), Entry{Seq: 5, Offset: 50})
	l.Put([]byte("a"), Entry{Seq: 3, Offset: 30})
	l.Put([]byte("b"), Entry{Seq: 3, Offset: 30})
	l.Put([]byte("b"), Entry{Seq: 5, Offset: 50, ExpireAt: 9})
	l.Close()
	for _, key := range []string{"a", "b"} {
		if e, ok := k.Get([]byte(key)); !ok || e.Seq != 5 || e.Offset != 50 {
			t.Fatalf("%s: %+v %v, want the seq 5 version", key, e, ok)
		}
	}
	checkInvariants(t, k)
}

// TestReserveArena: chunks come from the reserved slab until it is used up,
// then from the heap; entries stay intact either way, and a compaction
// leaves the slab.
func TestReserveArena(t *testing.T) {
	k := NewKeydir(4)
	k.ReserveArena(8 * hugePageSize)
	sl := k.shards[0].slab
	if sl == nil {
		t.Fatal("no slab after ReserveArena")
	}
	inSlab := func(c []byte) bool {
		if cap(c) == 0 {
			return false
		}
		p := &c[:1][0]
		for off := 0; off < len(sl.mem); off += maxChunkSize {
			if p == &sl.mem[off] {
				return true
			}
		}
		return false
	}
	l := k.NewLoader()
	n := 0
	for ; sl.next.Load() <= int64(len(sl.mem)); n++ { // past the end of the slab
		l.Put([]byte(fmt.Sprintf("key:%012d", n)), Entry{Seq: uint64(n + 1), Offset: uint64(n)})
	}
	for range 1000 {
		l.Put([]byte(fmt.Sprintf("key:%012d", n)), Entry{Seq: uint64(n + 1), Offset: uint64(n)})
		n++
	}
	l.Close()
	if runtime.GOOS == "linux" && len(k.advised) == 0 {
		t.Fatal("the slab was not advised for huge pages")
	}
	k.LoadDone()
	if len(k.advised) != 0 {
		t.Fatal("LoadDone left huge-page advice in place")
	}
	checkInvariants(t, k)
	var fromSlab, fromHeap int
	for i := range k.shards {
		s := &k.shards[i]
		if s.slab != nil {
			t.Fatalf("shard %d still holds the slab after LoadDone", i)
		}
		for _, c := range s.chunks {
			if inSlab(c) {
				fromSlab++
			} else {
				fromHeap++
			}
		}
	}
	if want := len(sl.mem) / maxChunkSize; fromSlab != want || fromHeap == 0 {
		t.Fatalf("%d chunks from the slab (want all %d of it), %d from the heap (want some)", fromSlab, want, fromHeap)
	}
	for i := range n {
		key := []byte(fmt.Sprintf("key:%012d", i))
		if e, ok := k.Get(key); !ok || e.Seq != uint64(i+1) {
			t.Fatalf("%s: %+v %v", key, e, ok)
		}
	}
	// Deleting most keys compacts every shard into heap chunks.
	for i := range n - n/10 {
		k.Delete([]byte(fmt.Sprintf("key:%012d", i)))
	}
	checkInvariants(t, k)
	for i := range k.shards {
		for _, c := range k.shards[i].chunks {
			if inSlab(c) {
				t.Fatalf("shard %d still holds a slab chunk after compacting", i)
			}
		}
	}
}
