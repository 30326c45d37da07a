package main

import (
	"strings"
	"testing"
	"time"
)

// objectBuildScript walks OBJECT ENCODING and OBJECT REFCOUNT through
// every way issue 16's commands build a value, on keys under prefix p:
// Redis encodes by its bytes what SET and its kin store, but keeps raw
// what APPEND (to an existing key), SETRANGE, SETBIT and BITOP changed
// or built, gives INCRBYFLOAT's result a string encoding by length, makes
// COPY's copy of an integer an unshared one, and keeps the object through
// RENAME and the commands that change only the expiry. It ends with the
// same inside MULTI/EXEC.
func objectBuildScript(p string, _ time.Time) [][]string {
	k := func(name string) string { return p + name }
	a, b, c, d := k("a"), k("b"), k("c"), k("d")
	var s [][]string
	add := func(cmds ...[]string) { s = append(s, cmds...) }
	// obj asks both questions of each key.
	obj := func(keys ...string) {
		for _, key := range keys {
			add([]string{"OBJECT", "ENCODING", key}, []string{"OBJECT", "REFCOUNT", key})
		}
	}
	values := []string{"12", "5", "0", "9999", "10000", "123456", "-1", "hello", "1.5",
		strings.Repeat("y", 44), strings.Repeat("y", 45)}

	for _, v := range values {
		// APPEND to an existing key, even of nothing, unshares it as raw.
		add([]string{"SET", a, v}, []string{"APPEND", a, "3"})
		obj(a)
		add([]string{"SET", a, v}, []string{"APPEND", a, ""})
		obj(a)
		add([]string{"APPEND", a, ""}) // already raw: stays so
		obj(a)
		// APPEND to a missing key stores the value as SET does.
		add([]string{"DEL", a}, []string{"APPEND", a, v})
		obj(a)
		// SETRANGE of an existing key, even to the same bytes; of nothing
		// it changes nothing.
		add([]string{"SET", a, v}, []string{"SETRANGE", a, "0", "1"})
		obj(a)
		add([]string{"SET", a, v}, []string{"SETRANGE", a, "0", v[:1]})
		obj(a)
		add([]string{"SET", a, v}, []string{"SETRANGE", a, "3", ""})
		obj(a)
		add([]string{"SET", a, v}, []string{"SETRANGE", a, "50", "x"})
		obj(a)
		// SETBIT of an existing key, the bit changed or not, grown or not.
		add([]string{"SET", a, v}, []string{"SETBIT", a, "0", "1"})
		obj(a)
		add([]string{"SET", a, v}, []string{"SETBIT", a, "0", "0"})
		obj(a)
		add([]string{"SET", a, v}, []string{"SETBIT", a, "400", "0"})
		obj(a)
		// BITOP's destination, whatever the bytes.
		add([]string{"SET", b, v}, []string{"BITOP", "OR", c, b})
		obj(c)
		add([]string{"BITOP", "AND", c, b, b}, []string{"BITOP", "NOT", c, b})
		obj(c)
		// COPY: raw stays raw, embstr embstr, an integer becomes unshared.
		add([]string{"SET", a, v}, []string{"COPY", a, b, "REPLACE"})
		obj(a, b)
		add([]string{"COPY", b, c, "REPLACE"})
		obj(c)
		add([]string{"APPEND", a, "7"}, []string{"COPY", a, b, "REPLACE"})
		obj(b)
		// RENAME and RENAMENX move the object as it is.
		add([]string{"SET", a, v}, []string{"COPY", a, b, "REPLACE"}, []string{"RENAME", b, c})
		obj(c)
		add([]string{"DEL", d}, []string{"RENAMENX", c, d})
		obj(d)
		add([]string{"SET", a, v}, []string{"SETRANGE", a, "0", "9"}, []string{"RENAME", a, d})
		obj(d)
		add([]string{"SET", a, v}, []string{"RENAME", a, d})
		obj(d)
		// SET and its kin encode by the value again.
		for _, set := range [][]string{
			{"SET", a, v}, {"SET", a, v, "KEEPTTL"}, {"SET", a, v, "XX", "GET"}, {"GETSET", a, v},
			{"SETEX", a, "100", v}, {"PSETEX", a, "100000", v}, {"MSET", a, v},
		} {
			add([]string{"SET", a, "x"}, []string{"APPEND", a, "y"}, set)
			obj(a)
		}
		add([]string{"SET", a, "x"}, []string{"APPEND", a, "y"}, []string{"DEL", a}, []string{"SETNX", a, v})
		obj(a)
		add([]string{"SET", a, "x"}, []string{"APPEND", a, "y"}, []string{"DEL", a}, []string{"MSETNX", a, v})
		obj(a)
	}

	// INCRBYFLOAT: a string by length, never int, even of an integer.
	for _, incr := range []string{"1", "0", "-1.5", "9998", "1e42", "1e50"} {
		add([]string{"SET", a, "1"}, []string{"INCRBYFLOAT", a, incr})
		obj(a)
		add([]string{"DEL", a}, []string{"INCRBYFLOAT", a, incr})
		obj(a)
		// and its copy, its renamed self, its new expiry keep that.
		add([]string{"COPY", a, b, "REPLACE"}, []string{"RENAME", a, c}, []string{"EXPIRE", c, "100"})
		obj(b, c)
	}

	// INCR and its kin encode by the value, after any build.
	for _, incr := range [][]string{{"INCR", a}, {"DECR", a}, {"INCRBY", a, "20000"}, {"DECRBY", a, "2"}} {
		add([]string{"SET", a, "12"}, []string{"APPEND", a, "3"}, incr)
		obj(a)
		add([]string{"SET", a, "12"}, []string{"INCRBYFLOAT", a, "1"}, incr)
		obj(a)
		add([]string{"SET", a, "12"}, []string{"COPY", a, b, "REPLACE"}, append([]string{incr[0], b}, incr[2:]...))
		obj(b)
	}

	// The commands that change only the expiry keep the build.
	for _, build := range [][]string{{"APPEND", a, "4"}, {"INCRBYFLOAT", a, "0.5"}, {"COPY", d, a, "REPLACE"}} {
		add([]string{"SET", d, "7"}, []string{"SET", a, "8"}, build)
		obj(a)
		for _, ex := range [][]string{
			{"EXPIRE", a, "100"}, {"PEXPIRE", a, "200000", "GT"}, {"EXPIREAT", a, "4102444800", "XX"},
			{"PERSIST", a}, {"GETEX", a, "EX", "100"}, {"GETEX", a, "PERSIST"}, {"GETEX", a},
		} {
			add(ex)
			obj(a)
		}
	}

	// Inside MULTI/EXEC, seeing the transaction's own builds.
	add([]string{"DEL", a, b, c, d}, []string{"SET", d, "5"},
		[]string{"MULTI"},
		[]string{"SET", a, "12"}, []string{"APPEND", a, "3"}, []string{"OBJECT", "ENCODING", a},
		[]string{"COPY", a, b}, []string{"OBJECT", "ENCODING", b},
		[]string{"COPY", d, c}, []string{"OBJECT", "ENCODING", c}, []string{"OBJECT", "REFCOUNT", c},
		[]string{"OBJECT", "REFCOUNT", d},
		[]string{"INCRBYFLOAT", d, "1"}, []string{"OBJECT", "ENCODING", d},
		[]string{"RENAME", a, k("e")}, []string{"EXPIRE", k("e"), "100"}, []string{"OBJECT", "ENCODING", k("e")},
		[]string{"SETBIT", k("f"), "3", "1"}, []string{"OBJECT", "ENCODING", k("f")},
		[]string{"SETRANGE", k("g"), "0", "42"}, []string{"OBJECT", "ENCODING", k("g")},
		[]string{"BITOP", "OR", k("h"), k("g")}, []string{"OBJECT", "ENCODING", k("h")},
		[]string{"SET", k("i"), "x"}, []string{"SETRANGE", k("i"), "0", "1"}, []string{"INCR", k("i")},
		[]string{"OBJECT", "ENCODING", k("i")}, []string{"OBJECT", "REFCOUNT", k("i")},
		[]string{"EXEC"},
	)
	obj(b, c, d, k("e"), k("f"), k("g"), k("h"), k("i"))
	add([]string{"DEL", a, b, c, d, k("e"), k("f"), k("g"), k("h"), k("i")})
	return s
}

// TestObjectEncodingByBuildLikeRedis (twin): OBJECT ENCODING and OBJECT
// REFCOUNT after every command that builds a value (objectBuildScript),
// from pykvd over RESP2, RESP3 and the native protocol, are byte for byte
// what redis-server answers.
func TestObjectEncodingByBuildLikeRedis(t *testing.T) {
	t.Parallel()
	runTwinLegs(t, startTwins(t), objectBuildScript)
}
