package storage

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/segment"
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
	id        uint32 // keydir FileID
	path      string
	size      int64
	f         vfs.File           // segments: a read handle, opened on first use
	snap      *snapshot.Snapshot // snapshots: the mapping
	refs      int
	obsolete  bool      // retired by a merge: removed once no reader holds it
	sealedAt  time.Time // a segment's, when it was sealed (or found sealed at start)
	retiredAt time.Time // when a merge retired it
	closing   bool      // the engine is closing: closed once no reader holds it

	// live is the bytes of the file's records that the keydir points at;
	// the rest of records is dead, and a merge reclaims it.
	live atomic.Int64
	// records is the bytes of a snapshot's records section (for a
	// segment, its size after the header, kept by setSize and sealed).
	records atomic.Int64
	// A snapshot's seqs (the manifest's min and max seq) and tombstones.
	minSeq, maxSeq uint64
	tombs          uint32
}

// dead returns the file's dead record bytes.
func (df *dataFile) dead() int64 { return max(df.records.Load()-df.live.Load(), 0) }

// fileTable holds the data files readers may use, with reference counts, so
// that a merge removes a file only once no reader holds it.
type fileTable struct {
	fs    vfs.FS
	mu    sync.Mutex
	files map[uint32]*dataFile
	// pins, kept and backlog: the retention of retired segments for
	// replication (retention.go).
	pins    map[*pin]uint32
	kept    map[uint32]*dataFile
	backlog Backlog
	// byID is a copy of files that writers read without the lock, to
	// count live bytes per file (addLive); replaced whenever files
	// changes.
	byID atomic.Pointer[map[uint32]*dataFile]
}

// publishLocked refreshes byID from files. The caller holds mu.
func (t *fileTable) publishLocked() {
	m := make(map[uint32]*dataFile, len(t.files))
	for id, df := range t.files {
		m[id] = df
	}
	t.byID.Store(&m)
}

// addLive adds delta to the live bytes of file id, if it is registered.
func (t *fileTable) addLive(id uint32, delta int64) {
	if m := t.byID.Load(); m != nil {
		if df := (*m)[id]; df != nil {
			df.live.Add(delta)
		}
	}
}

// zeroLive marks every registered file as holding nothing live (a flush).
func (t *fileTable) zeroLive() {
	if m := t.byID.Load(); m != nil {
		for _, df := range *m {
			df.live.Store(0)
		}
	}
}

// forget removes segment id, which recovery found empty and removed, from
// the table.
func (t *fileTable) forget(id uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.files, id)
	t.publishLocked()
}

func newFileTable(fs vfs.FS) *fileTable {
	return &fileTable{fs: fs, files: map[uint32]*dataFile{}, pins: map[*pin]uint32{}, kept: map[uint32]*dataFile{}}
}

// addSegment registers segment id at path; it is opened on its first read.
// Its sealing time is taken to be now until sealed says otherwise.
func (t *fileTable) addSegment(id uint32, path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	size, _ := t.fs.Stat(path)
	df := &dataFile{id: id, path: path, size: size, sealedAt: time.Now()}
	df.records.Store(max(size-segment.HeaderSize, 0))
	t.files[id] = df
	t.publishLocked()
}

// addSnapshot registers an open snapshot whose records and tombstones
// span seqs minSeq to its covered seq, and returns it. Its live bytes
// start at 0: the caller counts them as it points keys at it.
func (t *fileTable) addSnapshot(s *snapshot.Snapshot, minSeq uint64) *dataFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := s.ID() | snapFlag
	df := &dataFile{id: id, path: s.Path, size: s.Size(), snap: s,
		minSeq: minSeq, maxSeq: s.Header.CoveredSeq, tombs: s.Footer.Tombstones}
	df.records.Store(s.RecordsEnd() - snapshot.HeaderSize)
	t.files[id] = df
	t.publishLocked()
	return df
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
// reader holds it and, for a segment, the retention rules for followers
// no longer keep it (retention.go). It returns the bytes retired.
func (t *fileTable) retire(ids []uint32) int64 { return t.retireFiles(ids, true) }

// discard is retire for files of a history that is gone (a full sync
// replaced it): no follower may be served from them.
func (t *fileTable) discard(ids []uint32) { t.retireFiles(ids, false) }

func (t *fileTable) retireFiles(ids []uint32, retain bool) int64 {
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
		if retain && id&snapFlag == 0 {
			// Segments go through the retention rules, which may keep
			// them for followers.
			df.retiredAt = time.Now()
			t.kept[id] = df
			continue
		}
		if df.refs == 0 {
			now = append(now, df)
		}
	}
	now = append(now, t.trimLocked(time.Now())...)
	t.publishLocked()
	t.mu.Unlock()
	for _, df := range now {
		t.drop(df)
	}
	return bytes
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

// liveSnapshot returns the registered snapshot, acquired, or nil. The
// caller knows there is at most one (a full merge just ran).
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

// snapshots returns the registered snapshots, oldest (lowest max seq)
// first.
func (t *fileTable) snapshots() []*dataFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*dataFile
	for id, df := range t.files {
		if id&snapFlag != 0 {
			out = append(out, df)
		}
	}
	slices.SortFunc(out, func(a, b *dataFile) int { return cmp.Compare(a.maxSeq, b.maxSeq) })
	return out
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
		df.records.Store(max(size-segment.HeaderSize, 0))
	}
	t.mu.Unlock()
}

// sealed records a segment's final size and when it was sealed.
func (t *fileTable) sealed(id uint32, size int64) {
	t.mu.Lock()
	if df, ok := t.files[id]; ok {
		df.size, df.sealedAt = size, time.Now()
		df.records.Store(max(size-segment.HeaderSize, 0))
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

// sealedSegments returns the registered segments below limit (the active
// segment), oldest first.
func (t *fileTable) sealedSegments(limit uint32) []*dataFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	var segs []*dataFile
	for id, df := range t.files {
		if id&snapFlag == 0 && id < limit {
			segs = append(segs, df)
		}
	}
	slices.SortFunc(segs, func(a, b *dataFile) int { return cmp.Compare(a.id, b.id) })
	return segs
}

func (t *fileTable) closeAll() {
	t.mu.Lock()
	var now, gone []*dataFile
	// Kept segments are obsolete (a snapshot covers them): the backlog
	// lasts until the engine closes, and they are removed now rather
	// than at the next open.
	for id, df := range t.kept {
		delete(t.kept, id)
		if df.refs == 0 {
			gone = append(gone, df)
		}
	}
	t.byID.Store(nil)
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
	t.dropAll(gone)
}
