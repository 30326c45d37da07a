package index

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Entry is where the current version of a key lives on disk.
type Entry struct {
	FileID uint32 // data file holding the record
	Offset uint64 // byte offset of the record in that file; at most MaxOffset
	Size   uint32 // size of the whole record in bytes
	// Tag is a 2-bit value (at most MaxTag) the Keydir's owner keeps with
	// the key's current version, in spare bits of the LRU clock word, so
	// that it costs no memory: storage records how a value was built
	// (OBJECT ENCODING). Put and a Loader store e's; CompareAndSwap keeps
	// the key's and ignores e's, as it keeps the clock; Access keeps it;
	// SetTag changes it alone. Like all of the keydir it is never on disk.
	Tag      uint8  // beside Size, in its padding: Entry stays 40 bytes
	ExpireAt int64  // absolute unix ms, 0 = no expiry
	Seq      uint64 // seq of the record that wrote this version
}

// MaxTag is the largest Entry.Tag: the tag has the 2 bits of the LRU
// clock word above the clock's 24 (LRUClockMax).
const MaxTag = 3

// tagShift is where the tag sits in the LRU clock word; the 6 bits above
// it stay 0.
const tagShift = 24

// clockWord is the LRU clock word of a record with clock clk and tag tag.
func clockWord(clk uint32, tag uint8) uint32 { return clk&LRUClockMax | uint32(tag&MaxTag)<<tagShift }

// tagOf is the tag held in clock word w.
func tagOf(w uint32) uint8 { return uint8(w>>tagShift) & MaxTag }

const (
	// DefaultShards is the shard count NewKeydir uses when asked for 0.
	DefaultShards = 256
	// MaxShards bounds the shard count: Scan keeps the shard number in the
	// high 32 bits of its cursor, and the hash bits that pick a shard must
	// not overlap those kept in the table (see h2Mask).
	MaxShards = 1 << 16
)

// Keydir maps every live key to the Entry of its current version. It is
// safe for concurrent use; keys are spread over shards by xxhash, each shard
// behind its own sync.RWMutex. See the package documentation for its memory
// layout. The zero Keydir is not usable: make one with NewKeydir.
type Keydir struct {
	shards []shard

	advisedMu sync.Mutex
	advised   [][]byte // memory advised for huge pages until LoadDone
	shift     uint     // 64 - log2(len(shards)): the top hash bits pick the shard
	hash      func([]byte) uint64
	lru       atomic.Uint32 // the LRU clock that accesses and writes stamp keys with
}

// LRUClockMax is the largest LRU clock: the clock counts seconds modulo
// 2^24, as Redis's does (LRU_BITS 24, LRU_CLOCK_RESOLUTION 1000 ms).
const LRUClockMax = 1<<24 - 1

// LRUClock returns the LRU clock at t: its unix seconds modulo 2^24, as
// Redis's getLRUClock computes it.
func LRUClock(t time.Time) uint32 {
	return uint32(t.UnixMilli()/1000) & LRUClockMax
}

// NewKeydir returns an empty Keydir with shards shards, rounded up to a power
// of two (at most MaxShards); 0 or less means DefaultShards.
func NewKeydir(shards int) *Keydir {
	return newKeydir(shards, xxhash.Sum64)
}

// newKeydir lets tests inject a hash function, for example one that
// collides on purpose.
func newKeydir(shards int, hash func([]byte) uint64) *Keydir {
	n := roundShards(shards, DefaultShards)
	k := &Keydir{
		shards: make([]shard, n),
		shift:  uint(64 - bits.TrailingZeros(uint(n))),
		hash:   hash,
	}
	for i := range k.shards {
		k.shards[i].init(hash, 64-k.shift)
	}
	k.lru.Store(LRUClock(time.Now()))
	return k
}

// SetClock sets the LRU clock (see LRUClock) that Access, Put and Loader
// stamp keys with from now on. The Keydir reads no time itself: its
// owner ticks the clock, as Redis's serverCron refreshes server.lruclock
// ten times a second, so that a lookup costs no reading of the time. A new
// Keydir's clock is LRUClock(time.Now()).
func (k *Keydir) SetClock(c uint32) { k.lru.Store(c & LRUClockMax) }

// Clock returns the LRU clock.
func (k *Keydir) Clock() uint32 { return k.lru.Load() }

// roundShards rounds n up to a power of two in [1, MaxShards], with def for n <= 0.
func roundShards(n, def int) int {
	if n <= 0 {
		n = def
	}
	n = min(n, MaxShards)
	return 1 << bits.Len(uint(n-1))
}

// ShardOf returns the number of the shard that holds key: a bulk load may
// cut its input where this changes, so that loaders working at once never
// wait for one another's shard.
func (k *Keydir) ShardOf(key []byte) int {
	return int(k.hash(key) >> k.shift) // a shift of 64 yields 0: one shard
}

func (k *Keydir) shardFor(h uint64) *shard {
	return &k.shards[h>>k.shift] // a shift of 64 yields 0: one shard
}

