package storage

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/internal/glob"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

// emptyValue is returned for an empty value, which must not look like the
// nil of a missing key in MGet.
var emptyValue = []byte{}

func expired(e index.Entry, nowMs int64) bool { return e.ExpireAt != 0 && e.ExpireAt <= nowMs }

// lookup returns the live entry of key, deleting it first when it has
// expired (lazy expiry). With touch the lookup counts as a use of the key
// (its LRU clock, see IdleTime, becomes now), as Redis's lookupKey
// without LOOKUP_NOTOUCH: GET and TOUCH touch, EXISTS, TYPE and TTL do not.
func (db *DB) lookup(key []byte, touch bool) (index.Entry, bool) {
	e, ok := db.entry(key, touch)
	if ok && e.ExpireAt != 0 { // the clock only for keys with a TTL
		if now := db.nowMs(); expired(e, now) {
			db.expireKey(key, e.Seq, now)
			ok = false
		}
	}
	if ok {
		db.hits.Add(1)
	} else {
		db.misses.Add(1)
	}
	return e, ok
}

// entry returns key's keydir entry, never from the middle of a multi-key
// change: one that overlaps the lookup (changing moved, or is odd) makes it
// look again under wmu, which the change holds. A client that reads two
// keys one after the other therefore never sees the first from a batch
// and the second from before it.
func (db *DB) entry(key []byte, touch bool) (e index.Entry, ok bool) {
	if touch {
		db.stable(func() { e, ok = db.keydir.Access(key) })
	} else {
		db.stable(func() { e, ok = db.keydir.Get(key) })
	}
	return e, ok
}

// changeRetries is how often a read looks again, yielding in between,
// before it waits for a multi-key change under wmu: wmu is also held
// across a segment's rotation, which a read should not wait for.
const changeRetries = 8

// stable runs f, which reads the keydir, again when a multi-key change
// overlapped it, and under wmu when changes keep overlapping it.
func (db *DB) stable(f func()) {
	for range changeRetries {
		if c := db.changing.Load(); c&1 == 0 {
			f()
			if db.changing.Load() == c {
				return
			}
		}
		runtime.Gosched()
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	f()
}

// get returns the value of key, or ErrNotFound; with touch (see lookup)
// the read counts as a use of the key.
func (db *DB) get(key []byte, touch bool) ([]byte, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	for attempt := 0; ; attempt++ {
		e, ok := db.lookup(key, touch)
		if !ok {
			return nil, ErrNotFound
		}
		v, err := db.value(key, e)
		if errors.Is(err, errGone) && attempt < maxGoneRetries {
			continue // overwritten while a merge retired the file: look again
		}
		return v, err
	}
}

// peekBuilt is get without the use, with the build of the value.
func (db *DB) peekBuilt(key []byte) ([]byte, Build, error) {
	if db.closed.Load() {
		return nil, 0, ErrClosed
	}
	for attempt := 0; ; attempt++ {
		e, ok := db.lookup(key, false)
		if !ok {
			return nil, 0, ErrNotFound
		}
		v, err := db.value(key, e)
		if errors.Is(err, errGone) && attempt < maxGoneRetries {
			continue // as get
		}
		return v, Build(e.Tag), err
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
			return db.decodeValue(key, e, raw)
		}
	}
	df, err := db.files.acquire(e.FileID)
	if err != nil {
		return nil, err
	}
	defer db.files.release(df)
	if df.snap != nil {
		// The snapshot decodes its own records, whose encoding depends on
		// its version (from version 3 the seq and expiry are the index
		// entry's, bound into the record's checksum), and checks that the
		// record is e's: key, seq, expiry and size. The value is copied
		// out of the mapping.
		r, err := df.snap.RecordAt(&snapshot.IndexEntry{Key: key, Offset: e.Offset, Size: e.Size, ExpireAt: e.ExpireAt, Seq: e.Seq}, db.opts.limits())
		if err != nil {
			return nil, fmt.Errorf("pykv/storage: key %q: %w", key, err)
		}
		return bytes.Clone(r.Value), nil
	}
	if _, err := df.f.ReadAt(raw, int64(e.Offset)); err != nil {
		return nil, fmt.Errorf("pykv/storage: read %s at offset %d (key %q): %w", df.path, e.Offset, key, err)
	}
	return db.decodeValue(key, e, raw)
}

