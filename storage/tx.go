package storage

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/internal/glob"
	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/segment"
)

// Transactions (Redis's MULTI/EXEC and WATCH) rest on two operations:
//
//   - Atomic runs a function under the write lock with a Tx, a view of the
//     DB whose writes are collected (its reads see them) and logged at the
//     end as one batch: after a crash recovery applies all of it or none
//     (the segment format's batch flag), and no reader sees part of it
//     (the changing counter, as for MSET). It goes through a Deferred like
//     every other operation, so the reply that shows its results waits for
//     the batch's durability.
//   - Watch returns a key's Version, which Atomic compares under the write
//     lock: any write to the key since (from any connection, an expiry
//     included) makes it refuse to run the function. A key in the keydir
//     is compared by its entry's seq; a key that is not, by the seq of the
//     delete that removed it, which the DB remembers for as long as someone
//     watches the key (db.watched), so that a write and a delete in between
//     are not missed. A key that had expired, not yet removed, when watched
//     counts as missing: its removal is no change, as in Redis 7.0; a key
//     that expires after Watch is a change.

// Version is what Watch saw of a key: Atomic compares it with the key's
// state then. A Version holds the key's registration in the DB until
// Unwatch releases it.
type Version struct {
	key     []byte
	seq     uint64 // the entry's seq; for a missing key, its last delete's, or 0
	expired bool   // in the keydir but expired when watched
	epoch   uint64 // db.rollbacks: a rollback or full sync since changes everything
}

// Key returns the watched key.
func (v Version) Key() []byte { return v.key }

// watchState is a watched key's registration: how many Versions hold it
// and the last delete of the key since it was first watched.
type watchState struct {
	n       int
	delSeq  uint64 // seq of the last delete record of the key, 0 for none
	prevSeq uint64 // the seq of the version that delete removed, 0 for none
}

// noteDeleteLocked remembers a delete of key at seq, which removed the
// version prevSeq (0: the key had none), when key is watched. The caller
// holds wmu.
func (db *DB) noteDeleteLocked(key []byte, seq, prevSeq uint64) {
	if w := db.watched[string(key)]; w != nil {
		w.delSeq, w.prevSeq = seq, prevSeq
	}
}

// watch registers keys and returns their versions.
func (db *DB) watch(keys [][]byte) ([]Version, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	vs := make([]Version, len(keys))
	err := db.mutate(func() error {
		now := db.nowMs()
		if db.watched == nil {
			db.watched = make(map[string]*watchState)
		}
		for i, k := range keys {
			w := db.watched[string(k)]
			if w == nil {
				w = &watchState{}
				db.watched[string(k)] = w
			}
			w.n++
			v := Version{key: bytes.Clone(k), epoch: db.rollbacks.Load()}
			if e, ok := db.keydir.Get(k); ok {
				v.seq, v.expired = e.Seq, expired(e, now)
			} else {
				v.seq = w.delSeq
			}
			vs[i] = v
		}
		return nil
	})
	return vs, err
}

