package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pykv/pykv/vfs"
)

// Classes of iteration errors; an *Error matches exactly one of them
// through errors.Is.
var (
	// ErrTorn is a tail of bytes after the last whole record with nothing
	// valid following: what a crash leaves. It can be cut off.
	ErrTorn = errors.New("pykv/segment: torn tail")
	// ErrCorrupt is a bad record followed by valid ones: damage that must
	// not be cut off without the operator's say.
	ErrCorrupt = errors.New("pykv/segment: corrupt data")
)

// Error is a decoding failure in a segment file, with where it happened.
type Error struct {
	Path   string
	Offset int64 // where the bad bytes start
	Torn   bool  // true: nothing valid follows (ErrTorn); false: ErrCorrupt
	// NextValid is, for damage, the offset of the first valid record after
	// Offset.
	NextValid int64
	// Zeros is set on a torn tail made only of zero bytes: the writer's
	// preallocated space after its last record, or a power loss that left
	// nothing of the record being written. No data is lost by cutting it.
	Zeros bool
	Err   error // the decoder's reason
}

// Error says what failed, in which file and at which offset.
func (e *Error) Error() string {
	if e.Zeros {
		return fmt.Sprintf("pykv/segment: torn tail in %s at offset %d: only zeros follow (preallocated space or an unwritten record)", e.Path, e.Offset)
	}
	if e.Torn {
		return fmt.Sprintf("pykv/segment: torn tail in %s at offset %d: %v", e.Path, e.Offset, e.Err)
	}
	return fmt.Sprintf("pykv/segment: corrupt data in %s at offset %d (a valid record follows at offset %d): %v",
		e.Path, e.Offset, e.NextValid, e.Err)
}

// Unwrap returns the decoder's reason.
func (e *Error) Unwrap() error { return e.Err }

// Is matches ErrTorn or ErrCorrupt by the error's class.
func (e *Error) Is(target error) bool {
	return (target == ErrTorn && e.Torn) || (target == ErrCorrupt && !e.Torn)
}

// Iterator reads the records of one segment file in order. The whole file
// is read into memory once, so that a decoding failure can be classified
// by looking at what follows it.
type Iterator struct {
	path   string
	buf    []byte
	lim    Limits
	header Header
	off    int // offset of the next record
	recOff int
	batch  int // offset of the first record of the open batch, -1 when none
	rec    Record
	err    error
}

// ReadFile opens the segment at path and returns an iterator positioned
// before its first record. A damaged or missing header is reported by
// Err after the first Next, except a newer format version, which is
// returned here.
func ReadFile(fs vfs.FS, path string, lim Limits) (*Iterator, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("pykv/segment: size of %s: %w", path, err)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, fmt.Errorf("pykv/segment: read %s: %w", path, err)
	}
	return newIterator(path, buf, lim)
}

// MapFile is ReadFile through vfs.Map: the iterator reads the file's pages
// in the page cache rather than a copy, which saves faulting in a buffer
// as large as the file. Records alias the mapping: call release when done
// with them, and before truncating the file.
func MapFile(fs vfs.FS, path string, lim Limits) (it *Iterator, release func() error, err error) {
	buf, release, err := vfs.Map(fs, path, true)
	if err != nil {
		return nil, nil, fmt.Errorf("pykv/segment: %w", err)
	}
	if it, err = newIterator(path, buf, lim); err != nil {
		release()
		return nil, nil, err
	}
	return it, release, nil
}

// NewIterator iterates the segment held in buf; path is used in errors.
func NewIterator(path string, buf []byte, lim Limits) (*Iterator, error) {
	return newIterator(path, buf, lim)
}

func newIterator(path string, buf []byte, lim Limits) (*Iterator, error) {
	it := &Iterator{path: path, buf: buf, lim: lim.orDefault(), batch: -1}
	h, err := DecodeHeader(buf)
	switch {
	case errors.Is(err, ErrNewerVersion):
		return nil, fmt.Errorf("%s: %w", path, err)
	case err != nil:
		it.fail(0, HeaderSize, err)
	default:
		it.header = h
		it.off = HeaderSize
	}
	return it, nil
}

// Header returns the file's header (zero when it is damaged).
func (it *Iterator) Header() Header { return it.header }

// Next advances to the next record and reports whether there is one.
func (it *Iterator) Next() bool {
	if it.err != nil || it.off >= len(it.buf) {
		return false
	}
	r, n, err := DecodeRecord(it.buf[it.off:], it.lim)
	if err != nil {
		it.fail(it.off, it.off+1, err)
		return false
	}
	first := it.off == HeaderSize
	if flush := r.Type == TypeFlush; flush != (first && it.header.Version >= VersionFlush) || (flush && r.Seq != it.header.FirstSeq) {
		// A flush record opens a version 2 segment, with the header's
		// first seq, and nothing else does.
		it.fail(it.off, it.off+1, fmt.Errorf("%w: record of type %d and seq %d at offset %d of a version %d segment whose first seq is %d",
			ErrMisplacedFlush, r.Type, r.Seq, it.off, it.header.Version, it.header.FirstSeq))
		return false
	}
	it.rec, it.recOff = r, it.off
	switch {
	case !r.More:
		it.batch = -1
	case it.batch < 0:
		it.batch = it.off
	}
	it.off += n
	return true
}

// IncompleteBatch returns the offset of the first record of a batch whose
// last record never came (the file or the valid records ended first), or
// -1. Such a batch was never acknowledged and must not be applied.
func (it *Iterator) IncompleteBatch() int64 { return int64(it.batch) }

// fail records a decoding failure at off, classifying it by searching for
// a valid record from scanFrom on.
func (it *Iterator) fail(off, scanFrom int, reason error) {
	e := &Error{Path: it.path, Offset: int64(off), Torn: true, Err: reason, Zeros: allZero(it.buf[off:])}
	lastSeq := it.rec.Seq // zero before the first record
	for p := scanFrom; p+RecordHeaderSize <= len(it.buf); p++ {
		if !plausible(it.buf[p:], lastSeq) {
			continue
		}
		if _, _, err := DecodeRecord(it.buf[p:], it.lim); err == nil {
			e.Torn, e.NextValid = false, int64(p)
			break
		}
	}
	it.err = e
}

// plausible is a cheap test of the fields of a record header at the start
// of b, before its CRC is computed: a known type, a length that fits in b,
// and a seq after the last good record's (seqs only grow through a file).
// It keeps the search for a valid record after a failure linear in
// practice, and makes an old record's bytes quoted inside a value unable
// to pass for the next record.
func plausible(b []byte, lastSeq uint64) bool {
	if t := Type(b[8] &^ batchFlag); t != TypeSet && t != TypeDel && t != TypeFlush {
		return false
	}
	length := uint64(binary.LittleEndian.Uint32(b[4:]))
	if length < bodyFixed || 8+length > uint64(len(b)) {
		return false
	}
	return binary.LittleEndian.Uint64(b[9:]) > lastSeq
}

// Record returns the current record; its Key and Value alias the file's
// bytes and stay valid as long as the iterator is referenced.
func (it *Iterator) Record() Record { return it.rec }

// Offset returns the current record's offset in the file.
func (it *Iterator) Offset() int64 { return int64(it.recOff) }

// End returns the offset just past the last whole record read so far.
func (it *Iterator) End() int64 { return int64(it.off) }

// Size returns the file's size.
func (it *Iterator) Size() int64 { return int64(len(it.buf)) }

// Err returns the decoding failure that stopped the iteration, an *Error,
// or nil when the file ended cleanly after a whole record.
func (it *Iterator) Err() error { return it.err }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
