package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"path/filepath"

	"github.com/pykv/pykv/segment"
)

// Format constants: part of the on-disk format.
const (
	// Magic opens every snapshot file.
	Magic = "PYKVSN"
	// FooterMagic closes every snapshot file.
	FooterMagic = "PYKVSNFT"
	// Version is the snapshot format version this package writes. Version
	// 1 holds set records only and is named after the newest segment it
	// covers; version 2 may also hold tombstones (index entries of size 0,
	// see IndexEntry.Tombstone) and is one file of a set that the data
	// directory's manifest lists; version 3 is version 2 with records in
	// a compact encoding (see record.go) that leaves the type, seq and
	// expiry to the index entry. All three are read.
	Version = VersionCompact
	// VersionNoTombstones is the first version, without tombstones.
	VersionNoTombstones uint16 = 1
	// VersionTombstones is the version that added tombstones, its
	// records still in the segment record encoding.
	VersionTombstones uint16 = 2
	// VersionCompact is the first version whose records are in the
	// compact encoding of record.go rather than the segment's.
	VersionCompact uint16 = 3
	// HeaderSize is the size of the header.
	HeaderSize = 24
	// FooterSize is the size of the footer.
	FooterSize = 56
	// indexFixed is an index entry's size beyond its key.
	indexFixed = 4 + 8 + 4 + 8 + 8
	// Ext is the file name extension of snapshots.
	Ext = ".snap"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of decoding. Returned errors wrap them with the file and offset.
var (
	ErrCorrupt      = errors.New("pykv/snapshot: corrupt snapshot")
	ErrNewerVersion = errors.New("pykv/snapshot: file format is newer than this pykv supports")
)

// Header is the start of a snapshot file.
type Header struct {
	Version    uint16
	ID         uint32
	CoveredSeq uint64
}

// Footer is the end of a snapshot file.
type Footer struct {
	IndexOffset uint64
	IndexLen    uint64
	Count       uint64
	CoveredSeq  uint64
	IndexCRC    uint32
	RecordsCRC  uint32 // CRC-32C of the records section
	// Tombstones is how many index entries are tombstones (version 2;
	// the field is reserved, zero, in version 1). Count includes them.
	Tombstones uint32
}

// IndexEntry locates one record of the snapshot, or is a tombstone: a
// key deleted at Seq, whose older versions other files of the set may
// still hold. A tombstone has Size 0 and Offset 0, which no record has.
type IndexEntry struct {
	Key      []byte
	Offset   uint64
	Size     uint32
	ExpireAt int64
	Seq      uint64
}

// Tombstone reports whether e is a tombstone rather than a record's.
func (e IndexEntry) Tombstone() bool { return e.Size == 0 }

func appendHeader(dst []byte, h Header) []byte {
	var b [HeaderSize]byte
	copy(b[:], Magic)
	binary.LittleEndian.PutUint16(b[6:], h.Version)
	binary.LittleEndian.PutUint32(b[8:], h.ID)
	binary.LittleEndian.PutUint64(b[12:], h.CoveredSeq)
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	return append(dst, b[:]...)
}

// DecodeHeader decodes a snapshot header.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, too short for a header", ErrCorrupt, len(b))
	}
	if string(b[:6]) != Magic {
		return Header{}, fmt.Errorf("%w: bad magic %q at offset 0", ErrCorrupt, b[:6])
	}
	if got, want := crc32.Checksum(b[:20], castagnoli), binary.LittleEndian.Uint32(b[20:]); got != want {
		return Header{}, fmt.Errorf("%w: header checksum at offset 20: stored %08x, computed %08x", ErrCorrupt, want, got)
	}
	h := Header{
		Version:    binary.LittleEndian.Uint16(b[6:]),
		ID:         binary.LittleEndian.Uint32(b[8:]),
		CoveredSeq: binary.LittleEndian.Uint64(b[12:]),
	}
	if h.Version > Version {
		return h, fmt.Errorf("%w: file has version %d, this pykv reads up to version %d", ErrNewerVersion, h.Version, Version)
	}
	if h.Version == 0 {
		return h, fmt.Errorf("%w: version 0 at offset 6", ErrCorrupt)
	}
	return h, nil
}

