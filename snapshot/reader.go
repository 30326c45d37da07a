package snapshot

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// Snapshot is an open, verified snapshot file.
type Snapshot struct {
	Path   string
	Header Header
	Footer Footer
	data   []byte
	unmap  func() error
	fs     vfs.FS
	// indexMu guards indexOK: whether the index's checksum, framing and
	// count have been checked (by Open, or by the first Load or walk of a
	// snapshot from OpenForLoad).
	indexMu sync.Mutex
	indexOK bool
}

// indexChunk is the size of the buffer readIndex reads the index through:
// a variable so that tests can cut entries anywhere.
var indexChunk = 1 << 20

// Open maps the snapshot at path read-only and verifies its header, its
// footer and the checksum of its index. VerifyRecords checks the records
// section; each record is also checked when read.
func Open(fs vfs.FS, path string) (*Snapshot, error) {
	s, err := OpenForLoad(fs, path)
	if err != nil {
		return nil, err
	}
	if err := s.checkIndex(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenForLoad maps the snapshot at path read-only and verifies its header
// and footer, leaving the index to Load, which checks it in the same pass
// that loads it: start-up reads the index once, not once to check it and
// again to load it. Until the index has been checked, every method that
// reads it (Index) checks it first, as Open does.
func OpenForLoad(fs vfs.FS, path string) (*Snapshot, error) {
	data, unmap, err := mapFile(fs, path)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Path: path, data: data, unmap: unmap, fs: fs}
	if err := s.verify(); err != nil {
		unmap()
		return nil, err
	}
	return s, nil
}

// verify checks the header and the footer and sets them.
func (s *Snapshot) verify() error {
	h, err := DecodeHeader(s.data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	size := int64(len(s.data))
	if size < HeaderSize+FooterSize {
		return fmt.Errorf("%s: %w: %d bytes, too short for header and footer", s.Path, ErrCorrupt, size)
	}
	f, err := DecodeFooter(s.data[size-FooterSize:], size)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	if h.Version == VersionNoTombstones && f.Tombstones != 0 {
		return fmt.Errorf("%s: %w: version %d footer at offset %d has a nonzero reserved field", s.Path, ErrCorrupt, h.Version, size-FooterSize+40)
	}
	if f.CoveredSeq != h.CoveredSeq {
		return fmt.Errorf("%s: %w: header covers seq %d, footer at offset %d seq %d", s.Path, ErrCorrupt, h.CoveredSeq, size-FooterSize, f.CoveredSeq)
	}
	s.Header, s.Footer = h, f
	return nil
}

// checkIndex checks the index unless that has been done.
func (s *Snapshot) checkIndex() error {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.indexOK {
		return nil
	}
	if err := s.scanIndex(); err != nil {
		return err
	}
	s.indexOK = true
	return nil
}

// scanIndex reads the index section once: it checks its CRC, that it
// splits into whole entries and that their number is the footer's count.
// (Load does the same in its own reader, runReader, which also hands the
// entries out.)
func (s *Snapshot) scanIndex() error {
	f := s.Footer
	sum := crc32.New(castagnoli)
	var count uint64
	err := s.readIndex(indexPass{to: int(f.IndexLen), maxKey: math.MaxUint32, sum: sum}, func(int, []byte) error {
		count++
		return nil
	})
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return err // could not read it
	}
	if crc := sum.Sum32(); crc != f.IndexCRC {
		return fmt.Errorf("%s: %w: index at offset %d: checksum stored %08x, computed %08x", s.Path, ErrCorrupt, f.IndexOffset, f.IndexCRC, crc)
	}
	if err != nil {
		return err // an entry that runs past the index
	}
	if count != f.Count {
		return fmt.Errorf("%s: %w: index at offset %d, %d bytes: its entries end at offset %d and number %d, footer says %d", s.Path, ErrCorrupt, f.IndexOffset, f.IndexLen, f.IndexOffset+f.IndexLen, count, f.Count)
	}
	return nil
}

// indexPass says what one pass of readIndex reads, and what it delivers.
type indexPass struct {
	from, to int       // the stretch of the index section, in offsets from its start; an entry starts at from
	maxKey   uint64    // the longest key accepted
	sum      io.Writer // if not nil, gets every byte of the stretch, also those after an entry that runs past it
	bytes    bool      // fn gets each entry's bytes; else nil, and the entries are only framed
}

// readIndex is the one loop over index entries, for the check of Open and
// for every walk. It calls fn, in order, with the offset in the index of
// each entry of the stretch p names and, when p.bytes, the entry (valid
// only during the call), stopping at fn's first error. A key longer than
// p.maxKey, or an entry that runs past the stretch, is ErrCorrupt, named
// by file and offset.
//
// The stretch is read with pread through a buffer of indexChunk bytes,
// never through the mapping: on a virtual machine each first touch of a
// page of memory costs about 10 µs, which for a 5M-key index (240 MB)
// would take longer than loading it.
func (s *Snapshot) readIndex(p indexPass, fn func(at int, entry []byte) error) error {
	if p.from >= p.to {
		return nil
	}
	f, err := s.fs.Open(s.Path)
	if err != nil {
		return fmt.Errorf("pykv/snapshot: open %s: %w", s.Path, err)
	}
	defer f.Close()
	base := int(s.Footer.IndexOffset)
	var src io.Reader = io.NewSectionReader(f, int64(base+p.from), int64(p.to-p.from))
	if p.sum != nil {
		src = io.TeeReader(src, p.sum)
	}
	br := bufio.NewReaderSize(src, min(indexChunk, p.to-p.from))
	readFailed := func(at int, err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the stretch is shorter than the footer says: the file shrank
		}
		return fmt.Errorf("pykv/snapshot: read index of %s at offset %d: %w", s.Path, base+at, err)
	}
	corrupt := func(err error) error {
		if p.sum != nil {
			if _, derr := io.Copy(io.Discard, br); derr != nil {
				return fmt.Errorf("pykv/snapshot: read index of %s: %w", s.Path, derr)
			}
		}
		return err
	}
	// win is what br holds from the entry at on, used how much of br's
	// buffer win has moved past: walking win costs nothing per entry, and
	// only an entry that goes past its end makes br read on, keeping the
	// rest of the entry.
	var win []byte
	used := 0
	more := func(n int) error { // makes win hold n bytes, n at most br.Size()
		br.Discard(used) // buffered: cannot fail
		used = 0
		if _, err := br.Peek(n); err != nil {
			return err
		}
		win, _ = br.Peek(br.Buffered())
		return nil
	}
	var long []byte // an entry longer than the buffer
	v1 := s.Header.Version == VersionNoTombstones
	for at := p.from; at < p.to; {
		// The head that frames an entry: version 1's key length, version
		// 2's entry length.
		head := 4
		if !v1 {
			head = min(maxEntryHead, p.to-at)
		}
		if p.to-at < head {
			return corrupt(fmt.Errorf("%s: %w: index entry at offset %d cut short at offset %d", s.Path, ErrCorrupt, base+at, base+p.to))
		}
		if len(win) < head {
			if err := more(head); err != nil {
				return readFailed(at, err)
			}
		}
		var size int
		if v1 {
			klen := uint64(binary.LittleEndian.Uint32(win))
			if klen > p.maxKey {
				return corrupt(fmt.Errorf("%s: %w: index entry at offset %d: key length %d over the limit %d", s.Path, ErrCorrupt, base+at, klen, p.maxKey))
			}
			size = indexFixed + int(klen)
		} else {
			n, ok := entryLen(win[:head])
			if !ok || n > p.maxKey+maxEntryHead+4*binary.MaxVarintLen64 {
				return corrupt(fmt.Errorf("%s: %w: index entry at offset %d: bad length, or one over the key limit %d", s.Path, ErrCorrupt, base+at, p.maxKey))
			}
			size = int(n)
		}
		if size > p.to-at {
			return corrupt(fmt.Errorf("%s: %w: index entry at offset %d cut short at offset %d", s.Path, ErrCorrupt, base+at, base+p.to))
		}
		var entry []byte
		switch {
		case size <= br.Size():
			if len(win) < size {
				if err := more(size); err != nil {
					return readFailed(at, err)
				}
			}
			entry, win, used = win[:size], win[size:], used+size
		default: // read through br
			br.Discard(used)
			win, used = nil, 0
			var err error
			if p.bytes {
				long = slices.Grow(long[:0], size)[:size]
				_, err = io.ReadFull(br, long)
				entry = long
			} else {
				_, err = br.Discard(size)
			}
			if err != nil {
				return readFailed(at, err)
			}
		}
		if !p.bytes {
			entry = nil
		}
		if err := fn(at, entry); err != nil {
			return err
		}
		at += size
	}
	return nil
}

