package command

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDelExists(t *testing.T) {
	runSteps(t, []step{
		{cmd: "MSET a 1 b 2 c 3", want: "OK"},
		{cmd: "EXISTS a", want: "(integer) 1"},
		{cmd: "EXISTS a a b nope", want: "(integer) 3"},
		{cmd: "DEL a nope", want: "(integer) 1"},
		{cmd: "DEL a", want: "(integer) 0"},
		{cmd: "UNLINK b c", want: "(integer) 2"},
		{cmd: "EXISTS a b c", want: "(integer) 0"},
		{cmd: "DEL", want: "(error) ERR wrong number of arguments for 'del' command"},
		{cmd: "UNLINK", want: "(error) ERR wrong number of arguments for 'unlink' command"},
		{cmd: "EXISTS", want: "(error) ERR wrong number of arguments for 'exists' command"},
	})
}

func TestExpire(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		{cmd: "TTL k", want: "(integer) -1"},
		{cmd: "PTTL k", want: "(integer) -1"},
		{cmd: "TTL nope", want: "(integer) -2"},
		{cmd: "PTTL nope", want: "(integer) -2"},
		{cmd: "EXPIRE nope 10", want: "(integer) 0"},
		{cmd: "EXPIRE k 10", want: "(integer) 1"},
		{cmd: "TTL k", want: "(integer) 10"},
		{cmd: "PTTL k", want: "(integer) 10000"},
		// TTL rounds to the nearest second, as Redis.
		{cmd: "TTL k", advance: 8500 * time.Millisecond, want: "(integer) 2"},
		{cmd: "TTL k", advance: time.Millisecond, want: "(integer) 1"},
		{cmd: "PEXPIRE k 1500", want: "(integer) 1"},
		{cmd: "PTTL k", want: "(integer) 1500"},
		{cmd: "PERSIST k", want: "(integer) 1"},
		{cmd: "PERSIST k", want: "(integer) 0"},
		{cmd: "PERSIST nope", want: "(integer) 0"},
		{cmd: "TTL k", want: "(integer) -1"},

		// A time not in the future deletes the key and still answers 1.
		{cmd: "EXPIRE k -1", want: "(integer) 1"},
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "PEXPIRE k 0", want: "(integer) 1"},
		{cmd: "GET k", want: "(nil)"},

		{cmd: "EXPIRE k abc", want: errNotIntText},
		{cmd: "EXPIRE k 1.5", want: errNotIntText},
		{cmd: "EXPIRE k 9223372036854775807", want: "(error) ERR invalid expire time in 'expire' command"},
		{cmd: "EXPIRE k -9223372036854775808", want: "(error) ERR invalid expire time in 'expire' command"},
		{cmd: "PEXPIRE k 9223372036854775807", want: "(error) ERR invalid expire time in 'pexpire' command"},
		{cmd: "EXPIREAT k 9223372036854775807", want: "(error) ERR invalid expire time in 'expireat' command"},
		{cmd: "EXPIRE k", want: "(error) ERR wrong number of arguments for 'expire' command"},
		{cmd: "PERSIST", want: "(error) ERR wrong number of arguments for 'persist' command"},
		{cmd: "TTL", want: "(error) ERR wrong number of arguments for 'ttl' command"},
		{cmd: "PTTL a b", want: "(error) ERR wrong number of arguments for 'pttl' command"},
	})
}

func TestExpireAt(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		{cmd: "EXPIREAT k " + epochPlus(100*time.Second, false), want: "(integer) 1"},
		{cmd: "TTL k", want: "(integer) 100"},
		{cmd: "PEXPIREAT k " + epochPlus(2500*time.Millisecond, true), want: "(integer) 1"},
		{cmd: "PTTL k", want: "(integer) 2500"},
		{cmd: "EXPIREAT nope " + epochPlus(100*time.Second, false), want: "(integer) 0"},
		{cmd: "PEXPIREAT k 9223372036854775807", want: "(integer) 1"},
		{cmd: "EXPIREAT k 1", want: "(integer) 1"},
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "PEXPIREAT k x", want: errNotIntText},
	})
}

