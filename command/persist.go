package command

import (
	"errors"
	"strconv"

	"github.com/pykv/pykv/storage"
)

// pykv's save is a merge: it writes every live key into a new snapshot
// and drops the files it read, which is what Redis's SAVE and BGSAVE
// (an RDB file) and BGREWRITEAOF (a rewritten log) each do in part. The
// log is durable without it; a save only makes the files small and
// start-up fast. LASTSAVE is the unix time of the last completed merge
// (the housekeeper's included), or of the start before any.

var errSaveRunning = Err("Background save already in progress")

// TIME: the server's clock as unix seconds and the microseconds within
// them, two bulk strings as in Redis.
func (t *Table) timeCmd(_ *Session, _ [][]byte) Reply {
	us := t.store.Now().UnixMicro()
	sec, frac := us/1e6, us%1e6
	return Array([]Reply{
		Bytes(strconv.AppendInt(nil, sec, 10)),
		Bytes(strconv.AppendInt(nil, frac, 10)),
	})
}

// LASTSAVE
func (t *Table) lastsave(s *Session, _ [][]byte) Reply {
	return Int(t.lastSave(t.storeFor(s).Stats()))
}

// lastSave is LASTSAVE's answer from st: its last merge's time, or the
// table's start for a Store that does not say.
func (t *Table) lastSave(st storage.Stats) int64 {
	if st.LastMergeAt.IsZero() {
		return t.started.Unix()
	}
	return st.LastMergeAt.Unix()
}

// SAVE: merge now and reply once the merge is done.
func (t *Table) save(_ *Session, _ [][]byte) Reply {
	m, ok := t.store.(Merger)
	if !ok {
		return Err("SAVE is not supported by this storage engine")
	}
	if _, err := m.Merge(); err != nil {
		if errors.Is(err, storage.ErrMergeRunning) {
			return errSaveRunning
		}
		return storeError(err)
	}
	return OK
}

// BGSAVE [SCHEDULE]: start a merge. A merge already running is Redis's
// "save in progress" error with or without SCHEDULE: pykv's merge is
// Redis's RDB child and AOF rewrite at once, and Redis refuses a second
// RDB save even when asked to schedule one.
func (t *Table) bgsave(_ *Session, argv [][]byte) Reply {
	if len(argv) > 2 || len(argv) == 2 && !is(argv[1], "SCHEDULE") {
		return errSyntax
	}
	m, ok := t.store.(Merger)
	if !ok {
		return Err("BGSAVE is not supported by this storage engine")
	}
	if !m.StartMerge() {
		return errSaveRunning
	}
	return Status("Background saving started")
}
