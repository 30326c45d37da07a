// Package segment is pykv's write-ahead log: a sequence of append-only
// segment files of checksummed records. It encodes and decodes records,
// appends them with a chosen fsync policy (group commit under "always"),
// rotates files at a size, and iterates a file telling a torn tail from
// damage. It never interprets keys or values, and never decides what a
// record means: that is the engine's job.
//
// # Segment file
//
// A segment is named NNNNNNNNNN.log, its decimal file id zero-padded to ten
// digits. It starts with a 24-byte header, then records back to back:
//
//	+----------+---------+---------+-----------+---------+
//	| magic 6B | ver 2B  | id 4B   | first seq | crc 4B  |
//	| "PYKVLG" | LE u16  | LE u32  | LE u64    | LE u32  |
//	+----------+---------+---------+-----------+---------+
//
// The crc is CRC-32C (Castagnoli) of the 20 bytes before it.
//
// # Record
//
//	+---------+-----------+---------+-----------+---------------+-----------+-----+-------+
//	| crc 4B  | length 4B | type 1B | seq 8B    | expire_at 8B  | keylen 4B | key | value |
//	+---------+-----------+---------+-----------+---------------+-----------+-----+-------+
//	          |<------------------------ length bytes follow the length field ----------->|
//
// All integers are little-endian. length counts the bytes after the length
// field (21 + keylen + len(value)); crc is CRC-32C of every byte after the
// crc field, the length included, so a damaged length is caught. expire_at is
// an absolute unix time in milliseconds, 0 for none. The low 7 bits of type
// are the record type (1 set, 2 delete, 3 flush); the high bit marks a record
// whose batch continues in the next record, so that a batch (MSET) is applied
// whole or not at all: a batch cut by a torn tail is dropped at recovery.
//
// # Versions
//
// Version 1 segments hold set and delete records. A flush record (TypeFlush:
// every key written at a lower seq is gone) is only ever the first record of
// a version 2 segment, with the header's first seq: the Writer opens one for
// each batch that starts with a flush, and the Iterator reports a flush
// anywhere else, or a version 2 segment that starts otherwise, as damage
// (ErrMisplacedFlush). Every other segment stays version 1, so a directory
// that never flushed reads with a pykv that knows version 1 only.
//
// These constants are part of the on-disk format: they never change within a
// format version. A decoder checks length and keylen against the configured
// limits and against the bytes actually present before it allocates or
// slices anything.
//
// # Torn tail or damage
//
// A record that fails to decode is a torn tail when no valid record follows
// it in the file (zeros or garbage after the last whole record: what a power
// loss leaves); it is damage when a valid record follows. The Iterator
// reports the first as an error matching ErrTorn and the second as one
// matching ErrCorrupt, each naming the file and the offset.
//
// # Failed writes
//
// A failed write or fsync makes the Writer refuse every later append with
// the same error until it is reopened: an fsync is never retried, because
// after a failed fsync the kernel may already have dropped the dirty pages
// (PostgreSQL's "fsyncgate").
package segment