func TestExpireOptions(t *testing.T) {
	const nxErr = "(error) ERR NX and XX, GT or LT options at the same time are not compatible"
	const gtltErr = "(error) ERR GT and LT options at the same time are not compatible"
	in := func(d time.Duration) string { return epochPlus(d, true) }
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		// No expiry: NX sets one, XX and GT refuse, LT sets one.
		{cmd: "EXPIRE k 10 XX", want: "(integer) 0"},
		{cmd: "EXPIRE k 10 GT", want: "(integer) 0"},
		{cmd: "TTL k", want: "(integer) -1"},
		{cmd: "EXPIRE k 10 nx", want: "(integer) 1"},
		{cmd: "TTL k", want: "(integer) 10"},
		{cmd: "EXPIRE k 20 NX", want: "(integer) 0"},
		{cmd: "EXPIRE k 20 xx", want: "(integer) 1"},
		{cmd: "TTL k", want: "(integer) 20"},
		{cmd: "EXPIRE k 20 GT", want: "(integer) 0"}, // equal is not greater
		{cmd: "EXPIRE k 30 GT", want: "(integer) 1"},
		{cmd: "EXPIRE k 30 LT", want: "(integer) 0"},
		{cmd: "EXPIRE k 40 LT", want: "(integer) 0"},
		{cmd: "PEXPIRE k 15000 LT XX", want: "(integer) 1"},
		{cmd: "PTTL k", want: "(integer) 15000"},
		{cmd: "PEXPIREAT k " + in(16*time.Second) + " GT XX GT", want: "(integer) 1"},
		{cmd: "PTTL k", want: "(integer) 16000"},
		{cmd: "EXPIREAT k " + epochPlus(5*time.Second, false) + " LT", want: "(integer) 1"},
		{cmd: "EXPIRETIME k", want: "(integer) " + epochPlus(5*time.Second, false)},
		// A past time that the options allow deletes the key.
		{cmd: "EXPIRE k -1 GT", want: "(integer) 0"},
		{cmd: "EXISTS k", want: "(integer) 1"},
		{cmd: "EXPIRE k -1 LT", want: "(integer) 1"},
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "PEXPIREAT k 0 LT", want: "(integer) 1"},
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "EXPIRE nope 10 NX", want: "(integer) 0"},
		{cmd: "EXPIRE nope 10 LT", want: "(integer) 0"},

		// The options are checked before the time, in Redis's order.
		{cmd: "EXPIRE k 10 NX XX", want: nxErr},
		{cmd: "EXPIRE k 10 NX GT", want: nxErr},
		{cmd: "EXPIRE k 10 LT NX", want: nxErr},
		{cmd: "EXPIRE k 10 NX GT LT", want: nxErr},
		{cmd: "PEXPIRE k 10 GT LT", want: gtltErr},
		{cmd: "EXPIRE k abc GT LT", want: gtltErr},
		{cmd: "EXPIRE k 10 FOO", want: "(error) ERR Unsupported option FOO"},
		{cmd: "EXPIRE k 10 NX XX FOO", want: "(error) ERR Unsupported option FOO"},
		{cmd: "EXPIRE k abc foo", want: "(error) ERR Unsupported option foo"},
		{args: []string{"EXPIRE", "k", "10", "a\x00b"}, want: "(error) ERR Unsupported option a"},
		{args: []string{"EXPIRE", "k", "10", "a\r\nb\r\n"}, want: "(error) ERR Unsupported option a  b"},
		{cmd: "EXPIRE k abc NX", want: errNotIntText},
		{cmd: "EXPIRE k 9223372036854775807 XX", want: "(error) ERR invalid expire time in 'expire' command"},
	})
}

func TestExpireTime(t *testing.T) {
	runSteps(t, []step{
		{cmd: "EXPIRETIME nope", want: "(integer) -2"},
		{cmd: "PEXPIRETIME nope", want: "(integer) -2"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "EXPIRETIME k", want: "(integer) -1"},
		{cmd: "PEXPIRETIME k", want: "(integer) -1"},
		{cmd: "PEXPIREAT k " + epochPlus(1999*time.Millisecond, true), want: "(integer) 1"},
		{cmd: "PEXPIRETIME k", want: "(integer) " + epochPlus(1999*time.Millisecond, true)},
		// Rounded to the nearest second, as Redis does.
		{cmd: "EXPIRETIME k", want: "(integer) " + epochPlus(2*time.Second, false)},
		{cmd: "PEXPIREAT k " + epochPlus(1499*time.Millisecond, true), want: "(integer) 1"},
		{cmd: "EXPIRETIME k", want: "(integer) " + epochPlus(time.Second, false)},
		{cmd: "EXPIRETIME k", advance: 2 * time.Second, want: "(integer) -2"},
		{cmd: "EXPIRETIME", want: "(error) ERR wrong number of arguments for 'expiretime' command"},
		{cmd: "PEXPIRETIME a b", want: "(error) ERR wrong number of arguments for 'pexpiretime' command"},
	})
}

