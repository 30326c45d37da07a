package index

import "math/rand/v2"

// Scan cursor: the shard number in the high 32 bits, and in the low 32 bits
// a position in the shard's hash order: the top 32 of the hash bits that
// pick a home group (see shard.home). A table of 2^b groups maps the
// position to home group pos >> (32-b), so home groups are visited in
// order and a cursor taken from a table of one size stays valid for a
// table of any other: the groups still to visit cover every key not yet
// returned, at the price of some repeats after a shrink (as with Redis's
// dictScan, which gets the same property from bit-reversed counting over
// low-bit buckets). Keys never move between shards, so the shard part is
// stable.
const (
	cursorShardShift = 32
	cursorPosBits    = 32
)

// defaultScanCount is the batch size Scan uses for count <= 0, as in Redis.
const defaultScanCount = 10

// found is a key and entry copied out of a shard, so that callbacks run
// without the shard lock held.
type found struct {
	off, n int // key bytes in the batch buffer
	e      Entry
}

// Scan calls fn for about count entries starting at cursor (0 starts a new
// scan) and returns the cursor to continue from, or 0 when the scan is
// complete. As with Redis SCAN, every key present from the start to the end
// of a full scan is returned at least once, whatever inserts, deletes and
// table resizes happen in between; keys may be returned more than once, and
// keys added or removed meanwhile may or may not be. count <= 0 means 10.
//
// fn runs after the shard lock is released, so it may call the Keydir; key
// is valid only during the call.
func (k *Keydir) Scan(cursor uint64, count int, fn func(key []byte, e Entry)) (next uint64) {
	if count <= 0 {
		count = defaultScanCount
	}
	si := cursor >> cursorShardShift
	v := cursor & (1<<cursorShardShift - 1)
	var buf []byte
	var items []found
	for si < uint64(len(k.shards)) && len(items) < count {
		s := &k.shards[si]
		s.mu.RLock()
		for {
			buf, items = s.collectHome(v>>s.posShift(), buf, items)
			v = s.nextPos(v)
			if v == 0 || len(items) >= count {
				break
			}
		}
		s.mu.RUnlock()
		if v == 0 {
			si++
		}
	}
	for _, it := range items {
		fn(buf[it.off:it.off+it.n:it.off+it.n], it.e)
	}
	if si >= uint64(len(k.shards)) {
		return 0
	}
	return si<<cursorShardShift | v
}

// posShift converts a cursor position to a home group of s's table.
func (s *shard) posShift() uint { return s.groupShift - (64 - cursorPosBits) }

// nextPos returns the cursor position of the home group after the one pos
// falls in; 0 means the table is done.
func (s *shard) nextPos(pos uint64) uint64 {
	sh := s.posShift()
	return ((pos>>sh + 1) << sh) & (1<<cursorPosBits - 1)
}

// collectHome appends every key whose home group is home. Such keys lie on
// home's probe sequence, before the first group with an empty slot (where a
// lookup would stop too).
func (s *shard) collectHome(home uint64, buf []byte, items []found) ([]byte, []found) {
	gi := home
	for step := uint64(1); ; step++ {
		g := &s.groups[gi]
		w := g.word()
		for m := matchFull(w); m != 0; m &= m - 1 {
			key, f, ttl := parse(s.rec(g.refs[slotOf(m)]))
			if s.home(s.hash(key)) != home {
				continue
			}
			items = append(items, found{off: len(buf), n: len(key), e: decode(f, ttl)})
			buf = append(buf, key...)
		}
		if matchEmpty(w) != 0 {
			return buf, items
		}
		gi = (gi + step) & s.mask
	}
}

// Range calls fn for every entry, shard by shard, each shard under its read
// lock; fn returns false to stop. key is valid only during the call, and fn
// must not call the Keydir (writers of that shard wait for Range, and a
// nested read lock can deadlock behind them).
func (k *Keydir) Range(fn func(key []byte, e Entry) bool) {
	for i := range k.shards {
		if !k.shards[i].each(fn) {
			return
		}
	}
}

func (s *shard) each(fn func(key []byte, e Entry) bool) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for gi := range s.groups {
		g := &s.groups[gi]
		for m := matchFull(g.word()); m != 0; m &= m - 1 {
			key, f, ttl := parse(s.rec(g.refs[slotOf(m)]))
			if !fn(key, decode(f, ttl)) {
				return false
			}
		}
	}
	return true
}

// SampleExpiring calls fn for up to n distinct keys that have an expiry,
// chosen pseudo-randomly, as Redis's active expiry samples its expires
// table. Shards are visited from a random one, each giving a share of n in
// proportion to its keys with an expiry, picked from its ttl list in a
// random stride. fn runs without any lock held, so it may call the Keydir
// (DeleteIf, typically); key is valid only during the call.
func (k *Keydir) SampleExpiring(n int, fn func(key []byte, e Entry)) {
	total := k.LenWithTTL()
	if n <= 0 || total == 0 {
		return
	}
	var buf []byte
	var items []found
	start := rand.IntN(len(k.shards))
	for i := 0; i < len(k.shards) && len(items) < n; i++ {
		s := &k.shards[(start+i)&(len(k.shards)-1)]
		m := s.ttlCount.Load()
		if m == 0 {
			continue
		}
		share := min(int((int64(n)*m+total-1)/total), n-len(items))
		s.mu.RLock()
		buf, items = s.sampleTTL(share, buf, items)
		s.mu.RUnlock()
	}
	for _, it := range items {
		fn(buf[it.off:it.off+it.n:it.off+it.n], it.e)
	}
}

// sampleTTL appends up to q distinct keys of the ttl list: from a random
// start, with a random stride coprime to the list's length.
func (s *shard) sampleTTL(q int, buf []byte, items []found) ([]byte, []found) {
	l := len(s.ttl)
	if l == 0 {
		return buf, items
	}
	q = min(q, l)
	pos, stride := rand.IntN(l), 1
	if q < l {
		for stride = 1 + rand.IntN(l); gcd(stride, l) != 1; stride = 1 + rand.IntN(l) {
		}
	}
	for range q {
		key, f, ttl := parse(s.rec(s.ttl[pos]))
		items = append(items, found{off: len(buf), n: len(key), e: decode(f, ttl)})
		buf = append(buf, key...)
		pos = (pos + stride) % l
	}
	return buf, items
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// RandomCursor returns a Scan cursor at a pseudo-random place of the
// keydir: a random shard and a random position in its hash order. A Scan
// from it returns the keys of the first home groups with keys from there
// on, which is how RANDOMKEY picks a key without walking the table.
func (k *Keydir) RandomCursor() uint64 {
	return uint64(rand.IntN(len(k.shards)))<<cursorShardShift | uint64(rand.Uint32())
}