// verifyChunk is how much VerifyRecords reads at a time: small enough
// that what one pread copies is still in the core's cache when the CRC
// reads it back.
const verifyChunk = 256 << 10

// VerifyRecords checks the records section against the footer's CRC: one
// pass over the mapping. Open does not, so that a caller can run it
// alongside loading the index.
func (s *Snapshot) VerifyRecords() error {
	// Read with pread in large chunks rather than through the mapping:
	// no page fault per 4 KiB page, and nothing left resident.
	f, err := s.fs.Open(s.Path)
	if err != nil {
		return fmt.Errorf("pykv/snapshot: open %s: %w", s.Path, err)
	}
	defer f.Close()
	buf := make([]byte, verifyChunk)
	var crc uint32
	for off, end := int64(HeaderSize), int64(s.Footer.IndexOffset); off < end; {
		n := min(int64(len(buf)), end-off)
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return fmt.Errorf("pykv/snapshot: read %s at offset %d: %w", s.Path, off, err)
		}
		crc = crc32.Update(crc, castagnoli, buf[:n])
		off += n
	}
	if crc != s.Footer.RecordsCRC {
		return fmt.Errorf("%s: %w: records at offset %d: checksum stored %08x, computed %08x%s",
			s.Path, ErrCorrupt, HeaderSize, s.Footer.RecordsCRC, crc, s.firstBadRecord())
	}
	return nil
}

