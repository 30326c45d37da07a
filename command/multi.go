package command

import (
	"bytes"

	"github.com/pykv/pykv/reply"
	"github.com/pykv/pykv/storage"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis 7.0's
// rules and replies.
//
// After MULTI every command but EXEC, DISCARD, MULTI, WATCH and QUIT is
// checked as Exec checks any command (an unknown name, the arity,
// authentication, a follower's refusal of writes, FlagNoMulti) and, when
// it passes, queued: the reply is +QUEUED. A refusal is the command's
// reply and marks the transaction, which EXEC then discards
// (EXECABORT). EXEC runs the queue as one storage Atomic: every command
// sees the writes of those before it, the writes are logged as one batch
// (all of them or, after a crash, none) and no other client sees part of
// them; a command that fails at run time (INCR of a word) has its error in
// EXEC's array and the others take effect. EXEC's reply, like every reply,
// waits until what it shows is durable: the Atomic goes through the
// session's storage.Deferred.
//
// WATCH takes each key's storage.Version; EXEC's Atomic compares them
// under the write lock and, when any key was written since (by any
// connection, an expiry included), runs nothing and answers a nil array.
// EXEC and DISCARD forget the watched keys, as UNWATCH does; so does the
// end of the connection (EndSession).

// Transactor is a Store that runs transactions: MULTI, EXEC and WATCH need
// it. *storage.DB and *storage.Deferred implement it; with a Store that
// does not, MULTI and WATCH reply with an error.
type Transactor interface {
	// Watch returns the versions of keys, registered until Unwatch.
	Watch(keys ...[]byte) ([]storage.Version, error)
	// Unwatch releases versions Watch returned.
	Unwatch(vs []storage.Version)
	// Atomic runs fn as one transaction unless a key of watched changed
	// since Watch, and reports whether it ran.
	Atomic(watched []storage.Version, fn func(tx *storage.Tx)) (bool, error)
}

// maxQueuedBytes bounds the arguments one transaction may queue, so that a
// client cannot grow a connection's memory without end; a command past it
// is refused, and the transaction with it.
const maxQueuedBytes = 256 << 20

// Errors of the transaction commands, Redis 7.0's texts.
var (
	errExecAbort       = Errorf("EXECABORT", "Transaction discarded because of previous errors.")
	errNestedMulti     = Err("MULTI calls can not be nested")
	errExecNoMulti     = Err("EXEC without MULTI")
	errDiscardNoMulti  = Err("DISCARD without MULTI")
	errWatchInMulti    = Err("WATCH inside MULTI is not allowed")
	errNotInMulti      = Err("Command not allowed inside a transaction")
	errQueuedTooLarge  = Err("transaction too large: its queued commands exceed 256 MiB")
	errNoTransactions  = Err("transactions are not supported by this storage engine")
	queued             = Status("QUEUED")
	transactionHandles = map[string]bool{"exec": true, "discard": true, "multi": true, "watch": true, "quit": true}
)

// txState is a session's transaction: MULTI's queue and WATCH's keys.
type txState struct {
	multi   bool // between MULTI and EXEC or DISCARD
	dirty   bool // a command was refused while queuing: EXEC aborts
	writes  bool // a queued command may write
	queue   []queuedCmd
	bytes   int // of the queued arguments
	args    int // the queued arguments
	watched []storage.Version
	keys    map[string]bool // the watched keys, each once
	running *storage.Tx     // while EXEC runs the queue
}

// queuedCmd is one command of the queue, with its own copy of argv.
type queuedCmd struct {
	run  handler
	sp   *Spec
	argv [][]byte
}

// runsInMulti reports whether sp runs at once between MULTI and EXEC
// instead of being queued.
func runsInMulti(sp *Spec) bool { return transactionHandles[sp.Name] }

// refuse returns r, the refusal of a command before it ran, and marks the
// session's transaction, if one is open, for EXEC to discard.
func (s *Session) refuse(r Reply) Reply {
	if s.tx.multi {
		s.tx.dirty = true
	}
	return r
}

// refuse is Session.refuse for a known command: a refusal of EXEC itself
// (its arity, authentication) discards the transaction and says why, as
// Redis does, whether or not one is open.
func (t *Table) refuse(s *Session, sp *Spec, r Reply) Reply {
	if sp.ID() == execID {
		return t.execAbort(s, r)
	}
	return s.refuse(r)
}

// execAbort ends s's transaction and answers EXECABORT with why: r's text,
// with its code unless that is the generic ERR.
func (t *Table) execAbort(s *Session, r Reply) Reply {
	t.endTx(s)
	why := r.Msg
	if r.Code != "ERR" {
		why = r.Code + " " + r.Msg
	}
	return Errorf("EXECABORT", "Transaction discarded because of: "+why)
}

// execID is EXEC's spec.Command ID.
var execID = func() int {
	sp, _ := Lookup([]byte("exec"))
	return sp.ID()
}()

// enqueue queues argv, copied, for EXEC.
func (t *Table) enqueue(s *Session, sp *Spec, argv [][]byte) Reply {
	if sp.Flags&FlagNoMulti != 0 {
		return s.refuse(errNotInMulti)
	}
	n := 0
	for _, a := range argv {
		n += len(a)
	}
	if s.tx.bytes+n > maxQueuedBytes {
		return s.refuse(errQueuedTooLarge)
	}
	buf := make([]byte, 0, n)
	own := make([][]byte, len(argv))
	for i, a := range argv {
		buf = append(buf, a...)
		own[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	s.tx.queue = append(s.tx.queue, queuedCmd{run: byID[sp.ID()], sp: sp, argv: own})
	s.tx.bytes += n
	s.tx.args += len(argv)
	if sp.Flags&FlagWrite != 0 {
		s.tx.writes = true
	}
	return queued
}

// transactor returns the Transactor of s's commands: its own store (the
// connection's Deferred), else the Table's.
func (t *Table) transactor(s *Session) (Transactor, bool) {
	var st Store = t.store
	if s.Store != nil {
		st = s.Store
	}
	tr, ok := st.(Transactor)
	return tr, ok
}

// MULTI
func (t *Table) multi(s *Session, _ [][]byte) Reply {
	if s.tx.multi {
		return errNestedMulti
	}
	if _, ok := t.transactor(s); !ok {
		return errNoTransactions
	}
	s.tx.multi = true
	return OK
}

// DISCARD
func (t *Table) discard(s *Session, _ [][]byte) Reply {
	if !s.tx.multi {
		return errDiscardNoMulti
	}
	t.endTx(s)
	return OK
}

// EXEC
func (t *Table) exec(s *Session, _ [][]byte) Reply {
	if !s.tx.multi {
		return errExecNoMulti
	}
	// Whatever EXEC answers, the transaction and its watches end; the
	// watches once Atomic has compared them.
	tx := s.tx
	s.tx = txState{}
	defer t.unwatchAll(s, tx.watched)
	if tx.dirty {
		return errExecAbort
	}
	if tx.writes {
		// The server became a follower after the writes were queued.
		if r, refused := t.readOnly(s); refused {
			return t.execAbort(s, r)
		}
	}
	tr, ok := t.transactor(s)
	if !ok {
		return errNoTransactions
	}
	replies := make([]Reply, 0, len(tx.queue))
	ran, err := tr.Atomic(tx.watched, func(stx *storage.Tx) {
		s.tx.running = stx
		defer func() { s.tx.running = nil }()
		for _, c := range tx.queue {
			start := t.startTiming(s, c.sp)
			r := c.run(t, s, c.argv)
			replies = append(replies, r)
			t.account(s, c.sp, r, start)
			if ms := t.monitors.list.Load(); ms != nil {
				t.feedMonitors(*ms, s, c.sp, c.argv)
			}
		}
	})
	switch {
	case err != nil:
		return storeError(err)
	case !ran:
		return reply.NilArray
	}
	return Array(replies)
}

// endTx ends s's transaction, if any, and forgets its watched keys.
func (t *Table) endTx(s *Session) {
	watched := s.tx.watched
	s.tx = txState{}
	s.publishTx()
	t.unwatchAll(s, watched)
}

// unwatchAll releases s's watched versions.
func (t *Table) unwatchAll(s *Session, watched []storage.Version) {
	if len(watched) == 0 {
		return
	}
	if tr, ok := t.transactor(s); ok {
		tr.Unwatch(watched)
	}
}

// WATCH key [key ...]
func (t *Table) watch(s *Session, argv [][]byte) Reply {
	if s.tx.multi {
		return errWatchInMulti
	}
	tr, ok := t.transactor(s)
	if !ok {
		return errNoTransactions
	}
	var fresh [][]byte
	for _, k := range argv[1:] {
		if s.tx.keys[string(k)] || containsKey(fresh, k) {
			continue // watched already: the first version stays
		}
		fresh = append(fresh, k)
	}
	if len(fresh) == 0 {
		return OK
	}
	vs, err := tr.Watch(fresh...)
	if err != nil {
		return storeError(err)
	}
	if s.tx.keys == nil {
		s.tx.keys = make(map[string]bool, len(vs))
	}
	for _, v := range vs {
		s.tx.keys[string(v.Key())] = true
	}
	s.tx.watched = append(s.tx.watched, vs...)
	return OK
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// UNWATCH. Queued in a transaction, it runs inside EXEC, which forgets
// the watched keys once it is done anyway.
func (t *Table) unwatch(s *Session, _ [][]byte) Reply {
	if s.tx.running == nil {
		t.endTx(s)
	}
	return OK
}

// EndSession releases what s holds in the Store: the keys it watches. A
// front end calls it once a connection is gone; s must not be used after.
func (t *Table) EndSession(s *Session) {
	t.endTx(s)
	t.disconnect(s)
}
