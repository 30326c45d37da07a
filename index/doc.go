// Package index holds pykv's in-memory indexes: the keydir, which maps every
// live key to the location, expiry and seq of its current version, and the
// value cache, a sharded LRU of recently read values under a byte budget.
// It works on memory only: it never touches disk, and imports nothing of
// the project. The keydir is the truth for which keys exist; the cache only
// holds copies, so evicting from it never loses data.
//
// # Keydir layout
//
// A Keydir is split into shards (256 by default) by the top bits of the
// key's xxhash, each behind its own sync.RWMutex. A shard holds three
// pointer-free structures:
//
//	table   []group                  open addressing, groups of 8 slots (40 bytes)
//	        +--------------------------+-----------------------------------+
//	        | ctrl [8]uint8            | refs [8]uint32                    |
//	        | empty, deleted, or 7     | chunk<<14 | offset of the record  |
//	        | bits of the key's hash   | in each slot                      |
//	        +--------------------------+-----------------------------------+
//	                                            |
//	arena   [][]byte chunks of up to 16 KiB     v
//	        +-----------+---------+---------------+-------+-------+---------+ - - - - - - - - - - +
//	        | uvarint   | key     | size u32 with | seq   | file  | offset  | expire_at | ttl idx |
//	        | 2*klen+t  | klen B  | LRU clock u32 | u64   | u32   | u48     | i64       | u32     |
//	        +-----------+---------+---------------+-------+-------+---------+ - - - - - - - - - - +
//	        1 B if key < 64 B     \______________ 26 B, fixed ______________/ only when t = 1 (12 B)
//
//	ttl     []uint32                 refs of the records with an expiry
//
// A lookup hashes the key once: the top bits pick the shard, the bits below
// them the home group, and the lowest 7 bits (h2) are compared against a
// group's eight control bytes in a few word operations; only for an h2 match
// is the record read and the full key compared (two keys with the same
// 64-bit hash are told apart by their bytes). Taking the home group from the
// high bits keeps each table in hash order: keys put in ascending Hash order
// fill it front to back (Loader, fed a snapshot index written in that order,
// loads 5M keys about five times faster than in random order, where every
// insert misses the CPU cache), and a group splits into two neighbours when
// the table doubles. Probing is triangular over groups and stops at a group with an
// empty slot; the table stays at most 7/8 full, counting tombstones, doubles
// when it fills and shrinks when under 1/8 full.
//
// The LRU clock (Redis's: seconds, 24 bits) is one aligned 32-bit word,
// so that a reader holding only the read lock can set it atomically
// (Access); it sits at the first multiple of 4 in the fixed fields, and the
// size field is split around it, so the clock costs 4 bytes and no padding
// (arena.go draws it). Access stores it only when it changed: within a
// second, repeated reads of a key load the word and dirty no cache line.
// The clock takes 24 of the word's bits; the 2 above hold Entry.Tag (how
// storage built the value, for OBJECT ENCODING) at no cost in memory:
// writes set it under the write lock, and Access's store keeps it.
//
// Records are written once and updated in place: the fixed fields have fixed
// offsets. A record that gains or loses an expiry changes length and moves
// to the end of the arena; a deleted record becomes garbage. When garbage
// outweighs live records in a shard (and passes 4 KiB) the shard copies its
// live records into fresh chunks, so a delete-heavy shard holds at most about
// twice its live bytes. A record over 4 KiB gets a chunk of its own.
//
// Keys with an expiry (ExpireAt != 0) cost 16 bytes more: the 12-byte tail
// and their slot in the shard's ttl list. The list is what SampleExpiring
// draws from, in O(1) per sample however few keys have a TTL, as Redis's
// separate expires table allows; the ttl index in the record lets a key
// leave the list in O(1).
//
// Limits: Entry.Offset must be below 2^48 (MaxOffset, 256 TiB per data file);
// a shard holds at most 4 GiB of records (about 100 million 16-byte keys,
// times the shard count); at most 2^16 shards.
//
// # Memory, measured
//
// Heap held per key (runtime.MemStats.HeapAlloc after a GC, less the heap
// before), for keys of 16 bytes, and the cost of a forced GC with the
// structure live (go1.26, linux/amd64, 256 shards):
//
//	                        B/key   beyond key   GC wall   GC pause
//	Keydir, 1M keys          56.4      40.4       ~5 ms    ~0.15 ms
//	Keydir, 5M keys          51.9      35.9       ~3 ms    ~0.15 ms
//	Keydir, 1M, 10% TTL      57.2      41.2       ~5 ms    ~0.2 ms
//	map[string]Entry, 1M    150.2     134.2      ~54 ms    ~1.7 ms
//
// The LRU clock added 4.0 bytes per key to each keydir row (GC costs were
// measured before it; its bytes hold no pointers). The 5M keydir peaked at
// about 250 MB of RSS before the clock's 20 MB. Per key, beyond the key: 27
// bytes of record, 5 bytes of table slot divided by the load factor (7/16
// to 7/8: 6 to 11.5 bytes), and a few bytes of unfilled chunk. Reproduce
// with:
//
//	go test -run '^$' -bench 'KeydirMemory|GoMapMemory' -benchtime=1x ./index/
//
// # Why not a Go map
//
// The daemon keeps every key in memory, so the keydir's bytes per key bound
// the dataset a machine can serve. A map[string]Entry costs about 134 bytes
// beyond each key (a 16-byte string header and a 40-byte padded Entry per
// slot at up to 7/8 load, plus a separately allocated, size-class-rounded
// copy of the key), three times the keydir. Worse, each key is a pointer the
// garbage collector must trace on every cycle: in the figures above a GC
// with the map live takes ten times as long as with the keydir, whose memory
// is all pointer-free ([]byte and [8]uint32 arrays) and is never scanned.
// Holding records in byte arenas also gives the compact layout above
// (48-bit offsets, an optional TTL tail) that a Go struct cannot express.
//
// # Concurrency and iteration
//
// All methods are safe for concurrent use. Scan follows Redis SCAN: its
// cursor is a position in a shard's hash order, which maps to a home group
// at any table size, so it stays valid while tables grow and shrink, and every key present for a whole scan
// is returned at least once. Range holds each shard's read lock while it
// calls back; Scan and SampleExpiring copy keys out first and call back
// without a lock.
//
// # Cache
//
// Cache is an LRU per shard (xxhash-sharded, O(1) hits and evictions) under
// a byte budget split evenly among the shards. A shard is one
// open-addressing table (linear probing, deletion by backward shift) whose
// 24-byte slots hold the key's hash, the LRU links as slot positions, and a
// pointer to one allocation holding the entry's seq, key and value: a hit
// reads its slot and then that copy, and compares the key once. Each entry
// costs its key, its value and a fixed 96 bytes against the budget, more
// than it takes (about 85 bytes for a 100-byte value, BenchmarkCacheMemory). Entries are tagged with the seq of the version they copy, and Get
// hits only when asked for that seq, so a value overwritten on disk is never
// served; a miss on an entry older than the seq asked for drops it at once.
// Values returned by Get are shared and must not be modified.
package index