func appendFooter(dst []byte, f Footer) []byte {
	var b [FooterSize]byte
	binary.LittleEndian.PutUint64(b[0:], f.IndexOffset)
	binary.LittleEndian.PutUint64(b[8:], f.IndexLen)
	binary.LittleEndian.PutUint64(b[16:], f.Count)
	binary.LittleEndian.PutUint64(b[24:], f.CoveredSeq)
	binary.LittleEndian.PutUint32(b[32:], f.IndexCRC)
	binary.LittleEndian.PutUint32(b[36:], f.RecordsCRC)
	binary.LittleEndian.PutUint32(b[40:], f.Tombstones) // reserved (zero) in version 1
	binary.LittleEndian.PutUint32(b[44:], crc32.Checksum(b[:44], castagnoli))
	copy(b[48:], FooterMagic)
	return append(dst, b[:]...)
}

// DecodeFooter decodes the footer at the end of a snapshot of fileSize
// bytes, checking that the index lies between the header and the footer.
func DecodeFooter(b []byte, fileSize int64) (Footer, error) {
	if len(b) != FooterSize {
		return Footer{}, fmt.Errorf("%w: footer is %d bytes, want %d", ErrCorrupt, len(b), FooterSize)
	}
	at := fileSize - FooterSize
	if string(b[48:]) != FooterMagic {
		return Footer{}, fmt.Errorf("%w: bad footer magic %q at offset %d (file cut short?)", ErrCorrupt, b[48:], at+48)
	}
	if got, want := crc32.Checksum(b[:44], castagnoli), binary.LittleEndian.Uint32(b[44:]); got != want {
		return Footer{}, fmt.Errorf("%w: footer checksum at offset %d: stored %08x, computed %08x", ErrCorrupt, at+44, want, got)
	}
	f := Footer{
		IndexOffset: binary.LittleEndian.Uint64(b[0:]),
		IndexLen:    binary.LittleEndian.Uint64(b[8:]),
		Count:       binary.LittleEndian.Uint64(b[16:]),
		CoveredSeq:  binary.LittleEndian.Uint64(b[24:]),
		IndexCRC:    binary.LittleEndian.Uint32(b[32:]),
		RecordsCRC:  binary.LittleEndian.Uint32(b[36:]),
		Tombstones:  binary.LittleEndian.Uint32(b[40:]),
	}
	if f.Count < uint64(f.Tombstones) {
		return f, fmt.Errorf("%w: footer at offset %d claims %d tombstones among %d entries", ErrCorrupt, at+40, f.Tombstones, f.Count)
	}
	if f.IndexOffset < HeaderSize || f.IndexOffset > uint64(at) || f.IndexLen != uint64(at)-f.IndexOffset {
		return f, fmt.Errorf("%w: footer at offset %d places the index at [%d, +%d) in a %d-byte file",
			ErrCorrupt, at, f.IndexOffset, f.IndexLen, fileSize)
	}
	if f.Count > f.IndexLen/minIndexEntry {
		return f, fmt.Errorf("%w: footer at offset %d claims %d keys, the index holds at most %d",
			ErrCorrupt, at, f.Count, f.IndexLen/minIndexEntry)
	}
	return f, nil
}

// minIndexEntry is the smallest index entry of any version (version 2:
// six one-byte fields), which bounds the count a footer may claim.
const minIndexEntry = 6

// maxEntryHead is the most bytes a version 2 entry's length takes.
const maxEntryHead = binary.MaxVarintLen32

// appendIndexEntry appends e in the encoding of version 2:
//
//	entry len uvarint | keylen uvarint | key | offset uvarint | size uvarint | expire_at varint | seq uvarint
//
// where entry len counts the bytes after itself. Each integer takes its
// shortest encoding (encoding/binary's varints; expire_at zigzag).
func appendIndexEntry(dst []byte, e *IndexEntry) []byte {
	var tail [4 * binary.MaxVarintLen64]byte
	t := binary.AppendUvarint(tail[:0], e.Offset)
	t = binary.AppendUvarint(t, uint64(e.Size))
	t = binary.AppendVarint(t, e.ExpireAt)
	t = binary.AppendUvarint(t, e.Seq)
	n := uint64(uvarintLen(uint64(len(e.Key)))+len(e.Key)) + uint64(len(t))
	dst = binary.AppendUvarint(dst, n)
	dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
	dst = append(dst, e.Key...)
	return append(dst, t...)
}

