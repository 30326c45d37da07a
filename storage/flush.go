package storage

import (
	"github.com/pykv/pykv/segment"
)

// FLUSHALL is one record: a flush record (segment.TypeFlush) carrying its
// seq, which means that every key written at a lower seq is gone. The
// segment writer opens a fresh segment of format version 2 for it, so that
// it is that segment's first record: every older segment, and the
// snapshot, hold nothing live once it is durable, and are removed without
// being read (at start-up, and by the next merge). A directory that never
// flushed keeps format version 1 throughout.
//
// In memory a flush is applied only once its record is durable under the
// fsync policy (the write lock is held across that wait): the undo log
// could not take back the whole keydir if the log failed, so the keydir
// is never cleared for a flush that a restart might not find. Then the
// keydir and the cache are emptied, and every watched key that was in the
// keydir is noted as deleted at the flush's seq, so that WATCH sees the
// change as it sees a DEL.
//
// A flush inside a transaction (EXEC) is the first record of the
// transaction's batch: the batch then opens the new segment, and recovery
// applies the flush and the writes that follow it, or none of them.

// flushBatch returns the batch that flushes the keyspace: one record.
func flushBatch() []segment.Record { return []segment.Record{{Type: segment.TypeFlush}} }

// flushAll logs a flush and applies it.
func (db *DB) flushAll() error {
	return db.mutate(func() error { return db.appendLocked(flushBatch()) })
}

// FlushAll removes every key, as one record (see above). It returns once
// the flush is durable under the fsync policy.
func (d *Deferred) FlushAll() error {
	t := d.begin()
	return d.end(t, d.db.flushAll())
}

// FlushAll removes every key; see Deferred.FlushAll.
func (db *DB) FlushAll() error {
	d := Deferred{db: db}
	return d.settle(d.FlushAll())
}

// applyFlushLocked empties the keyspace for the flush record of seq,
// which lies in segment fileID and is durable. The caller holds wmu with
// the changing counter odd.
func (db *DB) applyFlushLocked(seq uint64, fileID uint32) {
	for key, w := range db.watched {
		if e, ok := db.keydir.Get([]byte(key)); ok {
			w.delSeq, w.prevSeq = seq, e.Seq
		}
	}
	db.clearKeyspace(fileID)
}

// clearKeyspace empties the keydir and the cache for a flush in segment
// fileID: every file older than it is dead.
func (db *DB) clearKeyspace(fileID uint32) {
	db.keydir.Clear()
	db.cache.Clear()
	db.liveBytes.Store(0)
	db.files.zeroLive()
	db.undo = undoLog{}
	db.flushedBelow.Store(fileID)
}
