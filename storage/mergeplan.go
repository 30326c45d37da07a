package storage

import (
	"cmp"
	"fmt"
	"slices"
)

// Which files a merge takes. The data is a set of snapshot files (each
// with its own index) and the log's segments. A merge rewrites the live
// records of the files it takes into one new snapshot file and leaves the
// others alone, so that its cost follows what changed, not the size of
// the dataset (Bitcask's merge of the files with the most dead bytes):
//
//   - The sealed segments are taken all together or not at all, so the
//     log that stays is always one run of segments (what a follower's
//     partial sync reads): once MergeThresholds.SealedSegments are sealed,
//     or when their dead bytes pass both DeadBytes and DeadRatio.
//   - A snapshot file is taken when at least DeadRatio of its records are
//     dead (overwritten, deleted, expired). A file whose records are all
//     dead and that holds no tombstone is dropped without being read. A
//     file of tombstones alone, which has no dead share, goes with any
//     merge that runs.
//   - When the record bytes of all files pass MaxSpaceAmp times the live
//     bytes, the files with the largest share of dead bytes are taken too,
//     until the rest would be within it.
//   - Snapshot files alone are merged only when their dead bytes reach
//     DeadBytes: a merge that reclaims less is not worth its writes.
//   - After a flush every snapshot file and older segment is dead: all
//     are taken, and retired unread.
//
// A full merge (Merge, a View, a backup, a follower's full sync) takes
// every file and writes the whole dataset into one snapshot file.
//
// Tombstones: a delete whose key an older file that stays may still hold
// is written into the new file as a tombstone (keepTombstone); a full
// merge, or one that takes every older file, drops them.

// mergePlan names the inputs of one merge and the snapshot it writes.
type mergePlan struct {
	snaps    []*dataFile // snapshot files taken, oldest first
	segs     []uint32    // sealed segments taken, oldest first: all of them or none
	others   []*dataFile // snapshot files left alone, which an older version of a deleted key may lie in
	full     bool        // every file: the new snapshot is the whole dataset, with no tombstones
	flushed  bool        // a flush in the log makes every snapshot file dead
	total    int64       // bytes of the files taken, for MergeProgress and the free-space check
	id       uint32      // the new snapshot's id
	covered  uint64      // the highest seq the new snapshot covers
	firstSeg uint32      // the manifest's first segment once installed
}

// pickMerge plans a merge, but for the new snapshot's id
// (newSnapshotID): of every file when full, else of the files the policy
// above picks; a plan that takes nothing means there is nothing worth
// merging. The caller holds merges.mu.
func (db *DB) pickMerge(full bool) (mergePlan, error) {
	active, _ := db.log.Active()
	segs := db.files.sealedSegments(active)
	snaps := db.files.snapshots()
	t := db.thresholds.Load()
	p := mergePlan{full: full, firstSeg: db.fileSet.firstSeg}
	f := db.flushedBelow.Load()
	p.flushed = f != 0 && f >= db.fileSet.firstSeg
	takeSegs := full || (len(segs) > 0 && (p.flushed || segsDue(segs, t)))
	take := make([]bool, len(snaps))
	var dead int64
	switch {
	case full || p.flushed:
		for i := range take {
			take[i] = true
		}
	default:
		var recs, live int64
		for i, df := range snaps {
			r, d := df.records.Load(), df.dead()
			recs, live = recs+r, live+(r-d)
			if d > 0 && (r == d && df.tombs == 0 || float64(d) >= t.DeadRatio*float64(r)) {
				take[i] = true
				dead += d
			}
		}
		if t.MaxSpaceAmp > 0 && live > 0 {
			// The deadest files first, until the rest is within the cap.
			order := make([]int, len(snaps))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return cmp.Compare(snaps[b].deadShare(), snaps[a].deadShare()) })
			left := recs
			for i := range take {
				if take[i] {
					left -= snaps[i].dead()
				}
			}
			for _, i := range order {
				if float64(left) <= t.MaxSpaceAmp*float64(live) {
					break
				}
				if d := snaps[i].dead(); !take[i] && d > 0 {
					take[i], dead, left = true, dead+d, left-d
				}
			}
		}
		if !takeSegs && (t.DeadBytes < 0 || dead < t.DeadBytes) {
			// Not worth a merge alone; files that cost nothing to drop
			// go with the next one that runs.
			clear(take)
		} else {
			// A file of tombstones alone (a merge of a log that only
			// deleted) has no record bytes, so no dead share: it goes
			// with any merge that runs, or such files would pile up.
			for i, df := range snaps {
				if df.records.Load() == 0 && df.tombs > 0 {
					take[i] = true
				}
			}
		}
	}
	for i, df := range snaps {
		if take[i] {
			p.snaps = append(p.snaps, df)
			p.total += df.size
			p.covered = max(p.covered, df.maxSeq)
		} else {
			p.others = append(p.others, df)
		}
	}
	if takeSegs {
		for _, df := range segs {
			p.segs = append(p.segs, df.id)
			p.total += df.size
		}
	}
	if len(p.segs) == 0 && len(p.snaps) == 0 {
		return p, nil
	}
	if len(p.segs) > 0 {
		// Every segment between the newest merged and the active one was
		// merged or removed as empty, so the active segment's first seq
		// bounds what the snapshot covers, deletes included.
		first, err := db.firstSeqOf(active)
		if err != nil {
			return p, err
		}
		p.covered = max(p.covered, first-1)
		p.firstSeg = active
	}
	return p, nil
}

// newSnapshotID takes the next snapshot id for a merge. It is used even
// if the merge fails, so that no id is ever written twice. The caller
// holds merges.mu.
func (db *DB) newSnapshotID() (uint32, error) {
	id := db.fileSet.nextID
	if id > maxFileID {
		return 0, fmt.Errorf("pykv/storage: snapshot ids are used up (the next would be %d, above %d)", id, maxFileID)
	}
	db.fileSet.nextID++
	return id, nil
}

// segsDue reports whether the sealed segments segs should be merged.
func segsDue(segs []*dataFile, t *MergeThresholds) bool {
	if t.SealedSegments > 0 && len(segs) >= t.SealedSegments {
		return true
	}
	var recs, dead int64
	for _, df := range segs {
		recs += df.records.Load()
		dead += df.dead()
	}
	return t.DeadBytes >= 0 && dead >= t.DeadBytes && float64(dead) >= t.DeadRatio*float64(recs)
}

// deadShare returns the share of the file's record bytes that are dead.
func (df *dataFile) deadShare() float64 {
	r := df.records.Load()
	if r <= 0 {
		return 0
	}
	return float64(df.dead()) / float64(r)
}

// after returns the set once plan's merge is installed: the files it took
// replaced by run's snapshot, if it wrote one.
func (m *manifest) after(plan mergePlan, run *mergeRun) *manifest {
	taken := make(map[uint32]bool, len(plan.snaps))
	for _, df := range plan.snaps {
		taken[df.id&^snapFlag] = true
	}
	next := &manifest{firstSeg: plan.firstSeg, nextID: m.nextID, covered: max(m.covered, plan.covered)}
	for _, f := range m.files {
		if !taken[f.id] {
			next.files = append(next.files, f)
		}
	}
	if run.w != nil {
		next.files = append(next.files, setFile{id: plan.id, min: min(run.w.MinSeq(), plan.covered), max: plan.covered})
	}
	slices.SortFunc(next.files, func(a, b setFile) int { return cmp.Compare(a.max, b.max) })
	return next
}