// appendIndexEntryV1 appends e in the encoding of version 1 (fixed
// widths), which this package no longer writes; tests build version 1
// files with it.
func appendIndexEntryV1(dst []byte, e *IndexEntry) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e.Key)))
	dst = append(dst, e.Key...)
	dst = binary.LittleEndian.AppendUint64(dst, e.Offset)
	dst = binary.LittleEndian.AppendUint32(dst, e.Size)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.ExpireAt))
	return binary.LittleEndian.AppendUint64(dst, e.Seq)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// uvarint decodes the uvarint at the start of b, refusing one that does
// not take its shortest encoding (so that an entry has one encoding) or
// overflows.
func uvarint(b []byte) (uint64, int, bool) {
	if len(b) > 0 && b[0] < 0x80 { // the common case: one byte
		return uint64(b[0]), 1, true
	}
	if len(b) >= 8 {
		// Up to 8 bytes at once, without a loop: an entry's offset and
		// seq take 3 to 5, and start-up decodes millions of entries.
		if v, n := uvarintWord(binary.LittleEndian.Uint64(b)); n != 0 {
			return v, n, true
		}
	}
	v, n := binary.Uvarint(b)
	// A longer encoding is the shortest unless its last byte adds nothing.
	if n <= 0 || b[n-1] == 0 {
		return 0, 0, false
	}
	return v, n, true
}

// uvarintWord decodes the uvarint of two to eight bytes at the start of
// the 8 bytes of w (little-endian) and returns it and its length, or a
// length of 0 when the encoding does not end within w or is not the
// shortest (then the caller's slower path decides). Its first byte must
// have its top bit set: a one-byte uvarint is the caller's. It is small
// enough to be inlined, which decodeIndexEntry's loop over millions of
// entries wants.
func uvarintWord(w uint64) (uint64, int) {
	stop := ^w & 0x8080808080808080
	// The lowest bit of stop is the top bit of the encoding's last byte,
	// at 8n-1 (64 if none ends in w).
	top := bits.TrailingZeros64(stop)
	w &= stop ^ (stop - 1) // the encoding's bytes only
	if stop == 0 || w>>(top-7) == 0 {
		return 0, 0 // too long, or a last byte that adds nothing
	}
	// Squeeze out the continuation bits, pairs of groups first (the
	// masks of the first step drop them).
	w = w&0x007f007f007f007f | w&0x7f007f007f007f00>>1
	w = w&0x00003fff00003fff | w&0x3fff00003fff0000>>2
	w = w&0x000000000fffffff | w&0x0fffffff00000000>>4
	return w, (top + 1) / 8
}

// entryLen returns the size of the version 2 entry at the start of b
// (its length field and what follows), reading only the length field;
// ok is false when b does not start with a whole, shortest uvarint.
func entryLen(b []byte) (size uint64, ok bool) {
	n, l, ok := uvarint(b[:min(len(b), maxEntryHead)])
	if !ok || n > math.MaxUint32 {
		return 0, false
	}
	return uint64(l) + n, true
}

// DecodeIndexEntry decodes the index entry at the start of b, in the
// encoding of the given snapshot version, whose key aliases b, and
// returns its encoded size. maxKey bounds the key length.
func DecodeIndexEntry(b []byte, version uint16, maxKey int) (IndexEntry, int, error) {
	var e IndexEntry
	n, err := decodeIndexEntry(b, version, maxKey, &e)
	if err != nil {
		return IndexEntry{}, 0, err
	}
	return e, n, nil
}