// decodeValue checks raw, the segment record at e, and returns its value.
func (db *DB) decodeValue(key []byte, e index.Entry, raw []byte) ([]byte, error) {
	r, _, err := segment.DecodeRecord(raw, db.opts.limits())
	if err != nil {
		return nil, fmt.Errorf("pykv/storage: file %d at offset %d (key %q): %w", e.FileID&^snapFlag, e.Offset, key, err)
	}
	if !bytes.Equal(r.Key, key) || r.Seq != e.Seq {
		return nil, fmt.Errorf("pykv/storage: file %d at offset %d holds key %q seq %d, the index expected key %q seq %d",
			e.FileID&^snapFlag, e.Offset, r.Key, r.Seq, key, e.Seq)
	}
	return r.Value, nil
}

// mget returns one value per key, nil for a missing key. With more than
// one key it takes the keys' entries under the write lock, so that it sees
// a multi-key write (MSET, DEL, a transaction) whole or not at all, then
// reads the values outside it.
func (db *DB) mget(keys [][]byte) ([][]byte, error) {
	if len(keys) == 1 {
		v, err := db.get(keys[0], true)
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
		return [][]byte{v}, err
	}
	vals := make([][]byte, len(keys))
	for attempt := 0; ; attempt++ {
		entries, found, err := db.entries(keys, true)
		if err != nil {
			return nil, err
		}
		gone := false
		for i, k := range keys {
			vals[i] = nil
			if !found[i] {
				continue
			}
			v, err := db.value(k, entries[i])
			if errors.Is(err, errGone) {
				gone = true // rewritten while a merge retired its file
				break
			}
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		if !gone || attempt >= maxGoneRetries {
			if gone {
				return nil, fmt.Errorf("pykv/storage: MGET: keys kept moving under a merge after %d attempts", attempt+1)
			}
			return vals, nil
		}
	}
}

// entries returns the live entries of keys as of one instant: it holds the
// write lock while it looks them up, and removes the expired ones after.
// With touch (see lookup) the lookups count as uses of the keys.
func (db *DB) entries(keys [][]byte, touch bool) ([]index.Entry, []bool, error) {
	if db.closed.Load() {
		return nil, nil, ErrClosed
	}
	entries := make([]index.Entry, len(keys))
	found := make([]bool, len(keys))
	var expiredAt []int
	db.wmu.Lock()
	now := db.nowMs()
	get := db.keydir.Get
	if touch {
		get = db.keydir.Access
	}
	for i, k := range keys {
		e, ok := get(k)
		if ok && expired(e, now) {
			expiredAt = append(expiredAt, i)
			ok = false
		}
		entries[i], found[i] = e, ok
		if ok {
			db.hits.Add(1)
		} else {
			db.misses.Add(1)
		}
	}
	db.wmu.Unlock()
	for _, i := range expiredAt {
		db.expireKey(keys[i], entries[i].Seq, now)
	}
	return entries, found, nil
}

// exists returns how many of keys exist (a key named twice counts twice);
// with touch (TOUCH, not EXISTS: see lookup) the lookups count as uses.
func (db *DB) exists(keys [][]byte, touch bool) (int, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	if len(keys) == 1 {
		_, ok := db.lookup(keys[0], touch)
		return boolCount(ok), nil
	}
	_, found, err := db.entries(keys, touch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ok := range found {
		n += boolCount(ok)
	}
	return n, nil
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pttl returns key's remaining time to live in milliseconds, -1 when it has
// no expiry, -2 when it does not exist.
func (db *DB) pttl(key []byte) (int64, error) {
	at, err := db.expireTime(key)
	if err != nil || at < 0 {
		return at, err
	}
	return max(at-db.nowMs(), 0), nil
}

// scan returns about count keys matching the glob pattern match (empty
// matches everything) from cursor on, and the cursor to continue from (0
// when the scan is complete). Every key that exists for the whole scan is
// returned at least once; a key may be returned more than once.
func (db *DB) scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	if db.closed.Load() {
		return 0, nil, ErrClosed
	}
	if count <= 0 {
		count = 10
	}
	now := db.nowMs()
	var keys [][]byte
	var next uint64
	db.stable(func() {
		keys = keys[:0]
		next = db.keydir.Scan(cursor, count, func(key []byte, e index.Entry) {
			if expired(e, now) || (len(match) > 0 && !glob.Match(match, key)) {
				return
			}
			keys = append(keys, bytes.Clone(key))
		})
	})
	return next, keys, nil
}
