package storage

// abandon stops db's background work without flushing or closing anything,
// as a power loss would stop the process: a test calls it before
// vfs.Mem.Crash so that the old engine cannot touch the recovered state.
func (db *DB) abandon() {
	db.bgMu.Lock()
	already := db.closed.Swap(true)
	db.bgMu.Unlock()
	if already {
		return
	}
	close(db.stop)
	db.bgDone.Wait()
}
