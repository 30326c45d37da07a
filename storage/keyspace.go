package storage

import (
	"bytes"
	"errors"
	"math/rand/v2"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/internal/glob"
	"github.com/pykv/pykv/segment"
)

// The keyspace operations of Redis's generic commands: RENAME, RENAMENX,
// COPY, KEYS, RANDOMKEY and EXPIRETIME. A rename is one batch of two
// records, so readers and recovery see it whole or not at all.

// errSameKey refuses a Copy onto its own source.
var errSameKey = errors.New("pykv/storage: Copy needs two different keys")

// rename moves src's value and expiry to dst, replacing dst, as one batch
// of DEL src and SET dst. With nx it writes only if dst does not exist.
// It returns ErrNotFound when src does not exist, and whether it renamed:
// a rename of a key onto itself writes nothing and reports !nx.
func (db *DB) rename(src, dst []byte, nx bool) (bool, error) {
	renamed := false
	err := db.mutate(func() error {
		now := db.nowMs()
		e, ok := db.liveLocked(src, now)
		if !ok {
			return ErrNotFound
		}
		if bytes.Equal(src, dst) {
			renamed = !nx
			return nil
		}
		if err := db.checkKey(dst); err != nil {
			return err
		}
		if _, exists := db.liveLocked(dst, now); nx && exists {
			return nil
		}
		v, err := db.value(src, e)
		if err != nil {
			return err
		}
		renamed = true
		return db.appendBuiltLocked([]segment.Record{
			{Type: segment.TypeDel, Key: src},
			{Type: segment.TypeSet, Key: dst, Value: v, ExpireAt: e.ExpireAt},
		}, []Build{BuiltByValue, Build(e.Tag)}) // RENAME moves the object as it is
	})
	if err != nil {
		return false, err
	}
	return renamed, nil
}

// copyKey writes src's value and expiry to dst, unless src does not exist
// or dst exists and replace is false; it reports whether it wrote.
func (db *DB) copyKey(src, dst []byte, replace bool) (bool, error) {
	if bytes.Equal(src, dst) {
		return false, errSameKey
	}
	copied := false
	err := db.mutate(func() error {
		now := db.nowMs()
		e, ok := db.liveLocked(src, now)
		if !ok {
			return nil
		}
		if _, exists := db.liveLocked(dst, now); exists && !replace {
			return nil
		}
		if err := db.checkKey(dst); err != nil {
			return err
		}
		v, err := db.value(src, e)
		if err != nil {
			return err
		}
		copied = true
		return db.appendBuiltLocked([]segment.Record{{Type: segment.TypeSet, Key: dst, Value: v, ExpireAt: e.ExpireAt}},
			[]Build{Build(e.Tag).Copied()})
	})
	if err != nil {
		return false, err
	}
	return copied, nil
}

