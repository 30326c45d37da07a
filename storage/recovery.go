package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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
	names, err := fsys.List(db.dir)
	if err != nil {
		return 0, fmt.Errorf("pykv/storage: list %s: %w", db.dir, err)
	}
	var segs, snaps []uint32
	for _, name := range names {
		if id, ok := segment.ParseFileName(name); ok {
			segs = append(segs, id)
		} else if id, ok := snapshot.ParseFileName(name); ok {
			snaps = append(snaps, id)
		} else if strings.HasSuffix(name, ".tmp") {
			// A file a crash interrupted before its rename: never live.
			if err := fsys.Remove(filepath.Join(db.dir, name)); err != nil {
				return 0, fmt.Errorf("pykv/storage: remove %s: %w", name, err)
			}
			db.logger().Info("removed unfinished file", "file", filepath.Join(db.dir, name))
		}
	}
	nextID = 1
	var obsolete []string
	var base uint32 // segments up to base are covered by the snapshot
	if len(snaps) > 0 {
		newest := snaps[len(snaps)-1]
		if err := db.loadSnapshot(newest); err != nil {
			return 0, err
		}
		base, nextID = newest, newest+1
		for _, id := range snaps[:len(snaps)-1] {
			obsolete = append(obsolete, snapshot.Path(db.dir, id))
		}
	}
	var replay []uint32
	for _, id := range segs {
		if len(snaps) > 0 && id <= base {
			obsolete = append(obsolete, db.segPath(id))
		} else {
			replay = append(replay, id)
		}
	}
	for i, id := range replay {
		keep, err := db.replaySegment(id, i == len(replay)-1)
		if err != nil {
			return 0, err
		}
		if keep {
			db.files.addSegment(id, db.segPath(id))
			db.recovery.segments++
		}
		nextID = max(nextID, id+1)
	}
	for _, path := range obsolete {
		// A merge finished (its snapshot is durable) but a crash came
		// before it removed the files it covers.
		if err := fsys.Remove(path); err != nil {
			return 0, fmt.Errorf("pykv/storage: remove merged file %s: %w", path, err)
		}
		db.logger().Info("removed file covered by the snapshot", "file", path)
	}
	if len(obsolete) > 0 {
		if err := fsys.SyncDir(db.dir); err != nil {
			return 0, err
		}
	}
	return nextID, nil
}

// loadSnapshot maps snapshot id and loads its index into the keydir.
func (db *DB) loadSnapshot(id uint32) error {
	path := snapshot.Path(db.dir, id)
	s, err := snapshot.Open(db.opts.FS, path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	fileID := id | snapFlag
	var live int64
	err = s.Index(db.opts.MaxKeySize, func(e snapshot.IndexEntry) error {
		db.keydir.Put(e.Key, index.Entry{FileID: fileID, Offset: e.Offset, Size: e.Size, ExpireAt: e.ExpireAt, Seq: e.Seq})
		live += int64(e.Size)
		return nil
	})
	if err != nil {
		s.Close()
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	db.liveBytes.Add(live)
	db.seq = s.Header.CoveredSeq
	db.files.addSnapshot(s)
	db.recovery.snapshotKeys = int64(s.Footer.Count)
	return nil
}

// replaySegment applies one segment's records to the keydir. It cuts a torn
// tail of the newest segment (or any damage under Options.Repair) and
// removes a segment left without records. keep reports whether the file
// still exists.
func (db *DB) replaySegment(id uint32, newest bool) (keep bool, err error) {
	path := db.segPath(id)
	it, err := segment.ReadFile(db.opts.FS, path, db.opts.limits())
	if err != nil {
		return false, fmt.Errorf("pykv/storage: open segment: %w", err)
	}
	var batch []segment.Record
	var batchPos []index.Entry
	batchStart := int64(-1)
	records := 0
	for it.Next() {
		r := it.Record()
		if r.Seq <= db.seq {
			return false, fmt.Errorf("%w: %s at offset %d: seq %d does not follow seq %d",
				ErrDamaged, path, it.Offset(), r.Seq, db.seq)
		}
		if batchStart < 0 {
			batchStart = it.Offset()
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
		batch, batchPos, batchStart = batch[:0], batchPos[:0], -1
	}
	db.recovery.records += int64(records)

	cut := int64(-1)
	iterErr := it.Err()
	switch {
	case iterErr != nil && errors.Is(iterErr, segment.ErrTorn) && newest:
		cut = iterErr.(*segment.Error).Offset
	case iterErr != nil && db.opts.Repair:
		cut = iterErr.(*segment.Error).Offset
		db.logger().Warn("repair: cutting damaged segment", "file", path, "offset", cut, "err", iterErr)
	case iterErr != nil:
		return false, fmt.Errorf("%w: %w", ErrDamaged, iterErr)
	}
	if batchStart >= 0 { // a batch without its last record: never acknowledged
		if !newest && !db.opts.Repair {
			return false, fmt.Errorf("%w: %s at offset %d: batch of %d records is incomplete in a sealed segment",
				ErrDamaged, path, batchStart, len(batch))
		}
		if cut < 0 || batchStart < cut {
			cut = batchStart
		}
	}
	if cut >= 0 {
		if err := db.cutTail(path, it.Size(), cut, iterErr); err != nil {
			return false, err
		}
	}
	if records == 0 && (cut >= 0 || it.Size() <= segment.HeaderSize) {
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

// cutTail truncates path at off, first saving the bytes it removes in
// path.broken so that nothing is thrown away without a trace.
func (db *DB) cutTail(path string, size, off int64, why error) error {
	fsys := db.opts.FS
	if off < segment.HeaderSize {
		off = 0
	}
	f, err := fsys.OpenReadWrite(path)
	if err != nil {
		return fmt.Errorf("pykv/storage: open %s to cut its tail: %w", path, err)
	}
	defer f.Close()
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && len(tail) > 0 {
		return fmt.Errorf("pykv/storage: read tail of %s at offset %d: %w", path, off, err)
	}
	broken := path + ".broken"
	if err := writeFileAtomic(fsys, filepath.Dir(path), filepath.Base(broken), tail); err != nil {
		return fmt.Errorf("pykv/storage: save cut bytes of %s: %w", path, err)
	}
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("pykv/storage: truncate %s at offset %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("pykv/storage: fsync %s: %w", path, err)
	}
	db.recovery.cutBytes += size - off
	db.logger().Warn("cut torn tail of segment", "file", path, "offset", off, "bytes", size-off,
		"saved_to", broken, "reason", fmt.Sprint(why))
	return nil
}
