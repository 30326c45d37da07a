package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync/atomic"
)

// loadChunk is how much Load's reader asks one pread for: small enough
// that the bytes a cut carries over to the next run stay few, and that
// the CRC reads them while they are still in the core's cache. A variable
// so that tests can cut entries anywhere.
var loadChunk = 64 << 10

// runReader is Load's reader: it reads the index section with pread
// straight into the buffers the workers decode, checks the index's CRC,
// frames the entries in a tight loop over the buffer and cuts it into
// runs where the group changes (see Load), carrying the bytes after a cut
// over to the next buffer. Against a loop that hands every entry to a
// callback which appends it to a run, it copies no entry in user space
// and calls nothing per entry: the reader is the one serial part of a
// load, and it was a sixth of its CPU.
type runReader struct {
	s     *Snapshot
	f     io.ReaderAt
	group func(key []byte) int
	hand  func(at int, b []byte) []byte // gives a run to the workers, returns an empty buffer
	stop  *atomic.Bool
	v1    bool
	base  int    // the file offset of the index
	end   int    // the index's length
	read  int    // how much of the index has been read
	crc   uint32 // of the bytes read so far
	count uint64 // entries framed
}

// run reads and frames the whole index, handing every entry to the
// workers in runs, and checks it as scanIndex does: a read error or a
// stop first, then the checksum, then the framing, then the count.
func (r *runReader) run() error {
	err := r.runs()
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return err // could not read it, or a worker failed
	}
	if err != nil {
		// The framing failed: the checksum, over the rest too, says
		// whether the bytes are damaged, which is the better report.
		if rerr := r.drain(); rerr != nil {
			return rerr
		}
	}
	f := r.s.Footer
	if r.crc != f.IndexCRC {
		return fmt.Errorf("%s: %w: index at offset %d: checksum stored %08x, computed %08x", r.s.Path, ErrCorrupt, f.IndexOffset, f.IndexCRC, r.crc)
	}
	if err != nil {
		return err
	}
	if r.count != f.Count {
		return fmt.Errorf("%s: %w: index at offset %d, %d bytes: its entries end at offset %d and number %d, footer says %d", r.s.Path, ErrCorrupt, f.IndexOffset, f.IndexLen, f.IndexOffset+f.IndexLen, r.count, f.Count)
	}
	return nil
}

// fill reads up to loadChunk more bytes of the index onto the end of b,
// growing b if it is full.
func (r *runReader) fill(b []byte) ([]byte, error) {
	n := min(loadChunk, r.end-r.read)
	if cap(b)-len(b) < n {
		b = slices.Grow(b, max(n, cap(b)))
	}
	buf := b[len(b) : len(b)+n]
	if _, err := r.f.ReadAt(buf, int64(r.base+r.read)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the index is shorter than the footer says: the file shrank
		}
		return b, fmt.Errorf("pykv/snapshot: read index of %s at offset %d: %w", r.s.Path, r.base+r.read, err)
	}
	r.crc = crc32.Update(r.crc, castagnoli, buf)
	r.read += n
	return b[:len(b)+n], nil
}

// drain reads the rest of the index into the checksum.
func (r *runReader) drain() error {
	buf := make([]byte, 0, loadChunk)
	for r.read < r.end {
		var err error
		if buf, err = r.fill(buf[:0]); err != nil {
			return err
		}
	}
	return nil
}

