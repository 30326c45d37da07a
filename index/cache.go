package index

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

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
	// value bytes, counted against the budget: the list node (hash,
	// lengths, links: 24 bytes), its table slot (16 bytes, with up to as
	// much again spare after the table doubles and a quarter spare before),
	// the seq stored before the key, and allocator rounding of the copy.
	// It was set when an entry cost more (a 64-byte node, a map slot, two
	// copies) and is kept so that a cache-bytes setting holds no more
	// entries than before; BenchmarkCacheMemory measures what is spent.
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

type cacheShard struct {
	mu sync.Mutex
	// slots is the shard's index, an open-addressing table with linear
	// probing whose size is a power of two (nil until the first Put). See
	// cacheSlot; a probe compares tags in the table and reads an entry only
	// when they match.
	slots      []cacheSlot
	nodes      []cacheNode
	live       int32 // entries: occupied slots and nodes in the list
	free       int32 // first free node, linked through next; -1 when none
	head, tail int32 // most and least recently used node; -1 when empty
	bytes      int64
	// budget is the shard's share: written under mu (SetBudget), read
	// without it by Put's check before copying.
	budget atomic.Int64

	hits, misses, evictions uint64

	_ [64]byte // keep neighbouring shards' locks off this cache line
}

// cacheSlot is one position of a shard's table. data points straight at
// the entry's copy, so that a hit reads the slot and then, side by side,
// the copy (to compare the seq and the key) and the node (for its length
// and LRU links) rather than going from slot to node to copy. Two keys
// with the same 64-bit hash share an entry, the later one taking it: a miss
// for the other, which is all a cache owes.
type cacheSlot struct {
	data *byte // cacheSeqLen bytes of seq, then key, then value
	// tag holds the low 32 bits of the key's hash (which also give the
	// slot's home) above the node's index plus one; 0 is an empty slot.
	tag uint64
}

// cacheNode is an entry's place in the LRU list, linked by index into
// nodes, with what eviction needs to find its slot and count its cost.
type cacheNode struct {
	hash       uint64 // its key's xxhash
	klen, vlen uint32
	prev, next int32
}

const (
	// cacheSeqLen is the size of the seq at the head of an entry's copy.
	cacheSeqLen = 8
	// cacheTagShift puts a slot's hash bits above its node index.
	cacheTagShift = 32
	// cacheMinSlots is a shard table's size at its first Put.
	cacheMinSlots = 16
)

// newCacheData copies seq, key and value into one allocation.
func newCacheData(seq uint64, key, value []byte) *byte {
	buf := make([]byte, cacheSeqLen+len(key)+len(value))
	binary.LittleEndian.PutUint64(buf, seq)
	copy(buf[cacheSeqLen+copy(buf[cacheSeqLen:], key):], value)
	return unsafe.SliceData(buf)
}

func dataSeq(d *byte) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(d, cacheSeqLen))
}

func dataKey(d *byte, klen uint32) []byte {
	return unsafe.Slice(d, cacheSeqLen+klen)[cacheSeqLen:]
}

// dataValue returns the value in d, of capacity its length.
func dataValue(d *byte, klen, vlen uint32) []byte {
	return unsafe.Slice(d, cacheSeqLen+klen+vlen)[cacheSeqLen+klen:]
}

