package storage

import (
	"bytes"
	"fmt"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/internal/glob"
	"github.com/pykv/pykv/segment"
)

// emptyValue is returned for an empty value, which must not look like the
// nil of a missing key in MGet.
var emptyValue = []byte{}

func expired(e index.Entry, nowMs int64) bool { return e.ExpireAt != 0 && e.ExpireAt <= nowMs }

// lookup returns the live entry of key, deleting it first when it has
// expired (lazy expiry).
func (db *DB) lookup(key []byte) (index.Entry, bool) {
	e, ok := db.keydir.Get(key)
	if ok && expired(e, db.nowMs()) {
		db.expireKey(key, e.Seq)
		ok = false
	}
	if ok {
		db.hits.Add(1)
	} else {
		db.misses.Add(1)
	}
	return e, ok
}

// Get returns the value of key, or ErrNotFound. The returned slice must
// not be modified.
func (db *DB) Get(key []byte) ([]byte, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	e, ok := db.lookup(key)
	if !ok {
		return nil, ErrNotFound
	}
	return db.value(key, e)
}

// value returns the value that entry e of key points at: from the cache
// when it holds that version, else from disk, promoting it.
func (db *DB) value(key []byte, e index.Entry) ([]byte, error) {
	if v, ok := db.cache.Get(key, e.Seq); ok {
		db.cacheHits.Add(1)
		if v == nil {
			v = emptyValue
		}
		return v, nil
	}
	db.cacheMisses.Add(1)
	v, err := db.readValue(key, e)
	if err != nil {
		return nil, err
	}
	db.cache.Put(key, e.Seq, v)
	return v, nil
}

// readValue reads the record at e's location and checks that it is whole
// and is key's.
func (db *DB) readValue(key []byte, e index.Entry) ([]byte, error) {
	buf := make([]byte, e.Size)
	if !db.log.ReadPending(e.FileID, buf, int64(e.Offset)) {
		f, err := db.files.get(e.FileID)
		if err != nil {
			return nil, fmt.Errorf("pykv/storage: read key %q: %w", key, err)
		}
		if _, err := f.ReadAt(buf, int64(e.Offset)); err != nil {
			return nil, fmt.Errorf("pykv/storage: read %s at offset %d (key %q): %w", f.Name(), e.Offset, key, err)
		}
	}
	r, _, err := segment.DecodeRecord(buf, db.opts.limits())
	if err != nil {
		return nil, fmt.Errorf("pykv/storage: %s at offset %d (key %q): %w", db.segPath(e.FileID), e.Offset, key, err)
	}
	if !bytes.Equal(r.Key, key) || r.Seq != e.Seq {
		return nil, fmt.Errorf("pykv/storage: %s at offset %d holds key %q seq %d, the index expected key %q seq %d",
			db.segPath(e.FileID), e.Offset, r.Key, r.Seq, key, e.Seq)
	}
	return r.Value, nil
}

// MGet returns one value per key, nil for a missing key.
func (db *DB) MGet(keys ...[]byte) ([][]byte, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		e, ok := db.lookup(k)
		if !ok {
			continue
		}
		v, err := db.value(k, e)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

// Exists returns how many of keys exist (a key named twice counts twice).
func (db *DB) Exists(keys ...[]byte) (int, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	n := 0
	for _, k := range keys {
		if _, ok := db.lookup(k); ok {
			n++
		}
	}
	return n, nil
}

// PTTL returns key's remaining time to live in milliseconds, -1 when it has
// no expiry, -2 when it does not exist.
func (db *DB) PTTL(key []byte) (int64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	e, ok := db.lookup(key)
	switch {
	case !ok:
		return -2, nil
	case e.ExpireAt == 0:
		return -1, nil
	}
	return max(e.ExpireAt-db.nowMs(), 0), nil
}

// Scan returns about count keys matching the glob pattern match (empty
// matches everything) from cursor on, and the cursor to continue from (0
// when the scan is complete). Every key that exists for the whole scan is
// returned at least once; a key may be returned more than once.
func (db *DB) Scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	if db.closed.Load() {
		return 0, nil, ErrClosed
	}
	if count <= 0 {
		count = 10
	}
	now := db.nowMs()
	var keys [][]byte
	next := db.keydir.Scan(cursor, count, func(key []byte, e index.Entry) {
		if expired(e, now) || (len(match) > 0 && !glob.Match(match, key)) {
			return
		}
		keys = append(keys, bytes.Clone(key))
	})
	return next, keys, nil
}

// DBSize returns the number of keys, including expired keys not yet
// removed (as Redis's DBSIZE does).
func (db *DB) DBSize() int64 { return db.keydir.Len() }
