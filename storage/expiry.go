package storage

import (
	"bytes"
	"errors"
	"time"

	"github.com/pykv/pykv/index"
	"github.com/pykv/pykv/segment"
)

// Active expiry follows Redis's cycle: sample keys with a TTL, delete the
// expired ones, and go on while more than a quarter of a sample had expired
// and the cycle's time budget lasts.
const (
	expirySample       = 20
	expiryRepeatPct    = 25
	expiryCycleBudget  = 25 * time.Millisecond
	expiryMaxLoopsTick = 64
)

// expireKey deletes key if it is still the version seq and has expired at
// now, logging a delete record. now is the instant the caller decided on,
// not a fresh reading: with a clock that steps back, a second reading
// could undo the caller's decision (a merge that did not copy an expired
// key must see it deleted). The delete is not waited for: it acknowledges
// no one, and a replay without it still finds the key expired.
func (db *DB) expireKey(key []byte, seq uint64, now int64) {
	if db.replica.Load() {
		return // the leader's delete will come
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	e, ok := db.keydir.Get(key)
	if !ok || e.Seq != seq || !expired(e, now) {
		return
	}
	if err := db.appendLocked([]segment.Record{{Type: segment.TypeDel, Key: key}}); err != nil {
		return // the log has failed; every write reports it
	}
	db.testPoint("expiry: delete appended") // wmu held: a panic here must release it
	db.expired.Add(1)
}

// expireLoop runs the active expiry cycle every ExpiryInterval. A panic in
// a cycle is contained: it is logged and counted, and active expiry stops
// until a restart while lazy expiry goes on (see guard.go).
func (db *DB) expireLoop() {
	defer db.bgDone.Done()
	defer func() {
		if err := db.contained("active expiry", recover()); err != nil {
			db.guard.expiryStopped.Store(true)
			db.logger().Error("active expiry stopped until a restart; expired keys are still removed when read", "err", err)
		}
	}()
	// The period it was opened with, positive, not expiryEvery's, which a
	// SetExpiryInterval(0) before this goroutine runs may have made 0.
	every := db.opts.ExpiryInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-db.expiryChanged:
			if now := time.Duration(db.expiryEvery.Load()); now > 0 && now != every {
				every = now
				t.Reset(every)
			}
		case <-t.C:
			if db.expiryEvery.Load() > 0 { // 0: turned off by SetExpiryInterval
				db.ExpireCycle()
			}
		}
	}
}

// SetExpiryInterval changes the period of the active expiry cycle while
// the DB is open, at once (the next cycle is d from now); 0 or less turns active expiry
// off (lazy expiry still applies). A DB opened without active expiry
// (Options.ExpiryInterval negative) has no cycle to turn on: a positive d
// is then an error and changes nothing.
func (db *DB) SetExpiryInterval(d time.Duration) error {
	if d > 0 && db.opts.ExpiryInterval <= 0 {
		return errors.New("pykv/storage: active expiry is off since the DB was opened: turning it on takes a restart")
	}
	db.expiryEvery.Store(int64(max(d, 0)))
	select {
	case db.expiryChanged <- struct{}{}:
	default: // a change not yet seen is pending: the loop reads the newest
	}
	return nil
}

// SetCacheBytes changes the value cache's budget while the DB is open:
// a smaller one evicts the least recently used values at once. A DB
// opened without a cache (Options.CacheBytes negative) cannot be given
// one: that is an error and changes nothing. n of 0 or less empties the
// cache and caches nothing more until raised.
func (db *DB) SetCacheBytes(n int64) error {
	if !db.cache.SetBudget(n) {
		return errors.New("pykv/storage: the value cache is off since the DB was opened: turning it on takes a restart")
	}
	return nil
}

// ExpireCycle runs one active expiry cycle and returns how many keys it
// removed. The background loop calls it every ExpiryInterval; tests call
// it directly.
func (db *DB) ExpireCycle() int {
	if db.replica.Load() {
		return 0 // the leader expires keys and sends the deletes
	}
	start := time.Now()
	removed := 0
	type victim struct {
		key []byte
		seq uint64
	}
	var victims []victim
	for loop := 0; loop < expiryMaxLoopsTick && !db.closed.Load(); loop++ {
		now := db.nowMs()
		sampled := 0
		var ttlSum, ttlSamples int64
		victims = victims[:0]
		db.keydir.SampleExpiring(expirySample, func(key []byte, e index.Entry) {
			sampled++
			if expired(e, now) {
				victims = append(victims, victim{bytes.Clone(key), e.Seq})
			} else {
				ttlSum += e.ExpireAt - now
				ttlSamples++
			}
		})
		db.sampleTTL(sampled, ttlSum, ttlSamples)
		for _, v := range victims {
			db.expireKey(v.key, v.seq, now)
		}
		removed += len(victims)
		if sampled == 0 || len(victims)*100 <= sampled*expiryRepeatPct || time.Since(start) > expiryCycleBudget {
			break
		}
	}
	if removed > 0 {
		// No client waits for these deletes: make them durable here, so
		// that an idle server does not keep them, and what they replaced
		// (the undo log), in memory until the next client write. An error
		// is the log's, and every write reports it.
		_ = db.awaitDurable(db.applied.Load())
	}
	return removed
}

// sampleTTL folds one sample of an expiry cycle into Stats.AvgTTLMs as
// Redis's activeExpireCycle folds its avg_ttl: the first sample's mean
// is taken whole, later ones weigh 1/50 against the average so far; a
// sample of no key with an expiry resets it to 0.
func (db *DB) sampleTTL(sampled int, sum, n int64) {
	if sampled == 0 {
		db.avgTTL.Store(0)
		return
	}
	if n == 0 {
		return // every sampled key had expired
	}
	mean := sum / n
	if old := db.avgTTL.Load(); old != 0 {
		mean = old/50*49 + mean/50
	}
	db.avgTTL.Store(mean)
}
