package main

import (
	"bufio"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/reply"
)

// How a twin step's two replies are compared.
type cmpMode int

const (
	// cmpExact: byte for byte.
	cmpExact cmpMode = iota
	// cmpSet: an array in the server's own order (KEYS), or SCAN's
	// [cursor, keys]: the same items in any order.
	cmpSet
	// cmpMember: RANDOMKEY: the same bytes, or on each server a key that
	// its KEYS * lists, both listing the same keys.
	cmpMember
	// cmpClose: a time (TTL, PTTL, EXPIRETIME, PEXPIRETIME) that the two
	// servers compute from their own clocks a moment apart: the same when
	// negative, else within twinSlack of the command's unit.
	cmpClose
	// cmpPositive: a positive integer on both servers, each its own
	// estimate (MEMORY USAGE).
	cmpPositive
	// cmpFresh: OBJECT IDLETIME of a key used a moment before: 0 on both
	// servers, or 1 where the server's one-second LRU clock (refreshed ten
	// times a second, on either) turned between the use and the question.
	cmpFresh
)

// twinSlack bounds how far apart the two servers' clocks-based answers
// may be, in milliseconds: the time between the two calls of one step,
// and of the relative EXPIRE that set them.
const twinSlack = 1500

// twinStep is a command of a keyspace twin script and how its replies
// are compared.
type twinStep struct {
	cmd []string
	cmp cmpMode
}

// parseReply reads one RESP reply from its bytes.
func parseReply(t *testing.T, s string) reply.Reply {
	t.Helper()
	r, err := resp.NewReader(bufio.NewReader(strings.NewReader(s)), resp.Limits{}).ReadReply()
	if err != nil {
		t.Fatalf("parse the reply %q: %v", s, err)
	}
	return r
}

// sortedItems renders an array's items, sorted.
func sortedItems(r reply.Reply) []string {
	items := make([]string, len(r.Array))
	for i, it := range r.Array {
		items[i] = it.String()
	}
	slices.Sort(items)
	return items
}

// twinCaller is one side of a comparison: it sends a command and returns
// the reply's RESP bytes.
type twinCaller func(cmd []string) string

// sameReplies compares the replies got (pykvd's) and want
// (redis-server's) to st by st.cmp; the callers let cmpMember ask each
// server its keys.
func sameReplies(t *testing.T, st twinStep, got, want string, pykv, real twinCaller) bool {
	t.Helper()
	if got == want {
		return true
	}
	switch st.cmp {
	case cmpSet:
		g, w := parseReply(t, got), parseReply(t, want)
		if g.Kind != reply.KindArray || w.Kind != reply.KindArray || len(g.Array) != len(w.Array) {
			return false
		}
		if strings.EqualFold(st.cmd[0], "SCAN") && len(g.Array) == 2 {
			return g.Array[0].String() == w.Array[0].String() &&
				slices.Equal(sortedItems(g.Array[1]), sortedItems(w.Array[1]))
		}
		return slices.Equal(sortedItems(g), sortedItems(w))
	case cmpMember:
		g, w := parseReply(t, got), parseReply(t, want)
		if g.Kind != reply.KindBytes || w.Kind != reply.KindBytes {
			return false
		}
		gk, wk := parseReply(t, pykv([]string{"KEYS", "*"})), parseReply(t, real([]string{"KEYS", "*"}))
		gs, ws := sortedItems(gk), sortedItems(wk)
		return slices.Equal(gs, ws) && slices.Contains(gs, g.String()) && slices.Contains(ws, w.String())
	case cmpClose:
		g, w := parseReply(t, got), parseReply(t, want)
		if g.Kind != reply.KindInt || w.Kind != reply.KindInt || g.Int < 0 || w.Int < 0 {
			return false
		}
		slack := int64(twinSlack)
		if name := strings.ToUpper(st.cmd[0]); name == "TTL" || name == "EXPIRETIME" {
			slack = (twinSlack + 999) / 1000
		}
		return max(g.Int-w.Int, w.Int-g.Int) <= slack
	case cmpPositive:
		g, w := parseReply(t, got), parseReply(t, want)
		return g.Kind == reply.KindInt && w.Kind == reply.KindInt && g.Int > 0 && w.Int > 0
	case cmpFresh:
		g, w := parseReply(t, got), parseReply(t, want)
		return g.Kind == reply.KindInt && w.Kind == reply.KindInt && g.Int >= 0 && g.Int <= 1 && w.Int >= 0 && w.Int <= 1
	}
	return false
}