// unwatch releases the registrations of vs.
func (db *DB) unwatch(vs []Version) {
	if len(vs) == 0 {
		return
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	for _, v := range vs {
		w := db.watched[string(v.key)]
		if w == nil {
			continue
		}
		if w.n--; w.n <= 0 {
			delete(db.watched, string(v.key))
		}
	}
}

// changedLocked reports whether v's key was written since Watch, at now.
// The caller holds wmu.
func (db *DB) changedLocked(v Version, now int64) bool {
	if v.epoch != db.rollbacks.Load() {
		return true // a rollback or a full sync replaced what was seen
	}
	if e, ok := db.keydir.Get(v.key); ok {
		// Unchanged, unless it expired since: a key that had already
		// expired when watched stays "missing" until something writes it.
		return e.Seq != v.seq || (!v.expired && expired(e, now))
	}
	w := db.watched[string(v.key)]
	if w == nil {
		return true // not registered: cannot tell, so it may have changed
	}
	if w.delSeq == v.seq {
		return false // missing then, and no delete since
	}
	// Deleted since: no change when what was deleted is the version that
	// had already expired at Watch (its removal by expiry, or a DEL of it).
	return !(v.expired && w.prevSeq == v.seq)
}

// atomic runs fn with a Tx when none of watched changed, then logs what
// fn wrote as one batch. It reports whether fn ran.
func (db *DB) atomic(watched []Version, fn func(*Tx)) (bool, error) {
	if db.closed.Load() {
		return false, ErrClosed
	}
	ran := false
	err := db.mutate(func() error {
		now := db.nowMs()
		for _, v := range watched {
			if db.changedLocked(v, now) {
				return nil
			}
		}
		tx := &Tx{db: db, now: now}
		ran = true
		fn(tx)
		tx.done = true
		recs, builds := tx.records()
		if len(recs) > 0 {
			if err := db.appendBuiltLocked(recs, builds); err != nil {
				return err
			}
		}
		for key, r := range tx.retags {
			if _, written := tx.written[key]; !written {
				db.keydir.SetTag([]byte(key), r.seq, uint8(r.build))
			}
		}
		return nil
	})
	return ran, err
}

// Tx is the view of the DB inside Atomic: its reads see the DB as of the
// start of the transaction plus the transaction's own writes, and its
// writes are collected, to be logged as one batch when the function
// returns. It has the methods of the DB's operations (Deferred's), with
// the same contracts, and the engine's clock stands still for the whole
// transaction. A Tx is valid only while the function of Atomic runs, on
// that function's goroutine; it must not call the DB or a Deferred.
//
// A Tx keeps copies of the keys and values it is given.
type Tx struct {
	db      *DB
	now     int64
	done    bool
	written map[string]*txKey // keys written by the transaction
	order   []string          // and the order they were first written in
	// flushed is set once the transaction flushed the keyspace: the keydir
	// is then no part of what it sees, and its batch starts with a flush
	// record.
	flushed bool
	// retags are the Retag changes of keys the transaction has not
	// written, applied to the keydir when it ends (Change.Retag).
	retags map[string]txRetag
}

// txRetag is a Retag of a key's version seq in the keydir.
type txRetag struct {
	seq   uint64
	build Build
}

// inBase reports whether key is in the keydir as the transaction sees it:
// not at all once it flushed.
func (tx *Tx) inBase(key []byte) bool {
	if tx.flushed {
		return false
	}
	_, in := tx.db.keydir.Get(key)
	return in
}

// FlushAll removes every key, as Redis's FLUSHALL inside MULTI does: the
// rest of the transaction sees an empty keyspace plus its own later
// writes, and its batch is a flush record followed by those writes, so
// that recovery finds all of it or none.
func (tx *Tx) FlushAll() error {
	if tx.done {
		return errTxDone
	}
	tx.flushed = true
	tx.written, tx.order, tx.retags = nil, nil, nil
	return nil
}

// txKey is a key's state as the transaction left it.
type txKey struct {
	exists   bool
	value    []byte
	expireAt int64
	build    Build
}

// errTxDone is the error of a Tx used after its Atomic returned.
var errTxDone = errors.New("pykv/storage: transaction used after it ended")

// state returns key's value and expiry as the transaction sees it; the
// lookup counts as a use of the key (see DB.IdleTime), as those of the
// commands that write do.
func (tx *Tx) state(key []byte) (value []byte, expireAt int64, exists bool, err error) {
	return tx.stateAs(key, true)
}

// stateAs is state, the lookup a use of the key only with touch.
func (tx *Tx) stateAs(key []byte, touch bool) (value []byte, expireAt int64, exists bool, err error) {
	if tx.done {
		return nil, 0, false, errTxDone
	}
	if k, ok := tx.written[string(key)]; ok {
		return k.value, k.expireAt, k.exists, nil
	}
	if tx.flushed {
		return nil, 0, false, nil
	}
	e, ok := tx.db.liveLockedAs(key, tx.now, touch)
	if !ok {
		return nil, 0, false, nil
	}
	v, err := tx.db.value(key, e)
	if err != nil {
		return nil, 0, false, err
	}
	return v, e.ExpireAt, true, nil
}

// read is stateAs for a read command, counted as a keyspace hit or miss.
func (tx *Tx) read(key []byte, touch bool) ([]byte, int64, bool, error) {
	v, at, ok, err := tx.stateAs(key, touch)
	if ok {
		tx.db.hits.Add(1)
	} else if err == nil {
		tx.db.misses.Add(1)
	}
	return v, at, ok, err
}

// build returns how key's value, which exists as the transaction sees
// it, was built.
func (tx *Tx) build(key []byte) Build {
	if k, ok := tx.written[string(key)]; ok {
		return k.build
	}
	if tx.flushed {
		return BuiltByValue
	}
	if r, ok := tx.retags[string(key)]; ok {
		return r.build
	}
	e, _ := tx.db.keydir.Get(key)
	return Build(e.Tag)
}

// retag records a Retag of key, which exists as the transaction sees it:
// of the transaction's own write, or of the keydir's version at its end.
func (tx *Tx) retag(key []byte, build Build) {
	if k, ok := tx.written[string(key)]; ok {
		k.build = build
		return
	}
	e, _ := tx.db.keydir.Get(key)
	if tx.retags == nil {
		tx.retags = make(map[string]txRetag)
	}
	tx.retags[string(key)] = txRetag{seq: e.Seq, build: build}
}

// put records key's new state, its value built as build; an expiry not
// after the transaction's clock deletes the key.
func (tx *Tx) put(key, value []byte, expireAt int64, build Build) {
	if expireAt != 0 && expireAt <= tx.now {
		tx.remove(key)
		return
	}
	tx.set(key, &txKey{exists: true, value: bytes.Clone(value), expireAt: expireAt, build: build})
}

func (tx *Tx) remove(key []byte) { tx.set(key, &txKey{}) }

func (tx *Tx) set(key []byte, k *txKey) {
	if k.exists && k.value == nil {
		k.value = emptyValue
	}
	if tx.written == nil {
		tx.written = make(map[string]*txKey)
	}
	if _, ok := tx.written[string(key)]; !ok {
		tx.order = append(tx.order, string(key))
	}
	tx.written[string(key)] = k
}

// records returns the batch that makes the transaction's writes: one
// record per key written, its final state, in the order the keys were
// first written. A key the transaction deleted that is not in the keydir
// needs no record, unless someone watches it: the transaction may have
// written it in between, which is a change to them, as in Redis. builds
// holds the build of each record's value, as appendBuiltLocked takes it.
func (tx *Tx) records() (recs []segment.Record, builds []Build) {
	recs = make([]segment.Record, 0, len(tx.order)+1)
	if tx.flushed {
		recs = append(recs, flushBatch()...)
	}
	builds = make([]Build, len(recs), cap(recs))
	for _, key := range tx.order {
		k := tx.written[key]
		if k.exists {
			recs = append(recs, segment.Record{Type: segment.TypeSet, Key: []byte(key), Value: k.value, ExpireAt: k.expireAt})
			builds = append(builds, k.build)
			continue
		}
		if !tx.inBase([]byte(key)) && tx.db.watched[key] == nil {
			continue
		}
		recs = append(recs, segment.Record{Type: segment.TypeDel, Key: []byte(key)})
		builds = append(builds, BuiltByValue)
	}
	return recs, builds
}

// Now returns the transaction's clock, which stands still while it runs.
func (tx *Tx) Now() time.Time { return time.UnixMilli(tx.now) }

// MaxValueSize is DB.MaxValueSize.
func (tx *Tx) MaxValueSize() int { return tx.db.MaxValueSize() }

// Get returns the value of key, or ErrNotFound.
func (tx *Tx) Get(key []byte) ([]byte, error) { return tx.get(key, true) }

// Peek is Deferred.Peek inside the transaction.
func (tx *Tx) Peek(key []byte) ([]byte, error) { return tx.get(key, false) }

// PeekBuilt is Deferred.PeekBuilt inside the transaction.
func (tx *Tx) PeekBuilt(key []byte) ([]byte, Build, error) {
	v, err := tx.get(key, false)
	if err != nil {
		return nil, 0, err
	}
	return v, tx.build(key), nil
}

func (tx *Tx) get(key []byte, touch bool) ([]byte, error) {
	v, _, ok, err := tx.read(key, touch)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return v, nil
}

// IdleTime is Deferred.IdleTime inside the transaction: 0 for a key it
// wrote, which the keydir has yet to see.
func (tx *Tx) IdleTime(key []byte) (int64, error) {
	_, _, ok, err := tx.stateAs(key, false)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, ErrNotFound
	}
	if _, written := tx.written[string(key)]; written {
		return 0, nil
	}
	s, ok := tx.db.keydir.IdleTime(key)
	if !ok {
		return 0, ErrNotFound
	}
	return s, nil
}