func slotTag(h uint64, i int32) uint64 {
	return uint64(uint32(h))<<cacheTagShift | uint64(uint32(i+1))
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
		s.free, s.head, s.tail = -1, -1, -1
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
	if p, i, match := s.find(h, key); match {
		d := s.slots[p].data
		if seq1 := dataSeq(d); seq1 == seq {
			s.hits++
			if i != s.head {
				s.unlink(i)
				s.pushFront(i)
			}
			return dataValue(d, s.nodes[i].klen, s.nodes[i].vlen), true
		} else if seq1 < seq {
			s.remove(i) // the key has moved on: this copy can never hit again
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
	// A shard's share of any budget this side of 4 GiB keeps out entries
	// whose lengths would not fit the node's uint32s.
	copied := cost <= s.budget.Load() && cacheSeqLen+len(key)+len(value) <= math.MaxUint32
	if copied { // copy before locking: the shard waits for no memmove
		data = newCacheData(seq, key, value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, i, match := s.find(h, key)
	if i >= 0 && !match {
		s.remove(i) // another key with the same hash: make way
		i = -1
	}
	if i >= 0 && dataSeq(s.slots[p].data) > seq {
		return
	}
	budget := s.budget.Load()
	if !copied || cost > budget { // too big, or raised since the check: not copied
		if i >= 0 {
			s.remove(i)
		}
		return
	}
	if i >= 0 {
		n := &s.nodes[i]
		s.bytes += cost - entryCost(int(n.klen), int(n.vlen))
		s.slots[p].data, n.vlen = data, uint32(len(value))
		s.unlink(i)
	} else {
		i = s.newNode()
		s.nodes[i] = cacheNode{hash: h, klen: uint32(len(key)), vlen: uint32(len(value))}
		s.insert(cacheSlot{data: data, tag: slotTag(h, i)})
		s.bytes += cost
	}
	s.pushFront(i)
	for s.bytes > budget { // never reaches i: it is first, and fits alone
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
	if _, i, match := s.find(h, key); match {
		s.remove(i)
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

func (s *cacheShard) newNode() int32 {
	if i := s.free; i >= 0 {
		s.free = s.nodes[i].next
		return i
	}
	s.nodes = append(s.nodes, cacheNode{})
	return int32(len(s.nodes) - 1)
}

// remove drops node i from the list and the table and frees it.
func (s *cacheShard) remove(i int32) {
	s.unlink(i)
	n := &s.nodes[i]
	s.deleteSlot(s.slotOf(n.hash, i))
	s.bytes -= entryCost(int(n.klen), int(n.vlen))
	*n = cacheNode{next: s.free}
	s.free = i
}

// find looks up key, whose hash is h. It returns the position of its
// slot and its node with match true; or, when another key with the same
// hash holds the entry, that key's with match false; else node -1. It
// reads a node's hash only when a tag matches and the key does not.
func (s *cacheShard) find(h uint64, key []byte) (p uint32, i int32, match bool) {
	if s.slots == nil {
		return 0, -1, false
	}
	mask := uint32(len(s.slots) - 1)
	tag := uint64(uint32(h)) << cacheTagShift
	for p = uint32(h) & mask; ; p = (p + 1) & mask {
		sl := &s.slots[p]
		if sl.tag == 0 {
			return 0, -1, false
		}
		if sl.tag&^(1<<cacheTagShift-1) != tag {
			continue
		}
		i = int32(uint32(sl.tag)) - 1
		n := &s.nodes[i]
		if int(n.klen) == len(key) && string(dataKey(sl.data, n.klen)) == string(key) {
			return p, i, true
		}
		if n.hash == h {
			return p, i, false
		}
	}
}

// slotOf returns the position in slots of node i, whose hash is h.
func (s *cacheShard) slotOf(h uint64, i int32) uint32 {
	mask := uint32(len(s.slots) - 1)
	want := slotTag(h, i)
	p := uint32(h) & mask
	for s.slots[p].tag != want {
		p = (p + 1) & mask
	}
	return p
}

// insert adds sl, whose hash no other entry has, to the table, doubling
// it first when that would fill more than three quarters of it (linear
// probing slows sharply beyond that).
func (s *cacheShard) insert(sl cacheSlot) {
	if 4*(int(s.live)+1) > 3*len(s.slots) {
		s.grow()
	}
	s.put(sl)
	s.live++
}

// put stores sl at the first empty position from its home.
func (s *cacheShard) put(sl cacheSlot) {
	mask := uint32(len(s.slots) - 1)
	p := uint32(sl.tag>>cacheTagShift) & mask
	for s.slots[p].tag != 0 {
		p = (p + 1) & mask
	}
	s.slots[p] = sl
}

func (s *cacheShard) grow() {
	old := s.slots
	s.slots = make([]cacheSlot, max(2*len(old), cacheMinSlots))
	for _, sl := range old {
		if sl.tag != 0 {
			s.put(sl)
		}
	}
}

// deleteSlot empties position p and shifts back the slots after it that
// would otherwise be cut off from their home by the gap, so a probe can
// stop at the first empty slot (no tombstones).
func (s *cacheShard) deleteSlot(p uint32) {
	mask := uint32(len(s.slots) - 1)
	s.live--
	for q := (p + 1) & mask; s.slots[q].tag != 0; q = (q + 1) & mask {
		home := uint32(s.slots[q].tag>>cacheTagShift) & mask
		if (q-home)&mask >= (q-p)&mask { // p lies between its home and q
			s.slots[p] = s.slots[q]
			p = q
		}
	}
	s.slots[p] = cacheSlot{} // let the copy go
}

func (s *cacheShard) unlink(i int32) {
	n := &s.nodes[i]
	if n.prev >= 0 {
		s.nodes[n.prev].next = n.next
	} else {
		s.head = n.next
	}
	if n.next >= 0 {
		s.nodes[n.next].prev = n.prev
	} else {
		s.tail = n.prev
	}
}

func (s *cacheShard) pushFront(i int32) {
	n := &s.nodes[i]
	n.prev, n.next = -1, s.head
	if s.head >= 0 {
		s.nodes[s.head].prev = i
	} else {
		s.tail = i
	}
	s.head = i
}

// cacheNodeSize and cacheSlotSize document the node's and the slot's
// shares of cacheEntryOverhead; a test keeps them in step.
const (
	cacheNodeSize = unsafe.Sizeof(cacheNode{})
	cacheSlotSize = unsafe.Sizeof(cacheSlot{})
)

// Clear drops every cached value; the counters stay.
func (c *Cache) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.slots, s.nodes, s.live = nil, nil, 0
		s.free, s.head, s.tail = -1, -1, -1
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
	if p, i, match := s.find(h, key); match && dataSeq(s.slots[p].data) == seq {
		return entryCost(len(key), int(s.nodes[i].vlen)), true
	}
	return 0, false
}
