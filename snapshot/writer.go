package snapshot

import (
	"bufio"
	"cmp"
	"fmt"
	"hash/crc32"
	"math"
	"path/filepath"
	"slices"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// Writer writes a new snapshot under a temporary name; Finish makes it
// durable and visible, Abort removes it.
type Writer struct {
	fs      vfs.FS
	dir     string
	id      uint32
	version uint16 // Version, but for tests that write older files
	tmp     string
	f       vfs.File
	bw      *bufio.Writer
	off     int64
	index   []byte // the index section, built in memory (32 bytes + key per record), without OrderIndex
	count   uint64
	tombs   uint32 // tombstones among count
	seq     uint64
	lo      uint64 // lowest seq added, 0 before the first
	rec     []byte
	crc     uint32 // running CRC-32C of the records section

	order func(key []byte) uint64 // see OrderIndex; nil keeps the order of Add
	keyed []orderedEntry          // with order: each entry's sort key and place in side
	side  *sideFile               // with order: the entries in the order of Add
}

// sideFile holds the index entries of an ordered Writer in the order of Add
// until Finish sorts them, on disk rather than in memory: 32 bytes and the
// key per entry, which at 5M keys would double a daemon's memory for the
// length of a merge. Its name ends in .tmp, so start-up removes it if a
// crash leaves it behind.
type sideFile struct {
	path string
	f    vfs.File
	bw   *bufio.Writer
	size uint64
}

// orderedEntry places one index entry for sorting: its sort key, and its
// offset in the side file.
type orderedEntry struct {
	key uint64
	off uint64
}

// OrderIndex makes Finish write the index entries in ascending order of
// by(key) rather than in the order of Add; equal values keep the order of
// Add. The order is a hint for loaders (pykv's keydir loads fastest in its
// own hash order, see index.Keydir.Hash); readers must not rely on it.
// Call it before the first Add. The entries wait in a temporary file next
// to the snapshot, and 16 bytes per entry stay in memory until Finish.
func (w *Writer) OrderIndex(by func(key []byte) uint64) error {
	path := w.tmp + ".index.tmp"
	f, err := w.fs.Create(path)
	if err != nil {
		return fmt.Errorf("pykv/snapshot: create %s: %w", path, err)
	}
	w.order, w.side = by, &sideFile{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	return nil
}

// Create starts snapshot id in dir covering every record up to seq, in
// the format of Version.
func Create(fs vfs.FS, dir string, id uint32, coveredSeq uint64) (*Writer, error) {
	return createVersion(fs, dir, id, coveredSeq, Version)
}

// createVersion is Create in the format of version, VersionTombstones or
// Version: tests write the older one to prove that it is still read.
func createVersion(fs vfs.FS, dir string, id uint32, coveredSeq uint64, version uint16) (*Writer, error) {
	if version != Version && version != VersionTombstones {
		return nil, fmt.Errorf("pykv/snapshot: cannot write version %d", version)
	}
	tmp := Path(dir, id) + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("pykv/snapshot: create %s: %w", tmp, err)
	}
	w := &Writer{fs: fs, dir: dir, id: id, version: version, tmp: tmp, f: f, bw: bufio.NewWriterSize(f, 1<<20), seq: coveredSeq}
	if _, err := w.bw.Write(appendHeader(nil, Header{Version: version, ID: id, CoveredSeq: coveredSeq})); err != nil {
		w.Abort()
		return nil, err
	}
	w.off = HeaderSize
	return w, nil
}

// Add appends a set record and returns where it lies in the snapshot.
func (w *Writer) Add(r *segment.Record) (offset int64, size uint32, err error) {
	if r.Type != segment.TypeSet {
		return 0, 0, fmt.Errorf("pykv/snapshot: only set records are stored, got type %d", r.Type)
	}
	if len(r.Key) > segment.FormatLimits.MaxKey || len(r.Value) > segment.FormatLimits.MaxValue {
		return 0, 0, fmt.Errorf("pykv/snapshot: %s: a key of %d bytes or a value of %d is over the format's limits (%d, %d)",
			w.tmp, len(r.Key), len(r.Value), segment.FormatLimits.MaxKey, segment.FormatLimits.MaxValue)
	}
	if w.version >= VersionCompact {
		w.rec = appendRecordV3(w.rec[:0], r.Seq, r.ExpireAt, r.Key, r.Value)
	} else {
		rec := *r
		rec.More = false
		w.rec = segment.AppendRecord(w.rec[:0], &rec)
	}
	if _, err := w.bw.Write(w.rec); err != nil {
		return 0, 0, fmt.Errorf("pykv/snapshot: write %s: %w", w.tmp, err)
	}
	w.crc = crc32.Update(w.crc, castagnoli, w.rec)
	offset, size = w.off, uint32(len(w.rec))
	if err := w.addEntry(&IndexEntry{Key: r.Key, Offset: uint64(offset), Size: size, ExpireAt: r.ExpireAt, Seq: r.Seq}); err != nil {
		return 0, 0, err
	}
	w.off += int64(size)
	return offset, size, nil
}

// AddTombstone records that key was deleted at seq: an index entry of
// size 0 with no record, which start-up applies over the older files of
// the set that may still hold the key.
func (w *Writer) AddTombstone(key []byte, seq uint64) error {
	if w.tombs == math.MaxUint32 {
		return fmt.Errorf("pykv/snapshot: %s: more than %d tombstones", w.tmp, uint32(math.MaxUint32))
	}
	if err := w.addEntry(&IndexEntry{Key: key, Seq: seq}); err != nil {
		return err
	}
	w.tombs++
	return nil
}

// addEntry adds e to the index, in memory or, with OrderIndex, to the
// side file.
func (w *Writer) addEntry(e *IndexEntry) error {
	if w.order == nil {
		w.index = appendIndexEntry(w.index, e)
	} else {
		w.keyed = append(w.keyed, orderedEntry{key: w.order(e.Key), off: w.side.size})
		w.rec = appendIndexEntry(w.rec[:0], e)
		if _, err := w.side.bw.Write(w.rec); err != nil {
			return fmt.Errorf("pykv/snapshot: write %s: %w", w.side.path, err)
		}
		w.side.size += uint64(len(w.rec))
	}
	if w.lo == 0 || e.Seq < w.lo {
		w.lo = e.Seq
	}
	w.count++
	return nil
}

// MinSeq returns the lowest seq of the records and tombstones added, 0
// when there are none.
func (w *Writer) MinSeq() uint64 { return w.lo }

// Tombstones returns how many tombstones were added.
func (w *Writer) Tombstones() uint32 { return w.tombs }

// ID returns the id the snapshot is written under.
func (w *Writer) ID() uint32 { return w.id }

// Count returns how many records and tombstones were added.
func (w *Writer) Count() uint64 { return w.count }

// Finish writes the index and footer, fsyncs the file, renames it to its
// final name and fsyncs the directory. It returns the final path.
func (w *Writer) Finish() (string, error) {
	fail := func(what string, err error) (string, error) {
		w.Abort()
		return "", fmt.Errorf("pykv/snapshot: %s %s: %w", what, w.tmp, err)
	}
	idxCRC, idxLen, err := w.writeIndex()
	w.dropSide()
	if err != nil {
		return fail("write index of", err)
	}
	foot := Footer{IndexOffset: uint64(w.off), IndexLen: idxLen, Count: w.count,
		CoveredSeq: w.seq, IndexCRC: idxCRC, RecordsCRC: w.crc, Tombstones: w.tombs}
	if _, err := w.bw.Write(appendFooter(nil, foot)); err != nil {
		return fail("write footer of", err)
	}
	if err := w.bw.Flush(); err != nil {
		return fail("write", err)
	}
	if err := w.f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		return fail("close", err)
	}
	w.f = nil
	final := Path(w.dir, w.id)
	if err := w.fs.Rename(w.tmp, final); err != nil {
		return fail("rename", err)
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		// The rename may or may not survive a crash; both are consistent.
		return "", fmt.Errorf("pykv/snapshot: fsync directory %s: %w", filepath.Clean(w.dir), err)
	}
	return final, nil
}

