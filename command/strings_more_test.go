package command

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMSetNX(t *testing.T) {
	runSteps(t, []step{
		{cmd: "MSETNX a 1 b 2", want: "(integer) 1"},
		{cmd: "MGET a b", want: `["1" "2"]`},
		{cmd: "MSETNX c 3 a 9", want: "(integer) 0"}, // all or nothing
		{cmd: "EXISTS c", want: "(integer) 0"},
		{cmd: "GET a", want: `"1"`},
		{cmd: "MSETNX d 1 d 2", want: "(integer) 1"}, // the last value wins
		{cmd: "GET d", want: `"2"`},
		{cmd: "SET e v PX 100", want: "OK"},
		{cmd: "MSETNX e w", advance: 100 * time.Millisecond, want: "(integer) 1"}, // expired is missing
		{cmd: "PTTL e", want: "(integer) -1"},
		{cmd: "MSETNX a 1 b", want: "(error) ERR wrong number of arguments for 'msetnx' command"},
		{cmd: "MSETNX a", want: "(error) ERR wrong number of arguments for 'msetnx' command"},
		{cmd: "MSETNX", want: "(error) ERR wrong number of arguments for 'msetnx' command"},
	})
}

func TestGetSet(t *testing.T) {
	runSteps(t, []step{
		{cmd: "GETSET k v", want: "(nil)"},
		{cmd: "GETSET k w", want: `"v"`},
		{cmd: "GET k", want: `"w"`},
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "GETSET t x", want: `"v"`},
		{cmd: "TTL t", want: "(integer) -1"}, // the expiry goes, as with SET
		{cmd: "GETSET k", want: "(error) ERR wrong number of arguments for 'getset' command"},
		{cmd: "GETSET k v w", want: "(error) ERR wrong number of arguments for 'getset' command"},
	})
}

func TestGetEx(t *testing.T) {
	in100s := epochPlus(100*time.Second, false)
	in100ms := epochPlus(100*time.Second, true)
	past := epochPlus(-time.Second, false)
	runSteps(t, []step{
		{cmd: "GETEX k", want: "(nil)"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "GETEX k", want: `"v"`},
		{cmd: "TTL k", want: "(integer) -1"},
		{cmd: "GETEX k EX 10", want: `"v"`},
		{cmd: "TTL k", want: "(integer) 10"},
		{cmd: "GETEX k px 1500", want: `"v"`},
		{cmd: "PTTL k", want: "(integer) 1500"},
		{cmd: "GETEX k EXAT " + in100s, want: `"v"`},
		{cmd: "TTL k", want: "(integer) 100"},
		{cmd: "GETEX k PXAT " + in100ms, want: `"v"`},
		{cmd: "PTTL k", want: "(integer) 100000"},
		{cmd: "GETEX k", want: `"v"`},
		{cmd: "PTTL k", want: "(integer) 100000"}, // no option keeps the expiry
		{cmd: "GETEX k EX 10 EX 20", want: `"v"`}, // the last one wins
		{cmd: "TTL k", want: "(integer) 20"},
		{cmd: "GETEX k PERSIST", want: `"v"`},
		{cmd: "TTL k", want: "(integer) -1"},
		{cmd: "GETEX k PERSIST PERSIST", want: `"v"`},
		{cmd: "GETEX k EXAT " + past, want: `"v"`}, // answered, then deleted
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "GETEX k PXAT 1", want: `"v"`},
		{cmd: "GET k", want: "(nil)"},

		// A syntax error comes first; an invalid expiry only for a key that
		// exists.
		{cmd: "GETEX k NX", want: errSyntaxText},
		{cmd: "GETEX k GET", want: errSyntaxText},
		{cmd: "GETEX k KEEPTTL", want: errSyntaxText},
		{cmd: "GETEX k EX", want: errSyntaxText},
		{cmd: "GETEX k EX 10 PX 10", want: errSyntaxText},
		{cmd: "GETEX k PERSIST EX 10", want: errSyntaxText},
		{cmd: "GETEX k EX 10 PERSIST", want: errSyntaxText},
		{cmd: "GETEX k EX abc", want: "(nil)"},
		{cmd: "GETEX k EX 0", want: "(nil)"},
		{cmd: "SET k v EX 50", want: "OK"},
		{cmd: "GETEX k EX abc", want: errNotIntText},
		{cmd: "GETEX k EX 0", want: "(error) ERR invalid expire time in 'getex' command"},
		{cmd: "GETEX k PX -1", want: "(error) ERR invalid expire time in 'getex' command"},
		{cmd: "GETEX k EX 9223372036854775807", want: "(error) ERR invalid expire time in 'getex' command"},
		{cmd: "GETEX k PX 9223372036854775807", want: "(error) ERR invalid expire time in 'getex' command"},
		{cmd: "TTL k", want: "(integer) 50"},
		{cmd: "GETEX", want: "(error) ERR wrong number of arguments for 'getex' command"},
	})
}

