package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// ErrNotRetained is returned by Feed when the log after the asked seq is
// no longer on disk (a merge folded it into a snapshot and removed it):
// the reader needs a full sync (FullSync).
var ErrNotRetained = errors.New("pykv/storage: the log after that seq is no longer retained")

// ErrAhead is returned by Feed for a seq past every record this log holds:
// the asker's history is not a prefix of this one.
var ErrAhead = errors.New("pykv/storage: that seq is past the end of this log")

// feedChunk is how much of a segment a Feed reads at a time.
const feedChunk = 256 << 10

// A Feed reads the log from a seq on, as a leader streams it to a
// follower: the records' encoded bytes, exactly as the segments hold
// them, each whole, in seq order, and only once durable under the fsync
// policy, so that a follower never holds a record the leader could still
// take back. While it is open the segments it has not read yet stay on
// disk, even when a merge retires them. Not safe for concurrent use.
type Feed struct {
	db   *DB
	pin  *pin
	id   uint32   // segment being read
	path string   // its path
	f    vfs.File // its handle; nil until opened
	off  int64    // next byte to read in it
	last uint64   // seq of the last record returned (or skipped)
	buf  []byte
	need int // size of a record longer than a chunk, to read whole
}

// Feed returns a reader of every record with a seq above after.
// ErrNotRetained says a full sync is needed; ErrAhead that after is past
// the log's end.
func (db *DB) Feed(after uint64) (*Feed, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	// No merge may retire a segment between the choice and the pin.
	db.merges.mu.Lock()
	defer db.merges.mu.Unlock()
	return db.feedLocked(after, true)
}

// feedLocked is Feed; the caller holds merges.mu. An uncapped feed keeps
// what it needs whatever the backlog's bounds until it has caught up
// once (see retention.go).
func (db *DB) feedLocked(after uint64, capped bool) (*Feed, error) {
	if _, _, seq, _ := db.log.Durable(); after > seq {
		return nil, fmt.Errorf("%w: asked for the records after seq %d, the log ends at seq %d", ErrAhead, after, seq)
	}
	// The segment to start in is the last one whose first seq is at or
	// below after+1; every earlier one is not needed. A segment opened by
	// a flush will do for any seq before its own (the first it holds
	// anything after): the flush record subsumes every record before it,
	// so a follower that was behind it continues from it with a partial
	// sync, whatever the backlog has dropped (the segments between the
	// retained log and the flush are not needed either).
	var start uint32
	var startPath string
	for id, path, ok := db.files.nextSegment(0); ok; id, path, ok = db.files.nextSegment(id) {
		h, err := segmentHeader(db.opts.FS, path)
		if err != nil {
			return nil, err
		}
		if h.FirstSeq <= after+1 {
			start, startPath = id, path
			continue
		}
		if start == 0 && h.Version == segment.VersionFlush {
			start, startPath = id, path
		}
		if start != 0 {
			break
		}
	}
	if start == 0 {
		return nil, fmt.Errorf("%w: asked for the records after seq %d", ErrNotRetained, after)
	}
	return &Feed{db: db, pin: db.files.pin(start, capped), id: start, path: startPath, off: segment.HeaderSize, last: after}, nil
}

// segmentHeader reads the header of the segment at path.
func segmentHeader(fsys vfs.FS, path string) (segment.Header, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return segment.Header{}, fmt.Errorf("pykv/storage: open %s: %w", path, err)
	}
	defer f.Close()
	b := make([]byte, segment.HeaderSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		return segment.Header{}, fmt.Errorf("pykv/storage: read the header of %s: %w", path, err)
	}
	h, err := segment.DecodeHeader(b)
	if err != nil {
		return segment.Header{}, fmt.Errorf("pykv/storage: %s: %w", path, err)
	}
	return h, nil
}

// Last returns the seq of the last record the feed has returned (or the
// seq it started after).
func (f *Feed) Last() uint64 { return f.last }

// Next appends to dst the encoded records that follow the last one
// returned, as many whole records as fit in about max bytes (at least
// one), and returns dst and the seq of the last of them. It waits until
// there is at least one durable record to return, or ctx ends.
func (f *Feed) Next(ctx context.Context, dst []byte, max int) ([]byte, uint64, error) {
	start := len(dst)
	for {
		if f.db.closed.Load() {
			return dst, f.last, ErrClosed
		}
		if f.pin.isEvicted() {
			return dst, f.last, fmt.Errorf("%w: the follower fell behind by more than the backlog keeps (after seq %d)", ErrNotRetained, f.last)
		}
		active, durableOff, _, moved := f.db.log.Durable()
		end := durableOff
		if f.id < active {
			var err error
			if end, err = f.sealedEnd(); err != nil {
				return dst, f.last, err
			}
		}
		var err error
		dst, err = f.read(dst, end, start+max)
		if err != nil {
			return dst, f.last, err
		}
		if len(dst) > start {
			return dst, f.last, nil
		}
		if f.id < active && f.off >= end {
			if err := f.advance(); err != nil {
				return dst, f.last, err
			}
			continue
		}
		if err := f.db.log.Err(); err != nil {
			return dst, f.last, logFailed(err)
		}
		if !f.pin.capped {
			f.pin.setCapped(true) // caught up: the backlog's bounds apply from now on
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return dst, f.last, ctx.Err()
		}
	}
}

// sealedEnd returns the size of the sealed segment being read.
func (f *Feed) sealedEnd() (int64, error) {
	if err := f.open(); err != nil {
		return 0, err
	}
	n, err := f.f.Size()
	if err != nil {
		return 0, fmt.Errorf("pykv/storage: size of %s: %w", f.path, err)
	}
	return n, nil
}

