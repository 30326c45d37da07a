package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
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

// recover loads the newest snapshot into the keydir, replays every newer
// segment, removes what a finished merge left behind (older snapshots and
// segments the snapshot covers, temporary files), and returns the id the
// next segment must have.
func (db *DB) recover() (nextID uint32, err error) {
	fsys := db.opts.FS
	plan, err := planDir(fsys, db.dir)
	if err != nil {
		return 0, err
	}
	for _, name := range plan.foreign {
		db.logger().Warn("ignoring a file that is not pykv's in the data directory", "file", filepath.Join(db.dir, name))
	}
	nextID = 1
	if plan.snapshot != 0 {
		if err := db.loadSnapshot(plan.snapshot); err != nil {
			return 0, err
		}
		nextID = plan.snapshot + 1
	}
	for i, id := range plan.segments {
		keep, err := db.replaySegment(id, i == len(plan.segments)-1)
		if err != nil {
			return 0, err
		}
		if keep {
			db.files.addSegment(id, db.segPath(id))
			db.recovery.segments++
		}
		nextID = max(nextID, id+1)
	}
	for _, path := range plan.obsolete {
		// A merge finished (its snapshot is durable) but a crash came
		// before it removed the files it covers, or a crash interrupted a
		// file before its rename.
		if err := fsys.Remove(path); err != nil {
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

// loadSnapshot maps snapshot id and loads its index into the keydir, the
// index split between the cores while one more goroutine checks the records
// section's CRC. A damaged records section stops start-up unless
// Options.Repair is set; then the entries whose record fails its own CRC
// are dropped, each logged with its key and offset.
func (db *DB) loadSnapshot(id uint32) error {
	path := snapshot.Path(db.dir, id)
	s, err := snapshot.Open(db.opts.FS, path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	n := int64(s.Footer.Count)
	db.keydir.Reserve(n)
	// Every index entry is 32 bytes and its key. Assume every key has an
	// expiry: what is reserved but not used is never touched.
	db.keydir.ReserveArena(index.RecordBytes(n, int64(s.Footer.IndexLen)-32*n, n))
	verified := make(chan error, 1)
	go func() { verified <- s.VerifyRecords() }()
	err = db.loadIndex(s, id|snapFlag)
	db.keydir.LoadDone()
	if verr := <-verified; err == nil && verr != nil {
		if !db.opts.Repair {
			err = verr
		} else if err = db.dropDamaged(s, id|snapFlag); err == nil {
			db.logger().Warn("repair: snapshot records damaged; dropped the keys whose record fails its checksum", "file", path, "err", verr)
		}
	}
	if err != nil {
		s.Close()
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	live := int64(s.RecordsEnd() - snapshot.HeaderSize)
	db.liveBytes.Add(live)
	db.seq = s.Header.CoveredSeq
	db.files.addSnapshot(s)
	db.recovery.snapshotKeys = int64(s.Footer.Count)
	return nil
}

// loadIndex puts every entry of s's index into the keydir, one contiguous
// part of the index per core, each through its own index.Loader. Merges
// write the index in the keydir's hash order, so each part fills its own
// stretch of shards front to back: about 50 ns a key against 260 in
// arbitrary order, where every insert misses the CPU cache (go test -bench
// KeydirLoad ./index/). An index in another order (or with a key in two
// parts) loads correctly, only slower: the loaders lock per shard and keep
// the higher seq.
func (db *DB) loadIndex(s *snapshot.Snapshot, fileID uint32) error {
	workers := runtime.GOMAXPROCS(0)
	loaders := make([]*index.Loader, workers)
	for i := range loaders {
		loaders[i] = db.keydir.NewLoader()
	}
	// Each loader gives back the shard lock it holds as soon as its part
	// ends: a finished part that kept it would block another part that
	// reaches the same shard, and with it the whole load.
	return s.IndexParts(workers, db.opts.limits().MaxKey, func(part int, e snapshot.IndexEntry) error {
		loaders[part].Put(e.Key, index.Entry{FileID: fileID, Offset: e.Offset, Size: e.Size, ExpireAt: e.ExpireAt, Seq: e.Seq})
		return nil
	}, func(part int) { loaders[part].Close() })
}

// dropDamaged removes from the keydir every key of snapshot s whose record
// does not decode.
func (db *DB) dropDamaged(s *snapshot.Snapshot, fileID uint32) error {
	return s.Index(db.opts.limits().MaxKey, func(e snapshot.IndexEntry) error {
		raw, err := s.Record(e.Offset, e.Size)
		if err == nil {
			_, _, err = segment.DecodeRecord(raw, db.opts.limits())
		}
		if err != nil {
			db.keydir.DeleteIf(e.Key, e.Seq)
			db.logger().Warn("repair: dropped key with a damaged record", "file", s.Path, "offset", e.Offset, "key", string(e.Key), "err", err)
		}
		return nil
	})
}

// replaySegment applies one segment's records to the keydir. It cuts a torn
// tail of the newest segment (or any damage under Options.Repair) and
// removes a segment left without records. keep reports whether the file
// still exists.
func (db *DB) replaySegment(id uint32, newest bool) (keep bool, err error) {
	path := db.segPath(id)
	it, release, err := segment.MapFile(db.opts.FS, path, db.opts.limits())
	if err != nil {
		return false, fmt.Errorf("pykv/storage: open segment: %w", err)
	}
	mapped := true
	defer func() {
		if mapped {
			release()
		}
	}()
	var batch []segment.Record
	var batchPos []index.Entry
	records := 0
	for it.Next() {
		r := it.Record()
		if r.Seq <= db.seq {
			return false, fmt.Errorf("%w: %s at offset %d: seq %d does not follow seq %d",
				ErrDamaged, path, it.Offset(), r.Seq, db.seq)
		}
		batch = append(batch, r)
		batchPos = append(batchPos, index.Entry{FileID: id, Offset: uint64(it.Offset()),
			Size: uint32(r.EncodedSize()), ExpireAt: r.ExpireAt, Seq: r.Seq})
		if r.More {
			continue
		}
		for i := range batch {
			db.apply(&batch[i], batchPos[i])
		}
		db.seq = batch[len(batch)-1].Seq
		records += len(batch)
		batch, batchPos = batch[:0], batchPos[:0]
	}
	db.recovery.records += int64(records)

	iterErr, size, incomplete := it.Err(), it.Size(), it.IncompleteBatch()
	// The keydir copied what it keeps; the tail may be cut below, and a
	// mapping must not outlive its bytes.
	mapped = false
	if err := release(); err != nil {
		return false, fmt.Errorf("pykv/storage: unmap %s: %w", path, err)
	}
	t := judgeTail(path, iterErr, incomplete, newest, db.opts.Repair)
	if t.damage != nil {
		return false, fmt.Errorf("%w: %w", ErrDamaged, t.damage)
	}
	cut := t.cut
	switch {
	case cut >= 0 && t.zeros:
		// The writer's preallocated space: nothing to keep.
		if err := trimTail(db.opts.FS, path, cut); err != nil {
			return false, err
		}
		db.logger().Info("trimmed unused space after the last record", "file", path, "offset", cut)
	case cut >= 0:
		if t.torn == nil {
			db.logger().Warn("repair: cutting damaged segment", "file", path, "offset", cut, "err", iterErr)
		}
		n, err := cutTail(db.opts.FS, path, size, cut)
		if err != nil {
			return false, err
		}
		db.recovery.cutBytes += n
		db.logger().Warn("cut torn tail of segment", "file", path, "offset", max(cut, 0), "bytes", n,
			"saved_to", path+".broken", "reason", fmt.Sprint(iterErr))
	}
	if records == 0 && (cut >= 0 || size <= segment.HeaderSize) {
		// Nothing in it: a segment created just before a crash, or one
		// whose only content was cut.
		if err := db.opts.FS.Remove(path); err != nil {
			return false, fmt.Errorf("pykv/storage: remove empty segment %s: %w", path, err)
		}
		return false, db.opts.FS.SyncDir(db.dir)
	}
	return true, nil
}

// apply replays one record into the keydir.
func (db *DB) apply(r *segment.Record, e index.Entry) {
	switch r.Type {
	case segment.TypeSet:
		db.track(db.keydir.Put(r.Key, e))
		db.liveBytes.Add(int64(e.Size))
	case segment.TypeDel:
		db.track(db.keydir.Delete(r.Key))
	}
}

// track accounts for a record that stops being live.
func (db *DB) track(old index.Entry, existed bool) {
	if existed {
		db.liveBytes.Add(-int64(old.Size))
	}
}
