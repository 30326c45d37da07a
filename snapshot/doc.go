// Package snapshot reads and writes pykv's snapshot files: the live records
// of a data directory as of a seq, followed by an index section (key,
// offset, size, expiry, seq of every record) so that start-up rebuilds the
// keydir without reading a value, and a footer with the index's checksum,
// the counts and the covered seq.
//
// A snapshot is immutable once written. It is written under a temporary
// name, fsynced, renamed and the directory fsynced, so a crash leaves either
// the whole file or none. It is read through a read-only memory mapping
// (github.com/edsrzf/mmap-go); byte slices returned by a Snapshot point into
// the mapping and are valid only until Close: callers copy what they keep
// (the engine copies a value once, into its cache), and never Close a
// snapshot while a reader may still hold a slice.
//
// The package never decides which records are live: the engine's merge
// does, and this package only stores what it is given.
//
// # File layout
//
// A snapshot is named NNNNNNNNNN.snap. In version 1 the number is the
// newest log segment it covers, and the one snapshot holds the result of
// every segment with an id up to its own. From version 2 a data directory
// holds a set of snapshots that its manifest lists (package storage,
// docs/format.md): the number is the file's own id, and each file holds
// the records that were live when a merge wrote it, plus tombstones for
// keys deleted meanwhile that an older file of the set may still hold.
//
//	header (24 bytes)
//	+----------+---------+--------+----------------+---------+
//	| "PYKVSN" | ver u16 | id u32 | covered seq u64| crc u32 |
//	+----------+---------+--------+----------------+---------+
//	records: set records only, back to back; version 3 (record.go):
//	+---------+-------------+-------------+-----+-------+
//	| crc u32 | keylen uvar | vallen uvar | key | value |
//	+---------+-------------+-------------+-----+-------+
//	crc = CRC-32C(seq u64 | expire_at i64 | keylen .. value), seq and
//	expire_at being the index entry's; versions 1 and 2: the segment
//	record encoding (see package segment)
//	index: one entry per record, in the order Writer.OrderIndex asks for
//	(pykv's merges: ascending xxhash64 of the key), else record order;
//	versions 2 and 3, each integer a varint in its shortest form (29
//	bytes for a 16-byte key where version 1 takes 48):
//	+-----------------+------------+-----+---------------+-------------+-----------------+------------+
//	| entry len uvar  | keylen uvar| key | offset uvar   | size uvar   | expire_at zigzag| seq uvar   |
//	+-----------------+------------+-----+---------------+-------------+-----------------+------------+
//	(entry len counts the bytes after itself); version 1, fixed widths:
//	+------------+-----+------------+----------+---------------+---------+
//	| keylen u32 | key | offset u64 | size u32 | expire_at i64 | seq u64 |
//	+------------+-----+------------+----------+---------------+---------+
//	footer (56 bytes)
//	+---------------+---------------+-----------------+-----------------+
//	| index off u64 | index len u64 | count u64       | covered seq u64 |
//	+---------------+---------------+-----------------+-----------------+
//	| index crc u32 | records crc u32 | tombstones u32 | footer crc u32 | "PYKVSNFT" |
//	+---------------+-----------------+----------------+----------------+------------+
//
// A version 3 record holds no type, seq or expiry: only set records live
// in a snapshot, and its index entry holds the seq and expiry, under the
// index's crc, and its size. For a 16-byte key and a 100-byte value the
// record takes 122 bytes where the segment encoding takes 145. The record
// crc binds the entry's seq and expiry, so a record checks only against
// the entry that locates it (Snapshot.RecordAt), and one walk over the
// records needs the index (Records walks it, in the index's order).
//
// A tombstone (version 2 on) is an index entry with offset 0, size 0 and
// expire_at 0, and no record: its key was deleted at its seq. The footer's
// tombstones field counts them (reserved, zero, in version 1) and count
// includes them.
//
// Integers are little-endian. The header crc covers its first 20 bytes; the
// footer crc its first 44; the index crc the whole index section; the
// records crc the whole records section; and every record also carries its
// own CRC, so that damage can be pinpointed and a value read alone is
// checked. Open checks the header, the
// footer and the index (its crc, its framing into whole entries, their
// count); VerifyRecords checks the records crc, which start-up runs
// alongside loading the index. covered seq is the seq of the last record of
// the newest segment merged, deletes included, so that seqs never go back
// even when every key was deleted. These constants are part of the on-disk
// format: they never change within a version.
//
// The index is read with pread through a small reused buffer, never into
// one large buffer or through the mapping: on a virtual machine the first
// touch of each 4 KiB page of memory costs about 10 µs, which for a 5M-key
// index (240 MB) took longer than loading it.
package snapshot