// runKeysTwinLegs runs the script on pykvd and redis-server over RESP2,
// over RESP3 and over pykvd's native protocol (its replies encoded as
// RESP2, against redis-server's RESP2), comparing each step's replies as
// the step says. Every leg starts from an empty dataset and deletes what
// it made, since RANDOMKEY and KEYS see every key.
func runKeysTwinLegs(t *testing.T, tw twins, script func(prefix string, now time.Time) []twinStep) {
	t.Helper()
	leg := func(name string, pykv, real twinCaller) {
		t.Helper()
		for _, st := range script(name+":", time.Now()) {
			got, want := pykv(st.cmd), asPykv(real(st.cmd))
			if !sameReplies(t, st, got, want, pykv, real) {
				t.Errorf("%s %s: pykvd %q, redis-server %q", name, quoteArgs(st.cmd), got, want)
			}
		}
		for _, call := range []twinCaller{pykv, real} {
			keys := parseReply(t, call([]string{"KEYS", "*"}))
			for _, k := range keys.Array {
				call([]string{"DEL", string(k.Bytes)})
			}
		}
	}
	for _, proto := range []int{2, 3} {
		p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
		if proto == 3 {
			hello3(t, p, "pykvd")
			hello3(t, r, "redis-server")
		}
		leg("RESP"+strconv.Itoa(proto),
			func(cmd []string) string { return p.call(cmd...) },
			func(cmd []string) string { return r.call(cmd...) })
	}
	n, r := dialNative(t, tw.pykv.Addr()), dialRESPRaw(t, tw.redisAddr)
	leg("native",
		func(cmd []string) string { return nativeAsRESP2(t, n, cmd) },
		func(cmd []string) string { return r.call(cmd...) })
}

