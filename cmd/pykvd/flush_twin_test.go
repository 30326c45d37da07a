package main

import "testing"

// flushScript is every reply and error case of FLUSHALL and FLUSHDB, on
// keys under prefix p: the modes and their spellings, the syntax errors,
// FLUSHALL queued in MULTI (one atomic step of EXEC, its errors in EXEC's
// array), and WATCH across another connection's FLUSHALL.
func flushScript(p string) []txStep {
	k := func(name string) string { return p + name }
	var s []txStep
	a := func(cmds ...[]string) {
		for _, c := range cmds {
			s = append(s, txStep{who: 0, cmd: c})
		}
	}
	b := func(cmds ...[]string) {
		for _, c := range cmds {
			s = append(s, txStep{who: 1, cmd: c})
		}
	}
	a([]string{"SET", k("a"), "1"}, []string{"SET", k("b"), "2", "EX", "100"}, []string{"DBSIZE"},
		[]string{"FLUSHALL"}, []string{"DBSIZE"}, []string{"GET", k("a")}, []string{"TTL", k("b")},
		[]string{"KEYS", "*"}, []string{"SCAN", "0"}, []string{"RANDOMKEY"})
	b([]string{"GET", k("a")}, []string{"EXISTS", k("a"), k("b")})
	for _, mode := range [][]string{{"FLUSHALL", "ASYNC"}, {"FLUSHALL", "SYNC"}, {"flushall", "async"},
		{"FLUSHDB"}, {"FLUSHDB", "ASYNC"}, {"flushdb", "sync"}} {
		a([]string{"SET", k("m"), "v"}, mode, []string{"EXISTS", k("m")})
	}
	a([]string{"SET", k("kept"), "v"},
		[]string{"FLUSHALL", "NOW"}, []string{"FLUSHALL", "ASYNC", "SYNC"}, []string{"FLUSHDB", "x"},
		[]string{"FLUSHDB", "SYNC", "SYNC"}, []string{"FLUSHALL", ""}, []string{"GET", k("kept")})

	// Queued in MULTI: the writes before it are gone, those after stay.
	a([]string{"MULTI"}, []string{"SET", k("t1"), "1"}, []string{"FLUSHALL"}, []string{"GET", k("t1")},
		[]string{"GET", k("kept")}, []string{"SET", k("t2"), "2"}, []string{"INCR", k("t3")}, []string{"DBSIZE"},
		[]string{"EXEC"}, []string{"KEYS", k("t1")}, []string{"KEYS", k("t2")}, []string{"DBSIZE"})
	b([]string{"MGET", k("t1"), k("t2"), k("t3"), k("kept")})
	a([]string{"MULTI"}, []string{"SET", k("t4"), "1"}, []string{"FLUSHALL", "BAD"}, []string{"EXEC"},
		[]string{"GET", k("t4")}, []string{"DBSIZE"})
	a([]string{"MULTI"}, []string{"FLUSHDB", "ASYNC"}, []string{"FLUSHALL"}, []string{"EXEC"}, []string{"DBSIZE"})

	// WATCH, then FLUSHALL from another connection: a watched key that
	// existed changed, and EXEC is a nil array.
	a([]string{"SET", k("w"), "1"}, []string{"WATCH", k("w")})
	b([]string{"FLUSHALL"})
	a([]string{"MULTI"}, []string{"SET", k("out"), "1"}, []string{"EXEC"}, []string{"GET", k("out")})
	// A watched key that was missing, flushed: as Redis 7.0 answers.
	a([]string{"WATCH", k("missing")})
	b([]string{"SET", k("other"), "1"}, []string{"FLUSHALL", "ASYNC"})
	a([]string{"MULTI"}, []string{"SET", k("out2"), "1"}, []string{"EXEC"}, []string{"GET", k("out2")})
	// The watcher's own FLUSHALL before MULTI counts; inside, it does not.
	a([]string{"SET", k("w2"), "1"}, []string{"WATCH", k("w2")}, []string{"FLUSHDB"}, []string{"MULTI"},
		[]string{"EXEC"})
	a([]string{"SET", k("w3"), "1"}, []string{"WATCH", k("w3")}, []string{"MULTI"}, []string{"FLUSHALL"},
		[]string{"SET", k("w3"), "2"}, []string{"EXEC"}, []string{"GET", k("w3")})
	// A FLUSHALL of another connection's transaction invalidates a watch.
	a([]string{"SET", k("w4"), "1"}, []string{"WATCH", k("w4")})
	b([]string{"MULTI"}, []string{"FLUSHALL"}, []string{"EXEC"})
	a([]string{"MULTI"}, []string{"PING"}, []string{"EXEC"}, []string{"DBSIZE"})
	return s
}

// TestFlushLikeRedis (twin): every reply and error of FLUSHALL and
// FLUSHDB, in and out of MULTI and across WATCH, from pykvd over RESP2,
// RESP3 and the native protocol, is byte for byte what redis-server
// answers.
func TestFlushLikeRedis(t *testing.T) {
	t.Parallel()
	runTxTwin(t, "flush", flushScript)
}
