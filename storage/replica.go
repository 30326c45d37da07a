package storage

import (
	"errors"
	"fmt"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

// This file is the follower's side of replication: a replica logs the
// leader's records with the leader's seqs (Apply), so that after a
// restart it resumes from its own last seq, and a full sync replaces its
// whole dataset in one step (Install).

// ErrSeqOrder is returned by Apply for records that do not follow the
// log's last seq: applying them would skip or repeat history.
var ErrSeqOrder = errors.New("pykv/storage: replicated records out of seq order")

// SetReplica turns replica mode on or off. A replica expires no key by
// itself: a key past its time reads as missing, and its delete is left to
// the leader, whose log the replica's must equal. A DB opened as a
// replica should be switched before the first read.
func (db *DB) SetReplica(on bool) { db.replica.Store(on) }

// Replica reports whether the DB is in replica mode.
func (db *DB) Replica() bool { return db.replica.Load() }

// LastSeq returns the seq of the newest record applied.
func (db *DB) LastSeq() uint64 { return db.applied.Load() }

// DurableSeq returns the seq up to which the log is durable under the
// fsync policy: what a replica may acknowledge to its leader.
func (db *DB) DurableSeq() uint64 { return db.log.DurableSeq() }

// WaitDurable waits until the log is durable up to seq.
func (db *DB) WaitDurable(seq uint64) error { return db.awaitDurable(seq) }

// Apply logs one batch of a leader's records, with their seqs, and
// applies it, as the leader did: all of it or, after a crash, none. The
// seqs must increase and follow the log's last one. It does not wait for
// durability: WaitDurable does, before the replica acknowledges them.
func (db *DB) Apply(batch []segment.Record) error {
	if len(batch) == 0 {
		return nil
	}
	for i := range batch {
		if t := batch[i].Type; t != segment.TypeSet && t != segment.TypeDel && (t != segment.TypeFlush || i > 0) {
			return fmt.Errorf("pykv/storage: replicated record of seq %d has type %d, which is unknown or (a flush) not first in its batch", batch[i].Seq, batch[i].Type)
		}
		if i > 0 && batch[i].Seq <= batch[i-1].Seq {
			return fmt.Errorf("%w: seq %d after %d in one batch", ErrSeqOrder, batch[i].Seq, batch[i-1].Seq)
		}
	}
	return db.mutate(func() error {
		if db.closed.Load() {
			return ErrClosed
		}
		if batch[0].Seq <= db.seq {
			return fmt.Errorf("%w: seq %d, the log is at seq %d", ErrSeqOrder, batch[0].Seq, db.seq)
		}
		return db.logLocked(batch, nil) // a follower's values are BuiltByValue
	})
}

// An Install receives a full sync: the leader's snapshot records are
// written into a new snapshot file beside the data, while the old data
// goes on serving reads; Commit then makes it the dataset in one atomic
// step. A crash before Commit's rename leaves the old data, one after it
// the new: never a mix.
type Install struct {
	db      *DB
	w       *snapshot.Writer
	seg     uint32 // the active segment when it began
	dataset string
	covered uint64
}

// BeginInstall starts a full sync of dataset as of seq covered.
func (db *DB) BeginInstall(dataset string, covered uint64) (*Install, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if len(dataset) != 32 {
		return nil, fmt.Errorf("pykv/storage: dataset id %q is not 32 hex digits", dataset)
	}
	// The new snapshot replaces the whole set and every segment up to the
	// active one: the manifest Commit writes says so in one rename.
	seg, _ := db.log.Active()
	db.merges.mu.Lock()
	id, err := db.newSnapshotID()
	db.merges.mu.Unlock()
	if err != nil {
		return nil, err
	}
	w, err := snapshot.Create(db.opts.FS, db.dir, id, covered)
	if err != nil {
		return nil, err
	}
	if err := w.OrderIndex(db.keydir.Hash); err != nil {
		w.Abort()
		return nil, err
	}
	return &Install{db: db, w: w, seg: seg, dataset: dataset, covered: covered}, nil
}

// Add writes one record of the leader's snapshot.
func (in *Install) Add(r *segment.Record) error {
	if r.Seq > in.covered {
		return fmt.Errorf("pykv/storage: full sync record of seq %d is past the snapshot's seq %d", r.Seq, in.covered)
	}
	_, _, err := in.w.Add(r)
	return err
}

// Abort drops the install; the old data stays.
func (in *Install) Abort() { in.w.Abort() }

// Commit makes the received snapshot the dataset: it renames the file
// into place (the atomic step), starts a new segment after its seq,
// writes DATASET, and loads the snapshot in place of the old keydir. It
// holds the write lock throughout with the multi-key change marker odd,
// so a reader sees the old dataset or the new one, and an operation that
// runs across it fails as across a rollback.
func (in *Install) Commit() (err error) {
	db := in.db
	db.merges.mu.Lock()
	defer db.merges.mu.Unlock()
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.closed.Load() {
		in.w.Abort()
		return ErrClosed
	}
	if id, _ := db.log.Active(); id != in.seg {
		in.w.Abort()
		return fmt.Errorf("pykv/storage: the log moved to segment %d during a full sync into snapshot %d", id, in.w.ID())
	}
	db.changing.Add(1)
	defer db.changing.Add(1)
	db.rollbacks.Add(1)
	path, err := in.w.Finish()
	if err != nil {
		return err
	}
	db.testPoint("install: snapshot renamed")
	// The log's next segment, which Restart makes, is the first live one.
	set := &manifest{firstSeg: in.seg + 1, nextID: db.fileSet.nextID, covered: in.covered,
		files: []setFile{{id: in.w.ID(), min: min(in.w.MinSeq(), in.covered), max: in.covered}}}
	if err := writeManifest(db.opts.FS, db.dir, set); err != nil {
		// The snapshot stays: a failed directory fsync comes after the
		// rename, so the MANIFEST a restart finds may list it (if not,
		// the restart removes it).
		return fmt.Errorf("pykv/storage: write the manifest of a full sync: %w", err)
	}
	db.fileSet = set
	db.testPoint("install: renamed")
	// From here on the disk holds the new dataset. Anything that fails
	// leaves the process unable to serve it; it stops taking writes.
	if _, err := db.log.Restart(in.covered + 1); err != nil {
		return logFailed(err)
	}
	h := History{ID: in.dataset}
	if err := writeDataset(db.opts.FS, db.dir, h); err != nil {
		return fmt.Errorf("pykv/storage: full sync installed %s but DATASET was not written (a restart takes a full sync again): %w", path, err)
	}
	db.history.Store(&h)
	db.resets.Add(1)
	active, _ := db.log.Active()
	var old []uint32
	for _, id := range db.files.ids() {
		if id != active {
			old = append(old, id)
		}
	}
	db.files.discard(old)
	db.files.discardKept()
	db.keydir.Clear()
	db.cache.Clear()
	db.liveBytes.Store(0)
	db.undo = undoLog{}
	db.seq = 0
	if err := db.loadSnapshots(dirPlan{dir: db.dir, manifest: set, snapshots: []uint32{in.w.ID()}}); err != nil {
		// The disk holds the new dataset, the keydir a part of it at
		// most: drop that part, and take no write until a restart loads
		// the whole (a record logged now, with a seq below the
		// snapshot's, would stop that start-up).
		db.keydir.Clear()
		db.liveBytes.Store(0)
		db.files.zeroLive()
		db.files.forget(in.w.ID() | snapFlag) // unmapped by the failed load; the file stays
		db.seq = in.covered
		db.applied.Store(in.covered)
		db.installBroken = fmt.Errorf("pykv/storage: a full sync installed %s but could not load it; restart to load it: %w", path, err)
		db.merges.stuck = db.installBroken // a merge would retire the unloaded file as dead
		db.logger().Error("full sync installed but not loaded; restart pykvd", "snapshot", path, "err", err)
		return db.installBroken
	}
	db.seq = in.covered
	db.applied.Store(in.covered)
	db.logger().Info("full sync installed", "snapshot", path, "dataset", in.dataset, "seq", in.covered, "keys", db.keydir.Len())
	return nil
}

// NewHistory starts a new history that continues the current one up to
// the last seq: what a follower does when it is promoted to leader, so
// that a follower of the old leader that holds records the new one never
// got (a seq past this point) is told apart and takes a full sync, while
// one that holds no more than this continues with a partial one.
func (db *DB) NewHistory() (History, error) {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	old := db.history.Load()
	h := History{ID: newDatasetID(), Prev: old.ID, PrevEnd: db.seq}
	if err := writeDataset(db.opts.FS, db.dir, h); err != nil {
		return *old, fmt.Errorf("pykv/storage: start a new history in %s: %w", db.dir, err)
	}
	db.history.Store(&h)
	db.logger().Info("new history", "dataset", h.ID, "continues", h.Prev, "up_to_seq", h.PrevEnd)
	return h, nil
}

// AdoptHistory makes a follower's log part of its leader's history id,
// which continues this one's up to the follower's last seq (the leader
// said so with a partial sync after a promotion).
func (db *DB) AdoptHistory(id string) error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	old := db.history.Load()
	if id == old.ID {
		return nil
	}
	h := History{ID: id, Prev: old.ID, PrevEnd: db.seq}
	if err := writeDataset(db.opts.FS, db.dir, h); err != nil {
		return fmt.Errorf("pykv/storage: adopt history %s in %s: %w", id, db.dir, err)
	}
	db.history.Store(&h)
	return nil
}
