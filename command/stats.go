package command

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/command/spec"
)

// cmdCounters are one command's counters in one stripe: what INFO
// commandstats reports as calls, usec, rejected_calls and failed_calls.
// Reading the clock twice costs more than a GET (some 80 ns on a VM), so
// a call is timed only when a session's random draw picks it, one in
// timingRate, or when its command has no timed call yet in the stripe:
// timed counts those, nanos their time, and INFO reports usec_per_call
// as nanos/timed and usec as that times calls, an unbiased estimate.
type cmdCounters struct {
	calls, timed, nanos, rejected, failed atomic.Uint64
}

// cmdStats are the per-command counters, striped by session: each
// stripe is its own allocation, so two sessions of
// different stripes never write the same cache line, and a command's
// counters are found by its spec ID, without a map or a lock.
type cmdStats struct {
	stripes [counterStripes][]cmdCounters
}

// cmdStatsPad keeps one stripe's last counters off the cache line of the
// next allocation.
const cmdStatsPad = 2

func newCmdStats() *cmdStats {
	c := &cmdStats{}
	for i := range c.stripes {
		c.stripes[i] = make([]cmdCounters, spec.Count()+cmdStatsPad)
	}
	return c
}

// of returns the counters of command id in session sid's stripe.
func (c *cmdStats) of(sid uint64, id int) *cmdCounters { return &c.stripes[sid%counterStripes][id] }

// total returns the calls of every command: INFO's
// total_commands_processed. A command is counted once it has run, as in
// Redis, so INFO does not count itself.
func (c *cmdStats) total() uint64 {
	var n uint64
	for i := range c.stripes {
		for j := range c.stripes[i] {
			n += c.stripes[i][j].calls.Load()
		}
	}
	return n
}

// sum returns command id's counters summed over the stripes.
func (c *cmdStats) sum(id int) (calls, timed, nanos, rejected, failed uint64) {
	for i := range c.stripes {
		x := &c.stripes[i][id]
		calls += x.calls.Load()
		timed += x.timed.Load()
		nanos += x.nanos.Load()
		rejected += x.rejected.Load()
		failed += x.failed.Load()
	}
	return
}

// reset zeroes every counter (CONFIG RESETSTAT). Commands running
// meanwhile may add to the fresh counts, as in Redis.
func (c *cmdStats) reset() {
	for i := range c.stripes {
		for j := range c.stripes[i] {
			x := &c.stripes[i][j]
			x.calls.Store(0)
			x.timed.Store(0)
			x.nanos.Store(0)
			x.rejected.Store(0)
			x.failed.Store(0)
		}
	}
}

// maxErrorCodes bounds the distinct error codes errorstats tracks, as
// Redis's 128: a client cannot grow the table without bound. Codes past
// it are counted in total_error_replies only.
const maxErrorCodes = 128

// errorStats count error replies by their code (INFO errorstats). Errors
// are not the hot path: a mutex and a map are enough.
type errorStats struct {
	total atomic.Uint64
	mu    sync.Mutex
	codes map[string]uint64
}

func (e *errorStats) add(code string) {
	e.total.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.codes == nil {
		e.codes = map[string]uint64{}
	}
	if _, ok := e.codes[code]; ok || len(e.codes) < maxErrorCodes {
		e.codes[code]++
	}
}

func (e *errorStats) reset() {
	e.total.Store(0)
	e.mu.Lock()
	e.codes = nil
	e.mu.Unlock()
}

// snapshot returns the codes and their counts, sorted by code.
func (e *errorStats) snapshot() (codes []string, counts []uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.codes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		counts = append(counts, e.codes[c])
	}
	return codes, counts
}

// timingRate is how many calls, on average, one timed call stands for.
const timingRate = 16

// startTiming returns the time a call starts at when it is to be timed,
// else the zero Time: a random draw of the session (xorshift, no lock)
// picks one call in timingRate, and a command with no timed call in the
// session's stripe yet is always timed.
func (t *Table) startTiming(s *Session, sp *Spec) time.Time {
	x := s.rng
	if x == 0 {
		x = s.ID*0x9e3779b97f4a7c15 | 1
	}
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	s.rng = x
	if x%timingRate != 0 && t.cmds.of(s.ID, sp.ID()).timed.Load() != 0 {
		return time.Time{}
	}
	return time.Now()
}

