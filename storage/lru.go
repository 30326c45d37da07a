package storage

import (
	"time"

	"github.com/pykv/pykv/index"
)

// lruTick is how often the keydir's LRU clock is set from Options.Clock:
// Redis's serverCron refreshes server.lruclock at its hz, 10 by default,
// and a lookup then reads the clock rather than the time.
const lruTick = 100 * time.Millisecond

// tickLRU sets the keydir's LRU clock from the engine's clock.
func (db *DB) tickLRU() { db.keydir.SetClock(index.LRUClock(db.Now())) }

// lruLoop keeps the keydir's LRU clock at most lruTick behind the engine's
// clock until the DB closes.
func (db *DB) lruLoop() {
	defer db.bgDone.Done()
	t := time.NewTicker(lruTick)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			db.tickLRU()
		}
	}
}

// idleTime returns key's idle time in seconds, or ErrNotFound; an expired
// key is removed (lazy expiry) and missing. Neither lookup is a use.
func (db *DB) idleTime(key []byte) (int64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	if _, ok := db.lookup(key, false); !ok {
		return 0, ErrNotFound
	}
	s, ok := db.keydir.IdleTime(key)
	if !ok { // deleted between the two lookups
		return 0, ErrNotFound
	}
	return s, nil
}