// firstBadRecord names the first record of the records section that does
// not decode, for an error message; "" when none is found. A version 3
// record checks only against its index entry, so there it is the bad
// record at the lowest offset that an index entry locates: the index is
// walked without waiting for its own check (start-up runs this beside
// the load that makes it), each entry's bounds still checked.
func (s *Snapshot) firstBadRecord() string {
	lim := segment.FormatLimits
	if s.Header.Version < VersionCompact {
		recs := s.data[HeaderSize:s.Footer.IndexOffset]
		for p := 0; p < len(recs); {
			_, n, err := segment.DecodeRecord(recs[p:], lim)
			if err != nil {
				return fmt.Sprintf(" (first bad record at offset %d: %v)", HeaderSize+p, err)
			}
			p += n
		}
		return ""
	}
	var first error
	at := uint64(math.MaxUint64)
	s.walkIndex(0, int(s.Footer.IndexLen), lim.MaxKey, func(e IndexEntry) error {
		if e.Tombstone() || e.Offset > at {
			return nil
		}
		if _, err := s.RecordAt(&e, lim); err != nil {
			first, at = err, e.Offset
		}
		return nil
	})
	if first == nil {
		return ""
	}
	return fmt.Sprintf(" (first bad record at offset %d: %v)", at, first)
}

// ID returns the snapshot's id: the newest segment it covers.
func (s *Snapshot) ID() uint32 { return s.Header.ID }

// Size returns the file's size.
func (s *Snapshot) Size() int64 { return int64(len(s.data)) }

// MaxKeyBytes returns a bound on the bytes of the keys in the index: the
// index's bytes less the least each entry takes beside its key.
func (s *Snapshot) MaxKeyBytes() int64 {
	fixed := int64(minIndexEntry - 1) // version 2: one byte of key length
	if s.Header.Version == VersionNoTombstones {
		fixed = indexFixed
	}
	return max(int64(s.Footer.IndexLen)-fixed*int64(s.Footer.Count), 0)
}

// RecordsEnd returns the offset where the records end and the index begins.
func (s *Snapshot) RecordsEnd() int64 { return int64(s.Footer.IndexOffset) }

// Index calls fn for each index entry in order, stopping at fn's first
// error. It checks each entry's bounds against the records section, so an
// entry can be trusted to point inside the file; an entry's key is valid
// only during the call.
func (s *Snapshot) Index(maxKey int, fn func(e IndexEntry) error) error {
	if err := s.checkIndex(); err != nil {
		return err
	}
	return s.walkIndex(0, int(s.Footer.IndexLen), maxKey, fn)
}

// loadRun is about how many bytes of whole index entries Load hands a
// worker at a time: small enough that the workers start at once and that
// a few runs in flight cost little memory, large enough that handing them
// over costs nothing per entry. A variable so that tests can make runs of
// an entry or two.
var loadRun = 256 << 10

