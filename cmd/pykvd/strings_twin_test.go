package main

import (
	"bufio"
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/reply"
)

// twinLimit is the value-size limit of both servers in the string twin
// tests: pykvd's storage.max_value_size and redis-server's
// proto-max-bulk-len (whose least is 1 MiB), so that SETRANGE and APPEND
// reach it without half a gigabyte of memory.
const twinLimit = 1 << 20

// twins are a pykvd and a redis-server with the same value-size limit and
// one database.
type twins struct {
	pykv      *testdaemon.Daemon
	redisAddr string
}

func startTwins(t *testing.T) twins {
	t.Helper()
	server := needTool(t, "redis-server")
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	text := "[storage]\nmax_value_size = " + strconv.Itoa(twinLimit) + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf}})
	// One database, as pykv has: COPY ... DB and SELECT then answer alike.
	port := startRedis(t, server, "--proto-max-bulk-len", strconv.Itoa(twinLimit), "--databases", "1")
	return twins{pykv: d, redisAddr: "127.0.0.1:" + strconv.Itoa(port)}
}

// asPykv is redis-server's reply as pykvd is documented to answer it
// (docs/protocol.md, Differences from Redis 7): the size-limit errors, of
// a value and of LCS's table, name pykv's max_value_size where Redis
// names its proto-max-bulk-len. Nothing else is changed.
func asPykv(redisReply string) string {
	r := strings.ReplaceAll(redisReply, "(proto-max-bulk-len)", "(max_value_size)")
	return strings.ReplaceAll(r, "for LCS exceeds proto-max-bulk-len", "for LCS exceeds max_value_size")
}

// nativeAsRESP2 sends args to pykvd over the native protocol and encodes
// its reply as RESP2, the bytes redis-server answers a RESP2 client.
func nativeAsRESP2(t *testing.T, n *nativeConn, args []string) string {
	t.Helper()
	return asRESP2(t, n.do(args...))
}

