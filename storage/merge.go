package storage

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

// A merge rewrites the live records of the files it takes (mergeplan.go
// says which: every file for Merge, the policy's for the housekeeper) into
// one new snapshot file, without stopping reads or writes:
//
//  1. It reads the taken files; a set record is live when the keydir still
//     points at its seq. Live records are copied into the new snapshot;
//     expired ones are deleted (logged) instead. Overwritten records are
//     dropped; a delete is kept as a tombstone only while a file left
//     alone may hold an older version of its key (keepTombstone).
//  2. The snapshot is written as .tmp, fsynced, renamed, the directory
//     fsynced; then the MANIFEST that lists it in place of the taken files
//     is written the same way. The manifest's rename is the atomic step:
//     from here a restart uses the new set.
//  3. For each key of the snapshot, the keydir entry is repointed to the
//     snapshot only if its seq is unchanged (compare-and-swap): a write
//     that landed during the merge wins. The swap is per key, never a
//     stop-the-world rebuild.
//  4. The taken files are retired: each is removed once no reader holds
//     it (and, for a segment, once no follower needs it: retention.go).
//
// Step 1, and the fsync of the log that must come before the renames, is
// the run (runMerge): it only writes temporary files, and a run that fails
// removes them. Steps 2 to 4 are the install (installMerge).
//
// Writes during a merge go to the active segment, which is newer than
// everything merged, so a restart at any point replays them over the set.

// ErrMergeRunning is returned when a merge is asked for while one runs.
var ErrMergeRunning = errors.New("pykv/storage: a merge is already running")

// MergeStats describes one merge.
type MergeStats struct {
	Snapshot     string        // path of the snapshot written ("" when there was nothing to merge, or nothing live to keep)
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
	kept     uint64 // under mu: records the merges have looked at, for mergeYieldEvery
}

// mergeYieldEvery is how many records a merge looks at between two calls
// of runtime.Gosched. A merge is one goroutine that seldom blocks (its
// reads hit the page cache, its writes are buffered), so Go's scheduler
// would let it keep its P for a whole 10 ms time slice while the
// connections queued behind it wait; yielding every 256 records (some
// 50 µs of work) hands the P to them at once, and costs the merge nothing
// measurable. bench/merge-load.sh, SET throughput during a merge against
// none: the housekeeper's merge 0.77x to 0.84x without it, 0.84x to 1.00x
// with it; a full merge 0.66x to 0.70x, then 0.75x to 0.83x
// (docs/performance.md, "A merge under load").
const mergeYieldEvery = 256

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
	return db.mergeSealed(true)
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
func (db *DB) mergeSealed(full bool) (st MergeStats, err error) {
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
	return db.mergeSealedOnce(full)
}