// Set writes key = value with the options of Redis's SET.
func (tx *Tx) Set(key, value []byte, opt SetOptions) (SetResult, error) {
	if err := tx.db.checkKey(key); err != nil {
		return SetResult{}, err
	}
	if err := tx.db.checkValue(value); err != nil {
		return SetResult{}, err
	}
	old, at, exists, err := tx.state(key)
	if err != nil {
		return SetResult{}, err
	}
	var res SetResult
	if opt.Get && exists {
		res.Old, res.Existed = old, true
	}
	if (opt.NX && exists) || (opt.XX && !exists) {
		return res, nil
	}
	res.Written = true
	expireAt := opt.ExpireAt
	if opt.KeepTTL && exists {
		expireAt = at
	}
	tx.put(key, value, expireAt, opt.Build)
	return res, nil
}

// MSet writes key, value, key, value... pairs.
func (tx *Tx) MSet(pairs ...[]byte) error {
	if err := tx.checkPairs(pairs); err != nil {
		return err
	}
	if tx.done {
		return errTxDone
	}
	for i := 0; i < len(pairs); i += 2 {
		tx.put(pairs[i], pairs[i+1], 0, BuiltByValue)
	}
	return nil
}

// MSetNX writes the pairs only if none of the keys exists, and reports
// whether it wrote them.
func (tx *Tx) MSetNX(pairs ...[]byte) (bool, error) {
	if err := tx.checkPairs(pairs); err != nil {
		return false, err
	}
	for i := 0; i < len(pairs); i += 2 {
		_, _, exists, err := tx.state(pairs[i])
		if err != nil {
			return false, err
		}
		if exists {
			return false, nil
		}
	}
	for i := 0; i < len(pairs); i += 2 {
		tx.put(pairs[i], pairs[i+1], 0, BuiltByValue)
	}
	return true, nil
}