func TestIncrByFloat(t *testing.T) {
	runSteps(t, []step{
		{cmd: "INCRBYFLOAT f 10.5", want: `"10.5"`},
		{cmd: "INCRBYFLOAT f 0.1", want: `"10.6"`},
		{cmd: "INCRBYFLOAT f 5.0e3", want: `"5010.60000000000000009"`},
		{cmd: "GET f", want: `"5010.60000000000000009"`},
		{cmd: "INCRBYFLOAT f -5010.60000000000000009", want: `"0"`},
		{cmd: "SET n 3", want: "OK"},
		{cmd: "INCRBYFLOAT n 0x10", want: `"19"`},
		{cmd: "SET t 1.5 EX 100", want: "OK"},
		{cmd: "INCRBYFLOAT t 1", want: `"2.5"`},
		{cmd: "TTL t", want: "(integer) 100"}, // the expiry stays

		{cmd: "INCRBYFLOAT f abc", want: "(error) ERR value is not a valid float"},
		{cmd: "INCRBYFLOAT f nan", want: "(error) ERR value is not a valid float"},
		{args: []string{"INCRBYFLOAT", "f", " 1"}, want: "(error) ERR value is not a valid float"},
		{args: []string{"INCRBYFLOAT", "f", ""}, want: "(error) ERR value is not a valid float"},
		{cmd: "INCRBYFLOAT f 1e5000", want: "(error) ERR value is not a valid float"},
		{cmd: "INCRBYFLOAT f inf", want: "(error) ERR increment would produce NaN or Infinity"},
		{cmd: "SET big 1.18973149535723176502e+4932", want: "OK"},
		{cmd: "INCRBYFLOAT big 1.18973149535723176502e+4932", want: "(error) ERR increment would produce NaN or Infinity"},
		{cmd: "GET big", want: `"1.18973149535723176502e+4932"`},
		{cmd: "SET s abc", want: "OK"},
		{cmd: "INCRBYFLOAT s 1", want: "(error) ERR value is not a valid float"},
		{cmd: "GET s", want: `"abc"`},
		{cmd: "INCRBYFLOAT f", want: "(error) ERR wrong number of arguments for 'incrbyfloat' command"},
	})
}

func TestAppendStrlen(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "STRLEN k", want: "(integer) 0"},
		{cmd: "APPEND k ab", want: "(integer) 2"},
		{cmd: "APPEND k cd", want: "(integer) 4"},
		{cmd: "GET k", want: `"abcd"`},
		{cmd: "STRLEN k", want: "(integer) 4"},
		{args: []string{"APPEND", "k", ""}, want: "(integer) 4"},
		{args: []string{"APPEND", "e", ""}, want: "(integer) 0"}, // creates the key
		{cmd: "EXISTS e", want: "(integer) 1"},
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "APPEND t w", want: "(integer) 2"},
		{cmd: "TTL t", want: "(integer) 100"},
		{cmd: "APPEND k", want: "(error) ERR wrong number of arguments for 'append' command"},
		{cmd: "STRLEN", want: "(error) ERR wrong number of arguments for 'strlen' command"},
		{cmd: "STRLEN a b", want: "(error) ERR wrong number of arguments for 'strlen' command"},
	})
	f.store.maxValue = 6
	f.run([]step{
		{cmd: "APPEND k ef", want: "(integer) 6"},
		{cmd: "APPEND k g", want: "(error) ERR string exceeds maximum allowed size (max_value_size)"},
		{cmd: "GET k", want: `"abcdef"`},
	})
}

