package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

type recoveryStats struct {
	snapshotKeys int64
	segments     int
	records      int64
	cutBytes     int64
	duration     time.Duration
}

// ErrDamaged is wrapped by Open's error when a data file is damaged
// somewhere other than the torn tail of the newest segment.
var ErrDamaged = errors.New("pykv/storage: data file damaged (start with repair to cut it, keeping the cut bytes in a .broken file)")

// recover loads the live snapshot files into the keydir, replays every
// live segment, removes what a finished merge left behind (files the
// manifest no longer lists, segments it covers, temporary files), and
// returns the id the next segment must have.
func (db *DB) recover() (nextID uint32, err error) {
	fsys := db.opts.FS
	plan, err := planDir(fsys, db.dir)
	if err != nil {
		return 0, err
	}
	for _, name := range plan.foreign {
		db.logger().Warn("ignoring a file that is not pykv's in the data directory", "file", filepath.Join(db.dir, name))
	}
	db.fileSet = startSet(plan)
	nextID = db.fileSet.firstSeg
	segs := plan.segments
	from, err := db.lastFlush(segs)
	if err != nil {
		return 0, err
	}
	if from >= 0 {
		// A flush subsumes every file before its segment: they are
		// removed without being read, once a manifest that no longer
		// lists them is durable.
		for _, id := range plan.snapshots {
			plan.obsolete = append(plan.obsolete, snapshot.Path(db.dir, id))
		}
		for _, id := range segs[:from] {
			plan.obsolete = append(plan.obsolete, db.segPath(id))
			nextID = max(nextID, id+1)
		}
		segs = segs[from:]
		// Without a manifest the names say the same once the files are
		// removed, but the set in memory, which the first merge writes
		// down, must not list the removed snapshot either.
		m := *db.fileSet
		m.files, m.firstSeg = nil, segs[0]
		if plan.manifest != nil {
			if err := writeManifest(fsys, db.dir, &m); err != nil {
				return 0, fmt.Errorf("pykv/storage: write the manifest after a flush: %w", err)
			}
		}
		db.fileSet = &m
	} else if err := db.loadSnapshots(plan); err != nil {
		return 0, err
	}
	for i, id := range segs {
		// Registered before the replay, so that its records count as
		// its live bytes; forgotten if the replay removes it.
		db.files.addSegment(id, db.segPath(id))
		keep, err := db.replaySegment(id, i == len(segs)-1)
		if err != nil {
			return 0, err
		}
		if keep {
			db.recovery.segments++
		} else {
			db.files.forget(id)
		}
		nextID = max(nextID, id+1)
	}
	for _, path := range plan.obsolete {
		// A merge finished (its manifest is durable) but a crash came
		// before it removed the files it replaced, or a crash interrupted
		// a file before its rename.
		if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// (A MANIFEST.tmp a crash left is gone when a manifest was
			// written above.)
			return 0, fmt.Errorf("pykv/storage: remove obsolete file %s: %w", path, err)
		}
		db.logger().Info("removed obsolete file", "file", path)
	}
	if len(plan.obsolete) > 0 {
		if err := fsys.SyncDir(db.dir); err != nil {
			return 0, err
		}
	}
	return nextID, nil
}

// startSet returns the set of snapshot files plan found: its manifest, or
// for a directory of the first format (no manifest) the set its names
// describe, which the first merge writes down as a manifest.
func startSet(plan dirPlan) *manifest {
	if m := plan.manifest; m != nil {
		c := *m
		c.files = slices.Clone(m.files)
		c.nextID = max(c.nextID, plan.maxSnap+1)
		return &c
	}
	m := &manifest{firstSeg: 1, nextID: plan.maxSnap + 1}
	if len(plan.snapshots) == 1 {
		// Its seqs are read from its header as it loads; min 0: it may
		// hold any key written before it.
		m.files = []setFile{{id: plan.snapshots[0]}}
		m.firstSeg = plan.snapshots[0] + 1
	}
	return m
}