func (f *Feed) open() error {
	if f.f != nil {
		return nil
	}
	h, err := f.db.opts.FS.Open(f.path)
	if err != nil {
		return fmt.Errorf("pykv/storage: open %s for a log feed: %w", f.path, err)
	}
	f.f = h
	return nil
}

// advance moves to the next segment.
func (f *Feed) advance() error {
	id, path, ok := f.db.files.nextSegment(f.id)
	if !ok {
		return fmt.Errorf("pykv/storage: log feed: no segment after %s", f.path)
	}
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	f.id, f.path, f.off = id, path, segment.HeaderSize
	f.pin.move(id)
	return nil
}

// read appends the whole records between f.off and end, up to limit bytes
// of dst (always at least one record when one is there), skipping those
// at or below f.last.
func (f *Feed) read(dst []byte, end int64, limit int) ([]byte, error) {
	for f.off < end && len(dst) < limit {
		if err := f.open(); err != nil {
			return dst, err
		}
		n := min(end-f.off, int64(max(feedChunk, limit-len(dst), f.need)))
		if int64(cap(f.buf)) < n {
			f.buf = make([]byte, n)
		}
		b := f.buf[:n]
		if _, err := f.f.ReadAt(b, f.off); err != nil {
			return dst, fmt.Errorf("pykv/storage: read %s at offset %d: %w", f.path, f.off, err)
		}
		used := 0
		for used < len(b) && len(dst) < limit {
			r, size, err := segment.DecodeRecord(b[used:], f.db.opts.limits())
			if errors.Is(err, segment.ErrShort) && used > 0 {
				break // the rest comes with the next read
			}
			if errors.Is(err, segment.ErrShort) {
				// One record longer than the buffer: read it whole.
				need, ok := recordSize(b)
				if !ok || need <= len(b) || f.off+int64(need) > end {
					return dst, fmt.Errorf("pykv/storage: %s at offset %d: record cut short within the durable log", f.path, f.off)
				}
				f.need = need
				break
			}
			f.need = 0
			if err != nil {
				return dst, fmt.Errorf("pykv/storage: %s at offset %d: %w", f.path, f.off+int64(used), err)
			}
			if r.Seq > f.last {
				dst = append(dst, b[used:used+size]...)
				if !r.More {
					f.last = r.Seq
				}
			}
			used += size
		}
		f.off += int64(used)
	}
	return dst, nil
}

// recordSize reads the total size of the record at the start of b from
// its length field.
func recordSize(b []byte) (int, bool) {
	if len(b) < 8 {
		return 0, false
	}
	return 8 + int(uint32(b[4])|uint32(b[5])<<8|uint32(b[6])<<16|uint32(b[7])<<24), true
}

// Close releases the feed's segments.
func (f *Feed) Close() {
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	f.pin.release()
}

// A Sync is what a follower's full sync copies: the live snapshot's
// records, which hold every key as of seq Covered, and a Feed of the log
// after Covered. Together they are the dataset as of any seq the feed
// reaches. The snapshot stays mapped and the log after it on disk until
// Close, whatever merges run meanwhile.
type Sync struct {
	// Covered is the seq the snapshot covers (0 when there is none):
	// every record of the dataset up to it is in Records.
	Covered uint64
	// Feed reads the log after Covered.
	Feed *Feed
	db   *DB
	snap *dataFile // nil without a snapshot
}

// FullSync returns a Sync of the dataset as it is now.
func (db *DB) FullSync() (*Sync, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	db.merges.mu.Lock()
	defer db.merges.mu.Unlock()
	if len(db.files.snapshots()) > 1 {
		// A follower takes one snapshot: fold the set into one, with the
		// sealed segments (the feed reads the rest).
		if _, err := db.mergeSealed(true); err != nil {
			return nil, err
		}
	}
	s := &Sync{db: db, snap: db.files.liveSnapshot(), Covered: db.fileSet.covered}
	if s.snap != nil {
		// The set may cover more than its one file does (a merge dropped
		// a newer file whose records were all dead, and the log it
		// covered with it): the file is the dataset as of the set's seq.
		s.Covered = max(s.snap.snap.Header.CoveredSeq, db.fileSet.covered)
	}
	if f := db.flushedBelow.Load(); f != 0 && f >= db.fileSet.firstSeg {
		// A flush made the snapshot and the log before it dead: the
		// dataset is the log from the flush on, and no snapshot is sent.
		h, err := segmentHeader(db.opts.FS, db.segPath(f))
		if err != nil {
			s.Close()
			return nil, err
		}
		if s.snap != nil {
			db.files.release(s.snap)
			s.snap = nil
		}
		s.Covered = h.FirstSeq - 1
	}
	feed, err := db.feedLocked(s.Covered, false)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Feed = feed
	return s, nil
}

// Keys returns the number of records Records passes.
func (s *Sync) Keys() uint64 {
	if s.snap == nil {
		return 0
	}
	return s.snap.snap.Footer.Count - uint64(s.snap.snap.Footer.Tombstones)
}

// Records passes the snapshot's records to fn in the snapshot's order
// (file order up to version 2, index order from version 3: see
// snapshot.Snapshot.Records), each decoded into a set record with its
// seq and expiry, which the leader sends in the segment record encoding
// whatever the file's version; their keys and values alias the mapping
// and are valid only during the call.
func (s *Sync) Records(fn func(r segment.Record) error) error {
	if s.snap == nil {
		return nil
	}
	return s.snap.snap.Records(s.db.opts.limits(), func(_ int64, r segment.Record) error { return fn(r) })
}

// Close releases the snapshot and the feed.
func (s *Sync) Close() {
	if s.snap != nil {
		s.db.files.release(s.snap)
		s.snap = nil
	}
	if s.Feed != nil {
		s.Feed.Close()
	}
}
