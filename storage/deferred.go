package storage

import (
	"errors"
	"time"
)

// Every operation, read or write, goes through a Deferred: the DB's own
// methods use a fresh one and wait at once, a server gives each connection
// one and waits once per batch of replies. There is one rule, applied to
// every operation alike (docs/format.md, "What a reply may show"):
//
//   - A reply waits until every record applied before its operation ended
//     is durable under the fsync policy: its horizon. That covers the
//     operation's own write, the version a read returned, and the state a
//     read saw without a version (a missing key, a count, a SCAN page),
//     since any of them may be the work of another client's write still
//     waiting for its fsync. Redis, whose event loop fsyncs before it sends
//     any reply, gives the same guarantee.
//   - When the log fails, the writes it could not make durable are taken
//     back from the keydir (undo.go), and an operation that ran across
//     that rollback fails instead of showing what it saw.
//
// The horizon is the DB's applied seq, read after the operation: appends
// publish it before they change the keydir. The count of rollbacks, read
// before and after, tells whether one overlapped the operation: then
// neither its write nor what it read may be shown.

// errRolledBack fails an operation that ran while the engine took back
// writes the failed log could not make durable.
var errRolledBack = errors.New("pykv/storage: the log failed while this operation ran; what it saw may have been taken back")

// Deferred is a view of a DB whose operations return as soon as they are
// done in memory, leaving the wait for durability to its owner, who calls
// Wait before acknowledging any write or showing any read made through it.
// A server gives each connection one: the commands of a pipeline then share
// one wait (one write, and under fsync always one fsync) instead of
// waiting one by one, and no reply leaves before Wait has returned.
//
// A Deferred is not safe for concurrent use: one connection, one goroutine.
type Deferred struct {
	db      *DB
	horizon uint64 // the highest seq a reply made through d waits for
	epoch   uint64 // db.resets when horizon was taken
	err     error  // an operation ran across a rollback: Wait fails
}

// Deferred returns a new deferred view of db.
func (db *DB) Deferred() *Deferred { return &Deferred{db: db} }

// begin is called before an operation; end, after it, with begin's result.
func (d *Deferred) begin() uint64 { return d.db.rollbacks.Load() }

// end records the horizon of an operation that began at start and returns
// err, the operation's own result.
func (d *Deferred) end(start uint64, err error) error {
	h := d.db.applied.Load()
	if d.db.rollbacks.Load() != start {
		if d.err == nil {
			d.err = errRolledBack
		}
		return err
	}
	if e := d.db.resets.Load(); e != d.epoch {
		// A full sync replaced the history the horizon was in, after
		// making all of it durable: only the new one's counts.
		d.epoch, d.horizon = e, 0
	}
	d.horizon = max(d.horizon, h)
	return err
}

// Pending reports whether a reply made through d waits for Wait.
func (d *Deferred) Pending() bool { return d.err != nil || d.horizon > d.db.log.DurableSeq() }

// Wait returns once every write made through d so far, and every write a
// read through d may have shown, is durable under the fsync policy. After
// an error none of the replies may be sent.
func (d *Deferred) Wait() error {
	h, failed := d.horizon, d.err
	d.horizon, d.err = 0, nil
	if failed != nil {
		return failed
	}
	if d.db.resets.Load() != d.epoch {
		return nil // its history was made durable before a full sync replaced it
	}
	return d.db.awaitDurable(h)
}

// awaitDurable waits until every record up to seq is durable. When the log
// failed first, it takes back what the log could not make durable.
func (db *DB) awaitDurable(seq uint64) error {
	if seq <= db.log.DurableSeq() {
		return nil
	}
	if err := db.log.CommitSeq(seq); err != nil {
		db.rollback()
		return logFailed(err)
	}
	return nil
}

// settle ends an operation of a DB method: it waits for d's horizon and
// returns the operation's own error, or else the wait's. A missing key is
// not an answer that may skip the wait.
func (d *Deferred) settle(err error) error {
	werr := d.Wait()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if werr != nil {
		return werr
	}
	return err
}

