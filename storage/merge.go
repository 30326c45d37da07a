package storage

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

// A merge folds the current snapshot and every sealed segment into a new
// snapshot, without stopping reads or writes:
//
//  1. It reads the merged files in order; a set record is live when the
//     keydir still points at its seq. Live records are copied into the new
//     snapshot; expired ones are deleted (logged) instead. Deletes and
//     overwritten records are dropped: the snapshot replaces every older
//     file, so no tombstone is needed.
//  2. The snapshot is written as .tmp, fsynced, renamed, the directory
//     fsynced. From here a restart uses it.
//  3. For each key of the snapshot, the keydir entry is repointed to the
//     snapshot only if its seq is unchanged (compare-and-swap): a write
//     that landed during the merge wins. The swap is per key, never a
//     stop-the-world rebuild.
//  4. The merged files are retired: each is removed once no reader holds
//     it.
//
// Step 1, and the fsync of the log that must come before the rename, is the
// run (runMerge): it only writes temporary files, and a run that fails
// removes them. Steps 2 to 4 are the install (installMerge).
//
// Writes during a merge go to the active segment, which is newer than
// everything merged, so a restart at any point replays them over the
// snapshot.

// ErrMergeRunning is returned when a merge is asked for while one runs.
var ErrMergeRunning = errors.New("pykv/storage: a merge is already running")

// MergeStats describes one merge.
type MergeStats struct {
	Snapshot     string        // path of the snapshot written ("" when there was nothing to merge)
	Files        int           // files merged
	Keys         uint64        // live keys written
	Expired      int           // expired keys dropped (and logged as deletes)
	BytesRead    int64         // bytes of the merged files
	BytesWritten int64         // bytes of the new snapshot
	Reclaimed    int64         // BytesRead - BytesWritten
	Duration     time.Duration // wall time
}

type mergeState struct {
	mu       sync.Mutex // held for the length of a merge
	stuck    error      // under mu: a merge that could not finish and must not be retried before a restart; see mergeSealed
	statMu   sync.Mutex
	runs     uint64
	read     int64 // bytes of the files merges read, since Open
	written  int64 // bytes of the snapshots they wrote
	last     time.Duration
	lastAt   time.Time // when the last merge completed; Open's time before any
	running  bool
	failures uint64
	declined uint64
}

type mergeSnapshot struct {
	runs     uint64
	read     int64
	written  int64
	last     time.Duration
	lastAt   time.Time
	running  bool
	failures uint64
	declined uint64
}

func (m *mergeState) stats() mergeSnapshot {
	m.statMu.Lock()
	defer m.statMu.Unlock()
	return mergeSnapshot{m.runs, m.read, m.written, m.last, m.lastAt, m.running, m.failures, m.declined}
}

// Merge seals the active segment when it holds records, then merges the
// snapshot and every sealed segment into a new snapshot. It returns
// ErrMergeRunning when a merge is in progress.
func (db *DB) Merge() (MergeStats, error) {
	if db.closed.Load() {
		return MergeStats{}, ErrClosed
	}
	if !db.merges.mu.TryLock() {
		return MergeStats{}, ErrMergeRunning
	}
	defer db.merges.mu.Unlock()
	if db.merges.stuck != nil {
		return MergeStats{}, db.merges.stuck
	}
	if err := db.rotateForMerge(); err != nil {
		return MergeStats{}, err
	}
	return db.mergeSealed()
}

// rotateForMerge seals the active segment, holding wmu (released even on
// a panic, so that writers are never left waiting for it).
func (db *DB) rotateForMerge() error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return db.log.Rotate(db.seq + 1)
}

// StartMerge starts Merge in the background, as BGREWRITEAOF does, and
// reports whether it started.
func (db *DB) StartMerge() bool {
	db.bgMu.Lock()
	defer db.bgMu.Unlock()
	if db.closed.Load() || db.merges.stats().running {
		return false
	}
	db.bgDone.Add(1)
	go func() {
		defer db.bgDone.Done()
		defer func() {
			// mergeSealed contains its own panics; this is for the rest
			// of Merge (sealing the active segment).
			db.contained("BGREWRITEAOF", recover())
		}()
		if _, err := db.Merge(); err != nil && !errors.Is(err, ErrMergeRunning) && !errors.Is(err, ErrClosed) &&
			!errors.Is(err, ErrMergeNoSpace) {
			db.logger().Error("merge failed", "err", err)
		}
	}()
	return true
}

