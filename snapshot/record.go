package snapshot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/pykv/pykv/segment"
)

// The record of version 3 (VersionCompact) holds what its index entry
// does not:
//
//	+---------+-------------+-------------+-----+-------+
//	| crc u32 | keylen uvar | vallen uvar | key | value |
//	+---------+-------------+-------------+-----+-------+
//
// Both lengths are uvarints in their shortest form, of at most
// maxLenBytes bytes each. The record has no type (a snapshot holds set
// records only), and no seq or expiry: its index entry holds them, under
// the index's CRC, and its size is the record's whole length. The crc is
// CRC-32C of the entry's seq (u64) and expire_at (i64), little-endian,
// followed by every byte of the record after the crc:
//
//	crc = CRC-32C(seq u64 | expire_at i64 | keylen .. value)
//
// so a record checks only against the entry that locates it: a record
// read through an entry whose seq or expiry is not the one the record was
// written with fails its crc, as a version 2 record whose own seq differs
// from the entry's fails the reader's comparison. These constants are
// part of the on-disk format.
const (
	// recordCRCSize is the record's crc field.
	recordCRCSize = 4
	// minRecordV3 is the smallest record: the crc and two one-byte
	// lengths (the empty key with an empty value).
	minRecordV3 = recordCRCSize + 1 + 1
	// maxLenBytes bounds each length's uvarint: 5 bytes hold 2^35-1,
	// above the format's 1 GiB limits (segment.FormatLimits), so a longer
	// one is damage, never read on.
	maxLenBytes = binary.MaxVarintLen32
)

// recordV3Size is the encoded size of a version 3 record of key and value.
func recordV3Size(key, value []byte) int {
	return recordCRCSize + uvarintLen(uint64(len(key))) + uvarintLen(uint64(len(value))) + len(key) + len(value)
}

// appendRecordV3 appends the version 3 record of key and value, whose
// index entry holds seq and expireAt, to dst.
func appendRecordV3(dst []byte, seq uint64, expireAt int64, key, value []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	dst = append(dst, key...)
	dst = append(dst, value...)
	binary.LittleEndian.PutUint32(dst[start:], recordV3CRC(seq, expireAt, dst[start+recordCRCSize:]))
	return dst
}

// recordV3CRC is the crc of a version 3 record whose bytes after the crc
// field are body and whose index entry holds seq and expireAt.
func recordV3CRC(seq uint64, expireAt int64, body []byte) uint32 {
	return crc32.Update(crcBound(seq, uint64(expireAt)), castagnoli, body)
}

// crcBound is crc32.Checksum of seq and expireAt, 8 little-endian bytes
// each, computed without a slice (crc32.Update would make a slice of
// them escape to the heap: one allocation per record read) and a word at
// a time, by slicing-by-8 as hash/crc32 does in software: a byte at a time
// the two words cost 40 ns per record read, a third of a version 2
// record's whole read.
func crcBound(seq, expireAt uint64) uint32 {
	crc := ^uint32(0)
	for _, v := range [2]uint64{seq, expireAt} {
		lo, hi := uint32(v)^crc, uint32(v>>32)
		t := &castagnoli8
		crc = t[0][hi>>24] ^ t[1][hi>>16&0xff] ^ t[2][hi>>8&0xff] ^ t[3][hi&0xff] ^
			t[4][lo>>24] ^ t[5][lo>>16&0xff] ^ t[6][lo>>8&0xff] ^ t[7][lo&0xff]
	}
	return ^crc
}

// castagnoli8 holds the slicing-by-8 tables of CRC-32C: castagnoli8[0] is
// the byte table, and castagnoli8[k][i] the crc of byte i followed by k
// zero bytes.
var castagnoli8 = func() (t [8][256]uint32) {
	t[0] = *castagnoli
	for i := range 256 {
		crc := t[0][i]
		for k := 1; k < 8; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][i] = crc
		}
	}
	return t
}()

