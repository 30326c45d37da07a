package index

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// A shard keeps every record (key and entry) in an arena of byte chunks; the
// table refers to a record by a uint32: chunk index << chunkShift | offset.
// Normal chunks never exceed maxChunkSize, so the offset fits; a record too
// big to share a chunk gets a chunk of its own at offset 0.
//
// Record layout (see doc.go for the picture):
//
//	uvarint(len(key)<<1 | hasTTL) | key | fields | [expire_at i64 | ttl index u32]
//
// where the 26 bytes of fields, starting at p, are
//
//	p .. c          size u32, its low c-p bytes (0 to 3)
//	c .. c+4        LRU clock word u32: c is the first multiple of 4 at or
//	                after p; the clock in its low 24 bits, Entry.Tag in
//	                the 2 above (clockWord)
//	c+4 .. p+8      size u32, its other bytes
//	p+8 .. p+16     seq u64
//	p+16 .. p+20    file u32
//	p+20 .. p+26    offset u48
//
// The LRU clock is stored and loaded atomically by readers that hold only
// the shard's read lock (Keydir.Access), so it must be a whole, aligned
// 32-bit word that no plain read or write of another field overlaps. Records
// are packed with no padding, so where that word falls within the fields
// depends on the record's offset in its chunk (chunks start 8-byte
// aligned): the size field is split around it, which costs the clock
// exactly its 4 bytes per key, not 4 plus up to 3 of padding. A record
// moved to another offset (compact) is therefore rewritten field by field,
// never copied byte for byte.
//
// All integers but the clock (native order, only ever touched atomically)
// are little-endian. The TTL tail exists only for keys with an expiry; its
// index points into the shard's ttl list, which lets that list drop a key
// in O(1).

const (
	chunkShift   = 14
	maxChunkSize = 1 << chunkShift // 16 KiB: an empty tail wastes little, growth copies nothing
	minChunkSize = 512             // a shard's first chunk; sizes double up to maxChunkSize
	offsetMask   = maxChunkSize - 1
	maxChunks    = 1 << (32 - chunkShift) // 4 GiB of records per shard

	// bigRecordSize: records above a quarter chunk get a chunk of their own,
	// so the tail left behind when a chunk fills stays under this.
	bigRecordSize = maxChunkSize / 4

	fixedSize = 4 + 4 + 8 + 4 + 6 // size, LRU clock, seq, file id, 48-bit offset
	ttlSize   = 8 + 4             // expire_at, index in the ttl list
	ttlIdxAt  = fixedSize + 8     // where the ttl index sits in the fields

	seqAt    = 8  // where the seq sits in the fields
	fileAt   = 16 // the file id
	offsetAt = 20 // the 48-bit offset

	// compactMinGarbage keeps tiny shards from compacting over a few bytes.
	compactMinGarbage = 4 << 10
)

// MaxOffset is the largest Entry.Offset a Keydir can hold: offsets are kept
// in 48 bits (256 TiB per data file). Put panics beyond it.
const MaxOffset = 1<<48 - 1

// rec returns the chunk holding the record at ref and the record's offset
// in it.
func (s *shard) rec(ref uint32) ([]byte, int) {
	return s.chunks[ref>>chunkShift], int(ref & offsetMask)
}

// fields locates a record's fields: they start at offset p of chunk c.
type fields struct {
	c []byte
	p int
}

// parse splits the record at offset off of chunk c into its key and its
// fields.
func parse(c []byte, off int) (key []byte, f fields, ttl bool) {
	hdr, n := uint64(c[off]), 1
	if hdr >= 0x80 {
		hdr, n = binary.Uvarint(c[off:])
	}
	p := off + n + int(hdr>>1)
	return c[off+n : p : p], fields{c, p}, hdr&1 != 0
}

// recordLen is the size of a record with a key of klen bytes.
func recordLen(klen int, ttl bool) int {
	hdr := uint64(klen) << 1
	n := (bits.Len64(hdr|1)+6)/7 + klen + fixedSize
	if ttl {
		n += ttlSize
	}
	return n
}

// clockAt returns the offset of the LRU clock: the first multiple of 4 at
// or after p. p is never 0 (a key's length comes before it), so neither
// is the clock's offset, and the word before it lies in the chunk too.
func (f fields) clockAt() int { return (f.p + 3) &^ 3 }

// clock returns the record's LRU clock word, for atomic access only.
func (f fields) clock() *uint32 {
	c := f.clockAt()
	return (*uint32)(unsafe.Pointer(unsafe.SliceData(f.c[c : c+4]))) // bounds-checked, and no plain read
}

func (f fields) loadClock() uint32 { return atomic.LoadUint32(f.clock()) }

func (f fields) storeClock(v uint32) { atomic.StoreUint32(f.clock(), v) }