// mergeSealed merges the snapshot and the sealed segments. The caller holds
// db.merges.mu. A failed merge leaves the log alone (writes go on) and
// counts a failure; a merge that panicked is contained (see guard.go) and
// stops merges until a restart, keeping every file it merged.
func (db *DB) mergeSealed() (st MergeStats, err error) {
	if db.merges.stuck != nil {
		return st, db.merges.stuck
	}
	defer func() {
		if perr := db.contained("merge", recover()); perr != nil {
			db.merges.stuck = fmt.Errorf("%w; merges are stopped until a restart, and the files it was merging are kept", perr)
			err = db.merges.stuck
		}
		if err != nil && !errors.Is(err, ErrMergeNoSpace) {
			db.merges.statMu.Lock()
			db.merges.failures++
			db.merges.statMu.Unlock()
		}
	}()
	return db.mergeSealedOnce()
}

// mergeSealedOnce plans, runs and installs one merge (see the top of this
// file). st holds what was done so far when it fails.
func (db *DB) mergeSealedOnce() (st MergeStats, err error) {
	start := time.Now()
	active, _ := db.log.Active()
	segs, prev := db.files.mergeable(active)
	if len(segs) == 0 {
		// Nothing sealed since the last merge: the files are as a merge
		// leaves them, which is what LASTSAVE tells.
		db.merges.statMu.Lock()
		db.merges.lastAt = time.Now()
		db.merges.statMu.Unlock()
		return st, nil
	}
	db.setMergeRunning(true)
	defer db.setMergeRunning(false)
	in, err := db.planMerge(active, segs, prev)
	if err != nil {
		return st, err
	}
	run, err := db.runMerge(in, &st)
	if err != nil {
		return st, err
	}
	if err := db.installMerge(run, &st); err != nil {
		return st, err
	}
	st.Duration = time.Since(start)
	db.countMerge(st)
	// The merge's buffers are garbage now, and the heap grew to hold them
	// beside the keydir: give those pages back at once rather than carry
	// them in RSS until the runtime's scavenger gets to them (minutes, for
	// hundreds of megabytes), as open does after recovery.
	debug.FreeOSMemory()
	return st, nil
}

// mergePlan names the inputs of one merge and the snapshot it writes.
type mergePlan struct {
	prev    *dataFile // the current snapshot, nil when there is none
	segs    []uint32  // the sealed segments, oldest first
	total   int64     // bytes of prev and segs together, for MergeProgress
	newest  uint32    // the newest segment merged: the new snapshot's id
	covered uint64    // the last seq the new snapshot covers
}

// planMerge sizes a merge of prev and segs, declines it when its output
// would not fit in the free space (ErrMergeNoSpace), and finds the seq the
// new snapshot covers: active is the active segment.
func (db *DB) planMerge(active uint32, segs []uint32, prev *dataFile) (mergePlan, error) {
	p := mergePlan{prev: prev, segs: segs, newest: segs[len(segs)-1]}
	if prev != nil {
		p.total += prev.size
	}
	for _, id := range segs {
		n, _ := db.opts.FS.Stat(db.segPath(id))
		p.total += n
	}
	if err := db.checkMergeSpace(p.total); err != nil {
		return p, err
	}
	// Every segment between the newest merged and the active one was merged
	// or removed as empty, so the active segment's first seq bounds what
	// the snapshot covers, deletes included.
	first, err := db.firstSeqOf(active)
	if err != nil {
		return p, err
	}
	p.covered = first - 1
	return p, nil
}

// mergeRun is what the run step of a merge produced: a new snapshot, not
// yet finished, holding every live record of the merged files, and the
// files it replaces once installed.
type mergeRun struct {
	w       *snapshot.Writer // records written; Finish writes the index and publishes
	retired []uint32         // the files merged, to retire once the keys point at the snapshot
}