// keysScript is every reply and error case of the keyspace commands of
// issue 16, on keys under prefix p, from an empty dataset. Absolute times
// are computed from now so that both servers get the same ones.
func keysScript(p string, now time.Time) []twinStep {
	k := func(name string) string { return p + name }
	var s []twinStep
	add := func(mode cmpMode, cmds ...[]string) {
		for _, c := range cmds {
			s = append(s, twinStep{cmd: c, cmp: mode})
		}
	}
	exact := func(cmds ...[]string) { add(cmpExact, cmds...) }
	close := func(cmds ...[]string) { add(cmpClose, cmds...) }
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	unixMs := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	const maxInt, minInt = "9223372036854775807", "-9223372036854775808"
	long := strings.Repeat("x", 300)

	// RANDOMKEY of an empty dataset, then of one key.
	exact([]string{"RANDOMKEY"}, []string{"SET", k("only"), "v"}, []string{"RANDOMKEY"},
		[]string{"RANDOMKEY", "x"}, []string{"DEL", k("only")})

	// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX, XX, GT, LT.
	e := k("e")
	exact([]string{"SET", e, "v"}, []string{"EXPIRE", e, "100", "XX"}, []string{"EXPIRE", e, "100", "GT"},
		[]string{"TTL", e}, []string{"EXPIRE", e, "100", "LT"})
	close([]string{"TTL", e})
	exact([]string{"EXPIRE", e, "50", "NX"}, []string{"EXPIRE", e, "200", "gt"})
	close([]string{"TTL", e})
	exact([]string{"EXPIRE", e, "100", "GT"}, []string{"EXPIRE", e, "300", "LT"}, []string{"EXPIRE", e, "100", "lt"})
	close([]string{"TTL", e})
	exact([]string{"PEXPIRE", e, "200000", "GT", "XX"}, []string{"PEXPIRE", e, "100000", "GT", "XX"})
	close([]string{"PTTL", e})
	exact([]string{"EXPIREAT", e, unix(time.Hour), "NX"}, []string{"EXPIREAT", e, unix(time.Hour), "XX"},
		[]string{"EXPIRETIME", e}, []string{"PEXPIRETIME", e}, []string{"EXPIREAT", e, unix(time.Hour), "GT"},
		[]string{"PEXPIREAT", e, unixMs(time.Hour + 1), "GT"}, []string{"PEXPIRETIME", e},
		[]string{"PEXPIREAT", e, unixMs(time.Hour), "LT", "LT"}, []string{"PEXPIRETIME", e},
		[]string{"EXPIRETIME", e}, []string{"PERSIST", e}, []string{"EXPIRETIME", e}, []string{"PEXPIRETIME", e},
		// No expiry is an infinite one: GT refuses, LT takes even a past time.
		[]string{"EXPIRE", e, "100", "GT"}, []string{"EXPIRE", e, "-1", "GT"}, []string{"EXPIRE", e, "-1", "LT"},
		[]string{"EXISTS", e}, []string{"SET", e, "v", "EX", "100"}, []string{"EXPIRE", e, "-1", "GT"},
		[]string{"EXPIREAT", e, "0", "XX", "LT"}, []string{"EXISTS", e},
		[]string{"SET", e, "v", "EX", "100"}, []string{"EXPIREAT", e, unix(-time.Hour), "XX"}, []string{"GET", e},
		[]string{"SET", e, "v"}, []string{"PEXPIREAT", e, unixMs(-time.Hour), "NX"}, []string{"GET", e},
		[]string{"EXPIRE", k("none"), "10", "NX"}, []string{"EXPIRE", k("none"), "10", "LT"},
		[]string{"EXPIREAT", k("none"), "10", "XX"}, []string{"EXPIRETIME", k("none")}, []string{"PEXPIRETIME", k("none")},
		// Errors: the options first, in Redis's order, then the time.
		[]string{"SET", e, "v"},
		[]string{"EXPIRE", e, "10", "NX", "XX"}, []string{"EXPIRE", e, "10", "NX", "GT"}, []string{"EXPIRE", e, "10", "LT", "NX"},
		[]string{"EXPIRE", e, "10", "XX", "GT", "LT"}, []string{"PEXPIRE", e, "10", "GT", "LT"},
		[]string{"EXPIREAT", e, "abc", "GT", "LT"}, []string{"PEXPIREAT", e, "10", "NX", "NX", "XX"},
		[]string{"EXPIRE", e, "10", "FOO"}, []string{"EXPIRE", e, "10", "nx", "xx", "foo"}, []string{"EXPIRE", e, "abc", "foo"},
		[]string{"EXPIRE", e, "10", "a\x00b"}, []string{"EXPIRE", e, "10", "a\r\nb"}, []string{"EXPIRE", e, "10", "opt\r\n"},
		[]string{"EXPIRE", e, "10", "\r\n"}, []string{"EXPIRE", e, "10", ""}, []string{"EXPIRE", e, "10", long},
		[]string{"EXPIRE", k("none"), "10", "NX", "XX"}, []string{"EXPIRE", e, "abc", "NX"},
		[]string{"EXPIRE", e, maxInt, "XX"}, []string{"PEXPIRE", e, maxInt, "NX"}, []string{"EXPIREAT", e, minInt, "GT"},
		[]string{"TTL", e}, []string{"EXPIRE", e}, []string{"EXPIRETIME"}, []string{"PEXPIRETIME", e, e},
	)

	// RENAME and RENAMENX.
	r1, r2, r3, r4 := k("r1"), k("r2"), k("r3"), k("r4")
	exact([]string{"RENAME", k("none"), r1}, []string{"RENAMENX", k("none"), r1}, []string{"RENAME", k("none"), k("none")},
		[]string{"SET", r1, "v", "EXAT", unix(time.Hour)}, []string{"RENAME", r1, r1}, []string{"RENAMENX", r1, r1},
		[]string{"EXPIRETIME", r1}, []string{"SET", r2, "w"}, []string{"RENAMENX", r1, r2}, []string{"GET", r2},
		[]string{"RENAME", r1, r2}, []string{"GET", r1}, []string{"GET", r2}, []string{"EXPIRETIME", r2},
		[]string{"SET", r3, "x"}, []string{"RENAME", r3, r2}, []string{"EXPIRETIME", r2}, []string{"GET", r2},
		[]string{"renamenx", r2, r4}, []string{"MGET", r2, r4}, []string{"SET", r3, "12"}, []string{"RENAME", r3, k("a\x00\xff*?")},
		[]string{"GET", k("a\x00\xff*?")}, []string{"OBJECT", "ENCODING", k("a\x00\xff*?")},
		[]string{"SET", r3, "v", "PXAT", "1"}, []string{"RENAME", r3, r4}, []string{"RENAMENX", r3, r4}, []string{"GET", r4},
		[]string{"RENAME", r1}, []string{"RENAME", r1, r2, r3}, []string{"RENAMENX", r1}, []string{"RENAMENX"},
	)

	// COPY.
	c1, c2, c3 := k("c1"), k("c2"), k("c3")
	exact([]string{"COPY", k("none"), c1}, []string{"COPY", c1, c1}, []string{"COPY", k("none"), k("none")},
		[]string{"SET", c1, "v", "EXAT", unix(time.Hour)}, []string{"COPY", c1, c2}, []string{"GET", c2},
		[]string{"EXPIRETIME", c2}, []string{"COPY", c1, c2}, []string{"SET", c1, "w"}, []string{"COPY", c1, c2},
		[]string{"GET", c2}, []string{"COPY", c1, c2, "REPLACE"}, []string{"GET", c2}, []string{"EXPIRETIME", c2},
		[]string{"COPY", c1, c3, "DB", "0"}, []string{"COPY", c1, c3, "db", "0", "replace"},
		[]string{"COPY", c1, c3, "REPLACE", "REPLACE", "DB", "0", "DB", "0"}, []string{"COPY", c1, c1, "DB", "0"},
		[]string{"COPY", c1, c3, "DB", "1"}, []string{"COPY", c1, c3, "DB", "-1"}, []string{"COPY", k("none"), c3, "DB", "1"},
		[]string{"COPY", c1, c1, "DB", "1"}, []string{"COPY", c1, c3, "DB", "1", "FOO"}, []string{"COPY", c1, c3, "FOO", "DB", "1"},
		[]string{"COPY", c1, c3, "DB", "x"}, []string{"COPY", c1, c3, "DB", "1.5"}, []string{"COPY", c1, c3, "DB", "2147483648"},
		[]string{"COPY", c1, c3, "DB", "-2147483649"}, []string{"COPY", c1, c3, "DB", maxInt},
		[]string{"COPY", c1, c3, "DB"}, []string{"COPY", c1, c3, "REPLACE", "DB"}, []string{"COPY", c1, c3, "REPLACEX"},
		[]string{"SET", c1, "5"}, []string{"COPY", c1, c3, "REPLACE"}, []string{"OBJECT", "ENCODING", c3},
		[]string{"SET", c1, "v", "PXAT", "1"}, []string{"COPY", c1, c3, "REPLACE"}, []string{"GET", c3},
		[]string{"COPY", c1}, []string{"COPY"},
	)

	// TYPE and TOUCH.
	exact([]string{"TYPE", k("none")}, []string{"TYPE", c3}, []string{"type", c3}, []string{"TOUCH", c3, k("none"), c3},
		[]string{"TOUCH", k("none")}, []string{"TYPE"}, []string{"TYPE", c3, c3}, []string{"TOUCH"})

	// KEYS, SCAN ... TYPE and RANDOMKEY over keys that tell globs apart.
	for _, name := range []string{"k:1", "k:2", "k:10", "hello", "hallo", "h*llo", "[x]", "a\\b", "\xff"} {
		exact([]string{"SET", k(name), "v"})
	}
	exact([]string{"SET", k("gone"), "v", "PXAT", "1"})
	for _, pat := range []string{"*", p + "*", p + "k:*", p + "k:?", p + "k:[^1]", p + "h?llo", p + "h\\*llo",
		p + "[[]x]", p + "a\\\\b", p + "\xff", p + "[", p + "nope*", "nomatch", "**"} {
		add(cmpSet, []string{"KEYS", pat})
		add(cmpSet, []string{"SCAN", "0", "MATCH", pat, "COUNT", "1000", "TYPE", "string"})
	}
	add(cmpSet, []string{"SCAN", "0", "COUNT", "1000", "TYPE", "STRING"})
	exact([]string{"SCAN", "0", "COUNT", "1000", "TYPE", "hash"}, []string{"SCAN", "0", "COUNT", "1000", "TYPE", "foo"},
		[]string{"SCAN", "0", "COUNT", "1000", "TYPE"}, []string{"KEYS"}, []string{"KEYS", "a", "b"})
	for range 5 {
		add(cmpMember, []string{"RANDOMKEY"})
	}

	// OBJECT.
	o := k("o")
	exact([]string{"OBJECT", "ENCODING", k("none")}, []string{"OBJECT", "REFCOUNT", k("none")},
		[]string{"OBJECT", "FREQ", k("none")}, []string{"OBJECT", "IDLETIME", k("none")},
		[]string{"SET", o, "v"})
	fresh := func(cmds ...[]string) { add(cmpFresh, cmds...) }
	fresh([]string{"OBJECT", "IDLETIME", o})
	exact([]string{"GET", o})
	fresh([]string{"OBJECT", "IDLETIME", o})
	exact([]string{"TOUCH", o})
	fresh([]string{"object", "idletime", o})
	exact([]string{"OBJECT", "FREQ", o}, []string{"OBJECT", "HELP"}, []string{"object", "help"},
		[]string{"OBJECT", "foo", o}, []string{"OBJECT", "foo"}, []string{"OBJECT"}, []string{"OBJECT", "ENCODING"},
		[]string{"OBJECT", "encoding", o, o}, []string{"OBJECT", "REFCOUNT"}, []string{"OBJECT", "FREQ"},
		[]string{"OBJECT", "IDLETIME"}, []string{"OBJECT", "HELP", "x"},
	)
	for _, v := range []string{"0", "1", "9999", "10000", "-1", maxInt, minInt, "9223372036854775808", "01", "+1",
		"-0", " 1", "1 ", "", "1.5", "1e3", strings.Repeat("7", 19), strings.Repeat("y", 44), strings.Repeat("y", 45), long} {
		exact([]string{"SET", o, v}, []string{"OBJECT", "ENCODING", o}, []string{"OBJECT", "REFCOUNT", o})
	}
	exact([]string{"MSET", o, "12", k("o2"), "123456"}, []string{"OBJECT", "ENCODING", o}, []string{"OBJECT", "REFCOUNT", k("o2")},
		[]string{"INCR", o}, []string{"OBJECT", "ENCODING", o}, []string{"OBJECT", "REFCOUNT", o},
		[]string{"INCRBY", k("o2"), "1"}, []string{"OBJECT", "REFCOUNT", k("o2")},
		[]string{"SETEX", o, "100", "abc"}, []string{"OBJECT", "ENCODING", o},
		[]string{"GETSET", o, "77"}, []string{"OBJECT", "ENCODING", o}, []string{"RENAME", o, k("o3")},
		[]string{"OBJECT", "ENCODING", k("o3")}, []string{"OBJECT", "REFCOUNT", k("o3")},
	)
	return s
}