// cutStride is how many entries apart Load's reader looks at the group
// once a run is long enough (see Load): a variable so that tests can try
// every stride.
var cutStride = 32

// errLoadStopped ends Load's scan once a worker has failed.
var errLoadStopped = errors.New("pykv/snapshot: load stopped")

// Load walks the whole index once, with n goroutines (n < 1 means 1)
// calling fn(worker, e) for the entries, in no particular order across
// runs, while one more goroutine reads the index in order and checks it as
// Open does (checksum, framing, count): for a snapshot from OpenForLoad
// this is the only pass over the index. The reader hands each worker a run
// of consecutive entries, at least loadRun bytes, ended where group (if not
// nil) changes from one key to the next: a loader whose index is in its own
// hash order (see Writer.OrderIndex) and whose group is its shard gets runs
// that share no shard, so its workers never wait for each other. After
// each run the worker calls done(worker), if done is not nil, where a
// worker must give back what another may need (a loader's shard lock).
//
// fn may see entries of an index that then fails its checksum: on any
// error the caller must throw away what it built from them. Bounds are
// checked as Index does. *e, its key included, is valid only during the
// call: fn gets a pointer to the worker's one entry, which the next
// overwrites, because an entry passed by value costs millions of stack
// copies at start-up.
func (s *Snapshot) Load(n, maxKey int, group func(key []byte) int, fn func(worker int, e *IndexEntry) error, done func(worker int)) error {
	n = max(n, 1)
	type run struct {
		at int // the index offset of its first entry
		b  []byte
	}
	work := make(chan run, n)
	// Every run in flight is one of these buffers: n being decoded, n
	// queued, one being filled.
	free := make(chan []byte, 2*n+1)
	for range cap(free) {
		free <- nil
	}
	var stop atomic.Bool
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if !stop.Load() {
					if err := s.decodeRun(r.at, r.b, maxKey, func(e *IndexEntry) error { return fn(w, e) }); err != nil {
						errs[w] = err
						stop.Store(true)
					}
				}
				if done != nil {
					done(w)
				}
				free <- r.b[:0]
			}
		}()
	}
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	f, err := s.fs.Open(s.Path)
	if err != nil {
		close(work)
		wg.Wait()
		return fmt.Errorf("pykv/snapshot: open %s: %w", s.Path, err)
	}
	defer f.Close()
	r := &runReader{
		s: s, f: f, group: group, stop: &stop,
		v1:   s.Header.Version == VersionNoTombstones,
		base: int(s.Footer.IndexOffset), end: int(s.Footer.IndexLen),
	}
	// A buffer holds a run (loadRun bytes and the entries up to the
	// group's change) and the chunk read past it.
	bufCap := loadRun + 2*loadChunk
	r.hand = func(at int, b []byte) []byte {
		if b != nil {
			work <- run{at, b}
		}
		if b = <-free; b == nil {
			b = make([]byte, 0, bufCap)
		}
		return b
	}
	err = r.run()
	close(work)
	wg.Wait()
	if err != nil && !errors.Is(err, errLoadStopped) {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.indexOK = true
	return nil
}

// entryKey returns the key of a whole index entry, as framed by readIndex
// (its length field agrees with its size), or nil if it is cut short:
// decoding it then reports the damage.
func entryKey(entry []byte, v1 bool) []byte {
	var klen uint64
	p := 4
	if v1 {
		if len(entry) < 4 {
			return nil
		}
		klen = uint64(binary.LittleEndian.Uint32(entry))
	} else {
		_, l, ok := uvarint(entry[:min(len(entry), maxEntryHead)])
		if !ok {
			return nil
		}
		var m int
		if klen, m, ok = uvarint(entry[l:]); !ok {
			return nil
		}
		p = l + m
	}
	if klen > uint64(len(entry)-p) {
		return nil
	}
	return entry[p : p+int(klen)]
}

// decodeRun decodes the whole entries of b, the first of which is at
// index offset at, checks their bounds and calls fn for each.
func (s *Snapshot) decodeRun(at int, b []byte, maxKey int, fn func(e *IndexEntry) error) error {
	var e IndexEntry
	for p := 0; p < len(b); {
		size, err := decodeIndexEntry(b[p:], s.Header.Version, maxKey, &e)
		if err != nil {
			return fmt.Errorf("%s: index entry at offset %d: %w", s.Path, int(s.Footer.IndexOffset)+at+p, err)
		}
		if err := s.checkEntry(&e, at+p); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
		p += size
	}
	return nil
}

