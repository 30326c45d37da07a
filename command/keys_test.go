package command

import (
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
	const unsupported = "(error) ERR the NX, XX, GT and LT options of EXPIRE are not supported by pykv"
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		{cmd: "EXPIRE k 10 NX", want: unsupported},
		{cmd: "PEXPIRE k 10 xx", want: unsupported},
		{cmd: "EXPIREAT k 10 GT", want: unsupported},
		{cmd: "PEXPIREAT k 10 LT", want: unsupported},
		{cmd: "EXPIRE k 10 FOO", want: "(error) ERR Unsupported option FOO"},
		{cmd: "EXPIRE k 10 NX FOO", want: "(error) ERR Unsupported option FOO"},
		{cmd: "TTL k", want: "(integer) -1"},
	})
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
