package main

import (
	"strconv"
	"testing"
	"time"
)

// emptyKeyScript is the empty key "" through every command that takes a
// key, as source and as destination, and through the patterns that tell
// it apart (KEYS and SCAN MATCH "" match it, "*" alone too, no other star
// does), from an empty dataset. The other keys are under prefix p.
func emptyKeyScript(p string, now time.Time) []twinStep {
	const e = "" // the empty key
	k := func(name string) string { return p + name }
	var s []twinStep
	add := func(mode cmpMode, cmds ...[]string) {
		for _, c := range cmds {
			s = append(s, twinStep{cmd: c, cmp: mode})
		}
	}
	exact := func(cmds ...[]string) { add(cmpExact, cmds...) }
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }

	// Missing, then the string commands.
	exact([]string{"GET", e}, []string{"EXISTS", e}, []string{"TYPE", e}, []string{"TTL", e}, []string{"PTTL", e},
		[]string{"EXPIRETIME", e}, []string{"STRLEN", e}, []string{"DEL", e}, []string{"OBJECT", "ENCODING", e},
		[]string{"OBJECT", "REFCOUNT", e}, []string{"MEMORY", "USAGE", e}, []string{"RANDOMKEY"}, []string{"GETEX", e},
		[]string{"RENAME", e, k("x")}, []string{"COPY", e, k("x")}, []string{"GETDEL", e}, []string{"SET", e, "v", "XX"},
		[]string{"SET", e, "v"}, []string{"GET", e}, []string{"EXISTS", e, e}, []string{"TYPE", e}, []string{"STRLEN", e},
		[]string{"OBJECT", "ENCODING", e}, []string{"OBJECT", "REFCOUNT", e}, []string{"OBJECT", "FREQ", e},
		[]string{"RANDOMKEY"}, []string{"SET", e, "w", "NX"}, []string{"SET", e, "w", "GET"}, []string{"SETNX", e, "z"},
		[]string{"GETSET", e, "10"}, []string{"INCR", e}, []string{"INCRBY", e, "5"}, []string{"DECR", e},
		[]string{"DECRBY", e, "2"}, []string{"INCRBYFLOAT", e, "0.5"}, []string{"OBJECT", "ENCODING", e},
		[]string{"APPEND", e, "xy"}, []string{"GET", e}, []string{"GETRANGE", e, "1", "-2"}, []string{"SUBSTR", e, "0", "0"},
		[]string{"SETRANGE", e, "6", "ab"}, []string{"GET", e}, []string{"SETBIT", e, "3", "1"}, []string{"GETBIT", e, "3"},
		[]string{"BITCOUNT", e}, []string{"BITPOS", e, "1"}, []string{"SET", k("o"), "other"}, []string{"LCS", e, k("o")},
		[]string{"LCS", k("o"), e, "LEN"}, []string{"BITOP", "OR", k("b"), e, k("o")}, []string{"GET", k("b")},
		[]string{"BITOP", "AND", e, k("o"), k("b")}, []string{"GET", e}, []string{"BITOP", "NOT", e, k("nope")},
		[]string{"EXISTS", e}, []string{"MSET", e, "m", k("m"), "n"}, []string{"MGET", e, k("m"), e, k("nope")},
		[]string{"MSETNX", e, "q", k("q"), "q"}, []string{"MGET", e, k("q")}, []string{"DEL", e, e},
		[]string{"MSETNX", k("q"), "q", e, "q"}, []string{"MSETNX", e, "q", k("q2"), "q"}, []string{"MGET", e, k("q2")},
		[]string{"UNLINK", e}, []string{"SETEX", e, "100", "s"}, []string{"PSETEX", e, "100000", "s"},
		[]string{"GETEX", e, "PERSIST"}, []string{"TTL", e}, []string{"GETEX", e, "EXAT", unix(time.Hour)},
		[]string{"EXPIRETIME", e}, []string{"GETEX", e, "PXAT", "1"}, []string{"GET", e},
	)

	// Expiry.
	exact([]string{"SET", e, "v"}, []string{"EXPIRE", e, "100", "XX"}, []string{"EXPIRE", e, "100", "NX"},
		[]string{"EXPIREAT", e, unix(2 * time.Hour), "GT"}, []string{"EXPIRETIME", e},
		[]string{"PEXPIREAT", e, strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10), "LT"}, []string{"PEXPIRETIME", e},
		[]string{"PERSIST", e}, []string{"TTL", e}, []string{"PERSIST", e}, []string{"PEXPIRE", e, "100000"})
	add(cmpClose, []string{"TTL", e}, []string{"PTTL", e})
	exact([]string{"EXPIRE", e, "0"}, []string{"EXISTS", e}, []string{"TTL", e},
		[]string{"SET", e, "v", "PXAT", "1"}, []string{"GET", e}, []string{"SET", e, "v", "EXAT", unix(time.Hour)},
		[]string{"SET", e, "w", "KEEPTTL"}, []string{"EXPIRETIME", e}, []string{"TOUCH", e, k("nope"), e})

	// RENAME, RENAMENX and COPY, with "" as source and as destination;
	// the expiry moves with the value.
	exact([]string{"RENAME", e, e}, []string{"RENAMENX", e, e}, []string{"COPY", e, e}, []string{"RENAME", e, k("r")},
		[]string{"GET", e}, []string{"GET", k("r")}, []string{"EXPIRETIME", k("r")}, []string{"RENAME", k("r"), e},
		[]string{"GET", e}, []string{"EXPIRETIME", e}, []string{"SET", k("r2"), "r2"}, []string{"RENAMENX", k("r2"), e},
		[]string{"RENAME", k("r2"), e}, []string{"GET", e}, []string{"EXPIRETIME", e}, []string{"COPY", e, k("c")},
		[]string{"GET", k("c")}, []string{"SET", k("c"), "c", "EXAT", unix(3 * time.Hour)}, []string{"COPY", k("c"), e},
		[]string{"COPY", k("c"), e, "REPLACE"}, []string{"GET", e}, []string{"EXPIRETIME", e},
		[]string{"COPY", k("c"), e, "DB", "0", "REPLACE"}, []string{"DEL", e}, []string{"RENAMENX", k("c"), e},
		[]string{"GET", e}, []string{"EXPIRETIME", e}, []string{"RENAME", e, k("nope"), "x"})

	// The patterns: "" and "*" alone match the empty key, no other does.
	exact([]string{"SET", e, "v"}, []string{"SET", k("a"), "a"}, []string{"KEYS", ""},
		[]string{"SCAN", "0", "MATCH", "", "COUNT", "1000"}, []string{"SCAN", "0", "MATCH", "", "COUNT", "1000", "TYPE", "string"},
		[]string{"KEYS", "?"}, []string{"KEYS", "[]"}, []string{"KEYS", "\\"}, []string{"KEYS", "*" + p + "a*"})
	for _, pat := range []string{"*", "**", "*?", p + "*"} {
		add(cmpSet, []string{"KEYS", pat}, []string{"SCAN", "0", "MATCH", pat, "COUNT", "1000"})
	}
	add(cmpSet, []string{"SCAN", "0", "COUNT", "1000"})
	exact([]string{"DEL", k("a"), k("b"), k("c"), k("m"), k("q"), k("q2"), k("o"), k("nope")}, []string{"KEYS", "*"},
		[]string{"RANDOMKEY"}, []string{"DEL", e}, []string{"KEYS", ""}, []string{"SCAN", "0", "MATCH", ""}, []string{"RANDOMKEY"})

	// MEMORY USAGE is each server's own estimate: an integer for an
	// existing key, Nil for a missing one.
	exact([]string{"MEMORY", "USAGE", e}, []string{"SET", e, "v"})
	add(cmpPositive, []string{"MEMORY", "USAGE", e}, []string{"MEMORY", "USAGE", e, "SAMPLES", "0"})
	return s
}

