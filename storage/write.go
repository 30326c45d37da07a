package storage

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/segment"
)

// checkKey refuses a key over the configured limit. Any other key is
// allowed, the empty one included, as Redis allows it.
func (db *DB) checkKey(key []byte) error {
	if len(key) > db.opts.MaxKeySize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLarge, len(key), db.opts.MaxKeySize)
	}
	return nil
}

func (db *DB) checkValue(value []byte) error {
	if len(value) > db.opts.MaxValueSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(value), db.opts.MaxValueSize)
	}
	return nil
}

// liveLocked returns key's entry if it exists and has not expired. The
// caller holds wmu. The lookup counts as a use of the key (see lookup), as
// Redis's lookupKeyWrite and the lookups of the commands that write.
func (db *DB) liveLocked(key []byte, now int64) (index.Entry, bool) {
	return db.liveLockedAs(key, now, true)
}

// liveLockedAs is liveLocked, the lookup a use of the key only with touch.
func (db *DB) liveLockedAs(key []byte, now int64, touch bool) (index.Entry, bool) {
	var e index.Entry
	var ok bool
	if touch {
		e, ok = db.keydir.Access(key)
	} else {
		e, ok = db.keydir.Get(key)
	}
	if ok && expired(e, now) {
		return e, false
	}
	return e, ok
}

// appendLocked logs recs as one batch, giving them the next seqs, and
// applies them to the keydir and the cache. The caller holds wmu. Nothing
// is durable yet: an operation's caller waits for its horizon (see
// Deferred) before it acknowledges the write or shows any read. Every
// value it sets is BuiltByValue.
func (db *DB) appendLocked(recs []segment.Record) error {
	return db.appendBuiltLocked(recs, nil)
}

// appendBuiltLocked is appendLocked with the build of each record's value
// (builds[i] for recs[i]; nil: all BuiltByValue), which the keydir keeps
// with the key and the log never sees.
func (db *DB) appendBuiltLocked(recs []segment.Record, builds []Build) error {
	if db.closed.Load() {
		return ErrClosed
	}
	if db.replica.Load() {
		// A replica's log holds its leader's records only (Apply); it
		// expires nothing by itself, so this is a client's write.
		return ErrReadOnly
	}
	for i := range recs {
		recs[i].Seq = db.seq + uint64(i) + 1
	}
	return db.logLocked(recs, builds)
}

// logLocked logs recs, whose seqs are set and follow db.seq, as one batch
// and applies them, with builds as appendBuiltLocked's. The caller holds
// wmu.
func (db *DB) logLocked(recs []segment.Record, builds []Build) error {
	var small [4]segment.Pos
	var pos []segment.Pos
	if len(recs) > len(small) {
		pos = make([]segment.Pos, len(recs))
	} else {
		pos = small[:len(recs)]
	}
	if db.installBroken != nil {
		return db.installBroken
	}
	if _, err := db.log.Append(pos, recs...); err != nil {
		return logFailed(err)
	}
	flush := recs[0].Type == segment.TypeFlush
	if flush {
		// Applied only once durable: no undo log could take back a
		// cleared keydir (flush.go).
		if err := db.log.CommitSeq(recs[len(recs)-1].Seq); err != nil {
			return logFailed(err)
		}
	}
	db.seq = recs[len(recs)-1].Seq
	db.undo.trim(db.log.DurableSeq())
	// Published before the keydir changes: a reader that sees one of these
	// versions then reads applied at least as high, and waits for it.
	db.applied.Store(db.seq)
	if len(recs) > 1 || flush {
		db.changing.Add(1)
		defer db.changing.Add(1)
	}
	for i := range recs {
		r := &recs[i]
		switch r.Type {
		case segment.TypeFlush:
			db.applyFlushLocked(r.Seq, pos[i].FileID)
		case segment.TypeSet:
			var tag uint8
			if builds != nil {
				tag = uint8(builds[i])
			}
			old, existed := db.keydir.Put(r.Key, index.Entry{FileID: pos[i].FileID, Offset: uint64(pos[i].Offset),
				Size: pos[i].Size, ExpireAt: r.ExpireAt, Seq: r.Seq, Tag: tag})
			db.undo.add(r.Seq, r.Key, old, existed)
			db.track(old, existed)
			db.gain(pos[i].FileID, pos[i].Size)
			db.cache.Put(r.Key, r.Seq, r.Value)
		case segment.TypeDel:
			old, existed := db.keydir.Delete(r.Key)
			if existed {
				db.undo.add(r.Seq, r.Key, old, true)
			}
			if len(db.watched) > 0 {
				prev := uint64(0)
				if existed {
					prev = old.Seq
				}
				db.noteDeleteLocked(r.Key, r.Seq, prev)
			}
			db.track(old, existed)
			db.cache.Remove(r.Key)
		}
	}
	db.writes.Add(uint64(len(recs)))
	return nil
}