// size reads the size field around the clock without touching the clock:
// its low k bytes end the 32-bit word just before the clock (whose other
// bytes belong to the key, or to the record before), its high 4-k bytes
// start the word just after it.
func (f fields) size() uint32 {
	c := f.clockAt()
	k := uint(c-f.p) * 8
	lo := binary.LittleEndian.Uint32(f.c[c-4:]) >> (32 - k) // k = 0: a shift by 32 gives 0
	hi := binary.LittleEndian.Uint32(f.c[c+4:]) & (^uint32(0) >> k)
	return lo | hi<<k
}

func (f fields) putSize(v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	c := f.clockAt()
	k := c - f.p
	copy(f.c[f.p:c], b[:k])
	copy(f.c[c+4:f.p+8], b[k:])
}

func (f fields) ttlIdx() uint32 { return binary.LittleEndian.Uint32(f.c[f.p+ttlIdxAt:]) }

func (f fields) setTTLIdx(i uint32) { binary.LittleEndian.PutUint32(f.c[f.p+ttlIdxAt:], i) }

// decode reads the entry in a record's fields, its tag from the clock
// word (loaded atomically: readers store that word under the read lock).
func decode(f fields, ttl bool) Entry {
	e := decodeFields(f, ttl)
	e.Tag = tagOf(f.loadClock())
	return e
}

// decodeFields is decode without the tag, for a caller that has loaded
// the clock word already.
func decodeFields(f fields, ttl bool) Entry {
	b := f.c[f.p+seqAt:]
	e := Entry{
		Seq:    binary.LittleEndian.Uint64(b),
		FileID: binary.LittleEndian.Uint32(b[fileAt-seqAt:]),
		Size:   f.size(),
		Offset: uint64(binary.LittleEndian.Uint32(b[offsetAt-seqAt:])) | uint64(binary.LittleEndian.Uint16(b[offsetAt-seqAt+4:]))<<32,
	}
	if ttl {
		e.ExpireAt = int64(binary.LittleEndian.Uint64(b[fixedSize-seqAt:]))
	}
	return e
}

// encode writes e into fields laid out for ttl; the LRU clock and the ttl
// index are left alone.
func encode(f fields, e Entry, ttl bool) {
	f.putSize(e.Size)
	b := f.c[f.p+seqAt:]
	binary.LittleEndian.PutUint64(b, e.Seq)
	binary.LittleEndian.PutUint32(b[fileAt-seqAt:], e.FileID)
	binary.LittleEndian.PutUint32(b[offsetAt-seqAt:], uint32(e.Offset))
	binary.LittleEndian.PutUint16(b[offsetAt-seqAt+4:], uint16(e.Offset>>32))
	if ttl {
		binary.LittleEndian.PutUint64(b[fixedSize-seqAt:], uint64(e.ExpireAt))
	}
}

// alloc reserves size bytes in the arena and returns their reference.
func (s *shard) alloc(size int) uint32 {
	if size > bigRecordSize {
		c := make([]byte, size)
		checkAligned(c)
		s.chunks = append(s.chunks, c)
		s.arenaCap += int64(size)
		return uint32(len(s.chunks)-1) << chunkShift
	}
	if s.cur < 0 || len(s.chunks[s.cur])+size > cap(s.chunks[s.cur]) {
		var c []byte
		if s.slab != nil {
			if c = s.slab.chunk(); c == nil {
				s.slab = nil // used up
			}
		}
		if c == nil {
			c = make([]byte, 0, max(s.nextChunk, size))
		}
		checkAligned(c)
		s.chunks = append(s.chunks, c)
		s.cur = len(s.chunks) - 1
		s.arenaCap += int64(cap(c))
		s.nextChunk = min(2*s.nextChunk, maxChunkSize)
	}
	c := s.chunks[s.cur]
	off := len(c)
	s.chunks[s.cur] = c[:off+size]
	return uint32(s.cur)<<chunkShift | uint32(off)
}

// checkAligned panics unless chunk c starts at a multiple of 4, which the
// LRU clocks' offsets in it assume. Go's allocator aligns every chunk (512
// bytes or more) to 8 at least; this guards that promise.
func checkAligned(c []byte) {
	if uintptr(unsafe.Pointer(unsafe.SliceData(c)))&3 != 0 {
		panic("index: arena chunk not 4-byte aligned")
	}
}

// ensureChunkRoom makes sure the next alloc cannot run out of chunk numbers,
// compacting first if it might. Called before a mutation starts, so alloc
// never moves records under a caller's feet.
func (s *shard) ensureChunkRoom() {
	if len(s.chunks) < maxChunks-1 {
		return
	}
	s.compact()
	if len(s.chunks) >= maxChunks-1 {
		panic("index: shard arena full (4 GiB of keys in one shard); use more shards")
	}
}

