package storage

import (
	"time"

	"github.com/pykv/pykv/segment"
)

// Deferred is a view of a DB whose writes return as soon as they are
// logged (appended and applied), leaving the wait for durability to its
// owner, who calls Wait before acknowledging any of them. A server gives
// each connection one: the writes of a pipeline then share one wait (one
// write, and under fsync always one fsync) instead of waiting one by one,
// and no reply leaves before Wait has returned.
//
// Reads through a Deferred are the DB's. A Deferred is not safe for
// concurrent use: one connection, one goroutine.
type Deferred struct {
	db         *DB
	pending    segment.LSN // the highest LSN written or read and not yet waited for
	pendingSeq uint64      // the seq that LSN ends
}

// Deferred returns a new deferred view of db.
func (db *DB) Deferred() *Deferred { return &Deferred{db: db} }

func (d *Deferred) note(lsn segment.LSN, seq uint64) {
	d.pending = max(d.pending, lsn)
	d.pendingSeq = max(d.pendingSeq, seq)
}

// observe makes a read of the version seq wait, like a write, when that
// version is not yet known durable: a reply must not show another client's
// write that a power cut could still take back (Redis with appendfsync
// always never does either).
func (d *Deferred) observe(seq uint64) {
	if seq > d.db.durableSeq.Load() {
		d.note(d.db.log.Appended(), seq)
	}
}

// Pending reports whether writes wait for Wait.
func (d *Deferred) Pending() bool { return d.pending != 0 }

// Wait makes every write made through d so far durable under the fsync
// policy. After an error, none of them may be acknowledged.
func (d *Deferred) Wait() error {
	if d.pending == 0 {
		return nil
	}
	lsn, seq := d.pending, d.pendingSeq
	d.pending, d.pendingSeq = 0, 0
	if err := d.db.log.Commit(lsn); err != nil {
		return logFailed(err)
	}
	d.db.markDurable(seq)
	return nil
}

// Set is DB.Set without the wait.
func (d *Deferred) Set(key, value []byte, opt SetOptions) (SetResult, error) {
	return d.db.set(d, key, value, opt)
}

// MSet is DB.MSet without the wait.
func (d *Deferred) MSet(pairs ...[]byte) error { return d.db.mset(d, pairs...) }

// Del is DB.Del without the wait.
func (d *Deferred) Del(keys ...[]byte) (int, error) { return d.db.del(d, keys...) }

// IncrBy is DB.IncrBy without the wait.
func (d *Deferred) IncrBy(key []byte, delta int64) (int64, error) { return d.db.incrBy(d, key, delta) }

// Expire is DB.Expire without the wait.
func (d *Deferred) Expire(key []byte, atMs int64) (bool, error) { return d.db.expire(d, key, atMs) }

// Persist is DB.Persist without the wait.
func (d *Deferred) Persist(key []byte) (bool, error) { return d.db.persist(d, key) }

// GetDel is DB.GetDel without the wait.
func (d *Deferred) GetDel(key []byte) ([]byte, error) { return d.db.getDel(d, key) }

// Now is DB.Now.
func (d *Deferred) Now() time.Time { return d.db.Now() }

// Get is DB.Get; a version not yet durable makes the reply wait.
func (d *Deferred) Get(key []byte) ([]byte, error) {
	v, seq, err := d.db.get(key)
	d.observe(seq)
	return v, err
}

// Exists is DB.Exists; a version not yet durable makes the reply wait.
func (d *Deferred) Exists(keys ...[]byte) (int, error) {
	n, seq, err := d.db.exists(keys)
	d.observe(seq)
	return n, err
}

// PTTL is DB.PTTL.
func (d *Deferred) PTTL(key []byte) (int64, error) { return d.db.PTTL(key) }

// MGet is DB.MGet; a version not yet durable makes the reply wait.
func (d *Deferred) MGet(keys ...[]byte) ([][]byte, error) {
	vals, seq, err := d.db.mget(keys)
	d.observe(seq)
	return vals, err
}

// Scan is DB.Scan.
func (d *Deferred) Scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	return d.db.Scan(cursor, match, count)
}

// DBSize is DB.DBSize.
func (d *Deferred) DBSize() int64 { return d.db.DBSize() }

// Stats is DB.Stats.
func (d *Deferred) Stats() Stats { return d.db.Stats() }

// StartMerge is DB.StartMerge.
func (d *Deferred) StartMerge() bool { return d.db.StartMerge() }

// Merge is DB.Merge.
func (d *Deferred) Merge() (MergeStats, error) { return d.db.Merge() }
