package main

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"time"

	"github.com/pykv/pykv/command"
)

// The ledger of the crash loop (torture_test.go): each writer owns a set of
// keys, so that it alone decides their state, and records every write the
// daemon acknowledged. A writer has at most one write in flight, so after
// a kill each of its keys holds either the state the ledger says or, for
// the keys of the write that was in flight, the state that write makes;
// a multi-key write (MSET, DEL of several keys) is all of one or all of
// the other.

// keyState is what the ledger knows of one key.
type keyState struct {
	exists bool
	val    string
	// expLo and expHi bound the key's absolute expiry, unix ms: the server
	// fixed it between the send and the acknowledgement. Both 0: none.
	expLo, expHi int64
}

func (s keyState) String() string {
	switch {
	case !s.exists:
		return "missing"
	case s.expLo == 0:
		return fmt.Sprintf("%.40q, no expiry", s.val)
	default:
		return fmt.Sprintf("%.40q, expiry in [%d, %d]", s.val, s.expLo, s.expHi)
	}
}

// change is what a write does to one key.
type change struct {
	key           string
	before, after keyState
}

// ledgerOp is one write: its command, the reply it must get, and what it
// does to the ledger, all or nothing.
type ledgerOp struct {
	argv    []string
	want    command.Reply
	changes []change
	// ttl is the relative expiry the write sets, ms (0: none): the upper
	// bound of the expiry is fixed by the acknowledgement, or by the kill
	// for a write that got none.
	ttl int64
}

// TTLs of the crash loop are long, so that nothing expires while the loop
// runs (at most an hour for `make torture`): two to twenty-four hours.
const (
	minTTL = 2 * time.Hour
	maxTTL = 24 * time.Hour
)

// Key universe of each writer: value keys (SET, MSET, DEL, EXPIRE) and
// counters (INCRBY, DEL, EXPIRE). Small enough that every key is read
// back after every kill; large enough that merges have live and dead
// records to sort out.
const (
	valueKeys   = 200
	counterKeys = 20
	maxValueLen = 300 // with a small --segment-size, segments rotate every few dozen writes
)

// ledgerWriter is one writer's keys, its ledger and its write in flight.
type ledgerWriter struct {
	id      int
	rng     *rand.Rand
	values  []string
	ctrs    []string
	state   map[string]keyState
	pending *ledgerOp // sent, not acknowledged
	n       int       // writes made, for unique values
}

func newLedgerWriter(id int, seed int64) *ledgerWriter {
	w := &ledgerWriter{id: id, rng: rand.New(rand.NewSource(seed)), state: map[string]keyState{}}
	for i := range valueKeys {
		w.values = append(w.values, fmt.Sprintf("w%d:v%d", id, i))
	}
	for i := range counterKeys {
		w.ctrs = append(w.ctrs, fmt.Sprintf("w%d:c%d", id, i))
	}
	return w
}

// keys returns every key the writer may write.
func (w *ledgerWriter) keys() []string {
	return append(append([]string(nil), w.values...), w.ctrs...)
}

// value returns a new value, unique over the run, of a random length.
func (w *ledgerWriter) value() string {
	w.n++
	head := fmt.Sprintf("w%d.%d.", w.id, w.n)
	return head + strings.Repeat(string(rune('a'+w.n%26)), w.rng.Intn(maxValueLen))
}

// next makes the writer's next write from its ledger. nowMs is the time
// before it is sent, the lower bound of any expiry it sets.
func (w *ledgerWriter) next(nowMs int64) *ledgerOp {
	pick := func(keys []string) string { return keys[w.rng.Intn(len(keys))] }
	switch p := w.rng.Intn(100); {
	case p < 30: // SET
		k, v := pick(w.values), w.value()
		return w.op([]string{"SET", k, v}, command.OK, 0, change{key: k, after: keyState{exists: true, val: v}})
	case p < 40: // SET ... PX, a long TTL
		k, v := pick(w.values), w.value()
		ttl := w.ttl()
		return w.op([]string{"SET", k, v, "PX", strconv.FormatInt(ttl, 10)}, command.OK, ttl,
			change{key: k, after: keyState{exists: true, val: v, expLo: nowMs + ttl, expHi: math.MaxInt64}})
	case p < 55: // INCRBY, which keeps the TTL
		k := pick(w.ctrs)
		delta := int64(w.rng.Intn(1000) - 300)
		old := w.state[k]
		n, _ := strconv.ParseInt(old.val, 10, 64) // a missing counter is 0
		after := old
		after.exists, after.val = true, strconv.FormatInt(n+delta, 10)
		return w.op([]string{"INCRBY", k, strconv.FormatInt(delta, 10)}, command.Int(n+delta), 0,
			change{key: k, after: after})
	case p < 67: // MSET of 2 to 4 distinct keys
		argv := []string{"MSET"}
		var chs []change
		for _, i := range w.rng.Perm(len(w.values))[:2+w.rng.Intn(3)] {
			k, v := w.values[i], w.value()
			argv = append(argv, k, v)
			chs = append(chs, change{key: k, after: keyState{exists: true, val: v}})
		}
		return w.op(argv, command.OK, 0, chs...)
	case p < 77: // DEL of 1 or 2 keys, values or counters
		all := w.keys()
		argv := []string{"DEL"}
		var chs []change
		existed := int64(0)
		for _, i := range w.rng.Perm(len(all))[:1+w.rng.Intn(2)] {
			argv = append(argv, all[i])
			chs = append(chs, change{key: all[i]})
			if w.state[all[i]].exists {
				existed++
			}
		}
		return w.op(argv, command.Int(existed), 0, chs...)
	default: // EXPIRE or PEXPIRE of any key, a long TTL
		k := pick(w.keys())
		if w.rng.Intn(2) == 0 {
			k = pick(w.ctrs) // counters are fewer: give them their share
		}
		ttl := w.ttl()
		argv := []string{"PEXPIRE", k, strconv.FormatInt(ttl, 10)}
		if w.rng.Intn(2) == 0 {
			ttl = ttl / 1000 * 1000
			argv = []string{"EXPIRE", k, strconv.FormatInt(ttl/1000, 10)}
		}
		old := w.state[k]
		if !old.exists {
			return w.op(argv, command.Int(0), 0) // changes nothing
		}
		after := old
		after.expLo, after.expHi = nowMs+ttl, math.MaxInt64
		return w.op(argv, command.Int(1), ttl, change{key: k, after: after})
	}
}