func TestGetRange(t *testing.T) {
	steps := []step{
		{cmd: "SET k Hello", want: "OK"},
		{cmd: "GETRANGE missing 0 -1", want: `""`},
		{cmd: "GETRANGE missing x 1", want: errNotIntText}, // the integers come first
	}
	for _, c := range []struct{ start, end, want string }{
		{"0", "-1", "Hello"}, {"0", "0", "H"}, {"1", "3", "ell"}, {"-3", "-1", "llo"},
		{"-100", "100", "Hello"}, {"3", "1", ""}, {"5", "10", ""}, {"4", "4", "o"},
		{"-1", "-3", ""}, {"-3", "-100", ""}, {"-100", "-100", "H"}, {"0", "-100", "H"},
		{"-9223372036854775808", "9223372036854775807", "Hello"},
		{"9223372036854775807", "-9223372036854775808", ""},
	} {
		steps = append(steps, step{cmd: "GETRANGE k " + c.start + " " + c.end, want: strconv.Quote(c.want)},
			step{cmd: "SUBSTR k " + c.start + " " + c.end, want: strconv.Quote(c.want)})
	}
	steps = append(steps,
		step{cmd: "GETRANGE k 0 1.5", want: errNotIntText},
		step{cmd: "GETRANGE k 9223372036854775808 1", want: errNotIntText},
		step{args: []string{"SET", "e", ""}, want: "OK"},
		step{cmd: "GETRANGE e 0 -1", want: `""`},
		step{cmd: "GETRANGE k 0", want: "(error) ERR wrong number of arguments for 'getrange' command"},
		step{cmd: "SUBSTR k 0 1 2", want: "(error) ERR wrong number of arguments for 'substr' command"},
	)
	runSteps(t, steps)
}

func TestSetRange(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "SETRANGE k 0 Hello", want: "(integer) 5"},
		{cmd: "SETRANGE k 1 a", want: "(integer) 5"},
		{cmd: "GET k", want: `"Hallo"`},
		{cmd: "SETRANGE k 7 !", want: "(integer) 8"},
		{cmd: "GET k", want: `"Hallo\x00\x00!"`},
		{cmd: "SETRANGE n 3 x", want: "(integer) 4"},
		{cmd: "GET n", want: `"\x00\x00\x00x"`},
		{args: []string{"SETRANGE", "k", "100", ""}, want: "(integer) 8"},    // nothing written
		{args: []string{"SETRANGE", "none", "100", ""}, want: "(integer) 0"}, // nor created
		{cmd: "EXISTS none", want: "(integer) 0"},
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "SETRANGE t 0 w", want: "(integer) 1"},
		{cmd: "TTL t", want: "(integer) 100"},
		{cmd: "SETRANGE k -1 x", want: "(error) ERR offset is out of range"},
		{cmd: "SETRANGE k x x", want: errNotIntText},
		{cmd: "SETRANGE k 9223372036854775808 x", want: errNotIntText},
		{cmd: "SETRANGE k 9223372036854775807 x", want: "(error) ERR string exceeds maximum allowed size (max_value_size)"},
		{cmd: "SETRANGE k 536870912 x", want: "(error) ERR string exceeds maximum allowed size (max_value_size)"},
		{cmd: "SETRANGE k 0", want: "(error) ERR wrong number of arguments for 'setrange' command"},
	})
	f.store.maxValue = 10
	f.run([]step{
		{cmd: "SETRANGE k 9 x", want: "(integer) 10"},
		{cmd: "SETRANGE k 10 x", want: "(error) ERR string exceeds maximum allowed size (max_value_size)"},
		{cmd: "SETRANGE k 8 " + strings.Repeat("y", 3), want: "(error) ERR string exceeds maximum allowed size (max_value_size)"},
		{cmd: "STRLEN k", want: "(integer) 10"},
	})
}