// frame returns the size of the entry at b[p:], whose offset in the index
// is pos, or 0 if b does not hold all of it yet. Its checks and their
// messages are readIndex's, with no key limit: the workers check the key
// as they decode.
func (r *runReader) frame(b []byte, p, pos int) (int, error) {
	s := r.s
	left := r.end - pos
	head := 4
	if !r.v1 {
		head = min(maxEntryHead, left)
	}
	if left < head {
		return 0, fmt.Errorf("%s: %w: index entry at offset %d cut short at offset %d", s.Path, ErrCorrupt, r.base+pos, r.base+r.end)
	}
	if len(b)-p < head {
		return 0, nil
	}
	var size int
	if r.v1 {
		size = indexFixed + int(binary.LittleEndian.Uint32(b[p:]))
	} else {
		n, ok := entryLen(b[p : p+head])
		if !ok {
			return 0, fmt.Errorf("%s: %w: index entry at offset %d: bad length, or one over the key limit %d", s.Path, ErrCorrupt, r.base+pos, uint64(math.MaxUint32))
		}
		size = int(n)
	}
	if size > left {
		return 0, fmt.Errorf("%s: %w: index entry at offset %d cut short at offset %d", s.Path, ErrCorrupt, r.base+pos, r.base+r.end)
	}
	if len(b)-p < size {
		return 0, nil
	}
	return size, nil
}

// runs is run's loop. b holds the index from offset at on; p is where
// in b the next entry to frame starts. A run is at least loadRun bytes
// and ends where the group changes (when group is not nil), found as
// Load's doc says: the group is looked at every cutStride entries once a
// run is long enough, keeping where each entry since the last look starts
// (marks, the first of them of group last), and the change between two
// looks is found by bisection. What follows a cut goes to the next buffer
// and is framed again there, as that run's.
func (r *runReader) runs() error {
	b := r.hand(0, nil) // an empty buffer
	at, p := 0, 0
	last := -1
	var marks []int
	groupAt := func(off int) int { return r.group(entryKey(b[off:], r.v1)) }
	// cut hands b[:c] and starts the next buffer with what follows it.
	cut := func(c int) {
		next := r.hand(at, b[:c])
		next = append(next, b[c:]...)
		// Entries between c and p are framed again in the next run.
		if c < p {
			r.count -= uint64(len(marks) - slices.Index(marks, c))
		}
		b, at, p, last, marks = next, at+c, 0, -1, marks[:0]
	}
	// bisect returns the first mark of another group than last, marks[hi]
	// being one (hi = len(marks): the entry at p).
	bisect := func(hi int) int {
		lo := 0
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; groupAt(marks[mid]) == last {
				lo = mid
			} else {
				hi = mid
			}
		}
		if hi == len(marks) {
			return p
		}
		return marks[hi]
	}
	for {
		if r.stop.Load() {
			return errLoadStopped
		}
		// Frame the entries b holds, the one-byte lengths inline: most
		// entries of a version 2 or 3 index.
		for p < loadRun && at+p < r.end {
			if !r.v1 && p < len(b) && b[p] < 0x80 {
				if size := 1 + int(b[p]); p+size <= len(b) { // b ends where the reading has got to, at most the index's end
					p += size
					r.count++
					continue
				}
			}
			size, err := r.frame(b, p, at+p)
			if err != nil {
				return err
			}
			if size == 0 {
				break
			}
			p += size
			r.count++
		}
		if p >= loadRun {
			if r.group == nil {
				// b[:p] is a run: the first entries that reach loadRun bytes.
				if p < len(b) || at+p < r.end {
					cut(p)
					continue
				}
			} else if at+p < r.end {
				size, err := r.frame(b, p, at+p)
				if err != nil {
					return err
				}
				if size > 0 {
					switch {
					case last < 0:
						last = groupAt(p)
						marks = append(marks[:0], p)
					case len(marks) < cutStride:
						marks = append(marks, p)
					default:
						if groupAt(p) == last {
							marks = append(marks[:0], p)
							break
						}
						cut(bisect(len(marks)))
						continue
					}
					p += size
					r.count++
					continue
				}
			}
		}
		if at+p == r.end {
			// The index ended between two looks: cut where the group
			// changed since the last one, as often as it did.
			if last >= 0 && len(marks) > 1 && groupAt(marks[len(marks)-1]) != last {
				cut(bisect(len(marks) - 1))
				continue
			}
			if p > 0 {
				r.hand(at, b[:p])
			}
			return nil
		}
		var err error
		if b, err = r.fill(b); err != nil {
			return err
		}
	}
}