// TestKeysCommandsLikeRedis (twin): every reply and error of EXPIRE's
// options, EXPIRETIME, PEXPIRETIME, RENAME, RENAMENX, COPY, TYPE, TOUCH,
// KEYS, SCAN ... TYPE, RANDOMKEY and OBJECT (IDLETIME too: 0 on both for a
// key just written, read or touched, or 1 across a turn of the clock's
// second), from pykvd over RESP2, RESP3
// and the native protocol, is what redis-server answers: byte for byte,
// but for KEYS and SCAN (the same keys in the server's own order),
// RANDOMKEY (one of the keys) and the times set by a relative EXPIRE
// (within a second and a half).
func TestKeysCommandsLikeRedis(t *testing.T) {
	t.Parallel()
	runKeysTwinLegs(t, startTwins(t), keysScript)
}

// TestKeysCommandsRandomLikeRedis (twin): a seeded random mix of the
// keyspace commands (EXPIRE's options, RENAME, COPY, KEYS, RANDOMKEY,
// TYPE, OBJECT ENCODING and REFCOUNT, the expiry readers) with SET, MSET,
// INCR, DEL, GETEX, BITOP and the commands that build a value otherwise
// (APPEND, SETRANGE, SETBIT, INCRBYFLOAT) over five keys ("" among them),
// run in lock step on pykvd and redis-server,
// gets the same replies step by step, compared as
// TestKeysCommandsLikeRedis does.
// PYKV_TWIN_SEED replays a seed, PYKV_TWIN_STEPS sets the length.
func TestKeysCommandsRandomLikeRedis(t *testing.T) {
	t.Parallel()
	seed := int64(envInt(t, "PYKV_TWIN_SEED", int(time.Now().UnixNano()%1e12)))
	steps := envInt(t, "PYKV_TWIN_STEPS", 3000)
	t.Logf("seed %d, %d steps (PYKV_TWIN_SEED=%d to replay)", seed, steps, seed)
	tw := startTwins(t)
	p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
	pykv := func(cmd []string) string { return p.call(cmd...) }
	real := func(cmd []string) string { return r.call(cmd...) }
	g := newKeysGen(seed, time.Now())
	var last []string
	for i := range steps {
		st := g.next()
		got, want := pykv(st.cmd), asPykv(real(st.cmd))
		if !sameReplies(t, st, got, want, pykv, real) {
			t.Fatalf("seed %d, step %d: %s: pykvd %q, redis-server %q (the steps before: %q)",
				seed, i, quoteArgs(st.cmd), got, want, last)
		}
		last = append(last, quoteArgs(st.cmd))
		if len(last) > 5 {
			last = last[1:]
		}
	}
	final := twinStep{cmd: []string{"KEYS", "*"}, cmp: cmpSet}
	if got, want := pykv(final.cmd), real(final.cmd); !sameReplies(t, final, got, want, pykv, real) {
		t.Fatalf("seed %d: at the end, KEYS *: pykvd %q, redis-server %q", seed, got, want)
	}
	for _, k := range g.keys {
		for _, cmd := range [][]string{{"GET", k}, {"OBJECT", "ENCODING", k}, {"OBJECT", "REFCOUNT", k}} {
			if got, want := pykv(cmd), real(cmd); got != want {
				t.Fatalf("seed %d: at the end, %s: pykvd %q, redis-server %q", seed, quoteArgs(cmd), got, want)
			}
		}
	}
}