func (tx *Tx) checkPairs(pairs [][]byte) error {
	if len(pairs)%2 != 0 {
		return errors.New("pykv/storage: MSet needs key/value pairs, got " + strconv.Itoa(len(pairs)) + " arguments")
	}
	for i := 0; i < len(pairs); i += 2 {
		if err := tx.db.checkKey(pairs[i]); err != nil {
			return err
		}
		if err := tx.db.checkValue(pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// Del deletes keys and returns how many existed.
func (tx *Tx) Del(keys ...[]byte) (int, error) {
	n := 0
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		_, _, exists, err := tx.state(k)
		if err != nil {
			return 0, err
		}
		if exists {
			n++
			tx.remove(k)
		}
	}
	return n, nil
}

// GetDel returns the value of key and deletes the key, or ErrNotFound.
func (tx *Tx) GetDel(key []byte) ([]byte, error) {
	v, _, exists, err := tx.state(key)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, ErrNotFound
	}
	tx.remove(key)
	return v, nil
}

// IncrBy adds delta to the integer value of key (0 when missing), keeping
// its expiry, and returns the new value.
func (tx *Tx) IncrBy(key []byte, delta int64) (int64, error) {
	if err := tx.db.checkKey(key); err != nil {
		return 0, err
	}
	v, at, exists, err := tx.state(key)
	if err != nil {
		return 0, err
	}
	var cur int64
	if exists {
		n, ok := redisfmt.ParseInt(v)
		if !ok {
			return 0, ErrNotInteger
		}
		cur = n
	}
	if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
		return 0, ErrOverflow
	}
	cur += delta
	tx.put(key, strconv.AppendInt(nil, cur, 10), at, BuiltByValue)
	return cur, nil
}

// Update reads key's state and writes what fn makes of it; see
// Deferred.Update.
func (tx *Tx) Update(key []byte, fn func(Current) (Change, error)) error {
	if err := tx.db.checkKey(key); err != nil {
		return err
	}
	v, at, exists, err := tx.state(key)
	if err != nil {
		return err
	}
	cur := Current{Now: tx.now}
	if exists {
		cur.Value, cur.Exists, cur.ExpireAt, cur.Build = v, true, at, tx.build(key)
	}
	ch, err := fn(cur)
	if err != nil || !ch.Write {
		if err == nil && ch.Retag && exists {
			tx.retag(key, ch.Build)
		}
		return err
	}
	if ch.ExpireAt != 0 && ch.ExpireAt <= tx.now {
		if exists {
			tx.remove(key)
		}
		return nil
	}
	if err := tx.db.checkValue(ch.Value); err != nil {
		return err
	}
	tx.put(key, ch.Value, ch.ExpireAt, ch.Build)
	return nil
}