func TestRename(t *testing.T) {
	runSteps(t, []step{
		{cmd: "RENAME a b", want: "(error) ERR no such key"},
		{cmd: "RENAMENX a b", want: "(error) ERR no such key"},
		{cmd: "RENAME a a", want: "(error) ERR no such key"},
		{cmd: "SET a 1 EX 100", want: "OK"},
		{cmd: "RENAME a a", want: "OK"},
		{cmd: "RENAMENX a a", want: "(integer) 0"},
		{cmd: "TTL a", want: "(integer) 100"},
		{cmd: "SET b 2", want: "OK"},
		{cmd: "RENAMENX a b", want: "(integer) 0"},
		{cmd: "RENAME a b", want: "OK"},
		{cmd: "MGET a b", want: `[(nil) "1"]`},
		{cmd: "TTL b", want: "(integer) 100"},
		{cmd: "SET c 3", want: "OK"},
		{cmd: "RENAME c b", want: "OK"}, // b's expiry goes with its old value
		{cmd: "TTL b", want: "(integer) -1"},
		{cmd: "renamenx b d", want: "(integer) 1"},
		{cmd: "MGET b d", want: `[(nil) "3"]`},
		{cmd: "SET e 5 PX 10", want: "OK"},
		{cmd: "RENAME e f", advance: 10 * time.Millisecond, want: "(error) ERR no such key"},
		{cmd: "SET f 6 PX 10", want: "OK"},
		{cmd: "RENAMENX d f", advance: 10 * time.Millisecond, want: "(integer) 1"},
		{cmd: "GET f", want: `"3"`},
		{cmd: "RENAME a", want: "(error) ERR wrong number of arguments for 'rename' command"},
		{cmd: "RENAMENX a b c", want: "(error) ERR wrong number of arguments for 'renamenx' command"},
	})
}

func TestCopy(t *testing.T) {
	const same = "(error) ERR source and destination objects are the same"
	runSteps(t, []step{
		{cmd: "COPY a b", want: "(integer) 0"},
		{cmd: "COPY a a", want: same},
		{cmd: "SET a 1 EX 100", want: "OK"},
		{cmd: "COPY a b", want: "(integer) 1"},
		{cmd: "MGET a b", want: `["1" "1"]`},
		{cmd: "TTL b", want: "(integer) 100"},
		{cmd: "SET a 2", want: "OK"},
		{cmd: "COPY a b", want: "(integer) 0"},
		{cmd: "GET b", want: `"1"`},
		{cmd: "COPY a b REPLACE", want: "(integer) 1"},
		{cmd: "GET b", want: `"2"`},
		{cmd: "TTL b", want: "(integer) -1"},
		{cmd: "COPY a c db 0 replace", want: "(integer) 1"},
		{cmd: "COPY a c REPLACE REPLACE DB 0 DB 0", want: "(integer) 1"},
		{cmd: "COPY a a DB 0", want: same},
		{cmd: "COPY nope nope", want: same},
		{cmd: "COPY a c DB 1", want: "(error) ERR DB index is out of range"},
		{cmd: "COPY nope c DB -1", want: "(error) ERR DB index is out of range"},
		{cmd: "COPY a a DB 1", want: "(error) ERR DB index is out of range"},
		{cmd: "COPY a c DB 1 FOO", want: "(error) ERR DB index is out of range"},
		{cmd: "COPY a c FOO DB 1", want: errSyntaxText},
		{cmd: "COPY a c DB x", want: errNotIntText},
		{cmd: "COPY a c DB 2147483648", want: "(error) ERR value is out of range, value must between -2147483648 and 2147483647"},
		{cmd: "COPY a c DB", want: errSyntaxText},
		{cmd: "COPY a c REPLACE DB", want: errSyntaxText},
		{cmd: "COPY a", want: "(error) ERR wrong number of arguments for 'copy' command"},
	})
}