// decodeIndexEntry is DecodeIndexEntry into *e, for start-up's loop over
// millions of entries: an IndexEntry returned by value is copied on the
// stack, with wide loads of narrow stores that the CPU cannot forward.
// On an error *e is undefined.
func decodeIndexEntry(b []byte, version uint16, maxKey int, e *IndexEntry) (int, error) {
	if version == VersionNoTombstones {
		var n int
		var err error
		*e, n, err = decodeIndexEntryV1(b, maxKey)
		return n, err
	}
	bad := func(what string) (int, error) {
		return 0, fmt.Errorf("%w: index entry: %s", ErrCorrupt, what)
	}
	// The one-byte uvarints (the lengths, most sizes and expiries) are
	// read inline: six calls an entry were a tenth of start-up's CPU.
	n, l, ok := uint64(0), 1, true
	if len(b) > 0 && b[0] < 0x80 {
		n = uint64(b[0])
	} else {
		n, l, ok = uvarint(b[:min(len(b), maxEntryHead)])
	}
	if !ok || n > uint64(len(b)-l) {
		return bad(fmt.Sprintf("bad or cut length (%d bytes left)", len(b)))
	}
	// The fields after the key are read from b rather than from the
	// entry alone, and checked against its end after each: uvarint reads
	// 8 bytes at once only where 8 are left, and the entry's last fields
	// have fewer. A uvarint that ends within the entry decodes the same.
	size := l + int(n)
	klen, p := uint64(0), l+1
	if l < size && b[l] < 0x80 {
		klen = uint64(b[l])
	} else {
		var m int
		klen, m, ok = uvarint(b[l:size])
		p = l + m
	}
	if !ok || klen > uint64(maxKey) || klen > uint64(size-p) {
		return bad(fmt.Sprintf("key length %d (limit %d, %d bytes left)", klen, maxKey, size-p))
	}
	e.Key = b[p : p+int(klen) : p+int(klen)]
	p += int(klen)
	var v [4]uint64 // offset, size, zigzagged expiry, seq
	for i := range v {
		if p < size && b[p] < 0x80 {
			v[i], p = uint64(b[p]), p+1
			continue
		}
		// Two to eight bytes (the offsets and seqs of most entries)
		// inline too; the rest, and anything wrong, through uvarint.
		if len(b)-p >= 8 {
			if x, m := uvarintWord(binary.LittleEndian.Uint64(b[p:])); m != 0 && m <= size-p {
				v[i], p = x, p+m
				continue
			}
		}
		x, m, ok := uvarint(b[p:])
		if !ok || m > size-p {
			if i == len(v)-1 {
				return bad("bad seq, or bytes after it")
			}
			return bad("bad offset, size or expiry")
		}
		v[i], p = x, p+m
	}
	if p != size {
		return bad("bad seq, or bytes after it")
	}
	if v[1] > math.MaxUint32 {
		return bad(fmt.Sprintf("size %d over 2^32", v[1]))
	}
	e.Offset, e.Size = v[0], uint32(v[1])
	// expire_at was zigzagged: x>>1 ^ -(x&1); its shortest encoding is
	// that of the uvarint just read.
	e.ExpireAt = int64(v[2]>>1) ^ -int64(v[2]&1)
	e.Seq = v[3]
	return size, nil
}

// decodeIndexEntryV1 decodes a version 1 entry (fixed widths).
func decodeIndexEntryV1(b []byte, maxKey int) (IndexEntry, int, error) {
	if len(b) < indexFixed {
		return IndexEntry{}, 0, fmt.Errorf("%w: index entry cut short (%d bytes)", ErrCorrupt, len(b))
	}
	klen := binary.LittleEndian.Uint32(b)
	if uint64(klen) > uint64(maxKey) || uint64(klen) > uint64(len(b)-indexFixed) {
		return IndexEntry{}, 0, fmt.Errorf("%w: index entry key length %d (limit %d, %d bytes left)", ErrCorrupt, klen, maxKey, len(b)-indexFixed)
	}
	p := 4 + int(klen)
	e := IndexEntry{
		Key:      b[4:p:p],
		Offset:   binary.LittleEndian.Uint64(b[p:]),
		Size:     binary.LittleEndian.Uint32(b[p+8:]),
		ExpireAt: int64(binary.LittleEndian.Uint64(b[p+12:])),
		Seq:      binary.LittleEndian.Uint64(b[p+20:]),
	}
	return e, p + 28, nil
}

// FileName returns the name of snapshot id.
func FileName(id uint32) string { return segment.IDFileName(id, Ext) }

// Path returns the path of snapshot id in dir.
func Path(dir string, id uint32) string { return filepath.Join(dir, FileName(id)) }

// ParseFileName returns the id of a snapshot file name.
func ParseFileName(name string) (uint32, bool) { return segment.ParseIDFileName(name, Ext) }