// walkIndex calls fn for the entries in [from, to) of the index section,
// which must start at an entry.
func (s *Snapshot) walkIndex(from, to, maxKey int, fn func(e IndexEntry) error) error {
	return s.readIndex(indexPass{from: from, to: to, maxKey: uint64(maxKey), bytes: true}, func(at int, b []byte) error {
		return s.entry(b, at, maxKey, fn)
	})
}

// entry decodes the index entry b, found at index offset at, checks it
// points inside the records section and calls fn.
func (s *Snapshot) entry(b []byte, at, maxKey int, fn func(e IndexEntry) error) error {
	e, _, err := DecodeIndexEntry(b, s.Header.Version, maxKey)
	if err != nil {
		return fmt.Errorf("%s: index entry at offset %d: %w", s.Path, int(s.Footer.IndexOffset)+at, err)
	}
	if err := s.checkEntry(&e, at); err != nil {
		return err
	}
	return fn(e)
}

// checkEntry checks that e, the entry at index offset at, is a tombstone
// or points inside the records section.
//
// It runs for every entry at start-up, so it tests e.Size itself: through
// the value method e.Tombstone the compiler copied the whole entry onto
// the stack first (wide loads of the narrow stores decodeIndexEntry had
// just made, which the CPU cannot forward), 6% of start-up's CPU.
func (s *Snapshot) checkEntry(e *IndexEntry, at int) error {
	if e.Size == 0 && e.Offset == 0 && e.ExpireAt == 0 && s.Header.Version > VersionNoTombstones {
		return nil
	}
	least := uint32(segment.RecordHeaderSize)
	if s.Header.Version >= VersionCompact {
		least = minRecordV3
	}
	if !within(e.Offset, e.Size, s.Footer.IndexOffset) || e.Size < least {
		return fmt.Errorf("%s: %w: index entry at offset %d points at [%d, +%d), outside the records",
			s.Path, ErrCorrupt, int(s.Footer.IndexOffset)+at, e.Offset, e.Size)
	}
	return nil
}

// Record returns the encoded record at off, size bytes, aliasing the
// mapping (valid until Close).
func (s *Snapshot) Record(off uint64, size uint32) ([]byte, error) {
	if !within(off, size, s.Footer.IndexOffset) {
		return nil, fmt.Errorf("%s: %w: record [%d, +%d) outside the records", s.Path, ErrCorrupt, off, size)
	}
	return s.data[off : off+uint64(size)], nil
}

// Records passes every record to fn with its offset; the record's key and
// value alias the mapping. Up to version 2 it walks the records section
// in file order. A version 3 record holds no seq or expiry, so there it
// walks the index, in the index's order (pykv's merges write it in the
// keydir's hash order), and reads each entry's record (RecordAt): every
// record is still checked against its entry.
func (s *Snapshot) Records(lim segment.Limits, fn func(off int64, r segment.Record) error) error {
	if s.Header.Version >= VersionCompact {
		return s.Index(lim.MaxKey, func(e IndexEntry) error {
			if e.Tombstone() {
				return nil
			}
			r, err := s.RecordAt(&e, lim)
			if err != nil {
				return err
			}
			return fn(int64(e.Offset), r)
		})
	}
	end := int(s.Footer.IndexOffset)
	for p := HeaderSize; p < end; {
		r, n, err := segment.DecodeRecord(s.data[p:end], lim)
		if err != nil {
			return fmt.Errorf("%s: %w: record at offset %d: %w", s.Path, ErrCorrupt, p, err)
		}
		if err := fn(int64(p), r); err != nil {
			return err
		}
		p += n
	}
	return nil
}