func (w *ledgerWriter) ttl() int64 {
	return int64(minTTL/time.Millisecond) + w.rng.Int63n(int64((maxTTL-minTTL)/time.Millisecond))
}

// op fills in each change's state before the write.
func (w *ledgerWriter) op(argv []string, want command.Reply, ttl int64, chs ...change) *ledgerOp {
	for i := range chs {
		chs[i].before = w.state[chs[i].key]
	}
	return &ledgerOp{argv: argv, want: want, changes: chs, ttl: ttl}
}

// acked records an acknowledged write; ackMs is the time the reply came,
// the upper bound of any expiry it set.
func (w *ledgerWriter) acked(op *ledgerOp, ackMs int64) {
	for _, ch := range op.changes {
		w.state[ch.key] = fixExpiry(ch.after, op.ttl, ackMs)
	}
	w.pending = nil
}

func fixExpiry(s keyState, ttl, atMs int64) keyState {
	if ttl != 0 && s.exists {
		s.expHi = atMs + ttl
	}
	return s
}

// sameReply reports whether got is the reply want stands for: OK (a RESP
// client reads it as the status "OK") or an integer.
func sameReply(got, want command.Reply) bool {
	switch want.Kind {
	case command.KindOK:
		return got.Kind == command.KindOK || (got.Kind == command.KindStatus && string(got.Bytes) == "OK")
	case command.KindInt:
		return got.Kind == command.KindInt && got.Int == want.Int
	}
	return false
}

// observed is a key as read back after a restart.
type observed struct {
	exists bool
	val    string
	// pttl is PTTL's reply (-1: no expiry); lo and hi bound the absolute
	// expiry it stands for, from the times before and after the reads.
	pttl   int64
	lo, hi int64
}

func (o observed) String() string {
	switch {
	case !o.exists:
		return "missing"
	case o.pttl == -1:
		return fmt.Sprintf("%.40q, no expiry", o.val)
	default:
		return fmt.Sprintf("%.40q, expiry in [%d, %d]", o.val, o.lo, o.hi)
	}
}

// expirySlack allows for the rounding of unix ms to whole milliseconds at
// either end.
const expirySlack = 2

// matches reports whether o is the state s.
func matches(s keyState, o observed) bool {
	if s.exists != o.exists {
		return false
	}
	if !s.exists {
		return true
	}
	if s.val != o.val {
		return false
	}
	if s.expLo == 0 {
		return o.pttl == -1
	}
	return o.pttl >= 0 && o.hi >= s.expLo-expirySlack && o.lo <= s.expHi+expirySlack
}

// resolution is what verify found of a write in flight at the kill.
type resolution int

const (
	noneInFlight resolution = iota
	inFlightApplied
	inFlightNotApplied
	inFlightNoChange // before and after look the same (a DEL of missing keys)
)

// verify checks the keys read back after a kill against the ledger and
// resolves the write in flight: it must have been applied to all of its
// keys or to none. killMs bounds the expiry a write in flight could have
// set. On success the ledger holds what was read.
func (w *ledgerWriter) verify(obs map[string]observed, killMs int64) (resolution, error) {
	var problems []string
	inFlight := map[string]bool{}
	if w.pending != nil {
		for _, ch := range w.pending.changes {
			inFlight[ch.key] = true
		}
	}
	for _, k := range w.keys() {
		if inFlight[k] {
			continue
		}
		if s := w.state[k]; !matches(s, obs[k]) {
			problems = append(problems, fmt.Sprintf("%s: read %v, acknowledged %v", k, obs[k], s))
		}
	}
	res := noneInFlight
	if op := w.pending; op != nil {
		before, after := true, true
		var detail []string
		for _, ch := range op.changes {
			a := fixExpiry(ch.after, op.ttl, killMs)
			b, f := matches(ch.before, obs[ch.key]), matches(a, obs[ch.key])
			before, after = before && b, after && f
			detail = append(detail, fmt.Sprintf("%s: read %v; before the write %v, after it %v", ch.key, obs[ch.key], ch.before, a))
		}
		switch {
		case before && after:
			res = inFlightNoChange
		case after:
			res = inFlightApplied
			w.acked(op, killMs)
		case before:
			res = inFlightNotApplied
		default:
			problems = append(problems, fmt.Sprintf("write in flight at the kill %.120q applied to some of its keys or none of the ways it could:\n\t%s",
				strings.Join(op.argv, " "), strings.Join(detail, "\n\t")))
		}
		w.pending = nil
	}
	if len(problems) > 0 {
		const show = 10
		n := len(problems)
		if n > show {
			problems = append(problems[:show], fmt.Sprintf("... and %d more", n-show))
		}
		return res, fmt.Errorf("writer %d: %d keys wrong after the kill:\n%s", w.id, n, strings.Join(problems, "\n"))
	}
	return res, nil
}

// live returns how many of the writer's keys the ledger says exist.
func (w *ledgerWriter) live() int {
	n := 0
	for _, s := range w.state {
		if s.exists {
			n++
		}
	}
	return n
}
