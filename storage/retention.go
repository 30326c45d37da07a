package storage

import (
	"time"
)

// Backlog is how much of the log a leader keeps after a merge has folded
// it into a snapshot, so that a follower that was away (or behind) can
// continue with a partial sync: Redis's replication backlog, kept on disk.
type Backlog struct {
	// Bytes bounds the retired segments kept, newest first.
	Bytes int64
	// Age bounds how long after it was sealed a segment is kept.
	Age time.Duration
}

// The retention of retired segments. A merge retires the segments its
// snapshot covers; instead of being removed they become "kept", and each
// is removed once no rule keeps it:
//
//   - the backlog: the newest kept segments within Backlog.Bytes in all
//     and Backlog.Age of their sealing;
//   - a pin: a log reader (a follower's feed) still needs it. A capped pin
//     (a follower that is streaming) keeps only what the backlog would
//     keep anyway: once it needs more, the pin is evicted and the feed
//     fails with ErrNotRetained, so that the follower takes a full sync.
//     An uncapped pin (a full sync's, until the follower has caught up
//     once) keeps everything after it: the log written while a snapshot
//     is transferred is retained for that follower, so a cap too small
//     for the write rate cannot turn into an endless loop of full syncs.
//
// Kept segments live until a restart at most: recovery removes every
// segment a snapshot covers.

// pin keeps the segments from one id on on disk for a log reader.
type pin struct {
	t       *fileTable
	capped  bool
	evicted bool // guarded by t.mu
}

// pin keeps segment from and every later one on disk until the pin
// moves past them or is released. A capped pin keeps only what the
// backlog does (see above).
func (t *fileTable) pin(from uint32, capped bool) *pin {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &pin{t: t, capped: capped}
	t.pins[p] = from
	return p
}

// move says the reader no longer needs segments before from.
func (p *pin) move(from uint32) {
	t := p.t
	t.mu.Lock()
	if _, ok := t.pins[p]; ok {
		t.pins[p] = from
	}
	drop := t.trimLocked(time.Now())
	t.mu.Unlock()
	t.dropAll(drop)
}

// setCapped caps or uncaps the pin.
func (p *pin) setCapped(on bool) {
	t := p.t
	t.mu.Lock()
	p.capped = on
	drop := t.trimLocked(time.Now())
	t.mu.Unlock()
	t.dropAll(drop)
}

// isEvicted reports whether the retention rules dropped what the pin
// needed.
func (p *pin) isEvicted() bool {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	return p.evicted
}

// release ends the pin.
func (p *pin) release() {
	t := p.t
	t.mu.Lock()
	delete(t.pins, p)
	drop := t.trimLocked(time.Now())
	t.mu.Unlock()
	t.dropAll(drop)
}

// setBacklog sets the backlog's bounds.
func (t *fileTable) setBacklog(b Backlog) {
	t.mu.Lock()
	t.backlog = b
	t.mu.Unlock()
}

// trim applies the retention rules now (the age rule needs a clock).
func (t *fileTable) trim() {
	t.mu.Lock()
	drop := t.trimLocked(time.Now())
	t.mu.Unlock()
	t.dropAll(drop)
}

// trimLocked removes from kept what no rule keeps, evicting the capped
// pins that needed it, and returns the files to drop now (no reader
// holds them).
func (t *fileTable) trimLocked(now time.Time) []*dataFile {
	if len(t.kept) == 0 {
		return nil
	}
	ids := make([]uint32, 0, len(t.kept))
	for id := range t.kept {
		ids = append(ids, id)
	}
	// Newest first: the backlog keeps the end of the log.
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] > ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	var drop []*dataFile
	var bytes int64
	inBacklog := true
	for _, id := range ids {
		df := t.kept[id]
		bytes += df.size
		sealed := df.sealedAt
		if sealed.IsZero() {
			sealed = df.retiredAt
		}
		if bytes > t.backlog.Bytes || now.Sub(sealed) > t.backlog.Age {
			inBacklog = false // and every older one
		}
		if inBacklog || t.uncappedNeedLocked(id) {
			continue
		}
		for p, from := range t.pins {
			if p.capped && id >= from {
				p.evicted = true
				delete(t.pins, p)
			}
		}
		delete(t.kept, id)
		if df.refs == 0 {
			drop = append(drop, df)
		}
	}
	return drop
}

// uncappedNeedLocked reports whether an uncapped pin needs segment id.
func (t *fileTable) uncappedNeedLocked(id uint32) bool {
	for p, from := range t.pins {
		if !p.capped && id >= from {
			return true
		}
	}
	return false
}

func (t *fileTable) dropAll(dfs []*dataFile) {
	for _, df := range dfs {
		t.drop(df)
	}
}

// backlogUsage returns the kept segments' number and bytes.
func (t *fileTable) backlogUsage() (n int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, df := range t.kept {
		n++
		bytes += df.size
	}
	return n, bytes
}

// discardKept drops every kept segment and evicts every pin: a full sync
// replaced the history they hold.
func (t *fileTable) discardKept() {
	t.mu.Lock()
	var drop []*dataFile
	for id, df := range t.kept {
		delete(t.kept, id)
		if df.refs == 0 {
			drop = append(drop, df)
		}
	}
	for p := range t.pins {
		p.evicted = true
		delete(t.pins, p)
	}
	t.mu.Unlock()
	t.dropAll(drop)
}
