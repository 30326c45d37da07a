package index

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A cache shard keeps its entries in one open-addressing table with linear
// probing, whose slots are also the nodes of the shard's LRU list, linked
// by position. A hit reads the slot it probes to and then the entry's copy
// (seq, key and value in one allocation): two memory reads one after the
// other, where a Go map, a list node and a key of its own took four. A
// slot that moves (deletion shifts back the slots after a gap, so probes
// stop at the first empty slot without tombstones) takes its list links
// along and repoints its neighbours.

type cacheShard struct {
	mu         sync.Mutex
	slots      []cacheSlot // a power of two in size; nil until the first Put
	live       int32       // occupied slots
	head, tail int32       // most and least recently used slot; -1 when empty
	bytes      int64
	// budget is the shard's share: written under mu (SetBudget), read
	// without it by Put's check before copying.
	budget atomic.Int64

	hits, misses, evictions uint64

	_ [64]byte // keep neighbouring shards' locks off this cache line
}

// cacheSlot is one position of a shard's table. A probe compares hashes in
// the table and reads a copy only when they match. Two keys with the same
// 64-bit hash share a slot, the later one taking it: a miss for the other,
// which is all a cache owes.
type cacheSlot struct {
	data       *byte  // the entry's copy (see newCacheData); nil when empty
	hash       uint64 // its key's xxhash; the low bits give its home slot
	prev, next int32  // neighbours in LRU order, towards head and tail; -1 for none
}

const (
	// cacheHeaderLen is the size of a copy's header: seq (8 bytes), key
	// length and value length (4 each), little-endian.
	cacheHeaderLen = 16
	// cacheMinSlots is a shard table's size at its first Put.
	cacheMinSlots = 16
)

// newCacheData copies seq, key and value into one allocation behind a
// header of their lengths. Both lengths must fit in a uint32.
func newCacheData(seq uint64, key, value []byte) *byte {
	buf := make([]byte, cacheHeaderLen+len(key)+len(value))
	binary.LittleEndian.PutUint64(buf, seq)
	binary.LittleEndian.PutUint32(buf[8:], uint32(len(key)))
	binary.LittleEndian.PutUint32(buf[12:], uint32(len(value)))
	copy(buf[cacheHeaderLen+copy(buf[cacheHeaderLen:], key):], value)
	return unsafe.SliceData(buf)
}

func dataHeader(d *byte) []byte { return unsafe.Slice(d, cacheHeaderLen) }

func dataSeq(d *byte) uint64 { return binary.LittleEndian.Uint64(dataHeader(d)) }

func dataLens(d *byte) (klen, vlen uint32) {
	h := dataHeader(d)
	return binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:])
}

func dataKey(d *byte) []byte {
	klen, _ := dataLens(d)
	return unsafe.Slice(d, cacheHeaderLen+klen)[cacheHeaderLen:]
}

// dataValue returns the copy's value, of capacity its length.
func dataValue(d *byte) []byte {
	klen, vlen := dataLens(d)
	return unsafe.Slice(d, cacheHeaderLen+klen+vlen)[cacheHeaderLen+klen:]
}

// dataCost is the copy's entryCost.
func dataCost(d *byte) int64 {
	klen, vlen := dataLens(d)
	return entryCost(int(klen), int(vlen))
}

// find looks up key, whose hash is h. It returns the position of its slot
// with match true; or, when another key with the same hash holds the slot,
// that slot's position with match false; else -1.
func (s *cacheShard) find(h uint64, key []byte) (p int32, match bool) {
	if s.slots == nil {
		return -1, false
	}
	mask := uint32(len(s.slots) - 1)
	for q := uint32(h) & mask; ; q = (q + 1) & mask {
		sl := &s.slots[q]
		if sl.data == nil {
			return -1, false
		}
		if sl.hash == h {
			return int32(q), string(dataKey(sl.data)) == string(key)
		}
	}
}

// insert adds an entry for data, whose key's hash h no other entry has,
// outside the LRU list, and returns its position. It doubles the table
// first when the entry would fill more than three quarters of it (linear
// probing slows sharply beyond that).
func (s *cacheShard) insert(h uint64, data *byte) int32 {
	if 4*(int(s.live)+1) > 3*len(s.slots) {
		s.grow()
	}
	s.live++
	return s.put(cacheSlot{data: data, hash: h, prev: -1, next: -1})
}

// put stores sl at the first empty position from its home and returns it.
func (s *cacheShard) put(sl cacheSlot) int32 {
	mask := uint32(len(s.slots) - 1)
	q := uint32(sl.hash) & mask
	for s.slots[q].data != nil {
		q = (q + 1) & mask
	}
	s.slots[q] = sl
	return int32(q)
}

// grow doubles the table, moving the entries over in LRU order and linking
// them again at their new positions.
func (s *cacheShard) grow() {
	old := s.slots
	s.slots = make([]cacheSlot, max(2*len(old), cacheMinSlots))
	prev := int32(-1)
	for p := s.head; p >= 0; p = old[p].next {
		q := s.put(cacheSlot{data: old[p].data, hash: old[p].hash, prev: prev, next: -1})
		if prev >= 0 {
			s.slots[prev].next = q
		} else {
			s.head = q
		}
		prev = q
	}
	s.tail = prev
}

// remove drops the entry at position p from the list and the table.
func (s *cacheShard) remove(p int32) {
	s.unlink(p)
	s.bytes -= dataCost(s.slots[p].data)
	s.live--
	mask := int32(len(s.slots) - 1)
	for q := (p + 1) & mask; s.slots[q].data != nil; q = (q + 1) & mask {
		home := int32(uint32(s.slots[q].hash)) & mask
		if (q-home)&mask >= (q-p)&mask { // p lies between q's home and q
			s.move(q, p)
			p = q
		}
	}
	s.slots[p] = cacheSlot{} // let the copy go
}

// move puts the slot at from, which is in the list, at the empty position
// to, and repoints its neighbours.
func (s *cacheShard) move(from, to int32) {
	sl := s.slots[from]
	s.slots[to] = sl
	if sl.prev >= 0 {
		s.slots[sl.prev].next = to
	} else {
		s.head = to
	}
	if sl.next >= 0 {
		s.slots[sl.next].prev = to
	} else {
		s.tail = to
	}
}

func (s *cacheShard) unlink(p int32) {
	sl := &s.slots[p]
	if sl.prev >= 0 {
		s.slots[sl.prev].next = sl.next
	} else {
		s.head = sl.next
	}
	if sl.next >= 0 {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.tail = sl.prev
	}
}

func (s *cacheShard) pushFront(p int32) {
	sl := &s.slots[p]
	sl.prev, sl.next = -1, s.head
	if s.head >= 0 {
		s.slots[s.head].prev = p
	} else {
		s.tail = p
	}
	s.head = p
}

// cacheSlotSize documents the slot's share of cacheEntryOverhead; a test
// keeps the two in step.
const cacheSlotSize = unsafe.Sizeof(cacheSlot{})
