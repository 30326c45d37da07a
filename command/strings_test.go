package command

import (
	"strconv"
	"testing"
	"time"
)

const (
	errSyntaxText = "(error) ERR syntax error"
	errNotIntText = "(error) ERR value is not an integer or out of range"
)

// epochPlus returns the unix time of testEpoch plus d, in seconds or
// milliseconds, as a string argument.
func epochPlus(d time.Duration, ms bool) string {
	at := testEpoch.Add(d)
	if ms {
		return strconv.FormatInt(at.UnixMilli(), 10)
	}
	return strconv.FormatInt(at.Unix(), 10)
}

func TestGet(t *testing.T) {
	runSteps(t, []step{
		{cmd: "GET k", want: "(nil)"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "GET k", want: `"v"`},
		{cmd: "get K", want: "(nil)"}, // keys are case-sensitive, names are not
		{args: []string{"SET", "e", ""}, want: "OK"},
		{cmd: "GET e", want: `""`}, // an empty value is not nil
		{args: []string{"SET", "sp", "a b\r\nc"}, want: "OK"},
		{cmd: "GET sp", want: `"a b\r\nc"`},
	})
}

func TestSet(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		{cmd: "SET k v2 NX", want: "(nil)"},
		{cmd: "GET k", want: `"v"`},
		{cmd: "SET k v2 XX", want: "OK"},
		{cmd: "GET k", want: `"v2"`},
		{cmd: "SET missing v XX", want: "(nil)"},
		{cmd: "GET missing", want: "(nil)"},
		{cmd: "SET n v NX", want: "OK"},
		{cmd: "SET n2 v nx NX", want: "OK"}, // repeating an option is allowed
		{cmd: "SET x v NX XX", want: errSyntaxText},
		{cmd: "SET x v XX NX", want: errSyntaxText},
		{cmd: "SET x v FOO", want: errSyntaxText},
		{cmd: "SET x v EX", want: errSyntaxText},
		{cmd: "SET x v NX EX", want: errSyntaxText},
		{cmd: "GET x", want: "(nil)"},
	})
}

func TestSetExpiry(t *testing.T) {
	// The clock has moved 1.5s when these are used.
	in100s := epochPlus(101*time.Second, false)         // 99.5s left: TTL rounds to 100
	in100ms := epochPlus(101500*time.Millisecond, true) // 100s left
	runSteps(t, []step{
		{cmd: "SET k v EX 10", want: "OK"},
		{cmd: "PTTL k", want: "(integer) 10000"},
		{cmd: "SET k v px 1500", want: "OK"},
		{cmd: "PTTL k", want: "(integer) 1500"},
		{cmd: "GET k", advance: 1499 * time.Millisecond, want: `"v"`},
		{cmd: "GET k", advance: time.Millisecond, want: "(nil)"},
		{cmd: "SET k v EXAT " + in100s, want: "OK"},
		{cmd: "TTL k", want: "(integer) 100"},
		{cmd: "SET k v PXAT " + in100ms, want: "OK"},
		{cmd: "PTTL k", want: "(integer) 100000"},
		{cmd: "SET k v EX 10 EX 20", want: "OK"}, // the last one wins
		{cmd: "TTL k", want: "(integer) 20"},
		{cmd: "SET past v PXAT 1", want: "OK"}, // valid, and gone at once
		{cmd: "GET past", want: "(nil)"},

		// KEEPTTL keeps the expiry; a plain SET clears it.
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "SET t w KEEPTTL", want: "OK"},
		{cmd: "TTL t", want: "(integer) 100"},
		{cmd: "GET t", want: `"w"`},
		{cmd: "SET t x keepttl KEEPTTL", want: "OK"},
		{cmd: "TTL t", want: "(integer) 100"},
		{cmd: "SET t y", want: "OK"},
		{cmd: "TTL t", want: "(integer) -1"},

		// Two expiry options, or one with KEEPTTL, are a syntax error,
		// reported before the value is looked at.
		{cmd: "SET x v EX 10 PX 100", want: errSyntaxText},
		{cmd: "SET x v EX 10 KEEPTTL", want: errSyntaxText},
		{cmd: "SET x v KEEPTTL EX 10", want: errSyntaxText},
		{cmd: "SET x v EXAT 10 PXAT 10", want: errSyntaxText},
		{cmd: "SET x v EX 0 KEEPTTL", want: errSyntaxText},

		{cmd: "SET x v EX 0", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v EX -1", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v PX 0", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v EXAT 0", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v PXAT -5", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v EX 9223372036854775807", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v EX 9223372036854776", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v PX 9223372036854775807", want: "(error) ERR invalid expire time in 'set' command"},
		{cmd: "SET x v EX abc", want: errNotIntText},
		{cmd: "SET x v EX 1.5", want: errNotIntText},
		{cmd: "SET x v EX +10", want: errNotIntText},
		{cmd: "SET x v EX 010", want: errNotIntText},
		{cmd: "SET x v EX 99999999999999999999", want: errNotIntText},
		{cmd: "GET x", want: "(nil)"},

		{cmd: "SET far v PXAT 9223372036854775807", want: "OK"},
		{cmd: "PTTL far", want: "(integer) " + strconv.FormatInt(9223372036854775807-testEpoch.Add(1500*time.Millisecond).UnixMilli(), 10)},
	})
}