// writeIndex writes the index section, in the order OrderIndex asked for,
// and returns its CRC-32C.
func (w *Writer) writeIndex() (crc uint32, size uint64, err error) {
	if w.order == nil {
		_, err := w.bw.Write(w.index)
		return crc32.Checksum(w.index, castagnoli), uint64(len(w.index)), err
	}
	if err := w.side.bw.Flush(); err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", w.side.path, err)
	}
	side, release, err := vfs.Map(w.fs, w.side.path, false)
	if err != nil {
		return 0, 0, err
	}
	defer release()
	if uint64(len(side)) != w.side.size {
		return 0, 0, fmt.Errorf("%s holds %d bytes, %d written", w.side.path, len(side), w.side.size)
	}
	slices.SortFunc(w.keyed, func(a, b orderedEntry) int { // offsets differ: stable
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.off, b.off))
	})
	for _, k := range w.keyed {
		n, ok := entryLen(side[k.off:])
		if !ok || k.off+n > uint64(len(side)) {
			return 0, 0, fmt.Errorf("%s: entry at offset %d does not decode", w.side.path, k.off)
		}
		e := side[k.off : k.off+n]
		crc = crc32.Update(crc, castagnoli, e)
		if _, err := w.bw.Write(e); err != nil {
			return 0, 0, err
		}
	}
	w.keyed = nil
	return crc, w.side.size, nil
}

// dropSide closes and removes the side file, if any.
func (w *Writer) dropSide() {
	if w.side != nil {
		w.side.f.Close()
		w.fs.Remove(w.side.path)
		w.side = nil
	}
}

// Abort closes and removes the temporary files.
func (w *Writer) Abort() {
	w.dropSide()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.fs.Remove(w.tmp)
}
