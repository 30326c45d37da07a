package storage

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// DB is an open data directory. It is safe for concurrent use.
type DB struct {
	opts    Options
	dir     string
	lock    io.Closer
	history atomic.Pointer[History] // replaced by a full sync or a promotion (replica.go)

	keydir *index.Keydir
	cache  *index.Cache
	// expiryEvery is the active expiry period in nanoseconds, first
	// Options.ExpiryInterval, changed by SetExpiryInterval.
	expiryEvery   atomic.Int64
	expiryChanged chan struct{} // SetExpiryInterval wakes the expiry loop
	// thresholds are the background merge triggers, first Options',
	// changed by SetMergeThresholds.
	thresholds atomic.Pointer[MergeThresholds]
	// avgTTL is Stats.AvgTTLMs, kept by ExpireCycle.
	avgTTL atomic.Int64

	// wmu serializes mutations: seq assignment, condition checks, the log
	// append and the keydir update happen under it; the wait for the fsync
	// does not.
	wmu sync.Mutex
	seq uint64 // seq of the newest record; guarded by wmu
	log *segment.Writer

	files *fileTable

	closed   atomic.Bool
	bgMu     sync.Mutex // orders background starts (bgDone.Add) before Close's Wait
	stop     chan struct{}
	rotated  chan struct{} // a segment was sealed: the housekeeper looks
	bgDone   sync.WaitGroup
	recovery recoveryStats

	hits, misses    atomic.Uint64 // keyspace hits and misses
	expired, writes atomic.Uint64

	// liveBytes is the size of the records the keydir points at; the rest
	// of the data files is dead and a merge reclaims it.
	liveBytes atomic.Int64
	merges    mergeState
	guard     guard // background panics contained (guard.go)
	// applied is the seq of the newest record applied to the keydir, the
	// horizon a reply waits for (deferred.go). It goes down only when a
	// failed log's writes are taken back (undo.go).
	applied atomic.Uint64
	// undo and rolledBack: what the writes not yet durable replaced, to take
	// them back if the log fails; guarded by wmu.
	undo       undoLog
	rolledBack bool
	// changing is odd while a multi-key change is applied to the keydir (a
	// batch of records, a rollback): single-key readers that overlap one
	// look again under wmu, so that no reader sees part of it (read.go).
	changing atomic.Uint64
	// rollbacks counts rollbacks: an operation that overlaps one fails
	// (deferred.go).
	rollbacks atomic.Uint64
	// resets counts full syncs installed (replica.go): a horizon from
	// before one belongs to a history that is gone.
	resets atomic.Uint64
	// replica is set while the DB follows a leader: it never expires a
	// key by itself (it answers nil for one past its time and leaves the
	// delete to the leader), so its log holds only the leader's records.
	replica atomic.Bool
	// watched holds the keys that WATCH registered, with the last delete
	// of each since (tx.go); guarded by wmu.
	watched map[string]*watchState
	// fileSet is the set of live snapshot files as the manifest says (or, for
	// a directory of the first format, will say once a merge writes it);
	// guarded by merges.mu, and set by recovery before anything runs.
	fileSet *manifest
	// flushedBelow is the id of the segment that holds the last flush
	// record: every file with a lower id holds nothing live (flush.go).
	flushedBelow atomic.Uint32
	// installBroken, guarded by wmu, is set when a full sync's snapshot
	// was made the dataset on disk but could not be loaded into the
	// keydir: every later write is refused until a restart, which loads
	// it (Install.Commit).
	installBroken error
}

