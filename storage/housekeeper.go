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
	if time.Since(*lastEnd) < db.opts.MergeMinInterval || !db.mergeDue() || !db.merges.mu.TryLock() {
		return true
	}
	defer db.merges.mu.Unlock()
	if db.merges.stuck != nil {
		return true // logged when it happened; merges wait for a restart
	}
	if _, err := db.mergeSealed(); err != nil && !errors.Is(err, ErrMergeNoSpace) {
		db.logger().Error("background merge failed", "err", err)
	}
	*lastEnd = time.Now()
	return true
}

// mergeDue reports whether a threshold is passed.
func (db *DB) mergeDue() bool {
	active, _ := db.log.Active()
	segs, _ := db.files.mergeable(active)
	if len(segs) == 0 {
		return false
	}
	if db.opts.MergeSealedSegments > 0 && len(segs) >= db.opts.MergeSealedSegments {
		return true
	}
	_, _, total := db.diskUsage()
	dead := total - db.liveBytes.Load()
	return db.opts.MergeDeadBytes > 0 && dead >= db.opts.MergeDeadBytes &&
		float64(dead) >= db.opts.MergeDeadRatio*float64(total)
}