// keysGen draws commands for TestKeysCommandsRandomLikeRedis so that no
// reply depends on which server's clock is a millisecond ahead: absolute
// expiries are in the past or years ahead (ties between them are exact),
// and relative ones, far nearer, are never drawn twice (two of them
// differ by a second at least). Values come from SET, MSET, INCR and
// from the commands after which Redis's encoding does not follow from the
// value alone (APPEND, SETRANGE, SETBIT, BITOP, INCRBYFLOAT, COPY), which
// OBJECT ENCODING and OBJECT REFCOUNT then ask about.
type keysGen struct {
	rng      *rand.Rand
	keys     []string
	absolute []int64 // unix seconds
	used     map[int64]bool
}

func newKeysGen(seed int64, now time.Time) *keysGen {
	far := now.Add(100_000_000 * time.Second).Unix()
	return &keysGen{
		rng:      rand.New(rand.NewSource(seed)),
		keys:     []string{"gen:a", "gen:b", "gen:c", "gen:d", ""}, // "" is a key like any other, as in Redis
		absolute: []int64{far, far + 1000, far + 2000, -1, 0, 1},
		used:     map[int64]bool{},
	}
}

// keysGenValues are the values the generator sets: integers (shared and
// not), near-integers, short and long strings.
var keysGenValues = []string{"0", "1", "-1", "42", "9999", "10000", "9223372036854775807", "9223372036854775808",
	"01", "+1", "-0", "", "abc", "10.5", "a\x00b", strings.Repeat("z", 44), strings.Repeat("z", 45)}