// logFailed marks an error of the log as ErrLogFailed (closing is not a
// failure).
func logFailed(err error) error {
	if err == nil || errors.Is(err, segment.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrLogFailed, err)
}

// mutate runs fn under the write lock, released even if fn panics.
func (db *DB) mutate(fn func() error) error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return fn()
}

func (db *DB) set(key, value []byte, opt SetOptions) (SetResult, error) {
	if err := db.checkKey(key); err != nil {
		return SetResult{}, err
	}
	if err := db.checkValue(value); err != nil {
		return SetResult{}, err
	}
	var res SetResult
	err := db.mutate(func() error {
		now := db.nowMs()
		var e index.Entry
		exists := false
		if opt.Get || opt.NX || opt.XX || opt.KeepTTL {
			// A plain SET does not need the old entry: skipping the lookup
			// saves a keydir probe (14% of pykvd's CPU under SET -P 16).
			e, exists = db.liveLocked(key, now)
		}
		if opt.Get && exists {
			old, err := db.value(key, e)
			if err != nil {
				return err
			}
			res.Old, res.Existed = old, true
		}
		if (opt.NX && exists) || (opt.XX && !exists) {
			return nil
		}
		res.Written = true
		expireAt := opt.ExpireAt
		if opt.KeepTTL && exists {
			expireAt = e.ExpireAt
		}
		if expireAt != 0 && expireAt <= now {
			// Set and expired at once, as Redis does with a past EXAT:
			// what remains is that the key does not exist.
			if _, inKeydir := db.keydir.Get(key); !inKeydir {
				return nil
			}
			return db.appendLocked([]segment.Record{{Type: segment.TypeDel, Key: key}})
		}
		return db.appendBuiltLocked([]segment.Record{{Type: segment.TypeSet, Key: key, Value: value, ExpireAt: expireAt}},
			[]Build{opt.Build})
	})
	if err != nil {
		return SetResult{}, err
	}
	return res, nil
}

func (db *DB) mset(pairs ...[]byte) error {
	if len(pairs)%2 != 0 {
		return fmt.Errorf("pykv/storage: MSet needs key/value pairs, got %d arguments", len(pairs))
	}
	recs := make([]segment.Record, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		if err := db.checkKey(pairs[i]); err != nil {
			return err
		}
		if err := db.checkValue(pairs[i+1]); err != nil {
			return err
		}
		recs = append(recs, segment.Record{Type: segment.TypeSet, Key: pairs[i], Value: pairs[i+1]})
	}
	return db.mutate(func() error { return db.appendLocked(recs) })
}