// Set writes key = value with the options of Redis's SET.
func (d *Deferred) Set(key, value []byte, opt SetOptions) (SetResult, error) {
	t := d.begin()
	res, err := d.db.set(key, value, opt)
	return res, d.end(t, err)
}

// MSet writes key, value, key, value... pairs as one batch: readers and,
// after a crash, recovery see all of them or none.
func (d *Deferred) MSet(pairs ...[]byte) error {
	t := d.begin()
	return d.end(t, d.db.mset(pairs...))
}

// Del deletes keys as one batch and returns how many existed.
func (d *Deferred) Del(keys ...[]byte) (int, error) {
	t := d.begin()
	n, err := d.db.del(keys...)
	return n, d.end(t, err)
}

// IncrBy adds delta to the integer value of key (0 when missing), keeping
// the key's expiry, and returns the new value. The log holds the result,
// not the increment.
func (d *Deferred) IncrBy(key []byte, delta int64) (int64, error) {
	t := d.begin()
	n, err := d.db.incrBy(key, delta)
	return n, d.end(t, err)
}

// MSetNX writes key, value, key, value... pairs as one batch only if none
// of the keys exists, and reports whether it wrote them: readers and, after
// a crash, recovery see all of them or none.
func (d *Deferred) MSetNX(pairs ...[]byte) (bool, error) {
	t := d.begin()
	ok, err := d.db.msetNX(pairs...)
	return ok, d.end(t, err)
}

// Update reads key's state and writes what fn makes of it in one atomic
// step, under the engine's write lock: APPEND, SETRANGE, INCRBYFLOAT and
// GETEX are built on it. fn must not call the DB. What is logged is fn's
// result (a SET of the new value with its absolute expiry, or a DEL when
// that expiry is past), so a replay never runs fn again. fn's error is
// returned, with nothing written; a value longer than MaxValueSize is
// ErrValueTooLarge (a function that would build one returns that error
// instead of building it).
func (d *Deferred) Update(key []byte, fn func(Current) (Change, error)) error {
	t := d.begin()
	return d.end(t, d.db.update(key, fn))
}

// Expire sets key's expiry to atMs (unix ms) and reports whether the key
// exists. A time not in the future (0 and negative times included) deletes
// the key, as in Redis.
func (d *Deferred) Expire(key []byte, atMs int64) (bool, error) {
	t := d.begin()
	ok, err := d.db.rewriteExpiry(key, false, atMs)
	return ok, d.end(t, err)
}

// Persist removes key's expiry and reports whether it had one.
func (d *Deferred) Persist(key []byte) (bool, error) {
	t := d.begin()
	ok, err := d.db.rewriteExpiry(key, true, 0)
	return ok, d.end(t, err)
}

// GetDel returns the value of key and deletes the key in one step, or
// ErrNotFound.
func (d *Deferred) GetDel(key []byte) ([]byte, error) {
	t := d.begin()
	v, err := d.db.getDel(key)
	return v, d.end(t, err)
}

// Get returns the value of key, or ErrNotFound. The returned slice must
// not be modified.
func (d *Deferred) Get(key []byte) ([]byte, error) {
	t := d.begin()
	v, err := d.db.get(key, true)
	return v, d.end(t, err)
}

// Peek is Get for a read that is no use of the key (OBJECT ENCODING):
// it leaves the key's idle time alone.
func (d *Deferred) Peek(key []byte) ([]byte, error) {
	t := d.begin()
	v, err := d.db.get(key, false)
	return v, d.end(t, err)
}

// PeekBuilt is Peek with how the value was built (OBJECT ENCODING and
// REFCOUNT).
func (d *Deferred) PeekBuilt(key []byte) ([]byte, Build, error) {
	t := d.begin()
	v, b, err := d.db.peekBuilt(key)
	return v, b, d.end(t, err)
}

// MGet returns one value per key, nil for a missing key. It sees a
// multi-key write whole or not at all.
func (d *Deferred) MGet(keys ...[]byte) ([][]byte, error) {
	t := d.begin()
	vals, err := d.db.mget(keys)
	return vals, d.end(t, err)
}

// Exists returns how many of keys exist (a key named twice counts twice).
func (d *Deferred) Exists(keys ...[]byte) (int, error) {
	t := d.begin()
	n, err := d.db.exists(keys, false)
	return n, d.end(t, err)
}