// lastFlush returns the index in segs (the live segments, oldest first)
// of the newest segment opened by a flush whose first batch, the flush's,
// is whole, or -1. That segment is fsynced before lastFlush returns: the
// files before it are removed on the strength of it.
func (db *DB) lastFlush(segs []uint32) (int, error) {
	for i := len(segs) - 1; i >= 0; i-- {
		path := db.segPath(segs[i])
		h, err := segmentHeader(db.opts.FS, path)
		if err != nil || h.Version != segment.VersionFlush {
			continue // a damaged header is replay's to report
		}
		whole, err := db.flushWhole(path)
		if err != nil {
			return -1, err
		}
		if !whole {
			continue // a crash cut the flush: it did not happen
		}
		f, err := db.opts.FS.Open(path)
		if err != nil {
			return -1, fmt.Errorf("pykv/storage: open %s: %w", path, err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return -1, fmt.Errorf("pykv/storage: fsync %s: %w", path, err)
		}
		return i, nil
	}
	return -1, nil
}

// flushWhole reports whether the segment at path, opened by a flush,
// holds the flush's whole batch.
func (db *DB) flushWhole(path string) (bool, error) {
	it, release, err := segment.MapFile(db.opts.FS, path, db.opts.limits())
	if err != nil {
		return false, fmt.Errorf("pykv/storage: open segment: %w", err)
	}
	defer release()
	for n := 0; it.Next(); n++ {
		if r := it.Record(); n == 0 && r.Type != segment.TypeFlush {
			return false, nil
		} else if !r.More {
			return true, nil
		}
	}
	return false, nil
}

// tombFileID is the FileID of a tombstone's keydir entry while snapshot
// files load: a key deleted at the entry's seq, which an older file of
// the set may still hold. No data file has this id (see maxFileID), and
// every such entry is removed before the keydir serves.
const tombFileID = math.MaxUint32

// loadSnapshots maps the live snapshot files of plan and loads their
// indexes into the keydir: each index split between the cores while one
// more goroutine checks the file's records CRC. The newest version of a
// key wins whatever the order (index.Loader keeps the higher seq), so a
// tombstone of a newer file removes the key an older one holds. A damaged
// records section stops start-up unless Options.Repair is set; then the
// entries whose record fails its own CRC are dropped, each logged with its
// key and offset.
func (db *DB) loadSnapshots(plan dirPlan) error {
	var snaps []*snapshot.Snapshot
	defer func() {
		for _, s := range snaps {
			if s != nil {
				s.Close()
			}
		}
	}()
	var n, keyBytes int64
	for _, id := range plan.snapshots {
		path := snapshot.Path(db.dir, id)
		s, err := snapshot.OpenForLoad(db.opts.FS, path)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		snaps = append(snaps, s)
		n += int64(s.Footer.Count)
		keyBytes += s.MaxKeyBytes()
	}
	if n > 0 {
		db.keydir.Reserve(n)
		// Assume every key has an expiry: what is reserved but not used
		// is never touched.
		db.keydir.ReserveArena(index.RecordBytes(n, keyBytes, n))
	}
	var files []*dataFile
	for i, s := range snaps {
		var min uint64
		if plan.manifest != nil {
			min = db.fileSet.files[i].min
		} else {
			db.fileSet.files[i].max = s.Header.CoveredSeq
			db.fileSet.covered = s.Header.CoveredSeq
		}
		df, err := db.loadSnapshot(s, min)
		if err != nil {
			db.keydir.LoadDone()
			return err
		}
		snaps[i] = nil // the table holds it now
		files = append(files, df)
		db.seq = max(db.seq, s.Header.CoveredSeq)
		db.recovery.snapshotKeys += int64(s.Footer.Count - uint64(s.Footer.Tombstones))
	}
	db.keydir.LoadDone()
	db.seq = max(db.seq, db.fileSet.covered)
	// Every version is in: a tombstone still in the keydir is the key's
	// newest version, so the key is gone.
	for _, df := range files {
		if df.tombs == 0 {
			continue
		}
		if err := df.snap.Index(db.opts.limits().MaxKey, func(e snapshot.IndexEntry) error {
			if e.Tombstone() {
				db.keydir.DeleteIf(e.Key, e.Seq)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("%w: %w", ErrDamaged, err)
		}
	}
	return nil
}

// loadSnapshot loads the index of s, whose records and tombstones span
// seqs minSeq to its covered seq, registers it and returns it.
func (db *DB) loadSnapshot(s *snapshot.Snapshot, minSeq uint64) (*dataFile, error) {
	id := s.ID() | snapFlag
	df := db.files.addSnapshot(s, minSeq)
	verified := make(chan error, 1)
	go func() { verified <- s.VerifyRecords() }()
	err := db.loadIndex(s, id)
	if verr := <-verified; err == nil && verr != nil {
		if !db.opts.Repair {
			err = verr
		} else if err = db.dropDamaged(s, id); err == nil {
			db.logger().Warn("repair: snapshot records damaged; dropped the keys whose record fails its checksum", "file", s.Path, "err", verr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return df, nil
}

// loadIndex puts every entry of s's index into the keydir in the one pass
// that also checks the index (snapshot.Load): one worker per core, each
// through its own index.Loader, takes runs of consecutive entries, and
// counts the live bytes each file gains and loses. Merges write the index
// in the keydir's hash order, so the runs being loaded at once fill nearby
// stretches of shards front to back: about 50 ns a key against 260 in
// arbitrary order, where every insert misses the CPU cache (go test -bench
// KeydirLoad ./index/). An index in another order (or with a key in two
// runs, or in two files) loads correctly, only slower: the loaders lock
// per shard and keep the higher seq. A load that fails leaves entries in
// the keydir, which start-up then throws away with the DB.
func (db *DB) loadIndex(s *snapshot.Snapshot, fileID uint32) error {
	workers := runtime.GOMAXPROCS(0)
	loaders := make([]*index.Loader, workers)
	gained := make([]liveDelta, workers)
	for i := range loaders {
		loaders[i] = db.keydir.NewLoader()
	}
	// Each loader gives back the shard lock it holds as soon as its run
	// ends: a worker waiting for its next run while it kept it would block
	// another that reaches the same shard, and with it the whole load.
	//
	// This runs for every key: e.Size is tested directly, not through
	// e.Tombstone, and the entry goes by reference (PutRef), because the
	// copies of e and of the entry that those made on the stack (wide
	// loads of narrow stores, which the CPU cannot forward) were most of
	// its time.
	err := s.Load(workers, db.opts.limits().MaxKey, db.keydir.ShardOf, func(part int, e *snapshot.IndexEntry) error {
		g := &gained[part]
		at := &g.at
		at.FileID, at.Offset, at.Size, at.ExpireAt, at.Seq = fileID, e.Offset, e.Size, e.ExpireAt, e.Seq
		if e.Size == 0 { // a tombstone
			at.FileID = tombFileID
			g.tombs++
		}
		file := at.FileID
		replaced, stored := loaders[part].PutRef(e.Key, at, &g.old)
		if !stored {
			return nil
		}
		if replaced && g.old.FileID != tombFileID {
			g.lose(g.old.FileID, int64(g.old.Size))
		}
		if file != tombFileID {
			g.own += int64(e.Size)
		}
		return nil
	}, func(part int) { loaders[part].Close() })
	var tombs int64
	for _, g := range gained {
		db.files.addLive(fileID, g.own)
		db.liveBytes.Add(g.own)
		for _, l := range g.lost {
			db.files.addLive(l.id, -l.n)
			db.liveBytes.Add(-l.n)
		}
		tombs += g.tombs
	}
	if err == nil && tombs != int64(s.Footer.Tombstones) {
		// Only the footer's count sends the file through the pass that
		// removes the keys its tombstones delete (loadSnapshots).
		return fmt.Errorf("%s: %w: the index holds %d tombstones, the footer says %d", s.Path, snapshot.ErrCorrupt, tombs, s.Footer.Tombstones)
	}
	return err
}

// liveDelta is what one part of a load changes in the live bytes: what
// the file being loaded gains, and what the files loaded before it lose
// to its newer versions (a handful of files, so a short list).
type liveDelta struct {
	own   int64
	tombs int64       // tombstones met
	at    index.Entry // the entry being loaded (see loadIndex)
	old   index.Entry // the one it replaced
	lost  []struct {
		id uint32
		n  int64
	}
	// Each part's delta is written by its own goroutine for every entry:
	// padding keeps two of them off one cache line, which the cores would
	// otherwise pass back and forth (a third more time per load).
	_ [8]byte
}

func (d *liveDelta) lose(id uint32, n int64) {
	for i := range d.lost {
		if d.lost[i].id == id {
			d.lost[i].n += n
			return
		}
	}
	d.lost = append(d.lost, struct {
		id uint32
		n  int64
	}{id, n})
}

// dropDamaged removes from the keydir every key of snapshot s whose record
// does not decode or is not its index entry's (RecordAt: from version 3
// the record's checksum binds the entry's seq and expiry).
func (db *DB) dropDamaged(s *snapshot.Snapshot, fileID uint32) error {
	return s.Index(db.opts.limits().MaxKey, func(e snapshot.IndexEntry) error {
		if e.Tombstone() {
			return nil
		}
		if _, err := s.RecordAt(&e, db.opts.limits()); err != nil {
			if db.keydir.DeleteIf(e.Key, e.Seq) {
				db.track(index.Entry{FileID: fileID, Size: e.Size}, true)
			}
			db.logger().Warn("repair: dropped key with a damaged record", "file", s.Path, "offset", e.Offset, "key", string(e.Key), "err", err)
		}
		return nil
	})
}

// replaySegment applies one segment's records to the keydir: it decodes
// them, applies them a whole batch at a time, then repairs the tail (cuts
// a torn tail of the newest segment, or any damage under Options.Repair)
// and removes a segment left without records. keep reports whether the
// file still exists.
func (db *DB) replaySegment(id uint32, newest bool) (keep bool, err error) {
	path := db.segPath(id)
	batches := replayBatches{db: db, path: path}
	end, err := db.decodeSegment(id, batches.add)
	if err != nil {
		return false, err
	}
	db.recovery.records += int64(batches.applied)
	cut, err := db.repairTail(path, end, newest)
	if err != nil {
		return false, err
	}
	if batches.applied == 0 && (cut >= 0 || end.size <= segment.HeaderSize) {
		// Nothing in it: a segment created just before a crash, or one
		// whose only content was cut.
		if err := db.opts.FS.Remove(path); err != nil {
			return false, fmt.Errorf("pykv/storage: remove empty segment %s: %w", path, err)
		}
		return false, db.opts.FS.SyncDir(db.dir)
	}
	return true, nil
}

// segmentEnd is how the records of a segment ended, for repairTail.
type segmentEnd struct {
	err        error // what stopped the reading (a *segment.Error), nil at a clean end
	size       int64 // the file's size
	incomplete int64 // where a batch without its last record starts, -1 for none
}

// decodeSegment reads the records of segment id in order and calls fn with
// each and its location, stopping at fn's first error, which it returns. A
// record's key and value alias the file's mapping, which is released
// before decodeSegment returns: fn must copy what it keeps beyond that.
func (db *DB) decodeSegment(id uint32, fn func(r segment.Record, at index.Entry) error) (segmentEnd, error) {
	path := db.segPath(id)
	it, release, err := segment.MapFile(db.opts.FS, path, db.opts.limits())
	if err != nil {
		return segmentEnd{}, fmt.Errorf("pykv/storage: open segment: %w", err)
	}
	mapped := true
	defer func() {
		if mapped {
			release()
		}
	}()
	for it.Next() {
		r := it.Record()
		at := index.Entry{FileID: id, Offset: uint64(it.Offset()), Size: uint32(r.EncodedSize()), ExpireAt: r.ExpireAt, Seq: r.Seq}
		if err := fn(r, at); err != nil {
			return segmentEnd{}, err
		}
	}
	end := segmentEnd{err: it.Err(), size: it.Size(), incomplete: it.IncompleteBatch()}
	// The tail may be cut next, and a mapping must not outlive its bytes.
	mapped = false
	if err := release(); err != nil {
		return segmentEnd{}, fmt.Errorf("pykv/storage: unmap %s: %w", path, err)
	}
	return end, nil
}

// replayBatches applies the records of a segment, in order, a whole batch
// at a time: the records of a batch wait until its last one (More unset)
// arrives, so that a batch a crash cut short is never applied. The waiting
// records alias the segment's mapping; an incomplete batch is dropped
// with it.
type replayBatches struct {
	db      *DB
	path    string           // the segment, for errors
	batch   []segment.Record // the batch so far
	pos     []index.Entry    // where each of its records lies
	applied int              // records applied
}

// add takes the next record r of the segment, at location at. A seq that
// does not follow the last one applied is damage.
func (b *replayBatches) add(r segment.Record, at index.Entry) error {
	db := b.db
	if r.Seq <= db.seq {
		return fmt.Errorf("%w: %s at offset %d: seq %d does not follow seq %d",
			ErrDamaged, b.path, at.Offset, r.Seq, db.seq)
	}
	b.batch = append(b.batch, r)
	b.pos = append(b.pos, at)
	if r.More {
		return nil
	}
	for i := range b.batch {
		db.apply(&b.batch[i], b.pos[i])
	}
	db.seq = b.batch[len(b.batch)-1].Seq
	b.applied += len(b.batch)
	b.batch, b.pos = b.batch[:0], b.pos[:0]
	return nil
}

// repairTail applies judgeTail's rule to the end of segment path: it trims
// the writer's unused space, or cuts a torn tail (any damage under
// Options.Repair), saving the bytes cut in path.broken. It returns the
// offset cut at, -1 for none, and ErrDamaged for damage it may not cut.
func (db *DB) repairTail(path string, end segmentEnd, newest bool) (cut int64, err error) {
	t := judgeTail(path, end.err, end.incomplete, newest, db.opts.Repair)
	if t.damage != nil {
		return -1, fmt.Errorf("%w: %w", ErrDamaged, t.damage)
	}
	cut = t.cut
	switch {
	case cut >= 0 && t.zeros:
		// The writer's preallocated space: nothing to keep.
		if err := trimTail(db.opts.FS, path, cut); err != nil {
			return -1, err
		}
		db.logger().Info("trimmed unused space after the last record", "file", path, "offset", cut)
	case cut >= 0:
		if t.torn == nil {
			db.logger().Warn("repair: cutting damaged segment", "file", path, "offset", cut, "err", end.err)
		}
		n, err := cutTail(db.opts.FS, path, end.size, cut)
		if err != nil {
			return -1, err
		}
		db.recovery.cutBytes += n
		db.logger().Warn("cut torn tail of segment", "file", path, "offset", max(cut, 0), "bytes", n,
			"saved_to", path+".broken", "reason", fmt.Sprint(end.err))
	}
	return cut, nil
}

// apply replays one record into the keydir.
func (db *DB) apply(r *segment.Record, e index.Entry) {
	switch r.Type {
	case segment.TypeSet:
		db.track(db.keydir.Put(r.Key, e))
		db.gain(e.FileID, e.Size)
	case segment.TypeDel:
		db.track(db.keydir.Delete(r.Key))
	case segment.TypeFlush:
		db.clearKeyspace(e.FileID)
	}
}

// track accounts for a record that stops being live.
func (db *DB) track(old index.Entry, existed bool) {
	if existed {
		db.liveBytes.Add(-int64(old.Size))
		db.files.addLive(old.FileID, -int64(old.Size))
	}
}

// gain accounts for a record of size bytes in file fileID that becomes
// live.
func (db *DB) gain(fileID, size uint32) {
	db.liveBytes.Add(int64(size))
	db.files.addLive(fileID, int64(size))
}