// Get returns the entry of key.
func (k *Keydir) Get(key []byte) (Entry, bool) {
	h := k.hash(key)
	s := k.shardFor(h)
	s.mu.RLock()
	e, ok := s.get(key, h)
	s.mu.RUnlock()
	return e, ok
}

// Access is Get for a lookup that counts as a use of the key, as Redis's
// lookupKey without LOOKUP_NOTOUCH: it also sets the key's LRU clock to
// the current Clock, from which IdleTime counts.
func (k *Keydir) Access(key []byte) (Entry, bool) {
	h := k.hash(key)
	s := k.shardFor(h)
	now := k.lru.Load()
	s.mu.RLock()
	e, ok := s.access(key, h, now)
	s.mu.RUnlock()
	return e, ok
}

// IdleTime returns the seconds since key's LRU clock was last set (by
// Access, Put or a Loader), as of the current Clock, the way Redis's
// estimateObjectIdleTime counts them: a clock that wrapped past 2^24
// seconds (194 days) counts from the wrap, so an idle time is exact only
// below that. It reports false for a missing key, and sets no clock.
func (k *Keydir) IdleTime(key []byte) (seconds int64, ok bool) {
	h := k.hash(key)
	s := k.shardFor(h)
	now := int64(k.lru.Load())
	s.mu.RLock()
	g, j, ok := s.find(key, h)
	var at int64
	if ok {
		_, f, _ := parse(s.rec(g.refs[j]))
		at = int64(f.loadClock() & LRUClockMax)
	}
	s.mu.RUnlock()
	if !ok {
		return 0, false
	}
	if now >= at {
		return now - at, true
	}
	return now + (LRUClockMax - at), true // Redis's formula, one short of modular
}

// Put sets key's entry, inserting the key or replacing its entry, and
// returns the entry it replaced; the key's LRU clock becomes the current
// Clock, as a write in Redis makes a new object, and its tag e.Tag. The
// key is copied. It panics if e.Offset exceeds MaxOffset, or e.Tag
// MaxTag.
func (k *Keydir) Put(key []byte, e Entry) (old Entry, existed bool) {
	checkOffset(e.Offset)
	checkTag(e.Tag)
	h := k.hash(key)
	s := k.shardFor(h)
	now := clockWord(k.lru.Load(), e.Tag)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(key, h, e, now)
}

// SetTag sets the tag (see Entry.Tag) of key's current version to tag
// only if the key exists and that version's Seq is seq, and reports
// whether it did. The entry and the LRU clock are kept: this changes how
// the owner sees a version, not the version.
func (k *Keydir) SetTag(key []byte, seq uint64, tag uint8) bool {
	checkTag(tag)
	return k.ifSeq(key, seq, func(s *shard, g *group, j int) {
		_, f, _ := parse(s.rec(g.refs[j]))
		f.storeClock(f.loadClock()&^(MaxTag<<tagShift) | uint32(tag)<<tagShift)
	})
}