// Touch is Exists for Redis's TOUCH: each lookup counts as a use of the
// key, so that its idle time starts again from 0.
func (d *Deferred) Touch(keys ...[]byte) (int, error) {
	t := d.begin()
	n, err := d.db.exists(keys, true)
	return n, d.end(t, err)
}

// IdleTime returns the seconds since key was last used (see DB.IdleTime),
// or ErrNotFound.
func (d *Deferred) IdleTime(key []byte) (int64, error) {
	t := d.begin()
	s, err := d.db.idleTime(key)
	return s, d.end(t, err)
}

// PTTL returns key's remaining time to live in milliseconds, -1 when it has
// no expiry, -2 when it does not exist.
func (d *Deferred) PTTL(key []byte) (int64, error) {
	t := d.begin()
	ms, err := d.db.pttl(key)
	return ms, d.end(t, err)
}

// Scan returns about count keys matching the glob pattern match (empty
// matches everything) from cursor on, and the cursor to continue from (0
// when the scan is complete). Every key that exists for the whole scan is
// returned at least once; a key may be returned more than once.
func (d *Deferred) Scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	t := d.begin()
	next, keys, err := d.db.scan(cursor, match, count)
	return next, keys, d.end(t, err)
}

// DBSize returns the number of keys, including expired keys not yet
// removed (as Redis's DBSIZE does).
func (d *Deferred) DBSize() int64 {
	t := d.begin()
	var n int64
	d.db.stable(func() { n = d.db.keydir.Len() })
	d.end(t, nil)
	return n
}

// Stats returns the engine's counters.
func (d *Deferred) Stats() Stats {
	t := d.begin()
	st := d.db.stats()
	d.end(t, nil)
	return st
}

// Now returns the engine's clock.
func (d *Deferred) Now() time.Time { return d.db.Now() }

// MaxValueSize is DB.MaxValueSize.
func (d *Deferred) MaxValueSize() int { return d.db.MaxValueSize() }

// StartMerge is DB.StartMerge.
func (d *Deferred) StartMerge() bool { return d.db.StartMerge() }

// Merge is DB.Merge.
func (d *Deferred) Merge() (MergeStats, error) { return d.db.Merge() }

// The DB's own operations: each one is its Deferred counterpart followed by
// the wait, so they share one path with the servers' connections.

// Set writes key = value with the options of Redis's SET.
func (db *DB) Set(key, value []byte, opt SetOptions) (SetResult, error) {
	d := Deferred{db: db}
	res, err := d.Set(key, value, opt)
	return res, d.settle(err)
}

// MSet writes key, value, key, value... pairs as one batch: readers and,
// after a crash, recovery see all of them or none.
func (db *DB) MSet(pairs ...[]byte) error {
	d := Deferred{db: db}
	return d.settle(d.MSet(pairs...))
}

// Del deletes keys as one batch and returns how many existed.
func (db *DB) Del(keys ...[]byte) (int, error) {
	d := Deferred{db: db}
	n, err := d.Del(keys...)
	return n, d.settle(err)
}

// IncrBy adds delta to the integer value of key (0 when missing), keeping
// the key's expiry, and returns the new value. The log holds the result,
// not the increment.
func (db *DB) IncrBy(key []byte, delta int64) (int64, error) {
	d := Deferred{db: db}
	n, err := d.IncrBy(key, delta)
	return n, d.settle(err)
}

// MSetNX writes key, value, key, value... pairs as one batch only if none
// of the keys exists, and reports whether it wrote them.
func (db *DB) MSetNX(pairs ...[]byte) (bool, error) {
	d := Deferred{db: db}
	ok, err := d.MSetNX(pairs...)
	return ok, d.settle(err)
}

// Update reads key's state and writes what fn makes of it in one atomic
// step; see Deferred.Update.
func (db *DB) Update(key []byte, fn func(Current) (Change, error)) error {
	d := Deferred{db: db}
	return d.settle(d.Update(key, fn))
}

