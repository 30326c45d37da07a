package command

import (
	"time"

	"github.com/pykv/pykv/storage"
)

// Store is what the command table needs of the engine. *storage.DB
// implements it; tests may use a smaller twin.
type Store interface {
	// Now is the engine's clock; relative expiries (EX, PX, EXPIRE) are
	// turned into absolute unix milliseconds with it.
	Now() time.Time
	// MaxValueSize is the longest value the store keeps; APPEND, SETRANGE
	// and SETBIT check what they would build against it before building.
	MaxValueSize() int
	// Get returns key's value; the read is a use of the key (see
	// IdleTime), as Redis's lookupKey counts one.
	Get(key []byte) ([]byte, error)
	// Peek is Get without the use, as Redis's LOOKUP_NOTOUCH reads.
	Peek(key []byte) ([]byte, error)
	// PeekBuilt is Peek with how the value was built (see storage.Build):
	// the read of OBJECT ENCODING and REFCOUNT, which Redis makes with
	// LOOKUP_NOTOUCH.
	PeekBuilt(key []byte) ([]byte, storage.Build, error)
	Set(key, value []byte, opt storage.SetOptions) (storage.SetResult, error)
	Del(keys ...[]byte) (int, error)
	// Exists counts the keys that exist, using none (EXISTS, TYPE).
	Exists(keys ...[]byte) (int, error)
	// Touch is Exists, each lookup a use of the key (TOUCH).
	Touch(keys ...[]byte) (int, error)
	// IdleTime returns the seconds since key was last used or written
	// (OBJECT IDLETIME), or storage.ErrNotFound; it is no use itself.
	IdleTime(key []byte) (int64, error)
	IncrBy(key []byte, delta int64) (int64, error)
	// Expire sets an absolute expiry in unix ms; a time not in the future
	// deletes the key. It reports whether the key existed.
	Expire(key []byte, atMs int64) (bool, error)
	Persist(key []byte) (bool, error)
	// PTTL returns the remaining time to live in ms, -1 for a key without
	// expiry, -2 for a missing key.
	PTTL(key []byte) (int64, error)
	// MGet returns one value per key, nil for a missing key.
	MGet(keys ...[]byte) ([][]byte, error)
	// MSet writes key, value, key, value... pairs as one atomic batch.
	MSet(pairs ...[]byte) error
	// MSetNX writes the pairs as one atomic batch only if none of the keys
	// exists, and reports whether it wrote them (MSETNX).
	MSetNX(pairs ...[]byte) (bool, error)
	// Update reads key's state and writes what fn decides in one atomic
	// step (APPEND, SETRANGE, INCRBYFLOAT, GETEX): see storage.Deferred's
	// Update. fn runs under the store's lock and must not call it.
	Update(key []byte, fn func(storage.Current) (storage.Change, error)) error
	// Scan returns keys matching the glob pattern (empty matches all; see
	// storePattern for KEYS "" and MATCH "") from
	// cursor on, about count of them, and the next cursor (0 when done).
	Scan(cursor uint64, match []byte, count int) (next uint64, keys [][]byte, err error)
	DBSize() int64
	Stats() storage.Stats

	// The keyspace commands (RENAME, COPY, KEYS, RANDOMKEY, EXPIRETIME).

	// Rename moves src's value and expiry to dst in one atomic step,
	// replacing dst, or with nx only if dst does not exist; it returns
	// storage.ErrNotFound for a missing src and whether it renamed (a key
	// renamed onto itself: !nx, with nothing written).
	Rename(src, dst []byte, nx bool) (bool, error)
	// Copy writes src's value and expiry to dst, unless src is missing or
	// dst exists and replace is false, and reports whether it wrote. src
	// and dst differ.
	Copy(src, dst []byte, replace bool) (bool, error)
	// Keys returns every key matching the glob pattern (empty matches
	// all), as of one instant, in no particular order.
	Keys(match []byte) ([][]byte, error)
	// RandomKey returns a pseudo-randomly chosen key, or
	// storage.ErrNotFound when there is none.
	RandomKey() ([]byte, error)
	// ExpireTime returns key's absolute expiry in unix ms, -1 for a key
	// without expiry, -2 for a missing key.
	ExpireTime(key []byte) (int64, error)
}
