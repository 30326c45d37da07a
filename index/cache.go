package index

import (
	"math"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

const (
	// DefaultCacheShards is the shard count NewCache uses when asked for 0.
	DefaultCacheShards = 64

	// minCacheShardBudget: NewCache uses fewer shards rather than give each
	// less than this, since a value larger than its shard's budget is never
	// cached (a 1 MiB cache in 256 shards could not hold a 5 KiB value).
	minCacheShardBudget = 64 << 10

	// cacheEntryOverhead is what a cached entry costs beyond its key and
	// value bytes, counted against the budget: its table slot (copy
	// pointer, hash, LRU links: 24 bytes, with up to as much again spare
	// after the table doubles and a quarter spare before), the copy's
	// 16-byte header, and allocator rounding of the copy. It was set when
	// an entry cost more (a 64-byte list node, a map slot, two copies) and
	// is kept so that a cache-bytes setting holds no more entries than
	// before; BenchmarkCacheMemory measures what is spent.
	cacheEntryOverhead = 96
)

// CacheStats is a snapshot of a Cache's counters.
type CacheStats struct {
	Hits      uint64 // Get calls that returned a value
	Misses    uint64 // Get calls that did not
	Evictions uint64 // entries dropped to stay within the budget
	Bytes     int64  // bytes counted against the budget now
	Budget    int64  // the budget given to NewCache
	Entries   int64  // entries cached now
}

// Cache is a value cache in front of the data files: an LRU per shard,
// keys spread over shards by xxhash, with a byte budget split evenly among
// the shards. Each entry is tagged with the seq of the version it holds, and
// Get hits only on the seq the caller asks for, so a stale copy is never
// served. It is safe for concurrent use. Hits and evictions are O(1). The
// zero Cache is a disabled one; make a working one with NewCache.
type Cache struct {
	shards []cacheShard // nil when caching is disabled
	shift  uint
	hash   func([]byte) uint64 // xxhash; tests inject colliding ones
	budget atomic.Int64
	misses atomic.Uint64 // misses of a disabled cache
}

// NewCache returns a cache holding at most budgetBytes of keys, values and
// per-entry overhead, in shards shards (rounded up to a power of two; 0
// means DefaultCacheShards). The shard count is lowered so that each shard
// gets at least 64 KiB of budget, since a value that does not fit in its
// shard's share is not cached. A budget of 0 or less disables caching: Get
// always misses and Put does nothing.
func NewCache(budgetBytes int64, shards int) *Cache {
	c := &Cache{shift: 64, hash: xxhash.Sum64}
	c.budget.Store(max(budgetBytes, 0))
	if budgetBytes <= 0 {
		return c
	}
	n := roundShards(shards, DefaultCacheShards)
	for n > 1 && budgetBytes/int64(n) < minCacheShardBudget {
		n /= 2
	}
	c.shards = make([]cacheShard, n)
	for n > 1 {
		c.shift--
		n /= 2
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.head, s.tail = -1, -1
		s.budget.Store(budgetBytes / int64(len(c.shards)))
	}
	return c
}

// SetBudget changes the budget while the cache is in use: each shard gets
// its share of budgetBytes and, when that is less than it holds, drops its
// least recently used entries until it fits. The shard count stays the one
// NewCache chose. A cache made disabled (a budget of 0) cannot be given
// one: SetBudget reports false and changes nothing. A budget of 0 or less
// empties an enabled cache and caches nothing more until raised again.
func (c *Cache) SetBudget(budgetBytes int64) bool {
	budgetBytes = max(budgetBytes, 0)
	if c.shards == nil {
		return budgetBytes == 0
	}
	c.budget.Store(budgetBytes)
	share := budgetBytes / int64(len(c.shards))
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.budget.Store(share)
		for s.bytes > share && s.tail >= 0 {
			s.remove(s.tail)
			s.evictions++
		}
		s.mu.Unlock()
	}
	return true
}

