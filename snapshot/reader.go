package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/edsrzf/mmap-go"

	"github.com/pykv/pykv/internal/vfs"
	"github.com/pykv/pykv/segment"
)

// Snapshot is an open, verified snapshot file.
type Snapshot struct {
	Path   string
	Header Header
	Footer Footer
	data   []byte
	unmap  func() error
	fs     vfs.FS
	// idx is a copy of the index section, read with one pread rather than
	// faulted in page by page through the mapping (a page fault is costly
	// on a virtual machine); DropIndex frees it once the keydir is loaded.
	idx []byte
}

// Open maps the snapshot at path read-only and verifies its header, its
// footer and the checksum of its index. VerifyRecords checks the records
// section; each record is also checked when read.
func Open(fs vfs.FS, path string) (*Snapshot, error) {
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
	if f.CoveredSeq != h.CoveredSeq {
		return fmt.Errorf("%s: %w: header covers seq %d, footer at offset %d seq %d", s.Path, ErrCorrupt, h.CoveredSeq, size-FooterSize, f.CoveredSeq)
	}
	s.Footer = f
	idx, err := s.loadIndex()
	if err != nil {
		return err
	}
	if got := crc32.Checksum(idx, castagnoli); got != f.IndexCRC {
		return fmt.Errorf("%s: %w: index at offset %d: checksum stored %08x, computed %08x", s.Path, ErrCorrupt, f.IndexOffset, f.IndexCRC, got)
	}
	s.Header, s.Footer = h, f
	return nil
}

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
	buf := make([]byte, 4<<20)
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
		recs := s.data[HeaderSize:s.Footer.IndexOffset]
		return fmt.Errorf("%s: %w: records at offset %d: checksum stored %08x, computed %08x%s",
			s.Path, ErrCorrupt, HeaderSize, s.Footer.RecordsCRC, crc, firstBadRecord(recs))
	}
	return nil
}

// loadIndex returns the index section, reading it with one pread the first
// time.
func (s *Snapshot) loadIndex() ([]byte, error) {
	if s.idx != nil || s.Footer.IndexLen == 0 {
		return s.idx, nil
	}
	f, err := s.fs.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("pykv/snapshot: open %s: %w", s.Path, err)
	}
	defer f.Close()
	idx := make([]byte, s.Footer.IndexLen)
	if _, err := f.ReadAt(idx, int64(s.Footer.IndexOffset)); err != nil {
		return nil, fmt.Errorf("pykv/snapshot: read index of %s at offset %d: %w", s.Path, s.Footer.IndexOffset, err)
	}
	s.idx = idx
	return idx, nil
}

// DropIndex frees the copy of the index section; Index reads it again if
// called later.
func (s *Snapshot) DropIndex() { s.idx = nil }

// firstBadRecord names the first record of recs (the records section) that
// does not decode, for an error message.
func firstBadRecord(recs []byte) string {
	lim := segment.Limits{MaxKey: 1 << 30, MaxValue: 1 << 30}
	for p := 0; p < len(recs); {
		_, n, err := segment.DecodeRecord(recs[p:], lim)
		if err != nil {
			return fmt.Sprintf(" (first bad record at offset %d: %v)", HeaderSize+p, err)
		}
		p += n
	}
	return ""
}

// ID returns the snapshot's id: the newest segment it covers.
func (s *Snapshot) ID() uint32 { return s.Header.ID }

// Size returns the file's size.
func (s *Snapshot) Size() int64 { return int64(len(s.data)) }

// RecordsEnd returns the offset where the records end and the index begins.
func (s *Snapshot) RecordsEnd() int64 { return int64(s.Footer.IndexOffset) }

// Index calls fn for each index entry in order, stopping at fn's first
// error. It checks each entry's bounds against the records section, so an
// entry can be trusted to point inside the file; entry keys alias the
// mapping.
func (s *Snapshot) Index(maxKey int, fn func(e IndexEntry) error) error {
	n, err := s.walkIndex(0, int(s.Footer.IndexLen), maxKey, fn)
	if err == nil && n != s.Footer.Count {
		err = fmt.Errorf("%s: %w: index holds %d entries, footer says %d", s.Path, ErrCorrupt, n, s.Footer.Count)
	}
	return err
}

func (s *Snapshot) index() []byte {
	if idx, err := s.loadIndex(); err == nil && idx != nil {
		return idx
	}
	return s.data[s.Footer.IndexOffset : s.Footer.IndexOffset+s.Footer.IndexLen]
}

// walkIndex calls fn for the entries in [from, to) of the index section
// and returns how many it saw.
func (s *Snapshot) walkIndex(from, to, maxKey int, fn func(e IndexEntry) error) (uint64, error) {
	idx := s.index()[:to]
	end := s.Footer.IndexOffset
	var n uint64
	for p := from; p < len(idx); n++ {
		e, size, err := DecodeIndexEntry(idx[p:], maxKey)
		if err != nil {
			return n, fmt.Errorf("%s: index entry at offset %d: %w", s.Path, int(s.Footer.IndexOffset)+p, err)
		}
		if !within(e.Offset, e.Size, end) || e.Size < segment.RecordHeaderSize {
			return n, fmt.Errorf("%s: %w: index entry at offset %d points at [%d, +%d), outside the records",
				s.Path, ErrCorrupt, int(s.Footer.IndexOffset)+p, e.Offset, e.Size)
		}
		if err := fn(e); err != nil {
			return n, err
		}
		p += size
	}
	return n, nil
}

// Record returns the encoded record at off, size bytes, aliasing the
// mapping (valid until Close).
func (s *Snapshot) Record(off uint64, size uint32) ([]byte, error) {
	if !within(off, size, s.Footer.IndexOffset) {
		return nil, fmt.Errorf("%s: %w: record [%d, +%d) outside the records", s.Path, ErrCorrupt, off, size)
	}
	return s.data[off : off+uint64(size)], nil
}

// Records iterates the records section in order: fn gets each record (its
// key and value alias the mapping) and its offset.
func (s *Snapshot) Records(lim segment.Limits, fn func(off int64, r segment.Record) error) error {
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
	seen := 0
	err := s.Index(lim.MaxKey, func(e IndexEntry) error {
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
	return errs
}

// Close unmaps the file. No slice obtained from the snapshot may be used
// afterwards.
func (s *Snapshot) Close() error { return s.unmap() }

// mapFile maps path read-only: through mmap for the OS file system, by
// reading it whole for others (tests' in-memory file systems).
func mapFile(fs vfs.FS, path string) ([]byte, func() error, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("pykv/snapshot: open %s: %w", path, err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("pykv/snapshot: size of %s: %w", path, err)
	}
	if size == 0 {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w: empty file", path, ErrCorrupt)
	}
	if osf, ok := vfs.OSFile(f); ok {
		m, err := mmap.Map(osf, mmap.RDONLY, 0)
		f.Close() // the mapping outlives the descriptor
		if err != nil {
			return nil, nil, fmt.Errorf("pykv/snapshot: mmap %s: %w", path, err)
		}
		return m, m.Unmap, nil
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("pykv/snapshot: read %s: %w", path, err)
	}
	return buf, func() error { return nil }, nil
}

// within reports whether [off, off+size) lies in the records section, which
// ends at end, without overflowing on a hostile offset.
func within(off uint64, size uint32, end uint64) bool {
	return off >= HeaderSize && off <= end && uint64(size) <= end-off
}
