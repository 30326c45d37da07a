package storage

import (
	"errors"
	"time"
)

// Errors returned by DB methods. Callers compare with errors.Is.
var (
	// ErrNotFound is returned by Get for a key that does not exist.
	ErrNotFound = errors.New("pykv/storage: key not found")
	// ErrNotInteger is returned by IncrBy when the value is not a base-10
	// signed 64-bit integer.
	ErrNotInteger = errors.New("pykv/storage: value is not an integer or out of range")
	// ErrOverflow is returned by IncrBy when the result would overflow int64.
	ErrOverflow = errors.New("pykv/storage: increment or decrement would overflow")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("pykv/storage: database closed")
	// ErrKeyTooLarge and ErrValueTooLarge are returned when a key or value
	// exceeds the configured limit.
	ErrKeyTooLarge   = errors.New("pykv/storage: key too large")
	ErrValueTooLarge = errors.New("pykv/storage: value too large")
	// ErrLogFailed wraps the error of a log that failed a write or an
	// fsync: it refuses every write until the daemon restarts.
	ErrLogFailed = errors.New("pykv/storage: log failed")
	// ErrReadOnly is returned for writes on a follower.
	ErrReadOnly = errors.New("pykv/storage: read-only replica")
)

// SetOptions are the options of Set, as in Redis's SET command.
type SetOptions struct {
	// Build is how the value was built (OBJECT ENCODING): BuiltByValue
	// for SET and its kin, BuiltRaw for BITOP's result.
	Build Build
	// ExpireAt is the absolute expiry time in unix milliseconds; 0 means
	// no expiry (and, unless KeepTTL, clears an existing one).
	ExpireAt int64
	// KeepTTL keeps the key's existing expiry (ExpireAt must be 0).
	KeepTTL bool
	// NX writes only when the key does not exist; XX only when it does.
	NX, XX bool
	// Get asks for the previous value in SetResult.Old.
	Get bool
}

// SetResult is what Set did.
type SetResult struct {
	// Written is false when NX or XX prevented the write.
	Written bool
	// Old is the previous value when SetOptions.Get was set and the key
	// existed (Existed is true).
	Old     []byte
	Existed bool
}

// Stats are counters and gauges of a DB, for INFO and metrics.
type Stats struct {
	Keys        int64 // live keys in the keydir (expired but not yet removed included)
	KeysWithTTL int64 // of which have an expiry
	// AvgTTLMs estimates the milliseconds the keys with an expiry have
	// left, as Redis's avg_ttl: a running average over the keys each
	// active expiry cycle samples; 0 when none has an expiry or none was
	// sampled yet.
	AvgTTLMs       int64
	LastSeq        uint64 // seq of the newest record
	Segments       int    // log segment files
	DiskBytes      int64  // bytes of every data file
	CacheBytes     int64  // bytes held by the value cache
	CacheBudget    int64  // the cache's byte budget
	CacheHits      uint64 // Get served from the cache
	CacheMisses    uint64 // Get that read the value from disk
	KeyspaceHits   uint64 // lookups that found a key
	KeyspaceMisses uint64 // lookups that found none
	ExpiredKeys    uint64 // keys removed because their TTL passed
	Writes         uint64 // records appended since Open
	Fsyncs         uint64 // fsync calls on the log since Open
	LogBytes       uint64 // bytes appended to the log since Open: the write rate, for sizing the backlog
	BacklogSegs    int    // merged segments kept for followers (the replication backlog)
	BacklogBytes   int64  // and their bytes
	RecoveryMs     int64  // how long Open's recovery took
	RecoveredRecs  int64  // records replayed by Open
	DatasetID      string // the dataset's id, made at init

	Snapshots      int    // snapshot files (0 or 1, 2 briefly during a merge)
	LiveBytes      int64  // bytes of records the keydir points at
	DeadBytes      int64  // bytes of data files that are overwritten, deleted or expired
	Merges         uint64 // merges completed since Open
	MergeReclaimed int64  // MergeRead - MergeWritten: negative when merges grew the files
	MergeRead      int64  // bytes of the files merges read (and removed) since Open
	MergeWritten   int64  // bytes of the snapshots merges wrote since Open
	LastMergeMs    int64  // duration of the last merge
	// LastMergeAt is when the last merge completed (or found nothing to
	// merge), or when Open finished before any: Redis's LASTSAVE, the
	// instant the files were last as a merge leaves them.
	LastMergeAt    time.Time
	MergeRunning   bool   // a merge is in progress
	MergeFailures  uint64 // merges that failed (an I/O error, a panic) since Open; the log is unaffected
	MergesDeclined uint64 // merges not started because their output would not fit in the free space
	BgPanics       uint64 // panics of background work (merges, expiry) contained since Open
}

