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
	db      *DB
	pending segment.LSN // the highest LSN written and not yet waited for
}

// Deferred returns a new deferred view of db.
func (db *DB) Deferred() *Deferred { return &Deferred{db: db} }

func (d *Deferred) note(lsn segment.LSN) { d.pending = max(d.pending, lsn) }

// Pending reports whether writes wait for Wait.
func (d *Deferred) Pending() bool { return d.pending != 0 }

// Wait makes every write made through d so far durable under the fsync
// policy. After an error, none of them may be acknowledged.
func (d *Deferred) Wait() error {
	if d.pending == 0 {
		return nil
	}
	lsn := d.pending
	d.pending = 0
	return logFailed(d.db.log.Commit(lsn))
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

// Get is DB.Get.
func (d *Deferred) Get(key []byte) ([]byte, error) { return d.db.Get(key) }

// Exists is DB.Exists.
func (d *Deferred) Exists(keys ...[]byte) (int, error) { return d.db.Exists(keys...) }

// PTTL is DB.PTTL.
func (d *Deferred) PTTL(key []byte) (int64, error) { return d.db.PTTL(key) }

// MGet is DB.MGet.
func (d *Deferred) MGet(keys ...[]byte) ([][]byte, error) { return d.db.MGet(keys...) }

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