func (g *keysGen) pick(from []string) string { return from[g.rng.Intn(len(from))] }

// relative returns a time to live in seconds never returned before, or
// now and then one that is not in the future.
func (g *keysGen) relative() int64 {
	if g.rng.Intn(8) == 0 {
		return int64(-g.rng.Intn(2))
	}
	for {
		n := 1 + g.rng.Int63n(100_000)
		if !g.used[n] {
			g.used[n] = true
			return n
		}
	}
}

// options returns zero to two of EXPIRE's options, in any case,
// incompatible ones included.
func (g *keysGen) options() []string {
	var opts []string
	for range g.rng.Intn(3) {
		opts = append(opts, g.pick([]string{"NX", "XX", "GT", "LT", "gt", "lt"}))
	}
	if g.rng.Intn(50) == 0 {
		opts = append(opts, "FOO")
	}
	return opts
}

func (g *keysGen) next() twinStep {
	k, k2 := g.pick(g.keys), g.pick(g.keys)
	exact := func(cmd ...string) twinStep { return twinStep{cmd: cmd} }
	abs := g.absolute[g.rng.Intn(len(g.absolute))]
	switch g.rng.Intn(31) {
	case 0, 1:
		return exact("SET", k, g.pick(keysGenValues))
	case 2:
		return exact("SET", k, g.pick(keysGenValues), "EXAT", strconv.FormatInt(max(abs, 1), 10))
	case 3:
		return exact("SET", k, g.pick(keysGenValues), "EX", strconv.FormatInt(max(g.relative(), 1), 10))
	case 4:
		return exact("MSET", k, g.pick(keysGenValues), k2, g.pick(keysGenValues))
	case 5:
		return exact("INCR", k)
	case 6:
		return exact("DEL", k)
	case 7:
		return exact(append([]string{"EXPIRE", k, strconv.FormatInt(g.relative(), 10)}, g.options()...)...)
	case 8:
		return exact(append([]string{"PEXPIRE", k, strconv.FormatInt(g.relative()*1000, 10)}, g.options()...)...)
	case 9:
		return exact(append([]string{"EXPIREAT", k, strconv.FormatInt(abs, 10)}, g.options()...)...)
	case 10:
		return exact(append([]string{"PEXPIREAT", k, strconv.FormatInt(abs*1000, 10)}, g.options()...)...)
	case 11:
		return exact("PERSIST", k)
	case 12:
		return twinStep{cmd: []string{g.pick([]string{"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}), k}, cmp: cmpClose}
	case 13:
		return exact("RENAME", k, k2)
	case 14:
		return exact("RENAMENX", k, k2)
	case 15:
		cmd := []string{"COPY", k, k2}
		if g.rng.Intn(2) == 0 {
			cmd = append(cmd, "REPLACE")
		}
		if g.rng.Intn(4) == 0 {
			cmd = append(cmd, "DB", g.pick([]string{"0", "1"}))
		}
		return exact(cmd...)
	case 16:
		return exact("TYPE", k)
	case 17:
		return exact("TOUCH", k, k2)
	case 18:
		return exact("EXISTS", k, k2)
	case 19:
		return twinStep{cmd: []string{"KEYS", g.pick([]string{"*", "gen:[ab]", "gen:?", "*c*", "nope", "", "**"})}, cmp: cmpSet}
	case 20:
		return twinStep{cmd: []string{"RANDOMKEY"}, cmp: cmpMember}
	case 21:
		return exact("OBJECT", "ENCODING", k)
	case 22:
		cmd := []string{"SCAN", "0", "COUNT", "100", "TYPE", g.pick([]string{"string", "list"})}
		if g.rng.Intn(2) == 0 {
			cmd = append(cmd, "MATCH", g.pick([]string{"", "*", "gen:*", "*?"}))
		}
		return twinStep{cmd: cmd, cmp: cmpSet}
	case 23:
		// Over sources with expiries (expired ones are missing).
		return exact("BITOP", g.pick([]string{"AND", "OR", "XOR"}), g.pick([]string{"gen:bitop", k2}), k, k2)
	case 24:
		return exact("OBJECT", "REFCOUNT", k)
	case 25:
		return exact("APPEND", k, g.pick([]string{"", "1", "x"}))
	case 26:
		return exact("SETRANGE", k, strconv.Itoa(g.rng.Intn(4)), g.pick([]string{"", "1", "x"}))
	case 27:
		return exact("SETBIT", k, strconv.Itoa(g.rng.Intn(20)), strconv.Itoa(g.rng.Intn(2)))
	case 28:
		return exact("INCRBYFLOAT", k, g.pick([]string{"1", "0.5", "-2", "1e42", "1e50"}))
	case 29:
		return exact("GETEX", k, g.pick([]string{"PERSIST", "EXAT", "PXAT"}), strconv.FormatInt(max(abs, 1), 10))
	}
	return exact("GET", k)
}