// Expire sets key's expiry to atMs (unix ms) and reports whether the key
// exists. A time not in the future deletes the key.
func (db *DB) Expire(key []byte, atMs int64) (bool, error) {
	d := Deferred{db: db}
	ok, err := d.Expire(key, atMs)
	return ok, d.settle(err)
}

// Persist removes key's expiry and reports whether it had one.
func (db *DB) Persist(key []byte) (bool, error) {
	d := Deferred{db: db}
	ok, err := d.Persist(key)
	return ok, d.settle(err)
}

// GetDel returns the value of key and deletes the key in one step, or
// ErrNotFound.
func (db *DB) GetDel(key []byte) ([]byte, error) {
	d := Deferred{db: db}
	v, err := d.GetDel(key)
	return v, d.settle(err)
}

// Get returns the value of key, or ErrNotFound. The returned slice must
// not be modified.
func (db *DB) Get(key []byte) ([]byte, error) {
	d := Deferred{db: db}
	v, err := d.Get(key)
	return v, d.settle(err)
}

// MGet returns one value per key, nil for a missing key. It sees a
// multi-key write whole or not at all.
func (db *DB) MGet(keys ...[]byte) ([][]byte, error) {
	d := Deferred{db: db}
	vals, err := d.MGet(keys...)
	return vals, d.settle(err)
}

// Exists returns how many of keys exist (a key named twice counts twice).
// It is no use of the keys: their idle times go on.
func (db *DB) Exists(keys ...[]byte) (int, error) {
	d := Deferred{db: db}
	n, err := d.Exists(keys...)
	return n, d.settle(err)
}

// Touch is Exists, each lookup counting as a use of the key, as Redis's
// TOUCH: the key's idle time starts again from 0.
func (db *DB) Touch(keys ...[]byte) (int, error) {
	d := Deferred{db: db}
	n, err := d.Touch(keys...)
	return n, d.settle(err)
}

// Peek is Get without counting as a use of the key: its idle time goes on.
func (db *DB) Peek(key []byte) ([]byte, error) {
	d := Deferred{db: db}
	v, err := d.Peek(key)
	return v, d.settle(err)
}

// PeekBuilt is Peek with how the value was built: see Build.
func (db *DB) PeekBuilt(key []byte) ([]byte, Build, error) {
	d := Deferred{db: db}
	v, b, err := d.PeekBuilt(key)
	return v, b, d.settle(err)
}

// IdleTime returns the seconds since key was last used, as Redis's OBJECT
// IDLETIME counts them, or ErrNotFound. A key is used by every lookup of
// a command but EXISTS, TYPE, TTL and the like, OBJECT and MEMORY USAGE
// (as Redis's lookupKey without LOOKUP_NOTOUCH), by every write, and when
// it is loaded at start-up. The clock is Options.Clock read ten times a
// second, in whole seconds, so an idle time is the seconds since, give or
// take one, and wraps after 2^24 seconds (194 days) as Redis's does.
func (db *DB) IdleTime(key []byte) (int64, error) {
	d := Deferred{db: db}
	s, err := d.IdleTime(key)
	return s, d.settle(err)
}

// PTTL returns key's remaining time to live in milliseconds, -1 when it has
// no expiry, -2 when it does not exist.
func (db *DB) PTTL(key []byte) (int64, error) {
	d := Deferred{db: db}
	ms, err := d.PTTL(key)
	return ms, d.settle(err)
}

// Scan returns about count keys matching the glob pattern match (empty
// matches everything, the empty key included: Redis's MATCH "", which
// matches the empty key only, is the command table's to express) from
// cursor on, and the cursor to continue from (0 when the scan is
// complete). Every key that exists for the whole scan is returned at least
// once; a key may be returned more than once.
func (db *DB) Scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	d := Deferred{db: db}
	next, keys, err := d.Scan(cursor, match, count)
	return next, keys, d.settle(err)
}

// DBSize returns the number of keys, including expired keys not yet
// removed (as Redis's DBSIZE does). When the wait for durability fails it
// returns the count of keys after the failed writes were taken back.
func (db *DB) DBSize() int64 {
	d := Deferred{db: db}
	n := d.DBSize()
	if d.settle(nil) != nil {
		return db.keydir.Len()
	}
	return n
}