func (c *Cache) shardFor(key []byte) (*cacheShard, uint64) {
	h := c.hash(key)
	return &c.shards[h>>c.shift], h
}

func entryCost(key, value int) int64 {
	return int64(key + value + cacheEntryOverhead)
}

// Get returns the cached value of key if the cached copy is the version
// written by seq, and marks it most recently used. The returned slice is
// shared: callers must not modify it. The cache never writes to it either,
// so it stays valid after the entry is evicted or replaced.
func (c *Cache) Get(key []byte, seq uint64) ([]byte, bool) {
	if c.shards == nil {
		c.misses.Add(1)
		return nil, false
	}
	s, h := c.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, match := s.find(h, key); match {
		d := s.slots[p].data
		if seq1 := dataSeq(d); seq1 == seq {
			s.hits++
			if p != s.head {
				s.unlink(p)
				s.pushFront(p)
			}
			return dataValue(d), true
		} else if seq1 < seq {
			s.remove(p) // the key has moved on: this copy can never hit again
		}
	}
	s.misses++
	return nil, false
}

// Put caches a copy of value as key's version seq, evicting the shard's
// least recently used entries to stay within budget. It keeps a newer
// version already cached, and does not cache a value larger than the
// shard's share of the budget (dropping any older copy of the key instead).
// key and value are copied.
func (c *Cache) Put(key []byte, seq uint64, value []byte) {
	if c.shards == nil {
		return
	}
	cost := entryCost(len(key), len(value))
	s, h := c.shardFor(key)
	var data *byte
	// The copy's header holds the lengths in uint32s.
	copied := cost <= s.budget.Load() && uint64(len(key)) <= math.MaxUint32 && uint64(len(value)) <= math.MaxUint32
	if copied { // copy before locking: the shard waits for no memmove
		data = newCacheData(seq, key, value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, match := s.find(h, key)
	if p >= 0 && !match {
		s.remove(p) // another key with the same hash: make way
		p = -1
	}
	if p >= 0 && dataSeq(s.slots[p].data) > seq {
		return
	}
	budget := s.budget.Load()
	if !copied || cost > budget { // too big, or raised since the check: not copied
		if p >= 0 {
			s.remove(p)
		}
		return
	}
	if p >= 0 {
		s.bytes += cost - dataCost(s.slots[p].data)
		s.slots[p].data = data
		s.unlink(p)
	} else {
		p = s.insert(h, data)
		s.bytes += cost
	}
	s.pushFront(p)
	for s.bytes > budget { // never reaches p: it is first, and fits alone
		s.remove(s.tail)
		s.evictions++
	}
}

// Remove drops key's cached value, if any.
func (c *Cache) Remove(key []byte) {
	if c.shards == nil {
		return
	}
	s, h := c.shardFor(key)
	s.mu.Lock()
	if p, match := s.find(h, key); match {
		s.remove(p)
	}
	s.mu.Unlock()
}

// Stats returns the cache's counters, summed over shards one after another.
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Budget: c.budget.Load(), Misses: c.misses.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Hits += s.hits
		st.Misses += s.misses
		st.Evictions += s.evictions
		st.Bytes += s.bytes
		st.Entries += int64(s.live)
		s.mu.Unlock()
	}
	return st
}

// Clear drops every cached value; the counters stay.
func (c *Cache) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.slots, s.live = nil, 0
		s.head, s.tail = -1, -1
		s.bytes = 0
		s.mu.Unlock()
	}
}

// Peek reports the cost (entryCost: key, value and overhead) of key's
// cached copy when it is the version written by seq, without marking it
// used or counting a hit or a miss: MEMORY USAGE looks without changing
// what the cache keeps or reports.
func (c *Cache) Peek(key []byte, seq uint64) (int64, bool) {
	if c.shards == nil {
		return 0, false
	}
	s, h := c.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, match := s.find(h, key); match && dataSeq(s.slots[p].data) == seq {
		return dataCost(s.slots[p].data), true
	}
	return 0, false
}
