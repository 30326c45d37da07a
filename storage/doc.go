// Package storage is pykv's engine, usable as an embedded Go library: Open a
// data directory, then Get, Set, Del, IncrBy, Expire, Scan and so on, and
// Close. It owns the data directory (LOCK, DATASET, the log segments),
// recovery, expiry and the value cache; the log's bytes are the segment
// package's and the in-memory structures the index package's.
//
// # Write path
//
// A mutation takes the engine's write lock, checks its conditions against
// the keydir (NX, XX, the current integer for INCR), gives the record the
// next seq, appends it to the log's buffer, updates the keydir and the
// cache, and releases the lock. It then waits, without the lock, for the
// log to make the record durable under the fsync policy; only then does it
// return. Records hold results, never intentions: INCR logs the value it
// produced, Update (APPEND, SETRANGE, INCRBYFLOAT, GETEX) the value its
// function made, and every expiry is an absolute unix time in
// milliseconds.
//
// A consequence worth knowing: between the append and the fsync another
// reader may already see the new value (as in Redis with appendfsync
// always). The writer is answered only after the fsync. If that fsync
// fails, the writer gets the error, the log refuses all later writes, and
// the value seen meanwhile is not durable.
//
// # Read path
//
// The keydir is the truth for what exists; the cache holds copies. A Get
// looks up the key's location and seq, serves the value from the cache if
// it holds that seq, and otherwise reads the record from its file, checks
// its CRC, and promotes the value into the cache. Evicting from the cache
// never loses data. Returned values must not be modified by the caller.
//
// # Files
//
// The data is the log (its segments) and a set of immutable snapshot files,
// each with its own index, that the MANIFEST lists (manifest.go). Merges
// rewrite only the live records of the files whose dead share makes it
// worth it (mergeplan.go), so a merge costs what changed rather than the
// dataset; Merge (COMPACT, SAVE), views, backups and a follower's full
// sync fold every file into one.
//
// # Recovery
//
// Open loads the indexes of the live snapshot files (the newest version of
// a key wins, whatever the file; a tombstone hides the older ones), then
// replays the segments in id order (their seqs ascend), rebuilding the
// keydir without keeping values in memory. A torn tail of the newest
// segment (zeros or garbage after the last whole record, or a batch left
// incomplete) is cut off and logged. Any other damage stops Open with the
// file and offset, unless Options.Repair is set, in which case the damaged
// file is cut at the damage and the cut bytes are kept beside it in a
// .broken file. A segment opened by a flush (FlushAll, flush.go) makes the
// snapshot and the segments before it dead: they are removed unread.
//
// # Flush
//
// FlushAll (FLUSHALL) logs one flush record in a new segment of format
// version 2 and, once it is durable, empties the keydir and the cache;
// WATCH, transactions (Tx.FlushAll), merges, recovery and followers all
// honour it (docs/format.md, "Flush record").
//
// # Expiry
//
// Keys expire lazily (a read that finds an expired key deletes it) and
// actively: ExpiryInterval after ExpiryInterval, a sample of keys with a
// TTL is checked and the expired ones deleted, repeating while more than a
// quarter of a sample had expired, as Redis does. Either way the deletion
// is logged as a delete record, so followers and replays see it.
package storage