// runMerge is the first step of a merge: it writes plan's inputs into a new
// snapshot (under its temporary name) and makes the log durable, so that
// the snapshot may replace the merged files. It adds what it read, kept and
// dropped to st.
func (db *DB) runMerge(plan mergePlan, st *MergeStats) (run *mergeRun, err error) {
	w, err := snapshot.Create(db.opts.FS, db.dir, plan.newest, plan.covered)
	if err != nil {
		return nil, err
	}
	defer func() {
		// A run that produced no result, by an error or by a panic (which
		// mergeSealed contains; err is then nil, and so is run), removes
		// the temporary files it wrote. Abort is idempotent.
		if run == nil {
			w.Abort()
		}
	}()
	if err := w.OrderIndex(db.keydir.Hash); err != nil { // start-up then fills each table front to back
		return nil, err
	}
	var retired []uint32
	report := func() {
		if db.opts.MergeProgress != nil {
			db.opts.MergeProgress(st.BytesRead, plan.total)
		}
	}
	// A file older than the segment of the last flush holds nothing live
	// (flush.go): it is retired without being read.
	flushed := db.flushedBelow.Load()
	if plan.prev != nil {
		if plan.prev.id&^snapFlag >= flushed {
			if err := db.mergeSnapshotFile(w, plan.prev, st); err != nil {
				return nil, err
			}
		}
		retired = append(retired, plan.prev.id)
		report()
	}
	for _, id := range plan.segs {
		if id < flushed {
			retired = append(retired, id)
			continue
		}
		if err := db.mergeSegmentFile(w, id, st); err != nil {
			return nil, err
		}
		retired = append(retired, id)
		report()
		db.testPoint("merge: file merged")
	}
	st.Keys = w.Count()
	// keep() chose records by what the keydir points at, and the keydir
	// shows a write as soon as it is appended, before it is durable. A
	// version the merge skipped because a newer one replaced it must not
	// vanish with the merged files while that newer one could still be
	// lost: make everything appended so far durable before publishing.
	if err := db.log.Sync(); err != nil {
		return nil, logFailed(err)
	}
	return &mergeRun{w: w, retired: retired}, nil
}

// installMerge is the second step of a merge: it publishes run's snapshot
// (index, fsync, rename, directory fsync), repoints the keys whose seq is
// unchanged to it, makes the log durable again and retires the merged
// files. Once the snapshot is published a failure stops merges until a
// restart, which completes the merge from the directory as it is.
func (db *DB) installMerge(run *mergeRun, st *MergeStats) error {
	path, err := run.w.Finish() // on an error it removes what it wrote
	if err != nil {
		return err
	}
	db.testPoint("merge: snapshot published")
	snap, err := snapshot.Open(db.opts.FS, path)
	if err != nil {
		return fmt.Errorf("pykv/storage: reopen the snapshot just written: %w", err)
	}
	db.files.addSnapshot(snap)
	if err := db.swapToSnapshot(snap); err != nil {
		// Some keys point at the new snapshot, the others still at the
		// merged files, so those must stay. Every key stays readable, and
		// the snapshot is complete and durable: the next start-up loads
		// it and removes the files it covers. Until then no merge runs,
		// since two snapshots are now registered.
		db.merges.stuck = fmt.Errorf("pykv/storage: a merge could not repoint keys to %s and kept the files it merged; merges resume after a restart: %w", path, err)
		db.logger().Error("merge could not finish; restart pykvd to complete it", "snapshot", path, "err", err)
		return db.merges.stuck
	}
	// Keys written between keep() and the swap kept their entries, and
	// what they replaced, which the undo log would restore if the log
	// failed now, lies in the merged files: make those writes durable
	// before the files go.
	if err := db.log.Sync(); err != nil {
		db.merges.stuck = fmt.Errorf("pykv/storage: the log failed after a merge into %s, which kept the files it merged: %w", path, logFailed(err))
		db.rollback()
		return db.merges.stuck
	}
	db.files.retire(run.retired)
	st.Snapshot, st.Files = path, len(run.retired)
	st.BytesWritten = snap.Size()
	st.Reclaimed = st.BytesRead - st.BytesWritten
	return nil
}