// Current is a key's state as the function of an Update sees it, under the
// engine's write lock.
type Current struct {
	// Value is the key's value, nil when it does not exist. It must not be
	// modified; it may be kept, as Get's result may.
	Value []byte
	// Exists says whether the key exists (and has not expired).
	Exists bool
	// ExpireAt is the key's absolute expiry in unix milliseconds; 0 for
	// none.
	ExpireAt int64
	// Now is the engine's clock in unix milliseconds, read once for the
	// whole Update.
	Now int64
	// Build is how the key's value was built (BuiltByValue when it does
	// not exist).
	Build Build
}

// Change is what the function of an Update decides.
type Change struct {
	// Write false leaves the key as it is; Value and ExpireAt are then
	// ignored.
	Write bool
	// Value is the key's new value: Current's Value itself when only the
	// expiry changes, otherwise a new slice (Current's Value is never
	// modified in place).
	Value []byte
	// ExpireAt is the new absolute expiry in unix milliseconds, 0 for
	// none. A time not after Current.Now deletes the key, as a past EXAT
	// does in Redis.
	ExpireAt int64
	// Build is how the new value was built: Current's Build to keep the
	// key's, as a change of expiry alone does; the zero value is
	// BuiltByValue.
	Build Build
	// Retag, with Write false and an existing key, sets the build of the
	// key's value to Build and writes nothing: no record, no new version,
	// so that a WATCH sees no change, as Redis unshares a value (SETBIT of
	// a bit that stays) without counting a change.
	Retag bool
}

// Build says how a key's value was built, as far as Redis 7.0's OBJECT
// ENCODING and OBJECT REFCOUNT tell it apart: Redis encodes by its bytes
// a value that SET and its kin store (tryObjectEncoding), but keeps an
// object that a command changed in place or built otherwise as it is.
// The keydir keeps it with the key (index.Entry.Tag, in spare bits of
// the LRU clock word), never on disk: a key loaded at start-up, and every
// key of a follower (which applies SET records), is BuiltByValue, as
// Redis re-encodes every value it loads from an RDB.
type Build uint8

const (
	// BuiltByValue: encoded by the bytes, as SET, GETSET, SETEX, MSET,
	// INCR and APPEND to a missing key store: int (the integers 0 to
	// 9999 shared), embstr up to 44 bytes, else raw.
	BuiltByValue Build = iota
	// BuiltRaw: raw, whatever the bytes, as APPEND to an existing key,
	// SETRANGE, SETBIT and BITOP leave a value.
	BuiltRaw
	// BuiltString: a string by length, never int: embstr up to 44 bytes,
	// else raw, as INCRBYFLOAT's result.
	BuiltString
	// BuiltUnshared: by the bytes, but never a shared integer, as COPY's
	// copy of an integer (which Redis duplicates).
	BuiltUnshared
)

// Copied is the build of COPY's copy of a value built as b: Redis's
// dupStringObject keeps raw raw and embstr embstr, and makes a new,
// unshared integer of an int.
func (b Build) Copied() Build {
	if b == BuiltByValue {
		return BuiltUnshared
	}
	return b
}