// Open opens (creating if needed) the data directory dir.
func Open(dir string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	fsys := opts.FS
	if err := fsys.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("pykv/storage: create data directory %s: %w", dir, err)
	}
	lock, err := fsys.Lock(filepath.Join(dir, lockFile))
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			return nil, fmt.Errorf("pykv/storage: data directory %s is in use by another process (its LOCK file is held): %w", dir, err)
		}
		return nil, fmt.Errorf("pykv/storage: lock data directory %s: %w", dir, err)
	}
	db := &DB{
		opts:    opts,
		dir:     dir,
		lock:    lock,
		keydir:  index.NewKeydir(0),
		cache:   index.NewCache(opts.CacheBytes, 0),
		files:   newFileTable(fsys),
		stop:    make(chan struct{}),
		rotated: make(chan struct{}, 1),

		expiryChanged: make(chan struct{}, 1),
	}
	db.replica.Store(opts.Replica)
	db.expiryEvery.Store(int64(opts.ExpiryInterval))
	db.thresholds.Store(&MergeThresholds{SealedSegments: opts.MergeSealedSegments, DeadBytes: opts.MergeDeadBytes,
		DeadRatio: opts.MergeDeadRatio, MaxSpaceAmp: opts.MergeMaxSpaceAmp, MinInterval: opts.MergeMinInterval})
	db.files.setBacklog(opts.Backlog)
	db.tickLRU() // keys loaded from disk start with an idle time of 0
	if err := db.open(); err != nil {
		db.files.closeAll()
		lock.Close()
		return nil, err
	}
	db.merges.lastAt = time.Now() // LASTSAVE before any merge: when the files were read whole
	db.bgDone.Add(1)
	go db.lruLoop()
	if opts.ExpiryInterval > 0 {
		db.bgDone.Add(1)
		go db.expireLoop()
	}
	if !opts.NoHousekeeper {
		db.bgDone.Add(1)
		go db.housekeeper()
	}
	return db, nil
}

func (db *DB) open() error {
	h, err := loadOrInitDataset(db.opts.FS, db.dir)
	if err != nil {
		return fmt.Errorf("pykv/storage: dataset id in %s: %w", db.dir, err)
	}
	db.history.Store(&h)
	start := time.Now()
	next, err := db.recover()
	if err != nil {
		return err
	}
	if db.recovery.records > 0 || db.recovery.snapshotKeys > 0 {
		// Recovery read whole segments and the snapshot's index into
		// buffers that are garbage now: give their memory back rather
		// than carry it in RSS until the runtime's scavenger gets to it.
		debug.FreeOSMemory()
	}
	db.recovery.duration = time.Since(start)
	db.applied.Store(db.seq) // what recovery read is on disk
	w, err := segment.Create(segment.WriterOptions{
		FS:          db.opts.FS,
		Dir:         db.dir,
		Sync:        db.opts.Sync,
		SegmentSize: db.opts.SegmentSize,
		Logger:      db.opts.Logger,
		OnRotate:    db.onRotate,
	}, next, db.seq+1)
	if err != nil {
		return err
	}
	db.log = w
	db.files.addSegment(next, db.segPath(next))
	db.opts.Logger.Info("recovered data directory", "dir", db.dir, "dataset", h.ID,
		"segments", db.recovery.segments, "records", db.recovery.records, "keys", db.keydir.Len(),
		"last_seq", db.seq, "duration", db.recovery.duration, "fsync", db.opts.Sync.String())
	return nil
}

func (db *DB) segPath(id uint32) string { return segment.Path(db.dir, id) }

// DatasetID returns the id of the history this directory holds.
func (db *DB) DatasetID() string { return db.history.Load().ID }

// History returns the history this directory holds (see History).
func (db *DB) History() History { return *db.history.Load() }

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }

// Now returns the engine's clock.
func (db *DB) Now() time.Time { return db.opts.Clock() }

func (db *DB) nowMs() int64 { return db.opts.Clock().UnixMilli() }

// MaxValueSize is the longest value the engine stores (max_value_size):
// a longer one is ErrValueTooLarge.
func (db *DB) MaxValueSize() int { return db.opts.MaxValueSize }

// Sync makes everything written so far durable, whatever the policy.
func (db *DB) Sync() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return db.log.Sync()
}