// mergeSealedOnce plans, runs and installs one merge (see the top of this
// file): of every file when full, else of the files the policy picks
// (pickMerge). st holds what was done so far when it fails.
func (db *DB) mergeSealedOnce(full bool) (st MergeStats, err error) {
	start := time.Now()
	plan, err := db.pickMerge(full)
	if err != nil {
		return st, err
	}
	if len(plan.segs) == 0 && len(plan.snaps) == 0 {
		// Nothing to merge: the files are as a merge leaves them, which
		// is what LASTSAVE tells.
		db.merges.statMu.Lock()
		db.merges.lastAt = time.Now()
		db.merges.statMu.Unlock()
		return st, nil
	}
	db.setMergeRunning(true)
	defer db.setMergeRunning(false)
	if err := db.checkMergeSpace(plan.total); err != nil {
		return st, err
	}
	if plan.id, err = db.newSnapshotID(); err != nil {
		return st, err
	}
	run, err := db.runMerge(plan, &st)
	if err != nil {
		return st, err
	}
	if err := db.installMerge(plan, run, &st); err != nil {
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

// mergeRun is what the run step of a merge produced: a new snapshot, not
// yet finished, holding every live record of the merged files (nil when
// there was nothing to keep), and the files it replaces once installed.
type mergeRun struct {
	w       *snapshot.Writer // records written; Finish writes the index and publishes
	retired []uint32         // the files merged, to retire once the keys point at the snapshot
}

// runMerge is the first step of a merge: it writes plan's inputs into a new
// snapshot (under its temporary name) and makes the log durable, so that
// the snapshot may replace the merged files. It adds what it read, kept and
// dropped to st.
func (db *DB) runMerge(plan mergePlan, st *MergeStats) (run *mergeRun, err error) {
	w, err := snapshot.Create(db.opts.FS, db.dir, plan.id, plan.covered)
	if err != nil {
		return nil, err
	}
	defer func() {
		// A run that produced no result, by an error or by a panic (which
		// mergeSealed contains; err is then nil, and so is run), removes
		// the temporary files it wrote. Abort is idempotent.
		if run == nil || run.w == nil {
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
	// (flush.go), nor does a file whose records are all dead and that
	// holds no tombstone: each is retired without being read.
	flushed := db.flushedBelow.Load()
	for _, df := range plan.snaps {
		if !plan.flushed && (df.live.Load() > 0 || df.tombs > 0) {
			if err := db.mergeSnapshotFile(w, df, plan, st); err != nil {
				return nil, err
			}
			report()
			db.testPoint("merge: file merged")
		}
		retired = append(retired, df.id)
	}
	for _, id := range plan.segs {
		if id >= flushed {
			if err := db.mergeSegmentFile(w, id, plan, st); err != nil {
				return nil, err
			}
			report()
			db.testPoint("merge: file merged")
		}
		retired = append(retired, id)
	}
	st.Keys = w.Count() - uint64(w.Tombstones())
	// keep() chose records by what the keydir points at, and the keydir
	// shows a write as soon as it is appended, before it is durable. A
	// version the merge skipped because a newer one replaced it must not
	// vanish with the merged files while that newer one could still be
	// lost: make everything appended so far durable before publishing.
	if err := db.log.Sync(); err != nil {
		return nil, logFailed(err)
	}
	run = &mergeRun{w: w, retired: retired}
	if w.Count() == 0 && !plan.full {
		// Nothing to keep: the manifest alone retires the files. (A full
		// merge always writes its snapshot: it is the dataset a View or
		// a backup holds, empty or not.)
		run.w = nil
	}
	return run, nil
}

// installMerge is the second step of a merge: it publishes run's snapshot
// (index, fsync, rename, directory fsync), then the manifest that lists it
// in place of the merged files (the atomic step), repoints the keys whose
// seq is unchanged to it, makes the log durable again and retires the
// merged files. Once the manifest is published a failure stops merges
// until a restart, which completes the merge from the directory as it is.
func (db *DB) installMerge(plan mergePlan, run *mergeRun, st *MergeStats) error {
	next := db.fileSet.after(plan, run)
	var path string
	if run.w != nil {
		var err error
		if path, err = run.w.Finish(); err != nil { // on an error it removes what it wrote
			return err
		}
		db.testPoint("merge: snapshot published")
	}
	if err := writeManifest(db.opts.FS, db.dir, next); err != nil {
		// The old manifest stands in memory, but on disk the new one may
		// have been renamed in (a failed directory fsync): the new
		// snapshot stays, since that manifest lists it, and a restart
		// removes whichever files the manifest it finds does not list.
		return fmt.Errorf("pykv/storage: write the manifest of a merge: %w", err)
	}
	db.fileSet = next
	db.testPoint("merge: manifest published")
	if path != "" {
		snap, err := snapshot.Open(db.opts.FS, path)
		if err != nil {
			db.merges.stuck = fmt.Errorf("pykv/storage: reopen the snapshot just written, %s; merges resume after a restart: %w", path, err)
			return db.merges.stuck
		}
		df := db.files.addSnapshot(snap, run.w.MinSeq())
		if err := db.swapToSnapshot(snap); err != nil {
			// Some keys point at the new snapshot, the others still at the
			// merged files, so those must stay. Every key stays readable,
			// and the snapshot is complete and durable: the next start-up
			// loads the set the manifest names and removes the files it
			// replaced.
			db.merges.stuck = fmt.Errorf("pykv/storage: a merge could not repoint keys to %s and kept the files it merged; merges resume after a restart: %w", path, err)
			db.logger().Error("merge could not finish; restart pykvd to complete it", "snapshot", path, "err", err)
			return db.merges.stuck
		}
		st.BytesWritten = df.size
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
// deletes it when it has expired. A delete record is kept as a tombstone
// when plan needs it (keepTombstone).
func (db *DB) keep(w *snapshot.Writer, r *segment.Record, plan mergePlan, now int64, st *MergeStats) error {
	db.mergeYield()
	switch r.Type {
	case segment.TypeDel:
		return db.keepTombstone(w, r.Key, r.Seq, plan)
	case segment.TypeSet:
	default:
		return nil
	}
	e, ok := db.keydir.Get(r.Key)
	if !ok || e.Seq != r.Seq {
		return nil // overwritten or deleted since
	}
	return db.keepLive(w, r, e, now, st)
}

// mergeYield hands the P to other goroutines every mergeYieldEvery
// records a merge looks at.
func (db *DB) mergeYield() {
	if db.merges.kept++; db.merges.kept%mergeYieldEvery == 0 {
		runtime.Gosched()
	}
}

// keepLive copies r, the version e of its key that the keydir points at,
// into the snapshot, or deletes it when it has expired.
func (db *DB) keepLive(w *snapshot.Writer, r *segment.Record, e index.Entry, now int64, st *MergeStats) error {
	if expired(e, now) && !db.replica.Load() { // a replica keeps it for the leader's delete
		db.expireKey(r.Key, e.Seq, now)
		st.Expired++
		return nil
	}
	_, _, err := w.Add(r)
	return err
}

// keepTombstone writes a tombstone for key, deleted at seq, into the new
// snapshot when an older version may still lie in a file that stays: a
// snapshot file the merge leaves alone whose seqs start below seq. Once
// no such file is left (a full merge, or one that takes every older
// file), the tombstone is dropped. A key the keydir holds again was set
// after the delete, and that newer version, made durable before the
// merge publishes (runMerge), stands for it.
func (db *DB) keepTombstone(w *snapshot.Writer, key []byte, seq uint64, plan mergePlan) error {
	if plan.full || plan.flushed {
		return nil
	}
	if _, ok := db.keydir.Get(key); ok {
		return nil
	}
	for _, df := range plan.others {
		if df.minSeq < seq {
			return w.AddTombstone(key, seq)
		}
	}
	return nil
}

// mergeSnapshotFile keeps the live records and the needed tombstones of
// the snapshot file df. A file of version 3 is read through its index
// (mergeCompactFile); an older one record by record, in file order, then
// through its index for the tombstones, if it has any.
func (db *DB) mergeSnapshotFile(w *snapshot.Writer, df *dataFile, plan mergePlan, st *MergeStats) error {
	now := db.nowMs()
	st.BytesRead += df.size
	if df.snap.Header.Version >= snapshot.VersionCompact {
		return db.mergeCompactFile(w, df, plan, now, st)
	}
	if df.live.Load() > 0 {
		if err := df.snap.Records(db.opts.limits(), func(_ int64, r segment.Record) error {
			return db.keep(w, &r, plan, now, st)
		}); err != nil {
			return err
		}
	}
	if df.tombs == 0 {
		return nil
	}
	return df.snap.Index(db.opts.limits().MaxKey, func(e snapshot.IndexEntry) error {
		if !e.Tombstone() {
			return nil
		}
		return db.keepTombstone(w, e.Key, e.Seq, plan)
	})
}

// mergeCompactFile is mergeSnapshotFile for a file of version 3, whose
// records hold no seq: one walk of the index, in its order, finds each
// record's key and seq there, and reads the record (checked against its
// entry, see snapshot.RecordAt) only when the keydir still points at that
// version. Dead records are never read.
func (db *DB) mergeCompactFile(w *snapshot.Writer, df *dataFile, plan mergePlan, now int64, st *MergeStats) error {
	lim := db.opts.limits()
	return df.snap.Index(lim.MaxKey, func(e snapshot.IndexEntry) error {
		db.mergeYield()
		if e.Tombstone() {
			return db.keepTombstone(w, e.Key, e.Seq, plan)
		}
		cur, ok := db.keydir.Get(e.Key)
		if !ok || cur.Seq != e.Seq {
			return nil // overwritten or deleted since
		}
		r, err := df.snap.RecordAt(&e, lim)
		if err != nil {
			return err
		}
		return db.keepLive(w, &r, cur, now, st)
	})
}

func (db *DB) mergeSegmentFile(w *snapshot.Writer, id uint32, plan mergePlan, st *MergeStats) error {
	it, release, err := segment.MapFile(db.opts.FS, db.segPath(id), db.opts.limits())
	if err != nil {
		return err
	}
	defer release() // the snapshot writer copies what it keeps
	st.BytesRead += it.Size()
	now := db.nowMs()
	for it.Next() {
		r := it.Record()
		if err := db.keep(w, &r, plan, now, st); err != nil {
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
		if e.Tombstone() {
			return nil
		}
		old, ok := db.keydir.Get(e.Key)
		if !ok || old.Seq != e.Seq {
			return nil
		}
		if db.keydir.CompareAndSwap(e.Key, e.Seq, index.Entry{FileID: fileID, Offset: e.Offset,
			Size: e.Size, ExpireAt: e.ExpireAt, Seq: e.Seq}) {
			db.track(old, true)
			db.gain(fileID, e.Size)
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