func TestTypeTouchKeysRandomKey(t *testing.T) {
	runSteps(t, []step{
		{cmd: "RANDOMKEY", want: "(nil)"},
		{cmd: "KEYS *", want: "[]"},
		{cmd: "TYPE a", want: "none"},
		{cmd: "MSET b 1 a 2 ab 3", want: "OK"},
		{cmd: "SET tmp 4 PX 10", want: "OK"},
		{cmd: "TYPE a", want: "string"},
		{cmd: "TOUCH a b a nope", want: "(integer) 3"},
		{cmd: "KEYS *", want: `["a" "ab" "b" "tmp"]`},
		{cmd: "KEYS a*", want: `["a" "ab"]`},
		{cmd: "KEYS ?", want: `["a" "b"]`},
		{cmd: "KEYS [^a]*", want: `["b" "tmp"]`},
		{cmd: "KEYS nope", want: "[]"},
		{cmd: "KEYS *", advance: 10 * time.Millisecond, want: `["a" "ab" "b"]`},
		{cmd: "TYPE tmp", want: "none"},
		{cmd: "RANDOMKEY", want: `"a"`},
		{cmd: "TYPE", want: "(error) ERR wrong number of arguments for 'type' command"},
		{cmd: "KEYS", want: "(error) ERR wrong number of arguments for 'keys' command"},
		{cmd: "KEYS a b", want: "(error) ERR wrong number of arguments for 'keys' command"},
		{cmd: "RANDOMKEY x", want: "(error) ERR wrong number of arguments for 'randomkey' command"},
		{cmd: "TOUCH", want: "(error) ERR wrong number of arguments for 'touch' command"},
	})
}

func TestObject(t *testing.T) {
	const freqErr = "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. " +
		"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	long := strings.Repeat("x", 45)
	steps := []step{
		{cmd: "OBJECT ENCODING nope", want: "(nil)"},
		{cmd: "OBJECT REFCOUNT nope", want: "(nil)"},
		{cmd: "OBJECT FREQ nope", want: "(nil)"},
		{cmd: "OBJECT IDLETIME nope", want: "(nil)"},
		{cmd: "SET k v", want: "OK"},
		{cmd: "OBJECT FREQ k", want: freqErr},
		{cmd: "OBJECT IDLETIME k", want: "(integer) 0"},
		{cmd: "OBJECT IDLETIME k", advance: 3 * time.Second, want: "(integer) 3"},
		{cmd: "OBJECT ENCODING k", advance: 2 * time.Second, want: `"embstr"`},
		{cmd: "EXISTS k", want: "(integer) 1"},
		{cmd: "TYPE k", want: "string"},
		{cmd: "OBJECT IDLETIME k", want: "(integer) 5"},
		{cmd: "GET k", want: `"v"`},
		{cmd: "OBJECT IDLETIME k", want: "(integer) 0"},
		{cmd: "TOUCH k", advance: 4 * time.Second, want: "(integer) 1"},
		{cmd: "OBJECT IDLETIME k", want: "(integer) 0"},
		{cmd: "OBJECT foo k", want: "(error) ERR unknown subcommand 'foo'. Try OBJECT HELP."},
		{cmd: "OBJECT", want: "(error) ERR wrong number of arguments for 'object' command"},
		{cmd: "OBJECT ENCODING", want: "(error) ERR wrong number of arguments for 'object|encoding' command"},
		{cmd: "object encoding a b", want: "(error) ERR wrong number of arguments for 'object|encoding' command"},
		{cmd: "OBJECT HELP x", want: "(error) ERR wrong number of arguments for 'object|help' command"},
	}
	for _, c := range []struct {
		value, enc string
		refcount   int64
	}{
		{"0", "int", 2147483647}, {"9999", "int", 2147483647}, {"10000", "int", 1}, {"-1", "int", 1},
		{"9223372036854775807", "int", 1}, {"-9223372036854775808", "int", 1},
		{"9223372036854775808", "embstr", 1}, {"01", "embstr", 1}, {"+1", "embstr", 1}, {"-0", "embstr", 1},
		{" 1", "embstr", 1}, {"", "embstr", 1}, {"1.5", "embstr", 1}, {long[:44], "embstr", 1}, {long, "raw", 1},
	} {
		steps = append(steps,
			step{args: []string{"SET", "k", c.value}, want: "OK"},
			step{cmd: "OBJECT ENCODING k", want: strconv.Quote(c.enc)},
			step{cmd: "OBJECT REFCOUNT k", want: "(integer) " + strconv.FormatInt(c.refcount, 10)})
	}
	f := runSteps(t, steps)
	help := f.exec("OBJECT", "HELP")
	if len(help.Array) != len(objectHelpLines) || help.Array[0].String() != "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" ||
		help.Array[len(help.Array)-1].String() != "    Prints this help." {
		t.Fatalf("OBJECT HELP = %s", help)
	}
}