// Verify checks every record's checksum and that the index and the records
// agree one to one (key, size, expiry, seq). It returns every problem
// found, each naming the file and the offset.
func (s *Snapshot) Verify(lim segment.Limits) []error {
	var errs []error
	if err := s.VerifyRecords(); err != nil {
		errs = append(errs, err)
	}
	if s.Header.Version >= VersionCompact {
		return append(errs, s.verifyCompact(lim)...)
	}
	type loc struct {
		size uint32
		r    segment.Record
	}
	recs := map[uint64]loc{}
	if err := s.Records(lim, func(off int64, r segment.Record) error {
		recs[uint64(off)] = loc{uint32(r.EncodedSize()), r}
		return nil
	}); err != nil {
		errs = append(errs, err)
	}
	seen, tombs := 0, uint32(0)
	err := s.Index(lim.MaxKey, func(e IndexEntry) error {
		if e.Tombstone() {
			tombs++
			return nil
		}
		l, ok := recs[e.Offset]
		switch {
		case !ok:
			if len(errs) == 0 {
				errs = append(errs, fmt.Errorf("%s: %w: index entry for key %q points at offset %d, where no record starts", s.Path, ErrCorrupt, e.Key, e.Offset))
			}
		case l.size != e.Size || !bytes.Equal(l.r.Key, e.Key) || l.r.Seq != e.Seq || l.r.ExpireAt != e.ExpireAt:
			errs = append(errs, fmt.Errorf("%s: %w: index entry for key %q disagrees with the record at offset %d (key %q seq %d)", s.Path, ErrCorrupt, e.Key, e.Offset, l.r.Key, l.r.Seq))
		default:
			seen++
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err == nil && len(errs) == 0 && seen != len(recs) {
		errs = append(errs, fmt.Errorf("%s: %w: %d records but %d index entries", s.Path, ErrCorrupt, len(recs), seen))
	}
	if err == nil && tombs != s.Footer.Tombstones {
		errs = append(errs, fmt.Errorf("%s: %w: the index holds %d tombstones, the footer says %d", s.Path, ErrCorrupt, tombs, s.Footer.Tombstones))
	}
	return errs
}

// verifyCompact is Verify's check of a version 3 file beyond the records
// crc: each entry's record checks against it (RecordAt), and the records
// the entries locate tile the records section, none overlapping another
// and no byte left over, since a record cannot be framed without its
// entry.
func (s *Snapshot) verifyCompact(lim segment.Limits) []error {
	var errs []error
	type span struct{ off, end uint64 }
	var spans []span
	tombs := uint32(0)
	err := s.Index(lim.MaxKey, func(e IndexEntry) error {
		if e.Tombstone() {
			tombs++
			return nil
		}
		if _, err := s.RecordAt(&e, lim); err != nil {
			errs = append(errs, err)
		}
		spans = append(spans, span{e.Offset, e.Offset + uint64(e.Size)})
		return nil
	})
	if err != nil {
		return append(errs, err)
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.off, b.off) })
	at := uint64(HeaderSize)
	for _, sp := range spans {
		if sp.off != at {
			what := "no record starts there; the next one at offset %d"
			if sp.off < at {
				what = "records overlap: one starts at offset %d"
			}
			errs = append(errs, fmt.Errorf("%s: %w: records section at offset %d: "+what, s.Path, ErrCorrupt, at, sp.off))
			break
		}
		at = sp.end
	}
	if len(errs) == 0 && at != s.Footer.IndexOffset {
		errs = append(errs, fmt.Errorf("%s: %w: records end at offset %d, the index starts at offset %d", s.Path, ErrCorrupt, at, s.Footer.IndexOffset))
	}
	if tombs != s.Footer.Tombstones {
		errs = append(errs, fmt.Errorf("%s: %w: the index holds %d tombstones, the footer says %d", s.Path, ErrCorrupt, tombs, s.Footer.Tombstones))
	}
	return errs
}

// Close unmaps the file. No slice obtained from the snapshot may be used
// afterwards.
func (s *Snapshot) Close() error { return s.unmap() }

// mapFile maps path read-only (see vfs.Map).
func mapFile(fs vfs.FS, path string) ([]byte, func() error, error) {
	data, release, err := vfs.Map(fs, path, false)
	if err != nil {
		return nil, nil, fmt.Errorf("pykv/snapshot: %w", err)
	}
	if len(data) == 0 {
		release()
		return nil, nil, fmt.Errorf("%s: %w: empty file", path, ErrCorrupt)
	}
	return data, release, nil
}

// within reports whether [off, off+size) lies in the records section, which
// ends at end, without overflowing on a hostile offset.
func within(off uint64, size uint32, end uint64) bool {
	return off >= HeaderSize && off <= end && uint64(size) <= end-off
}
