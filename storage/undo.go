package storage

import (
	"math"

	"github.com/pykv/pykv/index"
)

// undoLog remembers, for every record applied to the keydir and not yet
// durable, the entry it replaced. When the log fails, the writes it could
// not make durable are taken back from the keydir with it, so that no read
// shows them, before or after a restart (docs/format.md, "Failed writes").
//
// It holds one group commit's window of records: the prefix that became
// durable is dropped at the next append. Keys are copied into one buffer
// that is reused, so recording costs no allocation once warm. It is guarded
// by the DB's wmu.
type undoLog struct {
	recs []undoRec
	keys []byte
	head int // recs[:head] are durable and dropped
}

type undoRec struct {
	seq     uint64
	keyOff  int
	keyLen  int
	old     index.Entry
	existed bool // the key had an entry before seq
}

// compactAt is how many dropped records the log carries before it moves
// the live ones to the front; keepRecs is the most records' room it keeps
// once empty.
const (
	compactAt = 4096
	keepRecs  = 1 << 16
)

func (u *undoLog) add(seq uint64, key []byte, old index.Entry, existed bool) {
	u.recs = append(u.recs, undoRec{seq: seq, keyOff: len(u.keys), keyLen: len(key), old: old, existed: existed})
	u.keys = append(u.keys, key...)
}

func (u *undoLog) key(r *undoRec) []byte { return u.keys[r.keyOff : r.keyOff+r.keyLen] }

// trim drops the records up to durable.
func (u *undoLog) trim(durable uint64) {
	for u.head < len(u.recs) && u.recs[u.head].seq <= durable {
		u.head++
	}
	switch {
	case u.head == len(u.recs) && cap(u.recs) > keepRecs:
		// One large batch (an MSET of many keys) must not pin its undo
		// records for the life of the process.
		u.recs, u.keys, u.head = nil, nil, 0
	case u.head == len(u.recs):
		u.recs, u.keys, u.head = u.recs[:0], u.keys[:0], 0
	case u.head >= compactAt && u.head*2 >= len(u.recs):
		base := u.recs[u.head].keyOff
		n := copy(u.keys, u.keys[base:])
		u.keys = u.keys[:n]
		m := copy(u.recs, u.recs[u.head:])
		u.recs = u.recs[:m]
		for i := range u.recs {
			u.recs[i].keyOff -= base
		}
		u.head = 0
	}
}

// rollback takes back every write after durable, newest first, once the
// log has failed: those writes were never acknowledged and will not be
// found at the next start, so no read may show them now. An operation that
// ran across the rollback fails (it sees rollbacks move); a read that
// overlaps the change looks again under wmu. It returns how many records
// it took back.
func (db *DB) rollback() int {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.rolledBack || db.log.Err() == nil {
		return 0
	}
	db.rolledBack = true
	durable := db.log.DurableSeq() // final: a failed log makes nothing durable again
	// changing goes odd first: a reader that begins after rollbacks moved
	// then finds it odd and waits for the rollback under wmu, instead of
	// reading the keydir before it is restored.
	db.changing.Add(1)
	defer db.changing.Add(1)
	db.rollbacks.Add(1)
	db.testPoint("rollback: counted")
	u := &db.undo
	n := 0
	for i := len(u.recs) - 1; i >= u.head; i-- {
		r := &u.recs[i]
		if r.seq <= durable {
			break
		}
		key := u.key(r)
		if r.existed {
			db.track(db.keydir.Put(key, r.old))
			db.gain(r.old.FileID, r.old.Size)
		} else {
			db.track(db.keydir.Delete(key))
		}
		db.cache.Remove(key)
		n++
	}
	u.trim(math.MaxUint64)
	db.applied.Store(durable)
	db.logger().Error("log failed: took back the writes it could not make durable; reads go on, writes are refused until restart",
		"writes_taken_back", n, "durable_seq", durable, "err", db.log.Err())
	return n
}
