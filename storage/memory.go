package storage

import "github.com/pykv/pykv/index"

// MemoryUsage estimates the bytes of memory key takes in the engine, for
// MEMORY USAGE: its keydir record (index.KeyBytes: the key, the
// entry, its table slot) and, when its value is cached, the cache's entry
// (key, value and per-entry overhead). A value that is only on disk costs no memory and is not
// counted. ok is false for a missing or expired key.
func (db *DB) MemoryUsage(key []byte) (n int64, ok bool) {
	e, found := db.keydir.Get(key)
	if !found || e.ExpireAt != 0 && e.ExpireAt <= db.nowMs() {
		return 0, false
	}
	n = index.KeyBytes(len(key), e.ExpireAt != 0)
	if c, cached := db.cache.Peek(key, e.Seq); cached {
		n += c
	}
	return n, true
}
