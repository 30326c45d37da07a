package storage

import (
	"errors"
	"fmt"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/snapshot"
)

// ErrMergeNoSpace is wrapped by a merge's error when it declined to start
// because its output would not fit in the data directory's free space.
var ErrMergeNoSpace = errors.New("pykv/storage: not enough free space for a merge")

// A merge writes its whole output before it removes anything, so at its
// peak the disk holds the merged files, the new snapshot's records, its
// index and, until the index is written in hash order, a side file with
// the same entries (snapshot.Writer.OrderIndex). Those are estimated as:
//
//   - records: the live bytes, at most the bytes of the merged files (the
//     live count includes the active segment's, so it errs high);
//   - index: per key, indexEntryFixed bytes and the mean key length of a
//     sample of the keydir; twice, for the side file;
//
// plus mergeSpaceMarginPct percent and mergeSpaceMarginFixed bytes of
// slack for what the estimate cannot see (file-system metadata, keys that
// arrive while the merge runs).
const (
	indexEntryFixed       = 32 // keylen, offset, size, expire_at, seq
	mergeSpaceMarginPct   = 10
	mergeSpaceMarginFixed = 1 << 20
	keySample             = 256 // keys whose lengths estimate the mean
)

// mergeNeeds estimates the bytes a merge of files totalling merged bytes
// writes at its peak.
func (db *DB) mergeNeeds(merged int64) int64 {
	records := min(max(db.liveBytes.Load(), 0), merged)
	keys := db.keydir.Len()
	var sampled, keyBytes int64
	for cursor := uint64(0); sampled < keySample; {
		cursor = db.keydir.Scan(cursor, keySample, func(key []byte, _ index.Entry) {
			sampled++
			keyBytes += int64(len(key))
		})
		if cursor == 0 {
			break
		}
	}
	var meanKey int64
	if sampled > 0 {
		meanKey = (keyBytes + sampled - 1) / sampled
	}
	idx := keys * (indexEntryFixed + meanKey)
	need := snapshot.HeaderSize + records + 2*idx + snapshot.FooterSize
	return need + need*mergeSpaceMarginPct/100 + mergeSpaceMarginFixed
}

// checkMergeSpace declines a merge of files totalling merged bytes when its
// output would not fit in the free space of the data directory, with a log
// line naming the bytes needed and available and the directory. A free
// space that cannot be read is logged and the merge goes ahead: a merge
// that then runs out of space fails alone, and the log goes on.
func (db *DB) checkMergeSpace(merged int64) error {
	need := db.mergeNeeds(merged)
	avail, err := db.opts.FS.FreeSpace(db.dir)
	if err != nil {
		db.logger().Warn("cannot read the free space before a merge; merging anyway", "dir", db.dir, "err", err)
		return nil
	}
	if avail >= need {
		return nil
	}
	db.merges.statMu.Lock()
	db.merges.declined++
	db.merges.statMu.Unlock()
	db.logger().Warn("merge declined: its output would not fit in the free space", "dir", db.dir,
		"needed_bytes", need, "available_bytes", avail, "merged_bytes", merged)
	return fmt.Errorf("%w in %s: needs about %d bytes, %d available", ErrMergeNoSpace, db.dir, need, avail)
}
