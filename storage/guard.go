package storage

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
)

// A panic in background work (the housekeeper's merges, BGREWRITEAOF's
// merge, the active expiry cycle) must not take the process down: reads
// are still good, and a daemon that dies on a bug in its housekeeping loses
// every connection for nothing. Each background goroutine recovers, logs
// the panic with its stack, counts it, and then stops only what the panic
// may have left unsound:
//
//   - A merge that panicked stops merges until a restart and keeps every
//     file it was merging (its temporary files are removed). Reads and
//     writes go on: a merge only adds files and repoints keys whose seq is
//     unchanged, so whatever it did before the panic leaves every key
//     readable, and the next start-up's rule (the highest snapshot wins)
//     reads the directory correctly.
//   - An expiry cycle that panicked stops active expiry until a restart;
//     lazy expiry (a read that finds a key expired) goes on. Its only writes
//     are deletes of expired keys, which a replay recomputes, so the log
//     stays sound and writes go on.

// guard holds what the containment of background panics counts.
type guard struct {
	panics        atomic.Uint64 // background panics contained since Open
	expiryStopped atomic.Bool   // the active expiry cycle panicked and stopped
}

// testPoint calls the test hook of Options at a named point of background
// work, so that a test can make it panic there.
func (db *DB) testPoint(name string) {
	if h := db.opts.testHook; h != nil {
		h(name)
	}
}

// contained turns a panic value, recovered in background work named task,
// into an error, and logs and counts it. The caller passes recover()'s
// result; nil means there was no panic.
func (db *DB) contained(task string, r any) error {
	if r == nil {
		return nil
	}
	db.guard.panics.Add(1)
	err := fmt.Errorf("pykv/storage: %s panicked: %v", task, r)
	db.logger().Error("background work panicked; the process goes on", "task", task,
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return err
}
