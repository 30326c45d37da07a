package index

import (
	"encoding/binary"
	"math/bits"
)

// A shard keeps every record (key and entry) in an arena of byte chunks; the
// table refers to a record by a uint32: chunk index << chunkShift | offset.
// Normal chunks never exceed maxChunkSize, so the offset fits; a record too
// big to share a chunk gets a chunk of its own at offset 0.
//
// Record layout (see doc.go for the picture):
//
//	uvarint(len(key)<<1 | hasTTL) | key | seq u64 | file u32 | size u32 | offset u48 | [expire_at i64 | ttl index u32]
//
// All integers are little-endian. The TTL tail exists only for keys with an
// expiry; its index points into the shard's ttl list, which lets that list
// drop a key in O(1).

const (
	chunkShift   = 14
	maxChunkSize = 1 << chunkShift // 16 KiB: an empty tail wastes little, growth copies nothing
	minChunkSize = 512             // a shard's first chunk; sizes double up to maxChunkSize
	offsetMask   = maxChunkSize - 1
	maxChunks    = 1 << (32 - chunkShift) // 4 GiB of records per shard

	// bigRecordSize: records above a quarter chunk get a chunk of their own,
	// so the tail left behind when a chunk fills stays under this.
	bigRecordSize = maxChunkSize / 4

	fixedSize = 8 + 4 + 4 + 6 // seq, file id, size, 48-bit offset
	ttlSize   = 8 + 4         // expire_at, index in the ttl list
	ttlIdxAt  = fixedSize + 8 // where the ttl index sits in the fields

	// compactMinGarbage keeps tiny shards from compacting over a few bytes.
	compactMinGarbage = 4 << 10
)

// MaxOffset is the largest Entry.Offset a Keydir can hold: offsets are kept
// in 48 bits (256 TiB per data file). Put panics beyond it.
const MaxOffset = 1<<48 - 1

// rec returns the arena bytes starting at ref (to the end of its chunk).
func (s *shard) rec(ref uint32) []byte {
	return s.chunks[ref>>chunkShift][ref&offsetMask:]
}

// parse splits the record at the start of b into its key and its fields.
func parse(b []byte) (key, fields []byte, ttl bool) {
	hdr, n := uint64(b[0]), 1
	if hdr >= 0x80 {
		hdr, n = binary.Uvarint(b)
	}
	end := n + int(hdr>>1)
	return b[n:end:end], b[end:], hdr&1 != 0
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

func decode(f []byte, ttl bool) Entry {
	e := Entry{
		Seq:    binary.LittleEndian.Uint64(f),
		FileID: binary.LittleEndian.Uint32(f[8:]),
		Size:   binary.LittleEndian.Uint32(f[12:]),
		Offset: uint64(binary.LittleEndian.Uint32(f[16:])) | uint64(binary.LittleEndian.Uint16(f[20:]))<<32,
	}
	if ttl {
		e.ExpireAt = int64(binary.LittleEndian.Uint64(f[fixedSize:]))
	}
	return e
}

// encode writes e into fields laid out for ttl; the ttl index is left alone.
func encode(f []byte, e Entry, ttl bool) {
	binary.LittleEndian.PutUint64(f, e.Seq)
	binary.LittleEndian.PutUint32(f[8:], e.FileID)
	binary.LittleEndian.PutUint32(f[12:], e.Size)
	binary.LittleEndian.PutUint32(f[16:], uint32(e.Offset))
	binary.LittleEndian.PutUint16(f[20:], uint16(e.Offset>>32))
	if ttl {
		binary.LittleEndian.PutUint64(f[fixedSize:], uint64(e.ExpireAt))
	}
}

// alloc reserves size bytes in the arena and returns their reference.
func (s *shard) alloc(size int) (uint32, []byte) {
	if size > bigRecordSize {
		c := make([]byte, size)
		s.chunks = append(s.chunks, c)
		s.arenaCap += int64(size)
		return uint32(len(s.chunks)-1) << chunkShift, c
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
		s.chunks = append(s.chunks, c)
		s.cur = len(s.chunks) - 1
		s.arenaCap += int64(cap(c))
		s.nextChunk = min(2*s.nextChunk, maxChunkSize)
	}
	c := s.chunks[s.cur]
	off := len(c)
	s.chunks[s.cur] = c[:off+size]
	return uint32(s.cur)<<chunkShift | uint32(off), c[off : off+size : off+size]
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

// appendRecord writes a new record for key and e and returns its reference.
func (s *shard) appendRecord(key []byte, e Entry) uint32 {
	ttl := e.ExpireAt != 0
	size := recordLen(len(key), ttl)
	ref, b := s.alloc(size)
	hdr := uint64(len(key)) << 1
	if ttl {
		hdr |= 1
	}
	n := binary.PutUvarint(b, hdr)
	copy(b[n:], key)
	f := b[n+len(key):]
	encode(f, e, ttl)
	if ttl {
		binary.LittleEndian.PutUint32(f[ttlIdxAt:], uint32(len(s.ttl)))
		s.ttl = append(s.ttl, ref)
	}
	s.liveBytes += int64(size)
	return ref
}

// dropTTL removes entry i of the ttl list, moving the last one into its place.
func (s *shard) dropTTL(i uint32) {
	last := len(s.ttl) - 1
	if int(i) != last {
		moved := s.ttl[last]
		s.ttl[i] = moved
		_, f, _ := parse(s.rec(moved))
		binary.LittleEndian.PutUint32(f[ttlIdxAt:], i)
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

// compact copies every live record into fresh chunks, in table order, and
// repoints the table and the ttl list. O(live bytes), amortised over at
// least as many bytes of garbage.
func (s *shard) compact() {
	s.slab = nil // fresh chunks, so that the slab can be freed
	old := s.chunks
	s.chunks, s.cur, s.arenaCap = nil, -1, 0
	s.nextChunk = min(max(1<<bits.Len64(uint64(s.liveBytes)), minChunkSize), maxChunkSize)
	for gi := range s.groups {
		g := &s.groups[gi]
		for m := matchFull(g.word()); m != 0; m &= m - 1 {
			j := slotOf(m)
			ref := g.refs[j]
			b := old[ref>>chunkShift][ref&offsetMask:]
			key, f, ttl := parse(b)
			size := recordLen(len(key), ttl)
			nref, dst := s.alloc(size)
			copy(dst, b[:size])
			g.refs[j] = nref
			if ttl {
				s.ttl[binary.LittleEndian.Uint32(f[ttlIdxAt:])] = nref
			}
		}
	}
	s.garbage = 0
}
