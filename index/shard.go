package index

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// shard is one lock's worth of the keydir: a table of arena references and
// the arena of records they point at. Every method expects s.mu held (read
// lock for lookups, write lock for the rest).
type shard struct {
	mu   sync.RWMutex
	hash func([]byte) uint64

	groups     []group
	mask       uint64 // len(groups) - 1
	shardBits  uint   // hash bits above the home group's, which pick the shard
	groupShift uint   // 64 - log2(len(groups)): see home
	live       int    // keys in the table
	growthLeft int    // empty slots that may still be filled before a rehash

	chunks    [][]byte
	cur       int   // chunk taking small records, -1 before the first
	nextChunk int   // capacity of the next small-record chunk
	arenaCap  int64 // bytes allocated for chunks
	liveBytes int64 // bytes of records the table points at
	garbage   int64 // bytes of records nothing points at

	ttl []uint32 // references of the records that carry an expiry

	slab *slab // where new chunks come from first, or nil (see ReserveArena)

	count    atomic.Int64 // live, readable without the lock
	ttlCount atomic.Int64 // len(ttl), readable without the lock

	_ [64]byte // keep neighbouring shards' locks off this cache line
}

func (s *shard) init(hash func([]byte) uint64, shardBits uint) {
	s.hash = hash
	s.shardBits = shardBits
	s.groups = newGroups(1)
	s.groupShift = 64
	s.growthLeft = maxLoadPerGroup
	s.cur = -1
	s.nextChunk = minChunkSize
}

// publish makes the counters visible to Len and LenWithTTL.
func (s *shard) publish() {
	s.count.Store(int64(s.live))
	s.ttlCount.Store(int64(len(s.ttl)))
}

// home returns the group where h's probe sequence starts: the hash bits
// just below those that chose the shard. Taking the high bits rather than
// the low ones keeps the table in hash order, so that keys inserted in
// hash order (a snapshot's index, a rehash) touch the table front to back
// instead of at random, and a group splits into two neighbours when the
// table doubles. A shift of 64 (a one-group table) yields 0.
func (s *shard) home(h uint64) uint64 { return (h << s.shardBits) >> s.groupShift }

// find returns the group and slot holding key, whose hash is h.
func (s *shard) find(key []byte, h uint64) (*group, int, bool) {
	c := h2(h)
	gi := s.home(h)
	for step := uint64(1); ; step++ {
		g := &s.groups[gi]
		w := g.word()
		for m := matchH2(w, c); m != 0; m &= m - 1 {
			j := slotOf(m)
			if g.ctrl[j] == c && s.keyIs(g.refs[j], key) {
				return g, j, true
			}
		}
		if matchEmpty(w) != 0 {
			return nil, 0, false
		}
		gi = (gi + step) & s.mask // triangular probing visits every group
	}
}

// keyIs reports whether the record at ref is for key. The full key is
// always compared: equal hashes prove nothing.
func (s *shard) keyIs(ref uint32, key []byte) bool {
	k, _, _ := parse(s.rec(ref))
	return string(k) == string(key)
}

// freeSlot returns the first empty or deleted slot on h's probe sequence.
func (s *shard) freeSlot(h uint64) (*group, int) {
	gi := s.home(h)
	for step := uint64(1); ; step++ {
		g := &s.groups[gi]
		if m := matchFree(g.word()); m != 0 {
			return g, slotOf(m)
		}
		gi = (gi + step) & s.mask
	}
}

// get returns the entry of key.
func (s *shard) get(key []byte, h uint64) (Entry, bool) {
	g, j, ok := s.find(key, h)
	if !ok {
		return Entry{}, false
	}
	_, f, ttl := parse(s.rec(g.refs[j]))
	return decode(f, ttl), true
}

// access is get that also sets key's LRU clock to now. Under the read
// lock other readers may set the same clock at once, hence the atomics;
// the store is skipped when the clock already reads now, as it does for
// every access to a key within the clock's second after the first, so
// that hot keys' cache lines are not dirtied on every read. The store
// keeps the word's tag bits: the tag changes only under the write lock,
// so every reader that stores here stores the same tag it loaded.
func (s *shard) access(key []byte, h uint64, now uint32) (Entry, bool) {
	g, j, ok := s.find(key, h)
	if !ok {
		return Entry{}, false
	}
	_, f, ttl := parse(s.rec(g.refs[j]))
	w := f.clock()
	cw := atomic.LoadUint32(w)
	if cw&LRUClockMax != now {
		atomic.StoreUint32(w, cw&^LRUClockMax|now)
	}
	e := decodeFields(f, ttl)
	e.Tag = tagOf(cw)
	return e, true
}

