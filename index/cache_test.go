package index

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"
)

// keyOf and seqOf return the key and seq of the entry at position p.
func (s *cacheShard) keyOf(p int32) []byte { return dataKey(s.slots[p].data) }
func (s *cacheShard) seqOf(p int32) uint64 { return dataSeq(s.slots[p].data) }

// checkCache verifies a cache's lists, tables and byte counts.
func checkCache(t interface {
	Helper()
	Fatalf(string, ...any)
}, c *Cache) {
	t.Helper()
	for si := range c.shards {
		s := &c.shards[si]
		s.mu.Lock()
		var bytes int64
		n, prev := 0, int32(-1)
		for p := s.head; p >= 0; p = s.slots[p].next {
			sl := &s.slots[p]
			if sl.data == nil || sl.prev != prev || n > len(s.slots) {
				t.Fatalf("shard %d: slot %d in the list has data %p, prev %d (want %d)", si, p, sl.data, sl.prev, prev)
			}
			key := s.keyOf(p)
			if q, match := s.find(sl.hash, key); !match || q != p || sl.hash != c.hash(key) {
				t.Fatalf("shard %d: slot %d (%q) not found by its key", si, p, key)
			}
			bytes += dataCost(sl.data)
			prev = p
			n++
		}
		if prev != s.tail || n != int(s.live) {
			t.Fatalf("shard %d: list of %d ends at %d, tail %d, table has %d", si, n, prev, s.tail, s.live)
		}
		used := 0
		for _, sl := range s.slots {
			if sl.data != nil {
				used++
			} else if sl != (cacheSlot{}) {
				t.Fatalf("shard %d: empty slot %+v", si, sl)
			}
		}
		if used != n || 4*used > 3*len(s.slots) || len(s.slots)&(len(s.slots)-1) != 0 {
			t.Fatalf("shard %d: %d of %d slots used for %d entries", si, used, len(s.slots), n)
		}
		if bytes != s.bytes || s.bytes > s.budget.Load() {
			t.Fatalf("shard %d: entries cost %d, counted %d, budget %d", si, bytes, s.bytes, s.budget.Load())
		}
		s.mu.Unlock()
	}
}

// TestCacheHashCollisions: keys whose hashes collide never get each other's
// values; the later one takes the slot and the earlier one misses.
func TestCacheHashCollisions(t *testing.T) {
	c := NewCache(1<<16, 1)
	c.hash = func([]byte) uint64 { return 42 }
	c.Put([]byte("a"), 1, []byte("value of a"))
	if v, ok := c.Get([]byte("a"), 1); !ok || string(v) != "value of a" {
		t.Fatalf("a: %q %v", v, ok)
	}
	if v, ok := c.Get([]byte("b"), 1); ok {
		t.Fatalf("b got a's slot: %q", v)
	}
	c.Put([]byte("b"), 1, []byte("value of b"))
	if v, ok := c.Get([]byte("a"), 1); ok {
		t.Fatalf("a after b took the slot: %q", v)
	}
	if v, ok := c.Get([]byte("b"), 1); !ok || string(v) != "value of b" {
		t.Fatalf("b: %q %v", v, ok)
	}
	c.Remove([]byte("a")) // not cached: must leave b alone
	if _, ok := c.Get([]byte("b"), 1); !ok {
		t.Fatal("removing a dropped b")
	}
	checkCache(t, c)
}

func TestCacheEntryOverheadCoversSlot(t *testing.T) {
	// Beyond the key and value: the table's slots (at least a quarter of
	// them spare, up to as many again after a doubling), the copy's header
	// and the allocator's rounding of the copy.
	if 2*cacheSlotSize*4/3+cacheHeaderLen+12 > cacheEntryOverhead {
		t.Fatalf("cacheEntryOverhead %d leaves too little beyond %d-byte slots", cacheEntryOverhead, cacheSlotSize)
	}
}

