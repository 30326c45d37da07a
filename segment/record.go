package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Type is a record's type.
type Type uint8

// Record types: part of the on-disk format, never to be renumbered.
const (
	TypeSet Type = 1 // key now holds value, with expire_at
	TypeDel Type = 2 // key no longer exists (delete, or expiry on the leader)
	// TypeFlush says that every key written at a seq below the record's
	// own no longer exists (FLUSHALL). It has no key, value or expiry, and
	// it is only ever the first record of a version 2 segment (see
	// VersionFlush): the segments before it, and the snapshot, are dead.
	TypeFlush Type = 3
)

// batchFlag marks a record whose batch continues in the next record.
const batchFlag = 0x80

// Sizes of the fixed parts of the format.
const (
	// RecordHeaderSize is crc + length + type + seq + expire_at + keylen.
	RecordHeaderSize = 4 + 4 + 1 + 8 + 8 + 4
	// bodyFixed is what length counts beyond key and value.
	bodyFixed = RecordHeaderSize - 8
)

// Default limits of keys and values, configurable through Limits.
const (
	DefaultMaxKey   = 64 << 10 // 64 KiB, far above any sane key
	DefaultMaxValue = 64 << 20 // 64 MiB per value
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Limits bound what a decoder accepts, so that a garbage length is detected
// rather than allocated.
type Limits struct {
	MaxKey   int
	MaxValue int
}

// FormatLimits are the largest key and value the format admits (lengths
// are 32-bit, and pykv's configuration allows at most 1 GiB each). Readers
// of files decode with these: the configured limits bound what clients may
// write now, and lowering them must not make older records unreadable.
var FormatLimits = Limits{MaxKey: 1 << 30, MaxValue: 1 << 30}

// DefaultLimits returns the default key and value limits.
func DefaultLimits() Limits { return Limits{MaxKey: DefaultMaxKey, MaxValue: DefaultMaxValue} }

func (l Limits) orDefault() Limits {
	if l.MaxKey <= 0 {
		l.MaxKey = DefaultMaxKey
	}
	if l.MaxValue <= 0 {
		l.MaxValue = DefaultMaxValue
	}
	return l
}

// Record is one logged mutation.
type Record struct {
	Type     Type
	Seq      uint64
	ExpireAt int64 // unix ms, 0 = none
	Key      []byte
	Value    []byte
	// More is set when the record's batch continues in the next record.
	More bool
}

// EncodedSize is the number of bytes r occupies on disk.
func (r *Record) EncodedSize() int { return RecordHeaderSize + len(r.Key) + len(r.Value) }

// AppendRecord appends r's encoding to dst and returns the extended slice.
func AppendRecord(dst []byte, r *Record) []byte {
	start := len(dst)
	n := r.EncodedSize()
	dst = growBy(dst, n)
	b := dst[start : start+n]
	binary.LittleEndian.PutUint32(b[4:], uint32(n-8))
	t := byte(r.Type)
	if r.More {
		t |= batchFlag
	}
	b[8] = t
	binary.LittleEndian.PutUint64(b[9:], r.Seq)
	binary.LittleEndian.PutUint64(b[17:], uint64(r.ExpireAt))
	binary.LittleEndian.PutUint32(b[25:], uint32(len(r.Key)))
	copy(b[RecordHeaderSize:], r.Key)
	copy(b[RecordHeaderSize+len(r.Key):], r.Value)
	binary.LittleEndian.PutUint32(b[0:], crc32.Checksum(b[4:], castagnoli))
	return dst
}

func growBy(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// Decode errors. A decoder wraps them with the file and offset.
var (
	// ErrShort means the buffer ends before the record does.
	ErrShort = errors.New("pykv/segment: record cut short")
	// ErrChecksum means the record's CRC does not match its bytes.
	ErrChecksum = errors.New("pykv/segment: checksum mismatch")
	// ErrBadLength means a length field is impossible or over a limit.
	ErrBadLength = errors.New("pykv/segment: bad length")
	// ErrBadType means an unknown record type.
	ErrBadType = errors.New("pykv/segment: unknown record type")
	// ErrMisplacedFlush means a flush record anywhere but at the start of
	// a version 2 segment, or such a segment that starts with another
	// record.
	ErrMisplacedFlush = errors.New("pykv/segment: flush record out of place")
)

// DecodeRecord decodes the record at the start of buf. Key and Value alias
// buf. It returns the record's encoded size. It checks lengths against lim
// and len(buf) before slicing anything, and never allocates.
func DecodeRecord(buf []byte, lim Limits) (Record, int, error) {
	lim = lim.orDefault()
	if len(buf) < RecordHeaderSize {
		return Record{}, 0, ErrShort
	}
	length := binary.LittleEndian.Uint32(buf[4:])
	maxLen := uint64(bodyFixed) + uint64(lim.MaxKey) + uint64(lim.MaxValue)
	if uint64(length) < bodyFixed || uint64(length) > maxLen {
		return Record{}, 0, fmt.Errorf("%w: record length %d outside [%d, %d]", ErrBadLength, length, bodyFixed, maxLen)
	}
	total := 8 + int(length)
	if total > len(buf) {
		return Record{}, 0, ErrShort
	}
	if got, want := crc32.Checksum(buf[4:total], castagnoli), binary.LittleEndian.Uint32(buf); got != want {
		return Record{}, 0, fmt.Errorf("%w: stored %08x, computed %08x", ErrChecksum, want, got)
	}
	klen := binary.LittleEndian.Uint32(buf[25:])
	if uint64(klen) > uint64(lim.MaxKey) || int(klen) > total-RecordHeaderSize {
		return Record{}, 0, fmt.Errorf("%w: key length %d (limit %d)", ErrBadLength, klen, lim.MaxKey)
	}
	vlen := total - RecordHeaderSize - int(klen)
	if vlen > lim.MaxValue {
		return Record{}, 0, fmt.Errorf("%w: value length %d (limit %d)", ErrBadLength, vlen, lim.MaxValue)
	}
	t := Type(buf[8] &^ batchFlag)
	if t != TypeSet && t != TypeDel && t != TypeFlush {
		return Record{}, 0, fmt.Errorf("%w: %d", ErrBadType, buf[8])
	}
	r := Record{
		Type:     t,
		More:     buf[8]&batchFlag != 0,
		Seq:      binary.LittleEndian.Uint64(buf[9:]),
		ExpireAt: int64(binary.LittleEndian.Uint64(buf[17:])),
	}
	kend := RecordHeaderSize + int(klen)
	r.Key = buf[RecordHeaderSize:kend:kend]
	r.Value = buf[kend:total:total]
	return r, total, nil
}

// ReadValue extracts the value from an encoded record held whole in buf
// (exactly one record, as read through a keydir location), verifying its
// CRC. The result aliases buf.
func ReadValue(buf []byte, lim Limits) ([]byte, error) {
	r, n, err := DecodeRecord(buf, lim)
	if err != nil {
		return nil, err
	}
	if n != len(buf) {
		return nil, fmt.Errorf("%w: record is %d bytes, location says %d", ErrBadLength, n, len(buf))
	}
	return r.Value, nil
}