// put inserts or replaces key's entry, setting its LRU clock word to now
// (clock and tag, see clockWord).
func (s *shard) put(key []byte, h uint64, e Entry, now uint32) (Entry, bool) {
	s.ensureChunkRoom()
	if g, j, ok := s.find(key, h); ok {
		return s.replace(g, j, key, e, now, true), true
	}
	s.insert(key, h, &e, now)
	return Entry{}, false
}

// insert adds key, known to be absent, with LRU clock now.
func (s *shard) insert(key []byte, h uint64, e *Entry, now uint32) {
	s.add(key, h, e, now)
	s.publish()
}

// add is insert without publishing the counters.
func (s *shard) add(key []byte, h uint64, e *Entry, now uint32) {
	g, j := s.freeSlot(h)
	if g.ctrl[j] == ctrlEmpty && s.growthLeft == 0 {
		n := len(s.groups)
		if s.live+1 > n*maxLoadPerGroup/2 {
			n *= 2 // mostly keys: grow
		} // else mostly tombstones: rehash in place to clear them
		s.resize(n)
		g, j = s.freeSlot(h)
	}
	if g.ctrl[j] == ctrlEmpty {
		s.growthLeft--
	}
	g.refs[j] = s.appendRecord(key, e, now)
	g.ctrl[j] = h2(h)
	s.live++
}

// replace overwrites the entry in slot j of g and returns the old one.
// With touch the key's LRU clock word becomes now (clock and tag), else
// it is kept, tag included. The record
// is rewritten in place unless the key gains or loses its expiry, which
// changes the record's length.
func (s *shard) replace(g *group, j int, key []byte, e Entry, now uint32, touch bool) Entry {
	ref := g.refs[j]
	_, f, hadTTL := parse(s.rec(ref))
	old := decode(f, hadTTL)
	if !touch {
		now = f.loadClock()
	}
	if hasTTL := e.ExpireAt != 0; hasTTL == hadTTL {
		encode(f, e, hasTTL)
		if touch {
			f.storeClock(now)
		}
		return old
	}
	if hadTTL {
		s.dropTTL(f.ttlIdx())
	}
	g.refs[j] = s.appendRecord(key, &e, now)
	s.kill(recordLen(len(key), hadTTL))
	s.publish()
	return old
}

// remove deletes the key in slot j of g and returns its entry.
func (s *shard) remove(g *group, j int) Entry {
	key, f, ttl := parse(s.rec(g.refs[j]))
	old := decode(f, ttl)
	size := recordLen(len(key), ttl)
	if ttl {
		s.dropTTL(f.ttlIdx())
	}
	// A probe that reaches a group with an empty slot stops there, so no
	// chain runs through this slot and it can be empty rather than a tombstone.
	if matchEmpty(g.word()) != 0 {
		g.ctrl[j] = ctrlEmpty
		s.growthLeft++
	} else {
		g.ctrl[j] = ctrlDeleted
	}
	s.live--
	s.kill(size)
	if n := len(s.groups); n > 1 && s.live < n { // under 1/8 full: shrink
		s.resize(groupsFor(2 * s.live))
	}
	s.publish()
	return old
}

// resize rebuilds the table with n groups, dropping tombstones. Hashes are
// recomputed from the key bytes: the table keeps only 7 bits of each.
func (s *shard) resize(n int) { s.rehash(newGroups(n)) }

// rehash moves every key into gs, a table of empty groups (a power of two).
func (s *shard) rehash(gs []group) {
	n := len(gs)
	old := s.groups
	s.groups = gs
	s.mask = uint64(n - 1)
	s.groupShift = uint(64 - bits.TrailingZeros(uint(n)))
	for gi := range old {
		g := &old[gi]
		for m := matchFull(g.word()); m != 0; m &= m - 1 {
			j := slotOf(m)
			key, _, _ := parse(s.rec(g.refs[j]))
			h := s.hash(key)
			ng, nj := s.freeSlot(h)
			ng.ctrl[nj] = g.ctrl[j]
			ng.refs[nj] = g.refs[j]
		}
	}
	s.growthLeft = n*maxLoadPerGroup - s.live
}