// account records a command that ran (it was not refused): its call, its
// duration since start when it was timed and, for an error reply, a
// failure.
func (t *Table) account(s *Session, sp *Spec, r Reply, start time.Time) {
	c := t.cmds.of(s.ID, sp.ID())
	c.calls.Add(1)
	if !start.IsZero() {
		d := callDuration(start, time.Now())
		c.nanos.Add(d)
		c.timed.Add(1)
		t.lat.add(sp.ID(), d)
	}
	if r.Kind == KindError {
		c.failed.Add(1)
		t.errs.add(r.Code)
	}
}

// callDuration is a call's time as Redis measures it, in nanoseconds:
// the difference of two readings of a microsecond clock (ustime() before
// and after call()), so whole microseconds, and 0 or 1 µs for a call
// under one, in proportion to its length. commandstats' usec and
// latencystats' percentiles then read as Redis's do (a sub-microsecond
// command's p50 is 0.001, its mean unbiased). A clock that stepped back
// gives 0.
func callDuration(start, end time.Time) uint64 {
	us := end.UnixMicro() - start.UnixMicro()
	if us < 0 {
		return 0
	}
	return uint64(us) * 1000
}

// rejected records a command refused before it ran (arity,
// authentication, a follower's refusal of writes, a command MULTI does
// not queue) and returns r.
func (t *Table) rejected(s *Session, sp *Spec, r Reply) Reply {
	if r.Kind == KindError {
		t.cmds.of(s.ID, sp.ID()).rejected.Add(1)
		t.errs.add(r.Code)
	}
	t.touch(s, sp)
	return r
}

// touch records that s sent sp now, for CLIENT LIST's cmd and idle.
func (t *Table) touch(s *Session, sp *Spec) {
	if e := s.conn; e != nil {
		if sp != nil {
			e.lastCmd.Store(cmdWord(sp.ID(), 0))
		}
		e.lastNs.Store(t.coarse.Load())
	}
}

// statBase is what CONFIG RESETSTAT subtracts from the counters that are
// not the table's own (the daemon's connection counts, the engine's
// keyspace hits), so that INFO reports them from the reset on.
type statBase struct {
	connections, rejectedConns          uint64
	expired, hits, misses, cHits, cMiss uint64
}

// CONFIG RESETSTAT
func (t *Table) configResetStat(s *Session, _ [][]byte) Reply {
	si, st := t.info(), t.storeFor(s).Stats()
	t.baseMu.Lock()
	t.base = statBase{connections: si.TotalConnections, rejectedConns: si.RejectedConnections,
		expired: st.ExpiredKeys, hits: st.KeyspaceHits, misses: st.KeyspaceMisses,
		cHits: st.CacheHits, cMiss: st.CacheMisses}
	t.baseMu.Unlock()
	t.cmds.reset()
	t.errs.reset()
	t.lat.reset()
	return OK
}

// statBaseline returns what CONFIG RESETSTAT last set aside.
func (t *Table) statBaseline() statBase {
	t.baseMu.Lock()
	defer t.baseMu.Unlock()
	return t.base
}

// since is n counted from base, 0 if the counter went back (a daemon
// restarted a part).
func since(n, base uint64) uint64 {
	if n < base {
		return 0
	}
	return n - base
}

// infoCommandStats writes one cmdstat_<name> line per command that was
// called or rejected since start or CONFIG RESETSTAT, in Redis's format.
func (t *Table) infoCommandStats(w *infoWriter, _ *infoCtx) {
	var walk func([]*Spec)
	walk = func(cmds []*Spec) {
		for _, sp := range cmds {
			if len(sp.Subcommands) > 0 {
				walk(sp.Subcommands)
			}
			calls, timed, nanos, rej, failed := t.cmds.sum(sp.ID())
			if calls == 0 && rej == 0 && failed == 0 {
				continue
			}
			per := 0.0
			if timed > 0 {
				per = float64(nanos) / 1000 / float64(timed)
			}
			usec := uint64(per * float64(calls))
			w.str("cmdstat_"+sp.Name, "calls="+strconv.FormatUint(calls, 10)+
				",usec="+strconv.FormatUint(usec, 10)+
				",usec_per_call="+strconv.FormatFloat(per, 'f', 2, 64)+
				",rejected_calls="+strconv.FormatUint(rej, 10)+
				",failed_calls="+strconv.FormatUint(failed, 10))
		}
	}
	walk(spec.All())
}

// infoErrorStats writes errorstat_<CODE>:count=N, sorted by code.
func (t *Table) infoErrorStats(w *infoWriter, _ *infoCtx) {
	codes, counts := t.errs.snapshot()
	for i, c := range codes {
		w.str("errorstat_"+c, "count="+strconv.FormatUint(counts[i], 10))
	}
}