func TestSetGet(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET k v GET", want: "(nil)"},
		{cmd: "GET k", want: `"v"`},
		{cmd: "SET k w GET", want: `"v"`},
		{cmd: "GET k", want: `"w"`},
		// GET with NX is allowed since Redis 7: the old value comes back
		// whether or not the write happened.
		{cmd: "SET k x NX GET", want: `"w"`},
		{cmd: "GET k", want: `"w"`},
		{cmd: "SET n x NX GET", want: "(nil)"},
		{cmd: "GET n", want: `"x"`},
		{cmd: "SET m x XX GET", want: "(nil)"},
		{cmd: "GET m", want: "(nil)"},
		{cmd: "SET k y get XX EX 10", want: `"w"`},
		{cmd: "TTL k", want: "(integer) 10"},
		{cmd: "SET k z GET KEEPTTL", want: `"y"`},
		{cmd: "TTL k", want: "(integer) 10"},
	})
}

func TestSetNXEX(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SETNX k v", want: "(integer) 1"},
		{cmd: "SETNX k w", want: "(integer) 0"},
		{cmd: "GET k", want: `"v"`},
		{cmd: "SETNX k", want: "(error) ERR wrong number of arguments for 'setnx' command"},

		{cmd: "SETEX e 10 v", want: "OK"},
		{cmd: "TTL e", want: "(integer) 10"},
		{cmd: "GET e", want: `"v"`},
		{cmd: "SETEX e 0 v", want: "(error) ERR invalid expire time in 'setex' command"},
		{cmd: "SETEX e -3 v", want: "(error) ERR invalid expire time in 'setex' command"},
		{cmd: "SETEX e x v", want: errNotIntText},
		{cmd: "SETEX e 10", want: "(error) ERR wrong number of arguments for 'setex' command"},

		{cmd: "PSETEX p 1500 v", want: "OK"},
		{cmd: "PTTL p", want: "(integer) 1500"},
		{cmd: "PSETEX p 0 v", want: "(error) ERR invalid expire time in 'psetex' command"},
		{cmd: "PSETEX p 9223372036854775807 v", want: "(error) ERR invalid expire time in 'psetex' command"},
		{cmd: "PSETEX p 1.5 v", want: errNotIntText},
	})
}

func TestGetDel(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		{cmd: "GETDEL k", want: `"v"`},
		{cmd: "GETDEL k", want: "(nil)"},
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "GETDEL", want: "(error) ERR wrong number of arguments for 'getdel' command"},
	})

	tab := New(plainStore{newMemStore()}, Config{})
	got := tab.Exec(tab.NewSession(), [][]byte{[]byte("GETDEL"), []byte("k")}).String()
	if want := "(error) ERR GETDEL is not supported by this storage engine"; got != want {
		t.Errorf("GETDEL on a Store without GetDel: %s", got)
	}
}

func TestIncrDecr(t *testing.T) {
	runSteps(t, []step{
		{cmd: "INCR n", want: "(integer) 1"},
		{cmd: "INCRBY n 10", want: "(integer) 11"},
		{cmd: "DECR n", want: "(integer) 10"},
		{cmd: "DECRBY n 3", want: "(integer) 7"},
		{cmd: "DECRBY n -3", want: "(integer) 10"},
		{cmd: "INCRBY n -20", want: "(integer) -10"},
		{cmd: "GET n", want: `"-10"`},
		{cmd: "DECR fresh", want: "(integer) -1"},

		{cmd: "INCRBY n abc", want: errNotIntText},
		{cmd: "INCRBY n +1", want: errNotIntText},
		{cmd: "INCRBY n 01", want: errNotIntText},
		{cmd: "INCRBY n -0", want: errNotIntText},
		{cmd: "INCRBY n -", want: errNotIntText},
		{args: []string{"INCRBY", "n", " 1"}, want: errNotIntText},
		{args: []string{"INCRBY", "n", ""}, want: errNotIntText},
		{cmd: "INCRBY n 9223372036854775808", want: errNotIntText},
		{cmd: "DECRBY n 1e3", want: errNotIntText},
		{cmd: "GET n", want: `"-10"`},

		{cmd: "SET s abc", want: "OK"},
		{cmd: "INCR s", want: errNotIntText},
		{cmd: "DECRBY s 1", want: errNotIntText},

		{cmd: "SET big 9223372036854775807", want: "OK"},
		{cmd: "INCR big", want: "(error) ERR increment or decrement would overflow"},
		{cmd: "SET small -9223372036854775808", want: "OK"},
		{cmd: "DECR small", want: "(error) ERR increment or decrement would overflow"},
		{cmd: "INCRBY small -1", want: "(error) ERR increment or decrement would overflow"},
		{cmd: "DECRBY n -9223372036854775808", want: "(error) ERR decrement would overflow"},
		{cmd: "INCRBY n -9223372036854775798", want: "(integer) -9223372036854775808"},

		{cmd: "INCR", want: "(error) ERR wrong number of arguments for 'incr' command"},
		{cmd: "INCRBY n", want: "(error) ERR wrong number of arguments for 'incrby' command"},
		{cmd: "DECR a b", want: "(error) ERR wrong number of arguments for 'decr' command"},
		{cmd: "DECRBY n", want: "(error) ERR wrong number of arguments for 'decrby' command"},
	})
}

func TestMGetMSet(t *testing.T) {
	runSteps(t, []step{
		{cmd: "MSET a 1 b 2", want: "OK"},
		{cmd: "MGET a missing b", want: `["1" (nil) "2"]`},
		{cmd: "MGET a a", want: `["1" "1"]`},
		{cmd: "MSET a 1 b", want: "(error) ERR wrong number of arguments for 'mset' command"},
		{cmd: "MSET a", want: "(error) ERR wrong number of arguments for 'mset' command"},
		{cmd: "MGET", want: "(error) ERR wrong number of arguments for 'mget' command"},
		{cmd: "MSET a 3 a 4", want: "OK"},
		{cmd: "GET a", want: `"4"`},
	})
}
