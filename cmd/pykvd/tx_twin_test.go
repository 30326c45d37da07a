package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/reply"
)

// txStep is one step of the transaction twin script: a command sent on
// connection who (0 or 1) of each server, or, with gone set, a wait until
// that key has expired on both (polled on connection 1, outside the
// comparison: how many polls it takes is the clock's business).
type txStep struct {
	who  int
	cmd  []string
	gone string
}

// txScript is every reply and error case of MULTI, EXEC, DISCARD, WATCH
// and UNWATCH of issue 16, on keys under prefix p; connection 1 is the
// other client that writes what connection 0 watches.
func txScript(p string) []txStep {
	k := func(name string) string { return p + name }
	on := func(who int, cmds ...[]string) []txStep {
		steps := make([]txStep, len(cmds))
		for i, c := range cmds {
			steps[i] = txStep{who: who, cmd: c}
		}
		return steps
	}
	var s []txStep
	add := func(steps ...[]txStep) {
		for _, st := range steps {
			s = append(s, st...)
		}
	}
	a := func(cmds ...[]string) []txStep { return on(0, cmds...) }
	b := func(cmds ...[]string) []txStep { return on(1, cmds...) }
	gone := func(key string) []txStep { return []txStep{{gone: key}} }
	add(
		// Outside a transaction, and the arities.
		a([]string{"EXEC"}, []string{"DISCARD"}, []string{"exec"}, []string{"MULTI", "x"}, []string{"EXEC", "x"},
			[]string{"DISCARD", "x"}, []string{"WATCH"}, []string{"UNWATCH", "x"}, []string{"UNWATCH"}),

		// Queued replies, then EXEC's array; nothing runs before EXEC.
		a([]string{"MULTI"}, []string{"SET", k("a"), "1"}, []string{"INCR", k("a")}, []string{"GET", k("a")},
			[]string{"MSET", k("b"), "1", k("c"), "2"}, []string{"DEL", k("b")}, []string{"MGET", k("a"), k("b"), k("c")},
			[]string{"EXISTS", k("a"), k("b")}, []string{"PING"}, []string{"ECHO", "hi"}),
		b([]string{"GET", k("a")}),
		a([]string{"EXEC"}, []string{"MGET", k("a"), k("b"), k("c")}),
		b([]string{"MGET", k("a"), k("b"), k("c")}),

		// The empty transaction.
		a([]string{"MULTI"}, []string{"EXEC"}),

		// Run-time errors are reported in EXEC's array; the rest takes
		// effect.
		a([]string{"MULTI"}, []string{"SET", k("s"), "x"}, []string{"INCR", k("s")}, []string{"SET", k("r"), "1"},
			[]string{"SET", k("r2"), "1", "EX", "0"}, []string{"SETRANGE", k("s"), "-1", "y"},
			[]string{"INCRBYFLOAT", k("s"), "1"}, []string{"APPEND", k("s"), "z"}, []string{"GETEX", k("s"), "FOO"},
			[]string{"GET", k("s")}, []string{"EXEC"}, []string{"MGET", k("s"), k("r"), k("r2")}),

		// Refusals while queuing: the command's error, then EXECABORT,
		// and nothing of the transaction ran.
		a([]string{"MULTI"}, []string{"SET", k("q"), "1"}, []string{"GET"}, []string{"SET", k("q2"), "1"},
			[]string{"EXEC"}, []string{"MGET", k("q"), k("q2")}, []string{"EXEC"}),
		a([]string{"MULTI"}, []string{"NOSUCHCOMMAND", "x"}, []string{"EXEC"}),
		a([]string{"MULTI"}, []string{"CLIENT", "NOSUCH"}, []string{"SET", k("q"), "1"}, []string{"EXEC"}, []string{"GET", k("q")}),
		a([]string{"MULTI"}, []string{"SET", k("q")}, []string{"MULTI"}, []string{"EXEC"}),
		a([]string{"MULTI"}, []string{"SET", k("q3"), "1"}, []string{"EXEC", "x"}, []string{"EXEC"}, []string{"GET", k("q3")}),

		// Nested MULTI and WATCH inside MULTI are refused without aborting.
		a([]string{"MULTI"}, []string{"MULTI"}, []string{"WATCH", k("a")}, []string{"SET", k("n"), "1"},
			[]string{"EXEC"}, []string{"GET", k("n")}),

		// DISCARD.
		a([]string{"MULTI"}, []string{"SET", k("d"), "1"}, []string{"DISCARD"}, []string{"GET", k("d")},
			[]string{"DISCARD"}, []string{"EXEC"}),

		// WATCH, and a write from the other connection: EXEC is a nil
		// array and runs nothing; EXEC forgot the watch.
		a([]string{"SET", k("w"), "1"}, []string{"WATCH", k("w")}),
		b([]string{"SET", k("w"), "2"}),
		a([]string{"MULTI"}, []string{"SET", k("out"), "1"}, []string{"EXEC"}, []string{"GET", k("out")},
			[]string{"MULTI"}, []string{"SET", k("out"), "1"}, []string{"EXEC"}, []string{"GET", k("out")}),

		// A missing key created and deleted in between.
		a([]string{"WATCH", k("w2")}),
		b([]string{"SET", k("w2"), "x"}, []string{"DEL", k("w2")}),
		a([]string{"MULTI"}, []string{"EXEC"}),

		// Deleted in between; another transaction in between.
		a([]string{"SET", k("w3"), "1"}, []string{"WATCH", k("w3")}),
		b([]string{"DEL", k("w3")}),
		a([]string{"MULTI"}, []string{"INCR", k("w3")}, []string{"EXEC"}, []string{"GET", k("w3")}),
		a([]string{"WATCH", k("w3")}),
		b([]string{"MULTI"}, []string{"INCR", k("w3")}, []string{"EXEC"}),
		a([]string{"MULTI"}, []string{"INCR", k("w3")}, []string{"EXEC"}, []string{"GET", k("w3")}),

		// The watcher's own write before MULTI counts; inside, it does not.
		a([]string{"WATCH", k("w4")}, []string{"SET", k("w4"), "1"}, []string{"MULTI"}, []string{"EXEC"}),
		a([]string{"WATCH", k("w4")}, []string{"MULTI"}, []string{"SET", k("w4"), "2"}, []string{"EXEC"}, []string{"GET", k("w4")}),

		// Reads and writes of other keys are no change; a missing key
		// deleted is none either.
		a([]string{"WATCH", k("w5"), k("w6")}),
		b([]string{"GET", k("w5")}, []string{"SET", k("other"), "1"}, []string{"DEL", k("w6")}),
		a([]string{"MULTI"}, []string{"PING"}, []string{"EXEC"}),

		// UNWATCH, DISCARD and an aborted EXEC forget the watched keys.
		a([]string{"WATCH", k("w7")}, []string{"UNWATCH"}),
		b([]string{"SET", k("w7"), "1"}),
		a([]string{"MULTI"}, []string{"EXEC"}),
		a([]string{"WATCH", k("w7")}),
		b([]string{"SET", k("w7"), "2"}),
		a([]string{"MULTI"}, []string{"DISCARD"}, []string{"MULTI"}, []string{"EXEC"}),
		a([]string{"WATCH", k("w7")}),
		b([]string{"SET", k("w7"), "3"}),
		a([]string{"MULTI"}, []string{"GET"}, []string{"EXEC"}, []string{"MULTI"}, []string{"EXEC"}),

		// UNWATCH queued inside runs inside EXEC.
		a([]string{"WATCH", k("w8")}, []string{"MULTI"}, []string{"UNWATCH"}, []string{"SET", k("w8"), "1"}, []string{"EXEC"}),

		// Watched twice: the first WATCH's version stays.
		a([]string{"WATCH", k("w9")}),
		b([]string{"SET", k("w9"), "1"}),
		a([]string{"WATCH", k("w9"), k("w9")}, []string{"MULTI"}, []string{"EXEC"}),

		// A watched key that expires after WATCH is a change.
		a([]string{"SET", k("e"), "v", "PX", "100"}, []string{"WATCH", k("e")}),
		gone(k("e")),
		a([]string{"MULTI"}, []string{"SET", k("eout"), "1"}, []string{"EXEC"}, []string{"GET", k("eout")}),

		// One that had expired before WATCH is not, when it goes.
		a([]string{"SET", k("e2"), "v", "PX", "50"}),
		gone(k("e2")),
		a([]string{"WATCH", k("e2")}, []string{"MULTI"}, []string{"SET", k("e2"), "w"}, []string{"EXEC"}, []string{"GET", k("e2")}),

		// Keys that expire inside, TTLs inside.
		a([]string{"MULTI"}, []string{"SET", k("t"), "v", "EX", "100"}, []string{"TTL", k("t")},
			[]string{"PERSIST", k("t")}, []string{"TTL", k("t")}, []string{"EXPIRE", k("t"), "0"},
			[]string{"EXISTS", k("t")}, []string{"SETEX", k("t2"), "100", "v"}, []string{"PTTL", k("nope")},
			[]string{"GETDEL", k("t2")}, []string{"GETSET", k("t3"), "x"}, []string{"SETNX", k("t3"), "y"},
			[]string{"MSETNX", k("t3"), "1", k("t4"), "2"}, []string{"STRLEN", k("t3")}, []string{"EXEC"}),

		// The commands that only unshare a value as raw: APPEND of nothing
		// is a write (a WATCH fails), raw already or not; SETBIT of a bit
		// that stays is none (it holds), though the value is raw after.
		a([]string{"SET", k("u"), "12"}, []string{"WATCH", k("u")}),
		b([]string{"APPEND", k("u"), ""}, []string{"OBJECT", "ENCODING", k("u")}),
		a([]string{"MULTI"}, []string{"GET", k("u")}, []string{"EXEC"}, []string{"WATCH", k("u")}),
		b([]string{"APPEND", k("u"), ""}),
		a([]string{"MULTI"}, []string{"GET", k("u")}, []string{"EXEC"}),
		a([]string{"SET", k("u"), "12"}, []string{"WATCH", k("u")}),
		b([]string{"SETBIT", k("u"), "0", "0"}, []string{"OBJECT", "ENCODING", k("u")}),
		a([]string{"MULTI"}, []string{"GET", k("u")}, []string{"OBJECT", "ENCODING", k("u")}, []string{"EXEC"}),
		a([]string{"SET", k("u"), "12"}, []string{"WATCH", k("u")}, []string{"MULTI"}, []string{"SETBIT", k("u"), "0", "0"},
			[]string{"OBJECT", "ENCODING", k("u")}, []string{"EXEC"}, []string{"OBJECT", "ENCODING", k("u")}),
	)
	return s
}