func TestScan(t *testing.T) {
	f := newFixture(t, Config{})
	keys := strings.Fields("a b c d e f g h i j k l")
	for _, k := range keys {
		f.exec("SET", k, "v")
	}
	f.run([]step{
		{cmd: "SCAN 0", want: `["10" ["a" "b" "c" "d" "e" "f" "g" "h" "i" "j"]]`},
		{cmd: "SCAN 10", want: `["0" ["k" "l"]]`},
		{cmd: "SCAN 0 COUNT 5", want: `["5" ["a" "b" "c" "d" "e"]]`},
		{cmd: "scan 0 count 100 match [ak]", want: `["0" ["a" "k"]]`},
		{cmd: "SCAN 0 MATCH * COUNT 3", want: `["3" ["a" "b" "c"]]`},
		{cmd: "SCAN 0 MATCH z* COUNT 3", want: `["3" []]`},
		{cmd: "SCAN 0 COUNT 20 TYPE string", want: `["0" ["a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l"]]`},
		{cmd: "SCAN 0 COUNT 3 TYPE hash", want: `["3" []]`},
		{cmd: "SCAN 0 COUNT 2 COUNT 4", want: `["4" ["a" "b" "c" "d"]]`},
		{cmd: "SCAN 99", want: `["0" []]`},
		{cmd: "SCAN 18446744073709551615", want: `["0" []]`},

		{cmd: "SCAN x", want: "(error) ERR invalid cursor"},
		{cmd: "SCAN -1", want: "(error) ERR invalid cursor"},
		{cmd: "SCAN 18446744073709551616", want: "(error) ERR invalid cursor"},
		{args: []string{"SCAN", ""}, want: "(error) ERR invalid cursor"},
		{cmd: "SCAN 0 COUNT 0", want: errSyntaxText},
		{cmd: "SCAN 0 COUNT -1", want: errSyntaxText},
		{cmd: "SCAN 0 COUNT x", want: errNotIntText},
		{cmd: "SCAN 0 MATCH", want: errSyntaxText},
		{cmd: "SCAN 0 FOO bar", want: errSyntaxText},
		{cmd: "SCAN", want: "(error) ERR wrong number of arguments for 'scan' command"},

		{cmd: "DBSIZE", want: "(integer) 12"},
	})
}

// TestEmptyKeyPatterns: KEYS and SCAN MATCH "" match the empty key only,
// "*" alone matches it too, no other star does (Redis's stringmatchlen),
// and SCAN without MATCH is every key.
func TestEmptyKeyPatterns(t *testing.T) {
	f := newFixture(t, Config{})
	f.run([]step{
		{args: []string{"KEYS", ""}, want: "[]"},
		{args: []string{"SCAN", "0", "MATCH", ""}, want: `["0" []]`},
		{args: []string{"SET", "", "v"}, want: "OK"},
		{cmd: "SET a v", want: "OK"},
		{args: []string{"KEYS", ""}, want: `[""]`},
		{cmd: "KEYS *", want: `["" "a"]`},
		{cmd: "KEYS **", want: `["a"]`},
		{cmd: "KEYS ?", want: `["a"]`},
		{args: []string{"SCAN", "0", "MATCH", ""}, want: `["0" [""]]`},
		{args: []string{"SCAN", "0", "MATCH", "", "MATCH", "a"}, want: `["0" ["a"]]`},
		{args: []string{"SCAN", "0", "MATCH", "a", "MATCH", ""}, want: `["0" [""]]`},
		{cmd: "SCAN 0 MATCH *", want: `["0" ["" "a"]]`},
		{cmd: "SCAN 0 MATCH *?", want: `["0" ["a"]]`},
		{cmd: "SCAN 0", want: `["0" ["" "a"]]`},
		{args: []string{"SCAN", "0", "MATCH", "", "TYPE", "list"}, want: `["0" []]`},
	})
}