func TestNewCacheShards(t *testing.T) {
	for _, tc := range []struct {
		budget     int64
		shards     int
		wantShards int
	}{
		{0, 8, 0},
		{-1, 8, 0},
		{1000, 8, 1},
		{1 << 30, 0, DefaultCacheShards},
		{1 << 30, 5, 8},
		{1 << 20, 256, 16}, // 64 KiB each at least
	} {
		c := NewCache(tc.budget, tc.shards)
		if len(c.shards) != tc.wantShards {
			t.Errorf("NewCache(%d, %d): %d shards, want %d", tc.budget, tc.shards, len(c.shards), tc.wantShards)
		}
		if st := c.Stats(); st.Budget != max(tc.budget, 0) {
			t.Errorf("NewCache(%d, %d): budget %d", tc.budget, tc.shards, st.Budget)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	c := NewCache(0, 4)
	c.Put([]byte("k"), 1, []byte("v"))
	if _, ok := c.Get([]byte("k"), 1); ok {
		t.Fatal("a disabled cache hit")
	}
	c.Remove([]byte("k"))
	if st := c.Stats(); st != (CacheStats{Misses: 1}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestCacheSeq(t *testing.T) {
	k := []byte("key")
	for _, tc := range []struct {
		name  string
		run   func(c *Cache)
		get   uint64
		want  string // "" = miss
		stats CacheStats
	}{
		{"hit", func(c *Cache) { c.Put(k, 5, []byte("v5")) }, 5, "v5", CacheStats{Hits: 1, Entries: 1}},
		{"newer version asked: miss, copy dropped", func(c *Cache) { c.Put(k, 5, []byte("v5")) }, 6, "", CacheStats{Misses: 1}},
		{"older version asked: miss, copy kept", func(c *Cache) { c.Put(k, 5, []byte("v5")) }, 4, "", CacheStats{Misses: 1, Entries: 1}},
		{"put replaces", func(c *Cache) { c.Put(k, 5, []byte("v5")); c.Put(k, 6, []byte("v6")) }, 6, "v6", CacheStats{Hits: 1, Entries: 1}},
		{"older put ignored", func(c *Cache) { c.Put(k, 6, []byte("v6")); c.Put(k, 5, []byte("v5")) }, 6, "v6", CacheStats{Hits: 1, Entries: 1}},
		{"removed", func(c *Cache) { c.Put(k, 5, []byte("v5")); c.Remove(k) }, 5, "", CacheStats{Misses: 1}},
		{"empty value", func(c *Cache) { c.Put(k, 5, nil) }, 5, "", CacheStats{Hits: 1, Entries: 1}},
		{"too big for the shard", func(c *Cache) { c.Put(k, 5, make([]byte, 1<<20)) }, 5, "", CacheStats{Misses: 1}},
		{"too big drops the old copy", func(c *Cache) { c.Put(k, 5, []byte("v5")); c.Put(k, 6, make([]byte, 1<<20)) }, 5, "", CacheStats{Misses: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(1<<16, 1)
			tc.run(c)
			v, ok := c.Get(k, tc.get)
			wantHit := tc.want != "" || tc.stats.Hits == 1
			if ok != wantHit || string(v) != tc.want {
				t.Fatalf("Get(seq %d) = %q %v, want %q %v", tc.get, v, ok, tc.want, wantHit)
			}
			st := c.Stats()
			tc.stats.Budget = 1 << 16
			tc.stats.Bytes = st.Bytes
			if st != tc.stats {
				t.Fatalf("stats %+v, want %+v", st, tc.stats)
			}
			checkCache(t, c)
		})
	}
}

func TestCacheCopies(t *testing.T) {
	c := NewCache(1<<16, 1)
	key, val := []byte("key"), []byte("value")
	c.Put(key, 1, val)
	copy(key, "xxx")
	copy(val, "xxxxx")
	if v, ok := c.Get([]byte("key"), 1); !ok || string(v) != "value" {
		t.Fatalf("Get = %q %v after the caller reused its buffers", v, ok)
	}
}

// lruOrder lists a one-shard cache's keys, most recently used first,
// without touching the order.
func lruOrder(c *Cache) string {
	s := &c.shards[0]
	var out []byte
	for p := s.head; p >= 0; p = s.slots[p].next {
		out = append(out, s.keyOf(p)...)
	}
	return string(out)
}

func TestCacheLRUOrder(t *testing.T) {
	val := make([]byte, 100)
	c := NewCache(3*entryCost(1, len(val)), 1) // room for exactly three entries
	put := func(k string, seq uint64, v []byte) func() { return func() { c.Put([]byte(k), seq, v) } }
	get := func(k string, seq uint64) func() { return func() { c.Get([]byte(k), seq) } }
	for i, st := range []struct {
		do    func()
		order string
	}{
		{put("a", 1, val), "a"},
		{put("b", 1, val), "ba"},
		{put("c", 1, val), "cba"},
		{get("a", 1), "acb"},      // a hit refreshes
		{put("d", 1, val), "dac"}, // the least recently used, b, goes
		{get("c", 0), "dac"},      // asking for an older version changes nothing
		{get("c", 1), "cda"},      // a hit on the right seq refreshes
		{put("a", 2, val), "acd"}, // so does a new version
		{put("e", 1, val[:50]), "eac"},
		{put("f", 1, val[:50]), "fea"},
		{put("g", 1, val), "gfe"},
		{get("f", 2), "ge"},                           // a newer version exists: the copy is dead and goes
		{put("h", 1, make([]byte, 6*len(val))), "ge"}, // too big to cache at all
	} {
		st.do()
		if got := lruOrder(c); got != st.order {
			t.Fatalf("step %d: LRU order %q, want %q", i, got, st.order)
		}
		checkCache(t, c)
	}
	if st := c.Stats(); st.Evictions != 4 || st.Bytes > st.Budget {
		t.Fatalf("stats %+v, want 4 evictions within budget", st)
	}
}

// TestCacheModel compares one shard with a list-based LRU model under random
// operations; the budget must hold after every one.
func TestCacheModel(t *testing.T) {
	type ent struct {
		key string
		seq uint64
		val []byte
	}
	rapid.Check(t, func(t *rapid.T) {
		budget := rapid.Int64Range(cacheEntryOverhead, 4000).Draw(t, "budget")
		c := NewCache(budget, 1)
		var model []ent // most recently used first
		find := func(key string) int {
			for i, e := range model {
				if e.key == key {
					return i
				}
			}
			return -1
		}
		cost := func() (n int64) {
			for _, e := range model {
				n += entryCost(len(e.key), len(e.val))
			}
			return n
		}
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			key := fmt.Sprint(rapid.IntRange(0, 20).Draw(t, "key"))
			seq := rapid.Uint64Range(1, 5).Draw(t, "seq")
			i := find(key)
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				val := bytes.Repeat([]byte{byte(seq)}, rapid.IntRange(0, 600).Draw(t, "len"))
				c.Put([]byte(key), seq, val)
				if i >= 0 && model[i].seq > seq {
					break
				}
				if i >= 0 {
					model = append(model[:i], model[i+1:]...)
				}
				if entryCost(len(key), len(val)) > budget {
					break
				}
				model = append([]ent{{key, seq, val}}, model...)
				for cost() > budget {
					model = model[:len(model)-1]
				}
			case 1:
				v, ok := c.Get([]byte(key), seq)
				want := i >= 0 && model[i].seq == seq
				if ok != want || (ok && !bytes.Equal(v, model[i].val)) {
					t.Fatalf("Get(%s, %d) = %v, want %v", key, seq, ok, want)
				}
				if want {
					e := model[i]
					model = append([]ent{e}, append(model[:i], model[i+1:]...)...)
				} else if i >= 0 && model[i].seq < seq {
					model = append(model[:i], model[i+1:]...)
				}
			case 2:
				c.Remove([]byte(key))
				if i >= 0 {
					model = append(model[:i], model[i+1:]...)
				}
			}
			checkCache(t, c)
			s := &c.shards[0]
			j := 0
			for n := s.head; n >= 0; n = s.slots[n].next {
				if j >= len(model) || string(s.keyOf(n)) != model[j].key || s.seqOf(n) != model[j].seq {
					t.Fatalf("LRU position %d holds %q, model %v", j, s.keyOf(n), model)
				}
				j++
			}
			if j != len(model) {
				t.Fatalf("cache holds %d entries, model %d", j, len(model))
			}
		}
	})
}

// TestCacheTableModel drives one shard's open-addressing table against a
// map under random Puts, Gets, Peeks, Removes and Clears, with a budget
// that never evicts and hash functions that crowd it: tags that collide
// while the full hashes differ, homes at the table's end so probes wrap,
// and full collisions, where the later key takes the entry.
func TestCacheTableModel(t *testing.T) {
	num := func(key []byte) uint64 {
		n, err := strconv.Atoi(string(key[1:]))
		if err != nil {
			panic(err)
		}
		return uint64(n)
	}
	hashes := []struct {
		name string
		fn   func([]byte) uint64
	}{
		{"xxhash", xxhash.Sum64},
		{"few tags", func(k []byte) uint64 { return num(k)%16 | num(k)<<40 }},
		{"homes at the end", func(k []byte) uint64 { return 0xffff_fff0 | num(k)%16 | num(k)<<40 }},
		{"full collisions", func(k []byte) uint64 { return num(k) % 40 }},
	}
	type ent struct {
		seq uint64
		val string
	}
	rapid.Check(t, func(t *rapid.T) {
		hf := rapid.SampledFrom(hashes).Draw(t, "hash")
		c := NewCache(1<<30, 1)
		c.hash = hf.fn
		model := map[string]ent{}
		for range rapid.IntRange(1, 600).Draw(t, "steps") {
			key := fmt.Sprintf("k%d", rapid.IntRange(0, 300).Draw(t, "key"))
			seq := rapid.Uint64Range(1, 4).Draw(t, "seq")
			e, had := model[key]
			switch op := rapid.IntRange(0, 12).Draw(t, "op"); {
			case op < 6:
				val := strings.Repeat(string(rune('a'+seq)), rapid.IntRange(0, 40).Draw(t, "len"))
				c.Put([]byte(key), seq, []byte(val))
				if had && e.seq > seq {
					break
				}
				for k := range model {
					if k != key && hf.fn([]byte(k)) == hf.fn([]byte(key)) {
						delete(model, k) // the later key takes the entry
					}
				}
				model[key] = ent{seq, val}
			case op < 9:
				v, ok := c.Get([]byte(key), seq)
				if want := had && e.seq == seq; ok != want || (ok && string(v) != e.val) {
					t.Fatalf("Get(%s, %d) = %q %v, model %+v %v", key, seq, v, ok, e, had)
				}
				if had && e.seq < seq {
					delete(model, key)
				}
			case op < 10:
				cost, ok := c.Peek([]byte(key), seq)
				if want := had && e.seq == seq; ok != want || (ok && cost != entryCost(len(key), len(e.val))) {
					t.Fatalf("Peek(%s, %d) = %d %v, model %+v %v", key, seq, cost, ok, e, had)
				}
			case op < 12:
				c.Remove([]byte(key))
				delete(model, key)
			default:
				c.Clear()
				clear(model)
			}
			checkCache(t, c)
			if st := c.Stats(); st.Entries != int64(len(model)) || st.Evictions != 0 {
				t.Fatalf("cache holds %d entries after %d evictions, model %d", st.Entries, st.Evictions, len(model))
			}
		}
		for k, e := range model { // every entry is still found, whatever moved
			if v, ok := c.Get([]byte(k), e.seq); !ok || string(v) != e.val {
				t.Fatalf("Get(%s, %d) = %q %v at the end, want %q", k, e.seq, v, ok, e.val)
			}
		}
	})
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(1<<20, 4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 2))
			for range 20000 {
				key := fmt.Appendf(nil, "k%d", r.IntN(2000))
				seq := uint64(r.IntN(4))
				switch r.IntN(4) {
				case 0, 1:
					if v, ok := c.Get(key, seq); ok && (len(v) != int(seq)*100 || (len(v) > 0 && v[0] != byte(seq))) {
						t.Errorf("Get(%s, %d) returned a value of another version", key, seq)
						return
					}
				case 2:
					c.Put(key, seq, bytes.Repeat([]byte{byte(seq)}, int(seq)*100))
				case 3:
					c.Remove(key)
				}
			}
		})
	}
	wg.Go(func() {
		for range 1000 {
			if st := c.Stats(); st.Bytes > st.Budget {
				t.Errorf("cache holds %d bytes over a budget of %d", st.Bytes, st.Budget)
				return
			}
		}
	})
	wg.Wait()
	checkCache(t, c)
}

