package storage

import (
	"bytes"
	"errors"
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
	if ok && e.ExpireAt != 0 && expired(e, db.nowMs()) { // the clock only for keys with a TTL
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
	v, _, err := db.get(key)
	return v, err
}

// get is Get that also returns the seq of the version read (0 when none).
func (db *DB) get(key []byte) ([]byte, uint64, error) {
	if db.closed.Load() {
		return nil, 0, ErrClosed
	}
	for attempt := 0; ; attempt++ {
		e, ok := db.lookup(key)
		if !ok {
			return nil, 0, ErrNotFound
		}
		v, err := db.value(key, e)
		if errors.Is(err, errGone) && attempt < maxGoneRetries {
			continue // overwritten while a merge retired the file: look again
		}
		return v, e.Seq, err
	}
}

// maxGoneRetries bounds how often a read chases a key whose file a merge
// retired; each retry means the key was rewritten meanwhile.
const maxGoneRetries = 16

// value returns the value that entry e of key points at: from the cache
// when it holds that version, else from disk, promoting it. When a merge
// moved the version to another file, value follows it; errGone means the
// key now holds another version.
func (db *DB) value(key []byte, e index.Entry) ([]byte, error) {
	if e.Seq > db.durableSeq.Load() {
		// A version not yet known durable: if the log failed, the write
		// that carried it may never reach the disk; do not show it.
		if err := db.log.Err(); err != nil {
			return nil, logFailed(err)
		}
	}
	if v, ok := db.cache.Get(key, e.Seq); ok {
		if v == nil {
			v = emptyValue
		}
		return v, nil
	}
	for attempt := 0; ; attempt++ {
		v, err := db.readValue(key, e)
		if errors.Is(err, errGone) {
			now, ok := db.keydir.Get(key)
			if !ok || now.Seq != e.Seq || attempt >= maxGoneRetries {
				return nil, errGone
			}
			e = now
			continue
		}
		if err != nil {
			return nil, err
		}
		db.cache.Put(key, e.Seq, v)
		return v, nil
	}
}

// readValue reads the record at e's location, checks that it is whole and
// is key's version e.Seq, and returns a copy of its value.
func (db *DB) readValue(key []byte, e index.Entry) ([]byte, error) {
	var raw []byte
	if e.FileID&snapFlag == 0 {
		raw = make([]byte, e.Size)
		pending, err := db.log.ReadPending(e.FileID, raw, int64(e.Offset))
		if err != nil {
			return nil, logFailed(err)
		}
		if pending {
			return db.decodeValue(key, e, raw, false)
		}
	}
	df, err := db.files.acquire(e.FileID)
	if err != nil {
		return nil, err
	}
	defer db.files.release(df)
	if df.snap != nil {
		if raw, err = df.snap.Record(e.Offset, e.Size); err != nil {
			return nil, fmt.Errorf("pykv/storage: key %q: %w", key, err)
		}
		return db.decodeValue(key, e, raw, true)
	}
	if _, err := df.f.ReadAt(raw, int64(e.Offset)); err != nil {
		return nil, fmt.Errorf("pykv/storage: read %s at offset %d (key %q): %w", df.path, e.Offset, key, err)
	}
	return db.decodeValue(key, e, raw, false)
}

// decodeValue checks raw, the record at e, and returns its value; mapped
// says raw aliases a snapshot's mapping, so the value is copied out.
func (db *DB) decodeValue(key []byte, e index.Entry, raw []byte, mapped bool) ([]byte, error) {
	r, _, err := segment.DecodeRecord(raw, db.opts.limits())
	if err != nil {
		return nil, fmt.Errorf("pykv/storage: file %d at offset %d (key %q): %w", e.FileID&^snapFlag, e.Offset, key, err)
	}
	if !bytes.Equal(r.Key, key) || r.Seq != e.Seq {
		return nil, fmt.Errorf("pykv/storage: file %d at offset %d holds key %q seq %d, the index expected key %q seq %d",
			e.FileID&^snapFlag, e.Offset, r.Key, r.Seq, key, e.Seq)
	}
	if mapped {
		return bytes.Clone(r.Value), nil
	}
	return r.Value, nil
}

// MGet returns one value per key, nil for a missing key.
func (db *DB) MGet(keys ...[]byte) ([][]byte, error) {
	vals, _, err := db.mget(keys)
	return vals, err
}

// mget is MGet that also returns the highest seq among the versions read.
func (db *DB) mget(keys [][]byte) ([][]byte, uint64, error) {
	vals := make([][]byte, len(keys))
	var top uint64
	for i, k := range keys {
		v, seq, err := db.get(k)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, 0, err
		default:
			vals[i], top = v, max(top, seq)
		}
	}
	return vals, top, nil
}

// Exists returns how many of keys exist (a key named twice counts twice).
func (db *DB) Exists(keys ...[]byte) (int, error) {
	n, _, err := db.exists(keys)
	return n, err
}

// exists is Exists that also returns the highest seq among the versions
// found.
func (db *DB) exists(keys [][]byte) (int, uint64, error) {
	if db.closed.Load() {
		return 0, 0, ErrClosed
	}
	n := 0
	var top uint64
	for _, k := range keys {
		if e, ok := db.lookup(k); ok {
			n++
			top = max(top, e.Seq)
		}
	}
	return n, top, nil
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
