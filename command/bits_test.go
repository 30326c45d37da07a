package command

import "testing"

// The expected replies are redis-server 7.0's for the same commands.
func TestBitCommands(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "SET b foobar", want: "OK"},
		{cmd: "BITCOUNT b", want: "(integer) 26"},
		{cmd: "BITCOUNT b 0 0", want: "(integer) 4"},
		{cmd: "BITCOUNT b 1 1", want: "(integer) 6"},
		{cmd: "BITCOUNT b 1 1 bit", want: "(integer) 1"},
		{cmd: "BITCOUNT b 5 30 BIT", want: "(integer) 17"},
		{cmd: "BITCOUNT b -2 -1", want: "(integer) 7"},
		{cmd: "BITCOUNT b -1 -2", want: "(integer) 0"},
		{cmd: "BITCOUNT b 0", want: errSyntaxText},
		{cmd: "BITCOUNT b 0 1 foo", want: errSyntaxText},
		{cmd: "BITCOUNT b a 1", want: errNotIntText},
		{cmd: "BITCOUNT nokey 0", want: "(integer) 0"}, // a missing key first
		{cmd: "BITCOUNT nokey a b c d", want: "(integer) 0"},

		{cmd: "BITPOS b 1", want: "(integer) 1"},
		{cmd: "BITPOS b 0", want: "(integer) 0"},
		{cmd: "BITPOS b 1 2", want: "(integer) 17"},
		{cmd: "BITPOS b 1 2 -1 byte", want: "(integer) 17"},
		{cmd: "BITPOS b 1 7 15 bit", want: "(integer) 9"},
		{cmd: "BITPOS b 0 0 -1 bit", want: "(integer) 0"},
		{cmd: "BITPOS nokey 0", want: "(integer) 0"},
		{cmd: "BITPOS nokey 1", want: "(integer) -1"},
		{cmd: "BITPOS nokey 1 a b c d e", want: "(integer) -1"},
		{cmd: "BITPOS b 2", want: "(error) ERR The bit argument must be 1 or 0."},
		{cmd: "BITPOS b x", want: errNotIntText},
		{cmd: "BITPOS b 1 0 1 2 3", want: errSyntaxText},
		{cmd: "BITPOS b 1 0 bit", want: errNotIntText},

		{cmd: "GETBIT b 7", want: "(integer) 0"},
		{cmd: "GETBIT b 1", want: "(integer) 1"},
		{cmd: "GETBIT b 100000", want: "(integer) 0"},
		{cmd: "GETBIT b -1", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "GETBIT nokey 3", want: "(integer) 0"},

		{cmd: "SETBIT s 7 1", want: "(integer) 0"},
		{cmd: "GET s", want: `"\x01"`},
		{cmd: "SETBIT s 7 0", want: "(integer) 1"},
		{cmd: "SETBIT s 17 1", want: "(integer) 0"},
		{cmd: "GET s", want: `"\x00\x00@"`},
		{cmd: "SETBIT s 7 2", want: "(error) ERR bit is not an integer or out of range"},
		{cmd: "SETBIT s 8 -1", want: "(error) ERR bit is not an integer or out of range"},
		{cmd: "SETBIT s x 1", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "SETBIT t 0 1", want: "(integer) 0"},
		{cmd: "TTL t", want: "(integer) 100"},
		{cmd: "SET ones \xff\xff", want: "OK"},
		{cmd: "BITPOS ones 0", want: "(integer) 16"}, // the bits past the end are clear
		{cmd: "BITPOS ones 0 0", want: "(integer) 16"},
		{cmd: "BITPOS ones 0 0 -1", want: "(integer) -1"}, // but not past a given end
		{cmd: "BITPOS ones 0 0 -1 bit", want: "(integer) -1"},
	})
	// Offsets are bounded by the value-size limit, as Redis bounds them by
	// proto-max-bulk-len, whether or not the key exists.
	f.store.maxValue = 4
	f.run([]step{
		{cmd: "GETBIT nokey 31", want: "(integer) 0"},
		{cmd: "GETBIT nokey 32", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "SETBIT n 32 1", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "SETBIT n 32 5", want: "(error) ERR bit offset is not an integer or out of range"}, // the offset first
		{cmd: "SETBIT n 31 1", want: "(integer) 0"},
		{cmd: "STRLEN n", want: "(integer) 4"},
	})
}