// TestCacheSetBudget: a lower budget evicts down to it at once, a higher
// one lets more in again, 0 empties the cache, and a cache made disabled
// refuses a budget.
func TestCacheSetBudget(t *testing.T) {
	c := NewCache(1<<20, 4)
	val := make([]byte, 1000)
	for i := range 800 {
		c.Put(fmt.Appendf(nil, "k%d", i), 1, val)
	}
	full := c.Stats()
	if full.Bytes < 700_000 {
		t.Fatalf("cache holds %d bytes before the change, want most of 1 MiB", full.Bytes)
	}
	for _, tc := range []struct {
		budget int64
		fill   bool
	}{{256 << 10, false}, {512 << 10, true}, {0, true}, {1 << 20, true}} {
		if !c.SetBudget(tc.budget) {
			t.Fatalf("SetBudget(%d) refused", tc.budget)
		}
		if tc.fill {
			for i := range 800 {
				c.Put(fmt.Appendf(nil, "k%d", i), 2, val)
			}
		}
		st := c.Stats()
		if st.Budget != tc.budget || st.Bytes > tc.budget {
			t.Fatalf("after SetBudget(%d): budget %d, bytes %d", tc.budget, st.Budget, st.Bytes)
		}
		if tc.budget > 0 && st.Bytes < tc.budget/2 {
			t.Fatalf("after SetBudget(%d): only %d bytes cached", tc.budget, st.Bytes)
		}
		checkCache(t, c)
	}
	if st := c.Stats(); st.Evictions <= full.Evictions {
		t.Fatalf("evictions %d, were %d: shrinking evicted nothing", st.Evictions, full.Evictions)
	}
	d := NewCache(0, 4)
	if d.SetBudget(1 << 20) {
		t.Fatal("a disabled cache took a budget")
	}
	if !d.SetBudget(0) {
		t.Fatal("a disabled cache refused a budget of 0")
	}
}