// Expire sets key's expiry to atMs and reports whether the key exists; a
// time not in the future deletes the key.
func (tx *Tx) Expire(key []byte, atMs int64) (bool, error) {
	v, _, exists, err := tx.state(key)
	if err != nil || !exists {
		return false, err
	}
	if atMs <= tx.now {
		tx.remove(key)
		return true, nil
	}
	tx.put(key, v, atMs, tx.build(key))
	return true, nil
}

// Persist removes key's expiry and reports whether it had one.
func (tx *Tx) Persist(key []byte) (bool, error) {
	v, at, exists, err := tx.state(key)
	if err != nil || !exists || at == 0 {
		return false, err
	}
	tx.put(key, v, 0, tx.build(key))
	return true, nil
}

// MGet returns one value per key, nil for a missing key.
func (tx *Tx) MGet(keys ...[]byte) ([][]byte, error) {
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, _, ok, err := tx.read(k, true)
		if err != nil {
			return nil, err
		}
		if ok {
			vals[i] = v
		}
	}
	return vals, nil
}

// Exists returns how many of keys exist (a key named twice counts twice).
func (tx *Tx) Exists(keys ...[]byte) (int, error) { return tx.exists(keys, false) }

// Touch is Deferred.Touch inside the transaction.
func (tx *Tx) Touch(keys ...[]byte) (int, error) { return tx.exists(keys, true) }

func (tx *Tx) exists(keys [][]byte, touch bool) (int, error) {
	n := 0
	for _, k := range keys {
		_, _, ok, err := tx.read(k, touch)
		if err != nil {
			return 0, err
		}
		n += boolCount(ok)
	}
	return n, nil
}

// PTTL returns key's remaining time to live in milliseconds, -1 when it
// has no expiry, -2 when it does not exist.
func (tx *Tx) PTTL(key []byte) (int64, error) {
	_, at, ok, err := tx.read(key, false)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return -2, nil
	case at == 0:
		return -1, nil
	}
	return max(at-tx.now, 0), nil
}

// Scan is Deferred.Scan as the transaction sees the keys: the keys it
// deleted are left out, and the keys it created are returned in the
// first page (cursor 0).
func (tx *Tx) Scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	if tx.done {
		return 0, nil, errTxDone
	}
	if count <= 0 {
		count = 10
	}
	var keys [][]byte
	scan := tx.db.keydir.Scan
	if tx.flushed {
		scan = func(uint64, int, func([]byte, index.Entry)) uint64 { return 0 }
	}
	next := scan(cursor, count, func(key []byte, e index.Entry) {
		if k, ok := tx.written[string(key)]; ok {
			if !k.exists {
				return
			}
		} else if expired(e, tx.now) {
			return
		}
		if len(match) == 0 || glob.Match(match, key) {
			keys = append(keys, bytes.Clone(key))
		}
	})
	if cursor == 0 {
		for _, key := range tx.order {
			if k := tx.written[key]; !k.exists {
				continue
			}
			if tx.inBase([]byte(key)) {
				continue
			}
			if len(match) == 0 || glob.Match(match, []byte(key)) {
				keys = append(keys, []byte(key))
			}
		}
	}
	return next, keys, nil
}

// DBSize returns the number of keys as the transaction sees them,
// including expired keys not yet removed (as Redis's DBSIZE does).
func (tx *Tx) DBSize() int64 {
	n := tx.db.keydir.Len()
	if tx.flushed {
		n = 0
	}
	for key, k := range tx.written {
		in := tx.inBase([]byte(key))
		switch {
		case k.exists && !in:
			n++
		case !k.exists && in:
			n--
		}
	}
	return n
}

// Stats returns the engine's counters as of the start of the
// transaction.
func (tx *Tx) Stats() Stats { return tx.db.statsAt(tx.db.seq) }

// Watch registers keys for a later Atomic and returns their versions: see
// Atomic. Each must be released with Unwatch.
func (d *Deferred) Watch(keys ...[]byte) ([]Version, error) {
	t := d.begin()
	vs, err := d.db.watch(keys)
	return vs, d.end(t, err)
}