func (db *DB) del(keys ...[]byte) (int, error) {
	n := 0
	err := db.mutate(func() error {
		now := db.nowMs()
		recs := make([]segment.Record, 0, len(keys))
		var seen map[string]bool
		if len(keys) > 1 {
			seen = make(map[string]bool, len(keys))
		}
		for _, k := range keys {
			if seen != nil {
				if seen[string(k)] {
					continue
				}
				seen[string(k)] = true
			}
			e, ok := db.keydir.Get(k)
			if !ok {
				continue
			}
			if !expired(e, now) {
				n++
			}
			recs = append(recs, segment.Record{Type: segment.TypeDel, Key: k})
		}
		if len(recs) == 0 {
			return nil
		}
		return db.appendLocked(recs)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (db *DB) incrBy(key []byte, delta int64) (int64, error) {
	if err := db.checkKey(key); err != nil {
		return 0, err
	}
	var cur int64
	err := db.mutate(func() error {
		e, exists := db.liveLocked(key, db.nowMs())
		expireAt := int64(0)
		if exists {
			v, err := db.value(key, e)
			if err != nil {
				return err
			}
			n, ok := redisfmt.ParseInt(v)
			if !ok {
				return ErrNotInteger
			}
			cur, expireAt = n, e.ExpireAt
		}
		if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
			return ErrOverflow
		}
		cur += delta
		return db.appendLocked([]segment.Record{{Type: segment.TypeSet, Key: key,
			Value: strconv.AppendInt(nil, cur, 10), ExpireAt: expireAt}})
	})
	if err != nil {
		return 0, err
	}
	return cur, nil
}

// rewriteExpiry logs key's value again with a new expiry: none when
// persist (and only if it had one), else atMs, where a time not in the
// future deletes the key, as Redis's EXPIRE, EXPIREAT and their P forms do.
// It reports whether it changed the key.
func (db *DB) rewriteExpiry(key []byte, persist bool, atMs int64) (bool, error) {
	wrote := false
	err := db.mutate(func() error {
		now := db.nowMs()
		e, exists := db.liveLocked(key, now)
		if !exists || (persist && e.ExpireAt == 0) {
			return nil
		}
		rec := segment.Record{Type: segment.TypeDel, Key: key}
		build := Build(e.Tag) // a new expiry keeps the value's build
		if persist || atMs > now {
			v, err := db.value(key, e)
			if err != nil {
				return err
			}
			rec = segment.Record{Type: segment.TypeSet, Key: key, Value: v}
			if !persist {
				rec.ExpireAt = atMs
			}
		}
		wrote = true
		return db.appendBuiltLocked([]segment.Record{rec}, []Build{build})
	})
	if err != nil {
		return false, err
	}
	return wrote, nil
}

func (db *DB) getDel(key []byte) ([]byte, error) {
	var v []byte
	err := db.mutate(func() error {
		e, ok := db.liveLocked(key, db.nowMs())
		if !ok {
			return ErrNotFound
		}
		var err error
		if v, err = db.value(key, e); err != nil {
			return err
		}
		return db.appendLocked([]segment.Record{{Type: segment.TypeDel, Key: key}})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// update runs fn on key's state under the write lock and logs what it
// decides as one record holding the result: a SET of the new value with
// its absolute expiry, or a DEL when that expiry is already past. fn's
// error, if any, is returned and nothing is written.
func (db *DB) update(key []byte, fn func(Current) (Change, error)) error {
	if err := db.checkKey(key); err != nil {
		return err
	}
	return db.mutate(func() error {
		now := db.nowMs()
		cur := Current{Now: now}
		var seq uint64
		if e, ok := db.liveLocked(key, now); ok {
			v, err := db.value(key, e)
			if err != nil {
				return err
			}
			cur.Value, cur.Exists, cur.ExpireAt, cur.Build = v, true, e.ExpireAt, Build(e.Tag)
			seq = e.Seq
		}
		ch, err := fn(cur)
		if err != nil || !ch.Write {
			if err == nil && ch.Retag && cur.Exists {
				db.keydir.SetTag(key, seq, uint8(ch.Build)) // wmu held: the version is the one fn saw
			}
			return err
		}
		if ch.ExpireAt != 0 && ch.ExpireAt <= now {
			if _, inKeydir := db.keydir.Get(key); !inKeydir {
				return nil
			}
			return db.appendLocked([]segment.Record{{Type: segment.TypeDel, Key: key}})
		}
		if err := db.checkValue(ch.Value); err != nil {
			return err
		}
		return db.appendBuiltLocked([]segment.Record{{Type: segment.TypeSet, Key: key, Value: ch.Value, ExpireAt: ch.ExpireAt}},
			[]Build{ch.Build})
	})
}

// msetNX writes the pairs as one batch only if none of the keys exists,
// and reports whether it wrote them.
func (db *DB) msetNX(pairs ...[]byte) (bool, error) {
	if len(pairs)%2 != 0 {
		return false, fmt.Errorf("pykv/storage: MSetNX needs key/value pairs, got %d arguments", len(pairs))
	}
	recs := make([]segment.Record, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		if err := db.checkKey(pairs[i]); err != nil {
			return false, err
		}
		if err := db.checkValue(pairs[i+1]); err != nil {
			return false, err
		}
		recs = append(recs, segment.Record{Type: segment.TypeSet, Key: pairs[i], Value: pairs[i+1]})
	}
	wrote := false
	err := db.mutate(func() error {
		now := db.nowMs()
		for _, r := range recs {
			if _, ok := db.liveLocked(r.Key, now); ok {
				return nil
			}
		}
		wrote = true
		return db.appendLocked(recs)
	})
	if err != nil {
		return false, err
	}
	return wrote, nil
}