// decodeRecordV3 frames the version 3 record at the start of b: it
// returns its key and value, which alias b, and its encoded size. It
// checks both lengths (shortest form, at most maxLenBytes bytes, within
// lim) and that the record fits in b before it slices anything, and
// never allocates. It does not check the crc, which needs the seq and
// expiry of the record's index entry: checkRecordV3 does.
func decodeRecordV3(b []byte, lim segment.Limits) (key, value []byte, n int, err error) {
	if len(b) < minRecordV3 {
		return nil, nil, 0, fmt.Errorf("%w: %d bytes, a record takes at least %d", segment.ErrShort, len(b), minRecordV3)
	}
	p := recordCRCSize
	klen, m, ok := uvarint(b[p:min(len(b), p+maxLenBytes)])
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: key length at record offset %d is not a shortest uvarint of at most %d bytes", segment.ErrBadLength, p, maxLenBytes)
	}
	p += m
	vlen, m, ok := uvarint(b[p:min(len(b), p+maxLenBytes)])
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: value length at record offset %d is not a shortest uvarint of at most %d bytes", segment.ErrBadLength, p, maxLenBytes)
	}
	p += m
	if klen > uint64(lim.MaxKey) || vlen > uint64(lim.MaxValue) {
		return nil, nil, 0, fmt.Errorf("%w: key length %d, value length %d (limits %d, %d)", segment.ErrBadLength, klen, vlen, lim.MaxKey, lim.MaxValue)
	}
	if klen+vlen > uint64(len(b)-p) {
		return nil, nil, 0, fmt.Errorf("%w: key of %d and value of %d bytes, %d bytes left", segment.ErrShort, klen, vlen, len(b)-p)
	}
	kend := p + int(klen)
	n = kend + int(vlen)
	return b[p:kend:kend], b[kend:n:n], n, nil
}

// checkRecordV3 checks the crc of rec, one whole version 3 record, against
// the seq and expiry of its index entry.
func checkRecordV3(rec []byte, seq uint64, expireAt int64) error {
	stored := binary.LittleEndian.Uint32(rec)
	if got := recordV3CRC(seq, expireAt, rec[recordCRCSize:]); got != stored {
		return fmt.Errorf("%w: stored %08x, computed %08x with the index entry's seq %d and expire_at %d",
			segment.ErrChecksum, stored, got, seq, expireAt)
	}
	return nil
}

// RecordAt returns the record that the index entry e locates, checked to
// be e's: whole (exactly e.Size bytes), with a matching checksum, holding
// e's key, and of e's seq and expiry (bound into the checksum in version
// 3, compared with the record's own fields before). Its Key and Value
// alias the mapping (valid until Close). lim bounds the lengths.
func (s *Snapshot) RecordAt(e *IndexEntry, lim segment.Limits) (segment.Record, error) {
	raw, err := s.Record(e.Offset, e.Size)
	if err != nil {
		return segment.Record{}, err
	}
	bad := func(err error) (segment.Record, error) {
		return segment.Record{}, fmt.Errorf("%s: %w: record at offset %d (key %q): %w", s.Path, ErrCorrupt, e.Offset, e.Key, err)
	}
	var r segment.Record
	if s.Header.Version >= VersionCompact {
		key, value, n, err := decodeRecordV3(raw, lim)
		if err != nil {
			return bad(err)
		}
		if n != len(raw) {
			return bad(fmt.Errorf("%w: record is %d bytes, its index entry says %d", segment.ErrBadLength, n, len(raw)))
		}
		if err := checkRecordV3(raw, e.Seq, e.ExpireAt); err != nil {
			return bad(err)
		}
		r = segment.Record{Type: segment.TypeSet, Seq: e.Seq, ExpireAt: e.ExpireAt, Key: key, Value: value}
	} else {
		var n int
		if r, n, err = segment.DecodeRecord(raw, lim); err != nil {
			return bad(err)
		}
		switch {
		case n != len(raw):
			return bad(fmt.Errorf("%w: record is %d bytes, its index entry says %d", segment.ErrBadLength, n, len(raw)))
		case r.Type != segment.TypeSet:
			return bad(fmt.Errorf("record of type %d in a snapshot", r.Type))
		case r.Seq != e.Seq || r.ExpireAt != e.ExpireAt:
			return bad(fmt.Errorf("record of seq %d, expire_at %d; its index entry says seq %d, expire_at %d", r.Seq, r.ExpireAt, e.Seq, e.ExpireAt))
		}
	}
	if !bytes.Equal(r.Key, e.Key) {
		return bad(fmt.Errorf("record of key %q", r.Key))
	}
	return r, nil
}