// Delete removes key and returns the entry it had.
func (k *Keydir) Delete(key []byte) (old Entry, existed bool) {
	h := k.hash(key)
	s := k.shardFor(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	g, j, ok := s.find(key, h)
	if !ok {
		return Entry{}, false
	}
	return s.remove(g, j), true
}

// CompareAndSwap replaces key's entry with e only if the key exists and its
// current Seq is oldSeq. Merges use it to repoint a key at the merged file: a
// write that landed meanwhile has a newer seq and wins. The key's LRU clock
// is kept: moving a version is no use of the key.
func (k *Keydir) CompareAndSwap(key []byte, oldSeq uint64, e Entry) bool {
	checkOffset(e.Offset)
	h := k.hash(key)
	s := k.shardFor(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureChunkRoom()
	g, j, ok := s.find(key, h)
	if !ok || s.seqAt(g, j) != oldSeq {
		return false
	}
	s.replace(g, j, key, e, 0, false)
	return true
}

// DeleteIf removes key only if its current Seq is seq. Active expiry uses it
// so that a key rewritten since it was sampled survives.
func (k *Keydir) DeleteIf(key []byte, seq uint64) bool {
	return k.ifSeq(key, seq, func(s *shard, g *group, j int) { s.remove(g, j) })
}

// ifSeq calls fn on key's current version, under its shard's write lock,
// only if the key exists and that version's Seq is seq, and reports
// whether it did.
func (k *Keydir) ifSeq(key []byte, seq uint64, fn func(s *shard, g *group, j int)) bool {
	h := k.hash(key)
	s := k.shardFor(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	g, j, ok := s.find(key, h)
	if !ok || s.seqAt(g, j) != seq {
		return false
	}
	fn(s, g, j)
	return true
}

func (s *shard) seqAt(g *group, j int) uint64 {
	_, f, ttl := parse(s.rec(g.refs[j]))
	return decode(f, ttl).Seq
}

// Len returns the number of keys. Under concurrent writes it is a sum of
// per-shard counts taken one after another, not a snapshot.
func (k *Keydir) Len() int64 {
	var n int64
	for i := range k.shards {
		n += k.shards[i].count.Load()
	}
	return n
}

// LenWithTTL returns the number of keys that have an expiry.
func (k *Keydir) LenWithTTL() int64 {
	var n int64
	for i := range k.shards {
		n += k.shards[i].ttlCount.Load()
	}
	return n
}

// Bytes returns an estimate of the memory held by the keydir: the arena
// chunks, the tables, the ttl lists and the shard headers.
func (k *Keydir) Bytes() int64 {
	n := int64(unsafe.Sizeof(*k)) + int64(len(k.shards))*int64(unsafe.Sizeof(shard{}))
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.RLock()
		n += s.arenaCap +
			int64(len(s.groups))*int64(unsafe.Sizeof(group{})) +
			int64(cap(s.ttl))*4 +
			int64(cap(s.chunks))*int64(unsafe.Sizeof([]byte(nil)))
		s.mu.RUnlock()
	}
	return n
}

func checkTag(tag uint8) {
	if tag > MaxTag {
		panic("index: entry tag exceeds MaxTag (2 bits)")
	}
}

func checkOffset(off uint64) {
	if off > MaxOffset {
		panic("index: entry offset exceeds MaxOffset (48 bits)")
	}
}

// Reserve sizes every shard's table for about n keys in all, so that a bulk
// load (start-up from a snapshot) does not rehash as it grows. It never
// shrinks a table.
func (k *Keydir) Reserve(n int64) {
	per := int(n/int64(len(k.shards))) + 1
	per += per / 8 // keys do not spread over shards exactly evenly
	want := groupsFor(per)
	// The tables come from one allocation advised for huge pages, for the
	// reason ReserveArena gives; it is freed once every shard has resized
	// away from it.
	var mem []group
	if size := want * len(k.shards) * int(unsafe.Sizeof(group{})); size >= 4*hugePageSize && len(k.shards[0].groups) < want {
		mem = make([]group, want*len(k.shards))
		k.advise(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(mem))), size))
	}
	// One goroutine per core, each on a contiguous part of the shards:
	// at 5M keys the tables are 42 MB of fresh memory, whose first touch
	// (the kernel zeroing it) was a tenth of start-up's time before the
	// load could begin.
	parts := min(runtime.GOMAXPROCS(0), len(k.shards))
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			for i := p * len(k.shards) / parts; i < (p+1)*len(k.shards)/parts; i++ {
				k.reserveShard(i, want, mem)
			}
		})
	}
	wg.Wait()
}

// reserveShard gives shard i a table of want groups, from mem if not nil.
func (k *Keydir) reserveShard(i, want int, mem []group) {
	s := &k.shards[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if want <= len(s.groups) {
		return
	}
	if mem == nil {
		s.resize(want)
		return
	}
	gs := mem[i*want : (i+1)*want : (i+1)*want]
	for j := range gs {
		gs[j].ctrl = emptyCtrl
	}
	s.rehash(gs)
}

// ReserveArena sets aside bytes of memory, in one allocation the kernel is
// asked to back with huge pages, from which the shards take their record
// chunks until it is used up or LoadDone is called, so that a bulk load
// does not fault in its records 4 KiB at a time. Start-up calls it with an
// estimate from the snapshot's index; what is never used is never touched
// (so never resident). It replaces any earlier reservation for chunks not
// yet taken. Reservations under 8 MiB are not made.
func (k *Keydir) ReserveArena(bytes int64) {
	if bytes < 4*hugePageSize {
		return
	}
	sl := newSlab(bytes)
	k.advise(sl.mem)
	k.setSlab(sl)
}

// LoadDone ends a bulk load: shards stop taking chunks from the reserved
// slab (the GC frees it once its chunks are gone too), and the huge-page
// advice on the memory Reserve and ReserveArena set aside is withdrawn;
// the huge pages the load got stay.
func (k *Keydir) LoadDone() {
	k.setSlab(nil)
	k.advisedMu.Lock()
	for _, r := range k.advised {
		unadviseHuge(r)
	}
	k.advised = nil
	k.advisedMu.Unlock()
}

func (k *Keydir) advise(b []byte) {
	if r := adviseHuge(b); r != nil {
		k.advisedMu.Lock()
		k.advised = append(k.advised, r)
		k.advisedMu.Unlock()
	}
}

func (k *Keydir) setSlab(sl *slab) {
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		s.slab = sl
		s.mu.Unlock()
	}
}

// RecordBytes returns the arena bytes n keys of keyBytes key bytes in all
// take, nttl of them with an expiry: what ReserveArena needs for them.
func RecordBytes(n, keyBytes, nttl int64) int64 {
	return keyBytes + n*(1+fixedSize) + nttl*ttlSize
}

// Clear removes every key and frees the shards' memory, one shard at a
// time under its lock. A reader that runs across it may find a key in a
// shard not yet cleared; a caller that needs the change to look atomic
// guards it as it guards any multi-key change.
func (k *Keydir) Clear() {
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		s.groups, s.mask, s.live = nil, 0, 0
		s.chunks, s.arenaCap, s.liveBytes, s.garbage = nil, 0, 0, 0
		s.ttl, s.slab = nil, nil
		s.init(s.hash, s.shardBits)
		s.publish()
		s.mu.Unlock()
	}
}