// TestEmptyKeyLikeRedis (twin): the empty key is a key like any other, as
// in Redis 7: every string, bitmap and keyspace command takes it as its
// key, RENAME and COPY as source and destination, KEYS and SCAN MATCH
// find it with the patterns Redis finds it with, and the replies of
// pykvd over RESP2, RESP3 and the native protocol are redis-server's,
// compared as TestKeysCommandsLikeRedis compares them.
func TestEmptyKeyLikeRedis(t *testing.T) {
	t.Parallel()
	runKeysTwinLegs(t, startTwins(t), emptyKeyScript)
}

// emptyKeyTxScript is WATCH, MULTI and EXEC over the empty key: a write of
// "" by the other connection aborts a transaction that watched it, one of
// another key does not, and commands on "" are queued and run.
func emptyKeyTxScript(p string) []txStep {
	const e = ""
	k := func(name string) string { return p + name }
	a := func(cmds ...[]string) []txStep {
		steps := make([]txStep, len(cmds))
		for i, c := range cmds {
			steps[i] = txStep{who: 0, cmd: c}
		}
		return steps
	}
	b := func(cmds ...[]string) []txStep {
		steps := a(cmds...)
		for i := range steps {
			steps[i].who = 1
		}
		return steps
	}
	var s []txStep
	for _, st := range [][]txStep{
		a([]string{"DEL", e}, []string{"MULTI"}, []string{"SET", e, "1"}, []string{"INCR", e}, []string{"GET", e},
			[]string{"RENAME", e, k("r")}, []string{"COPY", k("r"), e}, []string{"MGET", e, k("r")}, []string{"EXEC"}),
		b([]string{"MGET", e, k("r")}),
		a([]string{"WATCH", e}),
		b([]string{"SET", e, "other"}),
		a([]string{"MULTI"}, []string{"SET", k("out"), "1"}, []string{"EXEC"}, []string{"GET", k("out")}),
		a([]string{"WATCH", e}),
		b([]string{"DEL", e}),
		a([]string{"MULTI"}, []string{"SET", e, "mine"}, []string{"EXEC"}, []string{"GET", e}),
		a([]string{"WATCH", e, k("w")}),
		b([]string{"SET", k("elsewhere"), "1"}, []string{"GET", e}),
		a([]string{"MULTI"}, []string{"APPEND", e, "!"}, []string{"EXPIRE", e, "100"}, []string{"TTL", e},
			[]string{"KEYS", ""}, []string{"SCAN", "0", "MATCH", ""}, []string{"EXEC"}),
		b([]string{"GET", e}, []string{"TTL", e}),
		a([]string{"WATCH", e}),
		b([]string{"RENAME", k("r"), e}),
		a([]string{"MULTI"}, []string{"GET", e}, []string{"EXEC"}, []string{"GET", e}, []string{"DEL", e}),
	} {
		s = append(s, st...)
	}
	return s
}

// TestEmptyKeyTransactionsLikeRedis (twin): WATCH of the empty key, and
// MULTI/EXEC of commands on it, over RESP2, RESP3 and the native protocol,
// answer byte for byte what redis-server answers.
func TestEmptyKeyTransactionsLikeRedis(t *testing.T) {
	t.Parallel()
	runTxTwin(t, "empty", emptyKeyTxScript)
}
