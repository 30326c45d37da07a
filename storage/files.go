package storage

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// snapFlag marks a keydir FileID as a snapshot's: snapshots are named after
// the newest segment they cover, so their numbers overlap segment ids.
const snapFlag = 1 << 31

// errGone is returned for a file retired by a merge: the caller looks the
// key up again, since the keydir has moved on.
var errGone = errors.New("pykv/storage: data file retired by a merge")

// dataFile is one segment or snapshot that readers may use.
type dataFile struct {
	id       uint32 // keydir FileID
	path     string
	size     int64
	f        vfs.File           // segments: a read handle, opened on first use
	snap     *snapshot.Snapshot // snapshots: the mapping
	refs     int
	obsolete bool // retired by a merge: removed once no reader holds it
	closing  bool // the engine is closing: closed once no reader holds it
}

// fileTable holds the data files readers may use, with reference counts, so
// that a merge removes a file only once no reader holds it.
type fileTable struct {
	fs    vfs.FS
	mu    sync.Mutex
	files map[uint32]*dataFile
	// pins are the oldest segment each log reader (a replication feed)
	// still needs; kept holds the segments a merge retired that a pin
	// keeps on disk until the reader has passed them.
	pins map[*pin]uint32
	kept map[uint32]*dataFile
}

// pin keeps the segments from one id on on disk for a log reader, even
// once a merge has retired them.
type pin struct{ t *fileTable }

func newFileTable(fs vfs.FS) *fileTable {
	return &fileTable{fs: fs, files: map[uint32]*dataFile{}, pins: map[*pin]uint32{}, kept: map[uint32]*dataFile{}}
}

// addSegment registers segment id at path; it is opened on its first read.
func (t *fileTable) addSegment(id uint32, path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	size, _ := t.fs.Stat(path)
	t.files[id] = &dataFile{id: id, path: path, size: size}
}

// addSnapshot registers an open snapshot.
func (t *fileTable) addSnapshot(s *snapshot.Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := s.ID() | snapFlag
	t.files[id] = &dataFile{id: id, path: s.Path, size: s.Size(), snap: s}
}

// acquire returns file id for reading; the caller must release it.
func (t *fileTable) acquire(id uint32) (*dataFile, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	df, ok := t.files[id]
	if !ok || df.obsolete {
		return nil, errGone
	}
	if df.snap == nil && df.f == nil {
		f, err := t.fs.Open(df.path)
		if err != nil {
			return nil, fmt.Errorf("pykv/storage: open %s: %w", df.path, err)
		}
		df.f = f
	}
	df.refs++
	return df, nil
}

func (t *fileTable) release(df *dataFile) {
	t.mu.Lock()
	df.refs--
	drop := df.obsolete && df.refs == 0 && t.kept[df.id] != df
	shut := df.closing && !df.obsolete && df.refs == 0
	t.mu.Unlock()
	if drop {
		t.drop(df)
	}
	if shut {
		df.close()
	}
}

// retire removes files from the table; each is closed and deleted once no
// reader holds it. It returns the bytes retired.
func (t *fileTable) retire(ids []uint32) int64 {
	var now []*dataFile
	var bytes int64
	t.mu.Lock()
	for _, id := range ids {
		df, ok := t.files[id]
		if !ok {
			continue
		}
		delete(t.files, id)
		df.obsolete = true
		bytes += df.size
		if id&snapFlag == 0 && t.pinnedLocked(id) {
			t.kept[id] = df
			continue
		}
		if df.refs == 0 {
			now = append(now, df)
		}
	}
	t.mu.Unlock()
	for _, df := range now {
		t.drop(df)
	}
	return bytes
}

// pinnedLocked reports whether a pin still needs segment id.
func (t *fileTable) pinnedLocked(id uint32) bool {
	for _, from := range t.pins {
		if id >= from {
			return true
		}
	}
	return false
}

// pin keeps segment from and every later one on disk until the pin
// moves past them or is released.
func (t *fileTable) pin(from uint32) *pin {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &pin{t: t}
	t.pins[p] = from
	return p
}

// move says the reader no longer needs segments before from; kept ones
// below every pin are removed.
func (p *pin) move(from uint32) {
	t := p.t
	t.mu.Lock()
	if _, ok := t.pins[p]; ok {
		t.pins[p] = from
	}
	t.mu.Unlock()
	t.dropUnpinned()
}

// release ends the pin.
func (p *pin) release() {
	t := p.t
	t.mu.Lock()
	delete(t.pins, p)
	t.mu.Unlock()
	t.dropUnpinned()
}

func (t *fileTable) dropUnpinned() {
	var now []*dataFile
	t.mu.Lock()
	for id, df := range t.kept {
		if !t.pinnedLocked(id) {
			delete(t.kept, id)
			if df.refs == 0 {
				now = append(now, df)
			}
		}
	}
	t.mu.Unlock()
	for _, df := range now {
		t.drop(df)
	}
}

// nextSegment returns the lowest segment id above after, among the
// registered and the kept segments, and its path.
func (t *fileTable) nextSegment(after uint32) (uint32, string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	best, path := uint32(0), ""
	for _, m := range []map[uint32]*dataFile{t.files, t.kept} {
		for id, df := range m {
			if id&snapFlag == 0 && id > after && (best == 0 || id < best) {
				best, path = id, df.path
			}
		}
	}
	return best, path, best != 0
}

// ids returns the ids of the registered files.
func (t *fileTable) ids() []uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]uint32, 0, len(t.files))
	for id := range t.files {
		ids = append(ids, id)
	}
	return ids
}

// liveSnapshot returns the registered snapshot, acquired, or nil.
func (t *fileTable) liveSnapshot() *dataFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, df := range t.files {
		if id&snapFlag != 0 {
			df.refs++
			return df
		}
	}
	return nil
}

func (t *fileTable) drop(df *dataFile) {
	df.close()
	t.fs.Remove(df.path)
}

// close closes the read handle or unmaps the snapshot.
func (df *dataFile) close() {
	if df.f != nil {
		df.f.Close()
	}
	if df.snap != nil {
		df.snap.Close()
	}
}

// setSize records a segment's size as it grows (for usage figures).
func (t *fileTable) setSize(id uint32, size int64) {
	t.mu.Lock()
	if df, ok := t.files[id]; ok {
		df.size = size
	}
	t.mu.Unlock()
}

// usage returns the number of segments and snapshots and their bytes.
func (t *fileTable) usage() (segments, snapshots int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, df := range t.files {
		if id&snapFlag != 0 {
			snapshots++
		} else {
			segments++
		}
		bytes += df.size
	}
	return segments, snapshots, bytes
}

// mergeable returns the registered segment ids below limit, ascending,
// and the snapshot in the table, if any.
func (t *fileTable) mergeable(limit uint32) (segs []uint32, snap *dataFile) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, df := range t.files {
		if id&snapFlag != 0 {
			snap = df
		} else if id < limit {
			segs = append(segs, id)
		}
	}
	slices.Sort(segs)
	return segs, snap
}

func (t *fileTable) closeAll() {
	t.mu.Lock()
	var now []*dataFile
	for id, df := range t.kept {
		delete(t.kept, id)
		if df.refs == 0 {
			now = append(now, df)
		}
	}
	for id, df := range t.files {
		delete(t.files, id)
		df.closing = true
		if df.refs == 0 {
			now = append(now, df)
		}
		// A reader still inside a file (a request the server's shutdown
		// deadline cut off) closes it on release: unmapping a snapshot
		// under it would crash the process.
	}
	t.mu.Unlock()
	for _, df := range now {
		df.close()
	}
}