// Unwatch releases versions that Watch returned.
func (d *Deferred) Unwatch(vs []Version) { d.db.unwatch(vs) }

// Atomic runs fn as one transaction, unless a key of watched was written
// since Watch returned its version (by any client, an expiry or a delete
// included; a key that had already expired when watched counts as
// missing, and its removal is no change). It reports whether fn ran. fn
// runs under the engine's write lock with a Tx, whose reads see the
// transaction's own writes; what fn wrote is logged when it returns as one
// batch, which recovery applies whole or not at all and no reader sees
// part of. The returned error is the log's: then none of it was applied.
// fn must not call the DB or a Deferred, only the Tx.
func (d *Deferred) Atomic(watched []Version, fn func(tx *Tx)) (bool, error) {
	t := d.begin()
	ran, err := d.db.atomic(watched, fn)
	return ran, d.end(t, err)
}

// Watch registers keys for a later Atomic and returns their versions; see
// Deferred.Watch.
func (db *DB) Watch(keys ...[]byte) ([]Version, error) {
	d := Deferred{db: db}
	vs, err := d.Watch(keys...)
	return vs, d.settle(err)
}

// Unwatch releases versions that Watch returned.
func (db *DB) Unwatch(vs []Version) { db.unwatch(vs) }

// Atomic runs fn as one transaction unless a watched key changed, and
// waits for the batch's durability; see Deferred.Atomic.
func (db *DB) Atomic(watched []Version, fn func(tx *Tx)) (bool, error) {
	d := Deferred{db: db}
	ran, err := d.Atomic(watched, fn)
	return ran, d.settle(err)
}

// Rename is Deferred.Rename inside the transaction.
func (tx *Tx) Rename(src, dst []byte, nx bool) (bool, error) {
	v, at, exists, err := tx.state(src)
	if err != nil {
		return false, err
	}
	if !exists {
		return false, ErrNotFound
	}
	if bytes.Equal(src, dst) {
		return !nx, nil
	}
	if err := tx.db.checkKey(dst); err != nil {
		return false, err
	}
	if nx {
		if _, _, taken, err := tx.state(dst); err != nil || taken {
			return false, err
		}
	}
	build := tx.build(src)
	tx.remove(src)
	tx.put(dst, v, at, build)
	return true, nil
}

// Copy is Deferred.Copy inside the transaction.
func (tx *Tx) Copy(src, dst []byte, replace bool) (bool, error) {
	if bytes.Equal(src, dst) {
		return false, errSameKey
	}
	v, at, exists, err := tx.state(src)
	if err != nil || !exists {
		return false, err
	}
	if err := tx.db.checkKey(dst); err != nil {
		return false, err
	}
	if !replace {
		if _, _, taken, err := tx.state(dst); err != nil || taken {
			return false, err
		}
	}
	tx.put(dst, v, at, tx.build(src).Copied())
	return true, nil
}

// Keys is Deferred.Keys inside the transaction: the keydir as the
// transaction left it (the write lock is held, so it is stable).
func (tx *Tx) Keys(match []byte) ([][]byte, error) {
	if tx.done {
		return nil, errTxDone
	}
	var keys [][]byte
	tx.db.keydir.Range(func(key []byte, e index.Entry) bool {
		if tx.flushed {
			return false
		}
		if _, mine := tx.written[string(key)]; !mine && !expired(e, tx.now) && (len(match) == 0 || glob.Match(match, key)) {
			keys = append(keys, bytes.Clone(key))
		}
		return true
	})
	for _, key := range tx.order {
		if tx.written[key].exists && (len(match) == 0 || glob.Match(match, []byte(key))) {
			keys = append(keys, []byte(key))
		}
	}
	return keys, nil
}

// RandomKey is Deferred.RandomKey inside the transaction: one of Keys'.
func (tx *Tx) RandomKey() ([]byte, error) {
	keys, err := tx.Keys(nil)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, ErrNotFound
	}
	return keys[rand.IntN(len(keys))], nil
}

// ExpireTime is Deferred.ExpireTime inside the transaction.
func (tx *Tx) ExpireTime(key []byte) (int64, error) {
	_, at, exists, err := tx.read(key, false)
	switch {
	case err != nil:
		return 0, err
	case !exists:
		return -2, nil
	case at == 0:
		return -1, nil
	}
	return at, nil
}