// asRESP2 encodes r as RESP2.
func asRESP2(t *testing.T, r reply.Reply) string {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := resp.NewWriter(bw)
	if err := w.WriteReply(r); err != nil {
		t.Fatalf("encode the native reply %v: %v", r, err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// hello3 switches a raw connection to RESP3 and checks that HELLO's
// answer is a map.
func hello3(t *testing.T, c *respRaw, who string) {
	t.Helper()
	if got := c.call("HELLO", "3"); !strings.HasPrefix(got, "%") {
		t.Fatalf("HELLO 3 to %s: %q", who, got)
	}
}

// runTwinLegs runs the script that script builds (for a key prefix and
// the time of the leg) on pykvd and redis-server three times and compares
// every reply byte for byte: over RESP2, over RESP3 after HELLO 3, and
// over pykvd's native protocol (its replies encoded as RESP2) against
// RESP2. Each leg has keys of its own.
func runTwinLegs(t *testing.T, tw twins, script func(prefix string, now time.Time) [][]string) {
	t.Helper()
	compare := func(leg string, cmds [][]string, pykv func([]string) string, real *respRaw) {
		t.Helper()
		for _, cmd := range cmds {
			got, want := pykv(cmd), asPykv(real.call(cmd...))
			if got != want {
				t.Errorf("%s %s: pykvd %q, redis-server %q", leg, quoteArgs(cmd), got, want)
			}
		}
	}
	for _, proto := range []int{2, 3} {
		p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
		if proto == 3 {
			hello3(t, p, "pykvd")
			hello3(t, r, "redis-server")
		}
		prefix := "resp" + strconv.Itoa(proto) + ":"
		compare("RESP"+strconv.Itoa(proto), script(prefix, time.Now()),
			func(cmd []string) string { return p.call(cmd...) }, r)
	}
	n, r := dialNative(t, tw.pykv.Addr()), dialRESPRaw(t, tw.redisAddr)
	compare("native", script("native:", time.Now()),
		func(cmd []string) string { return nativeAsRESP2(t, n, cmd) }, r)
}

// quoteArgs renders a command for a failure message, cutting long
// arguments.
func quoteArgs(cmd []string) string {
	parts := make([]string, len(cmd))
	for i, a := range cmd {
		if len(a) > 40 {
			a = a[:40] + "...(" + strconv.Itoa(len(a)) + " bytes)"
		}
		parts[i] = strconv.Quote(a)
	}
	return strings.Join(parts, " ")
}

// stringScript is every reply and error case of the string commands of
// issue 16 (and of SETEX and PSETEX), on keys under prefix p. Times are
// computed from now so that both servers get the same absolute ones.
func stringScript(p string, now time.Time) [][]string {
	k := func(name string) string { return p + name }
	in100s := strconv.FormatInt(now.Add(100*time.Second).Unix(), 10)
	in100ms := strconv.FormatInt(now.Add(100*time.Second).UnixMilli(), 10)
	past := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	pastMs := strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10)
	const maxInt, minInt = "9223372036854775807", "-9223372036854775808"
	s := [][]string{
		// SETEX and PSETEX.
		{"SETEX", k("se"), "100", "v"}, {"TTL", k("se")}, {"GET", k("se")},
		{"SETEX", k("se"), "0", "v"}, {"SETEX", k("se"), "-1", "v"}, {"SETEX", k("se"), "abc", "v"},
		{"SETEX", k("se"), "1.5", "v"}, {"SETEX", k("se"), "+1", "v"}, {"SETEX", k("se"), maxInt, "v"},
		{"SETEX", k("se"), "9223372036854776", "v"}, {"SETEX", k("se"), "9223372036854775808", "v"},
		{"SETEX", k("se"), "100"}, {"SETEX", k("se"), "100", "v", "x"}, {"setex", k("se"), "50", "w"}, {"TTL", k("se")},
		{"PSETEX", k("pse"), "100000", "v"}, {"TTL", k("pse")}, {"PSETEX", k("pse"), "0", "v"},
		{"PSETEX", k("pse"), "-5", "v"}, {"PSETEX", k("pse"), maxInt, "v"}, {"PSETEX", k("pse"), "x", "v"},
		{"PSETEX", k("pse")}, {"GET", k("pse")},

		// GETSET.
		{"GETSET", k("g"), "v"}, {"GETSET", k("g"), "w"}, {"GET", k("g")},
		{"SET", k("g"), "x", "EX", "100"}, {"GETSET", k("g"), "y"}, {"TTL", k("g")},
		{"GETSET", k("g")}, {"GETSET", k("g"), "a", "b"}, {"GETSET", k("g"), ""}, {"GET", k("g")},

		// MSETNX.
		{"MSETNX", k("m1"), "1", k("m2"), "2"}, {"MGET", k("m1"), k("m2")},
		{"MSETNX", k("m3"), "3", k("m1"), "x"}, {"EXISTS", k("m3")}, {"GET", k("m1")},
		{"MSETNX", k("m4"), "1", k("m4"), "2"}, {"GET", k("m4")},
		{"SET", k("m5"), "v", "PXAT", "1"}, {"MSETNX", k("m5"), "w"}, {"GET", k("m5")},
		{"MSETNX", k("m1")}, {"MSETNX", k("m1"), "1", k("m2")}, {"MSETNX"},

		// GETEX.
		{"GETEX", k("x")}, {"SET", k("x"), "v"}, {"GETEX", k("x")}, {"TTL", k("x")},
		{"GETEX", k("x"), "EX", "100"}, {"TTL", k("x")}, {"GETEX", k("x"), "px", "100000"}, {"TTL", k("x")},
		{"GETEX", k("x"), "EXAT", in100s}, {"TTL", k("x")}, {"GETEX", k("x"), "PXAT", in100ms}, {"TTL", k("x")},
		{"GETEX", k("x")}, {"TTL", k("x")}, {"GETEX", k("x"), "PERSIST"}, {"TTL", k("x")},
		{"GETEX", k("x"), "PERSIST"}, {"GETEX", k("x"), "persist", "PERSIST"}, {"GETEX", k("x"), "EX", "10", "EX", "20"},
		{"TTL", k("x")}, {"GETEX", k("x"), "NX"}, {"GETEX", k("x"), "XX"}, {"GETEX", k("x"), "GET"},
		{"GETEX", k("x"), "KEEPTTL"}, {"GETEX", k("x"), "EX"}, {"GETEX", k("x"), "EX", "1", "PX", "1"},
		{"GETEX", k("x"), "EXAT", "1", "PXAT", "1"}, {"GETEX", k("x"), "PERSIST", "EX", "1"},
		{"GETEX", k("x"), "EX", "1", "PERSIST"}, {"GETEX", k("x"), "FOO"}, {"GETEX", k("x"), "EX", "abc"},
		{"GETEX", k("x"), "EX", "0"}, {"GETEX", k("x"), "EX", "-1"}, {"GETEX", k("x"), "PX", "0"},
		{"GETEX", k("x"), "EX", maxInt}, {"GETEX", k("x"), "EX", "9223372036854776"},
		{"GETEX", k("x"), "PX", maxInt}, {"GETEX", k("x"), "EXAT", "0"}, {"GETEX", k("x"), "PXAT", "-1"},
		{"GETEX", k("x"), "EX", "1.5"}, {"GETEX", k("x"), "EX", "9223372036854775808"}, {"TTL", k("x")},
		{"GETEX", k("nox"), "EX", "abc"}, {"GETEX", k("nox"), "EX", "0"}, {"GETEX", k("nox"), "FOO"},
		{"GETEX", k("nox"), "PERSIST"}, {"EXISTS", k("nox")},
		{"GETEX", k("x"), "EXAT", past}, {"EXISTS", k("x")},
		{"SET", k("x"), "v"}, {"GETEX", k("x"), "PXAT", pastMs}, {"GET", k("x")},
		{"SET", k("x"), "v"}, {"GETEX", k("x"), "PXAT", "1"}, {"GET", k("x")}, {"GETEX"},

		// APPEND and STRLEN.
		{"STRLEN", k("a")}, {"APPEND", k("a"), "ab"}, {"APPEND", k("a"), "cd"}, {"GET", k("a")},
		{"STRLEN", k("a")}, {"APPEND", k("a"), ""}, {"APPEND", k("ae"), ""}, {"EXISTS", k("ae")},
		{"STRLEN", k("ae")}, {"APPEND", k("a"), "\x00\r\n\xff"}, {"GET", k("a")}, {"STRLEN", k("a")},
		{"SET", k("at"), "v", "EX", "100"}, {"APPEND", k("at"), "w"}, {"TTL", k("at")},
		{"SET", k("an"), "10"}, {"APPEND", k("an"), "5"}, {"INCR", k("an")},
		{"APPEND", k("a")}, {"APPEND", k("a"), "b", "c"}, {"STRLEN"}, {"STRLEN", k("a"), k("b")},

		// GETRANGE and SUBSTR.
		{"SET", k("r"), "Hello, world"}, {"GETRANGE", k("none"), "0", "-1"}, {"GETRANGE", k("none"), "x", "1"},
		{"GETRANGE", k("none"), "1", "x"}, {"SET", k("re"), ""}, {"GETRANGE", k("re"), "0", "-1"},
		{"GETRANGE", k("re"), "0", "0"}, {"SET", k("rn"), "12345"}, {"GETRANGE", k("rn"), "1", "2"},
		{"GETRANGE", k("r"), "0", "1.5"}, {"GETRANGE", k("r"), "9223372036854775808", "1"},
		{"GETRANGE", k("r"), " 1", "2"}, {"GETRANGE", k("r"), "0"}, {"SUBSTR", k("r"), "0", "1", "2"},

		// SETRANGE.
		{"SETRANGE", k("s"), "0", "Hello"}, {"SETRANGE", k("s"), "1", "a"}, {"GET", k("s")},
		{"SETRANGE", k("s"), "7", "!"}, {"GET", k("s")}, {"SETRANGE", k("sn"), "3", "x"}, {"GET", k("sn")},
		{"SETRANGE", k("s"), "100", ""}, {"SETRANGE", k("s"), "0", ""}, {"SETRANGE", k("none"), "100", ""},
		{"EXISTS", k("none")}, {"SETRANGE", k("none"), "-1", ""}, {"SETRANGE", k("none"), maxInt, ""},
		{"SET", k("st"), "v", "EX", "100"}, {"SETRANGE", k("st"), "0", "w"}, {"TTL", k("st")},
		{"SET", k("si"), "12345"}, {"SETRANGE", k("si"), "1", "0"}, {"INCR", k("si")},
		{"SETRANGE", k("s"), "-1", "x"}, {"SETRANGE", k("s"), minInt, "x"}, {"SETRANGE", k("s"), "x", "x"},
		{"SETRANGE", k("s"), "1.0", "x"}, {"SETRANGE", k("s"), "9223372036854775808", "x"},
		{"SETRANGE", k("s"), maxInt, "x"}, {"SETRANGE", k("none"), maxInt, "x"},
		{"SETRANGE", k("none"), "536870912", "x"}, {"SETRANGE", k("none"), "536870911", "xy"},
		{"SETRANGE", k("s"), "0"}, {"SETRANGE", k("s"), "0", "a", "b"},

		// The value-size limit, reached by SETRANGE and APPEND.
		{"SETRANGE", k("big"), strconv.Itoa(twinLimit - 1), "x"}, {"STRLEN", k("big")},
		{"GETRANGE", k("big"), "-3", "-1"}, {"SETRANGE", k("big"), strconv.Itoa(twinLimit), "x"},
		{"SETRANGE", k("big"), strconv.Itoa(twinLimit - 1), "xy"}, {"APPEND", k("big"), "x"},
		{"APPEND", k("big"), ""}, {"SETRANGE", k("big2"), strconv.Itoa(twinLimit), "x"}, {"EXISTS", k("big2")},
		{"SETRANGE", k("big"), "0", "y"}, {"STRLEN", k("big")}, {"DEL", k("big")},

		// INCRBYFLOAT's arity and its interplay with INCR.
		{"INCRBYFLOAT", k("f")}, {"INCRBYFLOAT", k("f"), "1", "2"},
		{"SET", k("fi"), "10"}, {"INCRBYFLOAT", k("fi"), "5"}, {"INCR", k("fi")}, {"INCRBYFLOAT", k("fi"), "0.5"},
		{"INCR", k("fi")}, {"SET", k("ft"), "1.5", "EX", "100"}, {"INCRBYFLOAT", k("ft"), "1"}, {"TTL", k("ft")},
	}
	// The bit commands.
	limitBits := strconv.Itoa(twinLimit * 8)
	s = append(s, [][]string{
		{"SET", k("b"), "foobar"}, {"SET", k("b1"), "\xff\xff"}, {"SET", k("b0"), "\x00\x00"}, {"SET", k("be"), ""},
		{"GETBIT", k("b"), "7"}, {"GETBIT", k("b"), "1"}, {"GETBIT", k("b"), "100000"}, {"GETBIT", k("none"), "3"},
		{"GETBIT", k("b"), "-1"}, {"GETBIT", k("b"), "x"}, {"GETBIT", k("b"), "1.5"}, {"GETBIT", k("none"), limitBits},
		{"GETBIT", k("none"), strconv.Itoa(twinLimit*8 - 1)}, {"GETBIT", k("b"), maxInt}, {"GETBIT", k("b")},
		{"SETBIT", k("sb"), "7", "1"}, {"GET", k("sb")}, {"SETBIT", k("sb"), "7", "1"}, {"SETBIT", k("sb"), "7", "0"},
		{"SETBIT", k("sb"), "17", "1"}, {"GET", k("sb")}, {"SETBIT", k("sb"), "7", "2"}, {"SETBIT", k("sb"), "8", "-1"},
		{"SETBIT", k("sb"), "8", "x"}, {"SETBIT", k("sb"), "x", "1"}, {"SETBIT", k("sb"), "-1", "1"},
		{"SETBIT", k("sb"), limitBits, "1"}, {"SETBIT", k("sb"), limitBits, "5"}, {"SETBIT", k("sb"), "0", "01"},
		{"SETBIT", k("sb"), "0"}, {"SET", k("sbt"), "v", "EX", "100"}, {"SETBIT", k("sbt"), "0", "1"}, {"TTL", k("sbt")},
		{"SETBIT", k("sbig"), strconv.Itoa(twinLimit*8 - 1), "1"}, {"STRLEN", k("sbig")}, {"DEL", k("sbig")},
		{"BITCOUNT", k("none")}, {"BITCOUNT", k("none"), "0"}, {"BITCOUNT", k("none"), "a", "b", "c", "d"},
		{"BITCOUNT", k("b"), "0"}, {"BITCOUNT", k("b"), "0", "1", "foo"}, {"BITCOUNT", k("b"), "a", "1"},
		{"BITCOUNT", k("b"), "1", "a"}, {"BITCOUNT", k("b"), "0", "1", "BIT", "x"}, {"BITCOUNT", k("be")},
		{"BITCOUNT", k("be"), "0", "-1"}, {"BITCOUNT", k("be"), "0", "-1", "BIT"}, {"BITCOUNT"},
		{"BITPOS", k("none"), "0"}, {"BITPOS", k("none"), "1"}, {"BITPOS", k("none"), "1", "a", "b", "c", "d", "e"},
		{"BITPOS", k("b"), "2"}, {"BITPOS", k("b"), "x"}, {"BITPOS", k("b"), "-1"}, {"BITPOS", k("b"), "1", "0", "1", "2", "3"},
		{"BITPOS", k("b"), "1", "0", "bit"}, {"BITPOS", k("b"), "1", "x"}, {"BITPOS", k("b"), "1", "0", "1", "WORD"},
		{"BITPOS", k("be"), "0"}, {"BITPOS", k("be"), "1"}, {"BITPOS", k("be"), "0", "0"}, {"BITPOS", k("be"), "0", "0", "-1", "BIT"},
		{"BITPOS", k("b")},
	}...)
	for _, key := range []string{"b", "b1", "b0"} {
		s = append(s, []string{"BITCOUNT", k(key)}, []string{"BITPOS", k(key), "0"}, []string{"BITPOS", k(key), "1"})
		for _, r := range [][]string{
			{"0", "0"}, {"1", "1"}, {"0", "-1"}, {"-2", "-1"}, {"-1", "-2"}, {"-100", "-200"}, {"-200", "-100"},
			{"5", "30"}, {"7", "15"}, {"3", "3"}, {"9", "2"}, {"0", "100"}, {"-3", "47"}, {minInt, maxInt}, {maxInt, minInt},
		} {
			for _, unit := range []string{"", "BYTE", "bit"} {
				count := []string{"BITCOUNT", k(key), r[0], r[1]}
				if unit != "" {
					count = append(count, unit)
				}
				s = append(s, count)
				for _, bit := range []string{"0", "1"} {
					s = append(s, []string{"BITPOS", k(key), bit, r[0]})
					pos := []string{"BITPOS", k(key), bit, r[0], r[1]}
					if unit != "" {
						pos = append(pos, unit)
					}
					s = append(s, pos)
				}
			}
		}
	}
	for _, c := range []struct{ start, end string }{
		{"0", "-1"}, {"0", "0"}, {"1", "3"}, {"-3", "-1"}, {"-100", "100"}, {"3", "1"}, {"12", "20"},
		{"11", "11"}, {"-1", "-3"}, {"-3", "-100"}, {"-100", "-100"}, {"0", "-100"}, {"-100", "0"},
		{"5", "-1"}, {"-5", "5"}, {minInt, maxInt}, {maxInt, minInt}, {maxInt, maxInt}, {minInt, minInt},
	} {
		s = append(s, []string{"GETRANGE", k("r"), c.start, c.end}, []string{"SUBSTR", k("r"), c.start, c.end})
	}
	// INCRBYFLOAT: the value before (none for a missing key) and the
	// increment, then the value after.
	for i, c := range []struct {
		value string
		set   bool
		incr  string
	}{
		{"10.5", true, "0.1"}, {"0.1", true, "0.2"}, {"10.6", true, "5.0e3"}, {"", false, "0.000003814697265625"},
		{"", false, "2.5e-17"}, {"", false, "1.5e-17"}, {"", false, "-0.000000000000000001"}, {"-0", true, "-0"},
		{"3", true, "-3"}, {"", false, maxInt}, {"1", true, "1e17"}, {"", false, "1.7976931348623157e308"},
		{"", false, "1e4000"}, {"", false, "1e4933"}, {"", false, "1.18973149535723176502e+4932"},
		{"1.18973149535723176502e+4932", true, "1.18973149535723176502e+4932"}, {"", false, "0x1p-16445"},
		{"", false, "0x1p-16446"}, {"", false, "0x1.8p1"}, {"", false, "0X1P+2"}, {"", false, ".5"},
		{"", false, "5."}, {"", false, "+.5e+1"}, {"", false, "1.0e-4940"}, {"", false, "1e-4951"},
		{"", false, "1e-5000"}, {"\x00", true, "1"}, {"1\x00zz", true, "1"}, {"", false, "1\x00zz"},
		{"", false, "INFINITY"}, {"", false, "-inf"}, {"inf", true, "-inf"}, {"inf", true, "1"},
		{"", false, "Infinity"}, {"", false, "infin"}, {"", false, "nan"}, {"", false, "-nan(1)"},
		{"", false, "1e"}, {"", false, "1e+"}, {"", false, "0x"}, {"", false, "0x.p1"}, {"", false, "0x1p"},
		{"abc", true, "1"}, {"", false, "1,5"}, {"", false, " 1"}, {"", false, "1 "}, {"", false, "\t1"},
		{"", false, "+-1"}, {"", false, ""}, {"", false, "."}, {"", false, "-"},
		{"", false, "1e99999999999999999999999"}, {"", false, "0e99999999999999999999999"},
		{"", false, strings.Repeat("0", 5119)}, {"", false, strings.Repeat("0", 5120)},
		{"", false, "1" + strings.Repeat("0", 4000)}, {"", false, "-1.5"}, {"7", true, "abc"},
		{"", false, "0.1"}, {"", false, "1e-20"},
	} {
		key := k("f" + strconv.Itoa(i))
		if c.set {
			s = append(s, []string{"SET", key, c.value})
		}
		s = append(s, []string{"INCRBYFLOAT", key, c.incr}, []string{"GET", key})
	}
	return s
}

// TestStringCommandsLikeRedis (twin): every reply and error of GETEX,
// GETSET, MSETNX, INCRBYFLOAT, APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE,
// SETEX, PSETEX, GETBIT, SETBIT, BITCOUNT and BITPOS, from pykvd over RESP2, RESP3 and the native protocol,
// is byte for byte what redis-server answers.
func TestStringCommandsLikeRedis(t *testing.T) {
	t.Parallel()
	runTwinLegs(t, startTwins(t), stringScript)
}

// TestStringCommandsRandomLikeRedis (twin): a seeded random mix of the
// string and bit commands (BITOP and LCS among them) with SET, GET, DEL,
// INCR, OBJECT ENCODING and OBJECT REFCOUNT over a few keys ("" among
// them), run in lock step on pykvd and redis-server,
// gets the same replies step by step. PYKV_TWIN_SEED replays a seed, PYKV_TWIN_STEPS sets the length.
func TestStringCommandsRandomLikeRedis(t *testing.T) {
	t.Parallel()
	seed := int64(envInt(t, "PYKV_TWIN_SEED", int(time.Now().UnixNano()%1e12)))
	steps := envInt(t, "PYKV_TWIN_STEPS", 3000)
	t.Logf("seed %d, %d steps (PYKV_TWIN_SEED=%d to replay)", seed, steps, seed)
	tw := startTwins(t)
	p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
	g := newStringGen(seed)
	var last []string
	for i := range steps {
		cmd := g.next()
		got, want := p.call(cmd...), asPykv(r.call(cmd...))
		if got != want {
			t.Fatalf("seed %d, step %d: %s: pykvd %q, redis-server %q (the steps before: %q)",
				seed, i, quoteArgs(cmd), got, want, last)
		}
		last = append(last, quoteArgs(cmd))
		if len(last) > 5 {
			last = last[1:]
		}
	}
	final := append([]string{"MGET"}, g.keys...)
	if got, want := p.call(final...), r.call(final...); got != want {
		t.Fatalf("seed %d: at the end, MGET: pykvd %q, redis-server %q", seed, got, want)
	}
	for _, k := range g.keys {
		for _, cmd := range [][]string{{"OBJECT", "ENCODING", k}, {"OBJECT", "REFCOUNT", k}} {
			if got, want := p.call(cmd...), r.call(cmd...); got != want {
				t.Fatalf("seed %d: at the end, %s: pykvd %q, redis-server %q", seed, quoteArgs(cmd), got, want)
			}
		}
	}
}

// stringGen draws commands for TestStringCommandsRandomLikeRedis. Nothing
// it draws depends on the clock: expiries are far off (so no TTL is
// compared) or in the past.
type stringGen struct {
	rng  *rand.Rand
	keys []string
}

func newStringGen(seed int64) *stringGen {
	return &stringGen{rng: rand.New(rand.NewSource(seed)), keys: []string{"gen:a", "gen:b", "gen:c", ""}}
}

// Values the generator draws from: integers, floats, text, the corners of
// both.
var (
	genValues = []string{"", "0", "1", "-1", "42", "10.5", "3.0", "1e3", "0x10", "abc", "\x00", "a\x00b",
		"9223372036854775807", "-9223372036854775808", "0.1", "-0", "inf", " 1", "hello world"}
	genFloats = []string{"0.1", "-0.1", "1", "2.5", "1e-5", "-3.75", "1e20", "0x1p-3", "inf", "abc", "1e400",
		"0.000003814697265625", "-1e-17"}
	genInts = []string{"0", "1", "-1", "5", "100", "-100", "9223372036854775807", "-9223372036854775808", "x"}
)

func (g *stringGen) pick(from []string) string { return from[g.rng.Intn(len(from))] }

func (g *stringGen) offset() string {
	switch g.rng.Intn(10) {
	case 0:
		return "-" + strconv.Itoa(g.rng.Intn(30))
	case 1:
		return g.pick(genInts)
	}
	return strconv.Itoa(g.rng.Intn(30))
}

func (g *stringGen) next() []string {
	k := g.pick(g.keys)
	switch g.rng.Intn(25) {
	case 0:
		return []string{"SET", k, g.pick(genValues)}
	case 1:
		return []string{"GET", k}
	case 2:
		return []string{"DEL", k}
	case 3:
		return []string{"INCR", k}
	case 4:
		return []string{"INCRBYFLOAT", k, g.pick(genFloats)}
	case 5:
		return []string{"APPEND", k, g.pick(genValues)}
	case 6:
		return []string{"STRLEN", k}
	case 7:
		return []string{"GETRANGE", k, g.offset(), g.offset()}
	case 8:
		return []string{"SUBSTR", k, g.offset(), g.offset()}
	case 9:
		return []string{"SETRANGE", k, g.offset(), g.pick(genValues)}
	case 10:
		return []string{"GETSET", k, g.pick(genValues)}
	case 11:
		switch g.rng.Intn(4) {
		case 0:
			return []string{"GETEX", k, "EX", "100000"}
		case 1:
			return []string{"GETEX", k, "PERSIST"}
		case 2:
			return []string{"GETEX", k, "PXAT", "1"}
		}
		return []string{"GETEX", k}
	case 12:
		cmd := []string{"MSETNX"}
		for range 1 + g.rng.Intn(3) {
			cmd = append(cmd, g.pick(g.keys), g.pick(genValues))
		}
		return cmd
	case 13:
		return []string{"SETEX", k, "100000", g.pick(genValues)}
	case 14:
		return []string{"INCRBY", k, g.pick(genInts)}
	case 15:
		return []string{"EXISTS", k, g.pick(g.keys)}
	case 16:
		return []string{"GETBIT", k, strconv.Itoa(g.rng.Intn(200))}
	case 17:
		return []string{"SETBIT", k, strconv.Itoa(g.rng.Intn(200)), strconv.Itoa(g.rng.Intn(2))}
	case 18:
		cmd := []string{"BITCOUNT", k}
		if g.rng.Intn(2) == 0 {
			cmd = append(cmd, g.offset(), g.offset())
			if g.rng.Intn(2) == 0 {
				cmd = append(cmd, g.pick([]string{"BIT", "BYTE"}))
			}
		}
		return cmd
	case 19:
		cmd := []string{"BITPOS", k, strconv.Itoa(g.rng.Intn(2))}
		for range g.rng.Intn(3) {
			cmd = append(cmd, g.offset())
		}
		if len(cmd) == 5 && g.rng.Intn(2) == 0 {
			cmd = append(cmd, g.pick([]string{"BIT", "BYTE"}))
		}
		return cmd
	case 20:
		// NOT takes one source; two make its error.
		op := g.pick([]string{"AND", "OR", "XOR", "NOT"})
		cmd := []string{"BITOP", op, k}
		for range 1 + g.rng.Intn(3) {
			cmd = append(cmd, g.pick(g.keys))
			if op == "NOT" && g.rng.Intn(4) != 0 {
				break
			}
		}
		return cmd
	case 21:
		cmd := []string{"LCS", k, g.pick(g.keys)}
		for range g.rng.Intn(3) {
			switch g.rng.Intn(5) {
			case 0:
				cmd = append(cmd, "LEN")
			case 1, 2:
				cmd = append(cmd, "IDX")
			case 3:
				cmd = append(cmd, "WITHMATCHLEN")
			default:
				cmd = append(cmd, "MINMATCHLEN", strconv.Itoa(g.rng.Intn(4)))
			}
		}
		return cmd
	case 23:
		return []string{"OBJECT", "ENCODING", k}
	case 24:
		return []string{"OBJECT", "REFCOUNT", k}
	}
	return []string{"MGET", k, g.pick(g.keys)}
}