// countMerge adds a finished merge to the merge statistics and logs it.
func (db *DB) countMerge(st MergeStats) {
	db.merges.statMu.Lock()
	db.merges.runs++
	db.merges.read += st.BytesRead
	db.merges.written += st.BytesWritten
	db.merges.last = st.Duration
	db.merges.lastAt = time.Now()
	db.merges.statMu.Unlock()
	db.logger().Info("merge done", "snapshot", st.Snapshot, "files", st.Files, "keys", st.Keys, "expired", st.Expired,
		"read_bytes", st.BytesRead, "written_bytes", st.BytesWritten, "duration", st.Duration.Round(time.Millisecond))
}

func (db *DB) setMergeRunning(v bool) {
	db.merges.statMu.Lock()
	db.merges.running = v
	db.merges.statMu.Unlock()
}

// firstSeqOf reads the first seq from segment id's header.
func (db *DB) firstSeqOf(id uint32) (uint64, error) {
	path := db.segPath(id)
	f, err := db.opts.FS.Open(path)
	if err != nil {
		return 0, fmt.Errorf("pykv/storage: open %s: %w", path, err)
	}
	defer f.Close()
	b := make([]byte, segment.HeaderSize)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("pykv/storage: read header of %s: %w", path, err)
	}
	h, err := segment.DecodeHeader(b)
	if err != nil {
		return 0, fmt.Errorf("pykv/storage: %s: %w", path, err)
	}
	return h.FirstSeq, nil
}

// keep copies r into the snapshot when the keydir still points at it, and
// deletes it when it has expired.
func (db *DB) keep(w *snapshot.Writer, r *segment.Record, now int64, st *MergeStats) error {
	if r.Type != segment.TypeSet {
		return nil
	}
	e, ok := db.keydir.Get(r.Key)
	if !ok || e.Seq != r.Seq {
		return nil // overwritten or deleted since
	}
	if expired(e, now) && !db.replica.Load() { // a replica keeps it for the leader's delete
		db.expireKey(r.Key, e.Seq, now)
		st.Expired++
		return nil
	}
	_, _, err := w.Add(r)
	return err
}

func (db *DB) mergeSnapshotFile(w *snapshot.Writer, df *dataFile, st *MergeStats) error {
	now := db.nowMs()
	st.BytesRead += df.size
	return df.snap.Records(db.opts.limits(), func(_ int64, r segment.Record) error {
		return db.keep(w, &r, now, st)
	})
}

func (db *DB) mergeSegmentFile(w *snapshot.Writer, id uint32, st *MergeStats) error {
	it, release, err := segment.MapFile(db.opts.FS, db.segPath(id), db.opts.limits())
	if err != nil {
		return err
	}
	defer release() // the snapshot writer copies what it keeps
	st.BytesRead += it.Size()
	now := db.nowMs()
	for it.Next() {
		r := it.Record()
		if err := db.keep(w, &r, now, st); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return nil
}

// swapToSnapshot repoints every key of snap whose keydir entry still has
// the snapshot's seq. A key written meanwhile keeps its newer location. It
// reads the index again, so it can fail part-way (an I/O error); keys it
// repointed by then stay repointed.
func (db *DB) swapToSnapshot(snap *snapshot.Snapshot) error {
	fileID := snap.ID() | snapFlag
	return snap.Index(db.opts.limits().MaxKey, func(e snapshot.IndexEntry) error {
		old, ok := db.keydir.Get(e.Key)
		if !ok || old.Seq != e.Seq {
			return nil
		}
		if db.keydir.CompareAndSwap(e.Key, e.Seq, index.Entry{FileID: fileID, Offset: e.Offset,
			Size: e.Size, ExpireAt: e.ExpireAt, Seq: e.Seq}) {
			db.liveBytes.Add(int64(e.Size) - int64(old.Size))
		}
		return nil
	})
}

// onRotate registers a segment the log just created.
func (db *DB) onRotate(sealed, created uint32) {
	if n, err := db.opts.FS.Stat(db.segPath(sealed)); err == nil {
		db.files.sealed(sealed, n)
	}
	db.files.addSegment(created, db.segPath(created))
	select {
	case db.rotated <- struct{}{}:
	default:
	}
}