// appendRecord writes a new record for key and e, with LRU clock clk, and
// returns its reference. A key with an expiry joins the ttl list.
func (s *shard) appendRecord(key []byte, e *Entry, clk uint32) uint32 {
	ttl := e.ExpireAt != 0
	ref := s.writeRecord(key, e, ttl, clk)
	if ttl {
		_, f, _ := parse(s.rec(ref))
		f.setTTLIdx(uint32(len(s.ttl)))
		s.ttl = append(s.ttl, ref)
	}
	return ref
}

// writeRecord allocates a record for key and writes e and clk into it; the
// ttl index, if any, is the caller's to write.
func (s *shard) writeRecord(key []byte, e *Entry, ttl bool, clk uint32) uint32 {
	size := recordLen(len(key), ttl)
	ref := s.alloc(size)
	c, off := s.rec(ref)
	hdr := uint64(len(key)) << 1
	if ttl {
		hdr |= 1
	}
	n := 1
	if hdr < 0x80 { // keys under 64 bytes: most of them
		c[off] = byte(hdr)
	} else {
		n = binary.PutUvarint(c[off:], hdr)
	}
	copy(c[off+n:], key)
	encodeNew(fields{c, off + n + len(key)}, e, ttl, clk)
	s.liveBytes += int64(size)
	return ref
}

// encodeNew writes e and the LRU clock clk into the fields of a record
// that no other goroutine can see yet (just allocated, under the shard's
// write lock), as encode and storeClock would, in three stores rather
// than field by field: this is most of a bulk load's time in the keydir.
// The clock word is written by a plain store, which the lock orders
// before any reader's atomic load.
func encodeNew(f fields, e *Entry, ttl bool, clk uint32) {
	b := f.c[f.p : f.p+fixedSize : f.p+fixedSize]
	// The first 8 bytes: the size's low k bytes, the clock, its other
	// bytes (see the layout above), k = clockAt - p.
	k := uint(f.clockAt()-f.p) * 8
	lo := uint64(e.Size) & (1<<k - 1)
	hi := uint64(e.Size) >> k
	binary.LittleEndian.PutUint64(b, lo|uint64(clk)<<k|hi<<(k+32))
	binary.LittleEndian.PutUint64(b[seqAt:], e.Seq)
	binary.LittleEndian.PutUint64(b[fileAt:], uint64(e.FileID)|e.Offset<<32)
	binary.LittleEndian.PutUint16(b[offsetAt+4:], uint16(e.Offset>>32))
	if ttl {
		binary.LittleEndian.PutUint64(f.c[f.p+fixedSize:], uint64(e.ExpireAt))
	}
}

// dropTTL removes entry i of the ttl list, moving the last one into its place.
func (s *shard) dropTTL(i uint32) {
	last := len(s.ttl) - 1
	if int(i) != last {
		moved := s.ttl[last]
		s.ttl[i] = moved
		_, f, _ := parse(s.rec(moved))
		f.setTTLIdx(i)
	}
	s.ttl = s.ttl[:last]
	if cap(s.ttl) > 64 && len(s.ttl) < cap(s.ttl)/4 {
		s.ttl = append(make([]uint32, 0, 2*len(s.ttl)), s.ttl...)
	}
}

// kill accounts for a record that nothing refers to any more, and compacts
// the arena once garbage outweighs live records.
func (s *shard) kill(size int) {
	s.liveBytes -= int64(size)
	s.garbage += int64(size)
	if s.garbage > s.liveBytes && s.garbage >= compactMinGarbage {
		s.compact()
	}
}

// compact rewrites every live record into fresh chunks, in table order, and
// repoints the table and the ttl list. O(live bytes), amortised over at
// least as many bytes of garbage. A record is rewritten field by field
// rather than copied: at its new offset its clock may sit elsewhere.
func (s *shard) compact() {
	s.slab = nil // fresh chunks, so that the slab can be freed
	old := s.chunks
	s.chunks, s.cur, s.arenaCap = nil, -1, 0
	s.nextChunk = min(max(1<<bits.Len64(uint64(s.liveBytes)), minChunkSize), maxChunkSize)
	s.liveBytes = 0 // writeRecord counts them again
	for gi := range s.groups {
		g := &s.groups[gi]
		for m := matchFull(g.word()); m != 0; m &= m - 1 {
			j := slotOf(m)
			ref := g.refs[j]
			key, f, ttl := parse(old[ref>>chunkShift], int(ref&offsetMask))
			e := decode(f, ttl)
			nref := s.writeRecord(key, &e, ttl, f.loadClock())
			g.refs[j] = nref
			if ttl {
				idx := f.ttlIdx()
				_, nf, _ := parse(s.rec(nref))
				nf.setTTLIdx(idx)
				s.ttl[idx] = nref
			}
		}
	}
	s.garbage = 0
}
