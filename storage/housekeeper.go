package storage

import (
	"errors"
	"time"
)

// housekeeperCheck is how often the housekeeper looks at the thresholds
// when no segment was sealed meanwhile.
const housekeeperCheck = 5 * time.Second

// housekeeper merges in the background when the thresholds of Options are
// passed: enough sealed segments, or enough dead bytes. It looks after each
// rotation and every housekeeperCheck. A panic in a merge is contained by
// mergeSealed; one anywhere else in the loop is contained here and stops
// background merges until a restart (see guard.go).
func (db *DB) housekeeper() {
	defer db.bgDone.Done()
	t := time.NewTicker(housekeeperCheck)
	defer t.Stop()
	var lastEnd time.Time // of the last background merge
	for {
		select {
		case <-db.stop:
			return
		case <-db.rotated:
		case <-t.C:
		}
		if !db.housekeep(&lastEnd) {
			return
		}
	}
}

// housekeep runs one look of the housekeeper and reports whether the
// housekeeper goes on.
func (db *DB) housekeep(lastEnd *time.Time) (goOn bool) {
	defer func() {
		if err := db.contained("housekeeper", recover()); err != nil {
			db.logger().Error("background merges stopped until a restart", "err", err)
			goOn = false
		}
	}()
	db.testPoint("housekeeper")
	db.files.trim() // the backlog's age rule
	if time.Since(*lastEnd) < db.thresholds.Load().MinInterval || !db.merges.mu.TryLock() {
		return true
	}
	defer db.merges.mu.Unlock()
	if db.merges.stuck != nil {
		return true // logged when it happened; merges wait for a restart
	}
	if !db.mergeDue() {
		return true
	}
	if _, err := db.mergeSealed(false); err != nil && !errors.Is(err, ErrMergeNoSpace) {
		db.logger().Error("background merge failed", "err", err)
	}
	*lastEnd = time.Now()
	return true
}

// MergeByPolicy runs now the merge the housekeeper would run (see
// MergeThresholds), whatever MinInterval says, and returns what it did: a
// zero MergeStats when the policy finds nothing due. Unlike Merge it
// neither seals the active segment nor folds every file into one. It
// returns ErrMergeRunning when a merge is in progress.
func (db *DB) MergeByPolicy() (MergeStats, error) {
	if db.closed.Load() {
		return MergeStats{}, ErrClosed
	}
	if !db.merges.mu.TryLock() {
		return MergeStats{}, ErrMergeRunning
	}
	defer db.merges.mu.Unlock()
	if db.merges.stuck != nil {
		return MergeStats{}, db.merges.stuck
	}
	if !db.mergeDue() {
		return MergeStats{}, nil
	}
	return db.mergeSealed(false)
}

// mergeDue reports whether the policy finds a merge worth running (see
// mergeplan.go). The caller holds merges.mu.
func (db *DB) mergeDue() bool {
	plan, err := db.pickMerge(false)
	return err == nil && len(plan.segs)+len(plan.snaps) > 0
}

// MergeThresholds are the triggers of background merges, as in Options:
// SealedSegments (MergeSealedSegments), DeadBytes and DeadRatio
// (MergeDeadBytes, MergeDeadRatio), MinInterval (MergeMinInterval). A
// zero field takes the default, a negative one disables its trigger (or,
// for MinInterval, the pause).
type MergeThresholds struct {
	SealedSegments int
	DeadBytes      int64
	DeadRatio      float64
	MaxSpaceAmp    float64
	MinInterval    time.Duration
}

// SetMergeThresholds changes the background merge triggers while the DB
// is open; the housekeeper uses them from its next check (at the latest a
// housekeeperCheck later). A merge running now finishes as it began.
func (db *DB) SetMergeThresholds(t MergeThresholds) {
	o := Options{MergeSealedSegments: t.SealedSegments, MergeDeadBytes: t.DeadBytes,
		MergeDeadRatio: t.DeadRatio, MergeMaxSpaceAmp: t.MaxSpaceAmp, MergeMinInterval: t.MinInterval}.withDefaults()
	db.thresholds.Store(&MergeThresholds{SealedSegments: o.MergeSealedSegments, DeadBytes: o.MergeDeadBytes,
		DeadRatio: o.MergeDeadRatio, MaxSpaceAmp: o.MergeMaxSpaceAmp, MinInterval: o.MergeMinInterval})
}

// Thresholds returns the background merge triggers in force, defaults
// filled in.
func (db *DB) Thresholds() MergeThresholds { return *db.thresholds.Load() }