// Limits returns the largest key and value this DB accepts from writers
// (Options.MaxKeySize and MaxValueSize, defaults filled in), for front
// ends that bound what they read before the engine sees it.
func (db *DB) Limits() segment.Limits {
	return segment.Limits{MaxKey: db.opts.MaxKeySize, MaxValue: db.opts.MaxValueSize}
}

// Healthy returns nil while the engine is open and its log takes writes,
// else why not (ErrClosed, or an error wrapping ErrLogFailed).
func (db *DB) Healthy() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return logFailed(db.log.Err())
}

// Close flushes and fsyncs the log, stops background work, closes the files
// and releases the directory's lock.
func (db *DB) Close() error {
	db.bgMu.Lock()
	already := db.closed.Swap(true)
	db.bgMu.Unlock()
	if already {
		return ErrClosed
	}
	close(db.stop)
	db.bgDone.Wait()
	// A merge run by Merge (COMPACT) is not background work: wait for it
	// rather than close the files under it.
	db.merges.mu.Lock()
	defer db.merges.mu.Unlock()
	db.wmu.Lock()
	err := db.log.Close()
	db.wmu.Unlock()
	db.files.closeAll()
	if lerr := db.lock.Close(); err == nil {
		err = lerr
	}
	db.opts.Logger.Info("closed data directory", "dir", db.dir, "last_seq", db.seq)
	return err
}

// Stats returns the engine's counters.
func (db *DB) Stats() Stats {
	d := Deferred{db: db}
	st := d.Stats()
	_ = d.settle(nil) // counters: shown even when the log has failed
	return st
}

func (db *DB) stats() Stats {
	db.wmu.Lock()
	seq := db.seq
	db.wmu.Unlock()
	return db.statsAt(seq)
}

// statsAt is stats with the newest record's seq, which a caller holding
// wmu reads itself.
func (db *DB) statsAt(seq uint64) Stats {
	cs := db.cache.Stats()
	segs, snaps, bytes := db.diskUsage()
	backlogSegs, backlogBytes := db.files.backlogUsage()
	ms := db.merges.stats()
	return Stats{
		Snapshots:      snaps,
		Merges:         ms.runs,
		MergeReclaimed: ms.read - ms.written,
		MergeRead:      ms.read,
		MergeWritten:   ms.written,
		LastMergeMs:    ms.last.Milliseconds(),
		LastMergeAt:    ms.lastAt,
		MergeRunning:   ms.running,
		MergeFailures:  ms.failures,
		MergesDeclined: ms.declined,
		BgPanics:       db.guard.panics.Load(),
		LiveBytes:      db.liveBytes.Load(),
		DeadBytes:      max(bytes-db.liveBytes.Load(), 0),
		Keys:           db.keydir.Len(),
		KeysWithTTL:    db.keydir.LenWithTTL(),
		AvgTTLMs:       db.avgTTL.Load(),
		LastSeq:        seq,
		Segments:       segs,
		DiskBytes:      bytes,
		CacheBytes:     cs.Bytes,
		CacheBudget:    cs.Budget,
		CacheHits:      cs.Hits,
		CacheMisses:    cs.Misses,
		KeyspaceHits:   db.hits.Load(),
		KeyspaceMisses: db.misses.Load(),
		ExpiredKeys:    db.expired.Load(),
		Writes:         db.writes.Load(),
		Fsyncs:         db.log.Syncs(),
		LogBytes:       uint64(db.log.Appended()),
		BacklogSegs:    backlogSegs,
		BacklogBytes:   backlogBytes,
		RecoveryMs:     db.recovery.duration.Milliseconds(),
		RecoveredRecs:  db.recovery.records,
		DatasetID:      db.DatasetID(),
	}
}

// diskUsage returns the segment and snapshot counts and their bytes, the
// active segment counted at its current size.
func (db *DB) diskUsage() (segments, snapshots int, bytes int64) {
	id, size := db.log.Active()
	db.files.setSize(id, size)
	return db.files.usage()
}

// logger returns the engine's logger.
func (db *DB) logger() *slog.Logger { return db.opts.Logger }