// TestTransactionsLikeRedis (twin): every reply and error of MULTI, EXEC,
// DISCARD, WATCH and UNWATCH — queued replies, EXECABORT after a refusal,
// run-time errors inside EXEC's array, the nil array after a watched key
// changed (written or deleted by another connection, or expired) — from
// pykvd over RESP2, RESP3 and the native protocol, is byte for byte what
// redis-server answers. The native protocol has one Nil: EXEC's nil
// array is that Nil there, and is compared as RESP2's "*-1".
func TestTransactionsLikeRedis(t *testing.T) {
	t.Parallel()
	runTxTwin(t, "tx", txScript)
}

// runTxTwin runs script, with keys under a prefix named after the leg
// and name, over RESP2, RESP3 and the native protocol on two connections
// to a fresh pykvd, and the same on two connections to a fresh
// redis-server, and compares every reply byte for byte.
func runTxTwin(t *testing.T, name string, script func(prefix string) []txStep) {
	t.Helper()
	tw := startTwins(t)
	type leg struct {
		name string
		pykv [2]func([]string) string
		real [2]*respRaw
	}
	var legs []leg
	for _, proto := range []int{2, 3} {
		var l leg
		l.name = "RESP" + strconv.Itoa(proto)
		for i := range 2 {
			p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
			if proto == 3 {
				hello3(t, p, "pykvd")
				hello3(t, r, "redis-server")
			}
			l.pykv[i] = func(cmd []string) string { return p.call(cmd...) }
			l.real[i] = r
		}
		legs = append(legs, l)
	}
	native := leg{name: "native"}
	for i := range 2 {
		n := dialNative(t, tw.pykv.Addr())
		native.pykv[i] = func(cmd []string) string {
			r := n.do(cmd...)
			if strings.EqualFold(cmd[0], "EXEC") && r.Kind == reply.KindNil {
				return "*-1\r\n" // the native Nil, as RESP2 writes EXEC's
			}
			return asRESP2(t, r)
		}
		native.real[i] = dialRESPRaw(t, tw.redisAddr)
	}
	legs = append(legs, native)
	for _, l := range legs {
		prefix := strings.ToLower(l.name) + ":" + name + ":"
		for i, st := range script(prefix) {
			if st.gone != "" {
				waitFor(t, 10*time.Second, st.gone+" to expire", func() bool {
					return l.pykv[1]([]string{"PTTL", st.gone}) == ":-2\r\n" &&
						l.real[1].call("PTTL", st.gone) == ":-2\r\n"
				})
				continue
			}
			got, want := l.pykv[st.who](st.cmd), l.real[st.who].call(st.cmd...)
			if got != want {
				t.Errorf("%s step %d, connection %d, %s: pykvd %q, redis-server %q", l.name, i, st.who, quoteArgs(st.cmd), got, want)
			}
		}
	}
}