// keys returns every live key matching the glob pattern match (empty
// matches everything), as of one instant: a walk that a multi-key change
// overlapped is done again under the write lock, which the change holds.
func (db *DB) keys(match []byte) ([][]byte, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	now := db.nowMs()
	var keys [][]byte
	collect := func() {
		keys = keys[:0]
		db.keydir.Range(func(key []byte, e index.Entry) bool {
			if !expired(e, now) && (len(match) == 0 || glob.Match(match, key)) {
				keys = append(keys, bytes.Clone(key))
			}
			return true
		})
	}
	// One walk of the whole keydir is long: rather than retry it as
	// stable does, a second walk is the last.
	if c := db.changing.Load(); c&1 == 0 {
		collect()
		if db.changing.Load() == c {
			return keys, nil
		}
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	collect()
	return keys, nil
}

// randomTries bounds how many random picks RANDOMKEY makes before it looks
// for any live key in order: every pick that finds an expired key deletes
// it, as Redis does, but a follower keeps expired keys for its leader's
// deletes.
const randomTries = 100

// randomKey returns a key chosen pseudo-randomly among the live ones, or
// ErrNotFound when there is none. An expired key it lands on is deleted.
func (db *DB) randomKey() ([]byte, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	type candidate struct {
		key []byte
		e   index.Entry
	}
	var cands []candidate
	pick := func(cursor uint64) uint64 {
		var next uint64
		db.stable(func() {
			cands = cands[:0]
			next = db.keydir.Scan(cursor, 1, func(key []byte, e index.Entry) {
				cands = append(cands, candidate{bytes.Clone(key), e})
			})
		})
		return next
	}
	for range randomTries {
		if next := pick(db.keydir.RandomCursor()); len(cands) == 0 && next == 0 {
			pick(0) // past the last key: wrap around
		}
		if len(cands) == 0 {
			return nil, ErrNotFound
		}
		c := cands[rand.IntN(len(cands))]
		now := db.nowMs()
		if !expired(c.e, now) {
			return c.key, nil
		}
		db.expireKey(c.key, c.e.Seq, now)
	}
	now := db.nowMs()
	var found []byte
	db.stable(func() {
		found = nil
		db.keydir.Range(func(key []byte, e index.Entry) bool {
			if expired(e, now) {
				return true
			}
			found = bytes.Clone(key)
			return false
		})
	})
	if found == nil {
		return nil, ErrNotFound
	}
	return found, nil
}

// expireTime returns key's absolute expiry in unix milliseconds, -1 when
// it has none, -2 when it does not exist.
func (db *DB) expireTime(key []byte) (int64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	e, ok := db.lookup(key, false) // TTL and EXPIRETIME touch no key, as in Redis
	switch {
	case !ok:
		return -2, nil
	case e.ExpireAt == 0:
		return -1, nil
	}
	return e.ExpireAt, nil
}

// Rename moves src's value and expiry to dst, replacing dst, as one batch
// (DEL src, SET dst): readers and, after a crash, recovery see all of it
// or none. With nx it writes only if dst does not exist. It returns
// ErrNotFound when src does not exist, and whether it renamed; renaming a
// key onto itself writes nothing and reports !nx, as Redis's RENAME and
// RENAMENX answer.
func (d *Deferred) Rename(src, dst []byte, nx bool) (bool, error) {
	t := d.begin()
	ok, err := d.db.rename(src, dst, nx)
	return ok, d.end(t, err)
}

// Copy writes src's value and expiry to dst and reports whether it did:
// not when src does not exist, nor when dst exists and replace is false.
// src and dst must differ.
func (d *Deferred) Copy(src, dst []byte, replace bool) (bool, error) {
	t := d.begin()
	ok, err := d.db.copyKey(src, dst, replace)
	return ok, d.end(t, err)
}

// Keys returns every key matching the glob pattern match (empty matches
// everything), as of one instant, in no particular order.
func (d *Deferred) Keys(match []byte) ([][]byte, error) {
	t := d.begin()
	keys, err := d.db.keys(match)
	return keys, d.end(t, err)
}

// RandomKey returns a pseudo-randomly chosen key, or ErrNotFound when
// there is none.
func (d *Deferred) RandomKey() ([]byte, error) {
	t := d.begin()
	k, err := d.db.randomKey()
	return k, d.end(t, err)
}

// ExpireTime returns key's absolute expiry in unix milliseconds, -1 when
// it has none, -2 when it does not exist.
func (d *Deferred) ExpireTime(key []byte) (int64, error) {
	t := d.begin()
	at, err := d.db.expireTime(key)
	return at, d.end(t, err)
}

// Rename is Deferred.Rename, waiting for durability.
func (db *DB) Rename(src, dst []byte, nx bool) (bool, error) {
	d := Deferred{db: db}
	ok, err := d.Rename(src, dst, nx)
	return ok, d.settle(err)
}

// Copy is Deferred.Copy, waiting for durability.
func (db *DB) Copy(src, dst []byte, replace bool) (bool, error) {
	d := Deferred{db: db}
	ok, err := d.Copy(src, dst, replace)
	return ok, d.settle(err)
}

// Keys is Deferred.Keys, waiting for durability.
func (db *DB) Keys(match []byte) ([][]byte, error) {
	d := Deferred{db: db}
	keys, err := d.Keys(match)
	return keys, d.settle(err)
}

// RandomKey is Deferred.RandomKey, waiting for durability.
func (db *DB) RandomKey() ([]byte, error) {
	d := Deferred{db: db}
	k, err := d.RandomKey()
	return k, d.settle(err)
}

// ExpireTime is Deferred.ExpireTime, waiting for durability.
func (db *DB) ExpireTime(key []byte) (int64, error) {
	d := Deferred{db: db}
	at, err := d.ExpireTime(key)
	return at, d.settle(err)
}
