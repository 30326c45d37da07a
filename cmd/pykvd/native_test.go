package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto"
)

// between accepts an Int reply in [lo, hi]: for TTLs, which the clock
// moves between the command that sets them and the one that reads them.
func between(lo, hi int64) func(command.Reply) bool {
	return func(r command.Reply) bool { return r.Kind == command.KindInt && lo <= r.Int && r.Int <= hi }
}

// step is one command of a conversation and the reply it must get: a
// string is compared with Reply.String() (redis-cli's rendering: OK,
// (nil), (integer) 1, "v", (error) CODE message, [a b]); a func checks
// what cannot be exact.
type step struct {
	args []string
	want any
}

func converse(t *testing.T, n *nativeConn, steps []step) {
	t.Helper()
	for _, s := range steps {
		got := n.do(s.args...)
		switch want := s.want.(type) {
		case string:
			if got.String() != want {
				t.Errorf("%q = %s, want %s", s.args, got, want)
			}
		case func(command.Reply) bool:
			if !want(got) {
				t.Errorf("%q = %s: not what was expected", s.args, got)
			}
		default:
			t.Fatalf("bad step %v", s)
		}
	}
}

// TestNativeEveryOpcode sends each command that has a native opcode, with
// its options, and checks the exact reply.
func TestNativeEveryOpcode(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	now := time.Now()
	exat := strconv.FormatInt(now.Unix()+100, 10)
	pxat := strconv.FormatInt(now.UnixMilli()+100_000, 10)
	const noPassword = "(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	const notInt = "(error) ERR value is not an integer or out of range"
	converse(t, n, []step{
		// connection
		{[]string{"PING"}, "PONG"},
		{[]string{"ping", "hello world"}, `"hello world"`},
		{[]string{"PING", "a", "b"}, "(error) ERR wrong number of arguments for 'ping' command"},
		{[]string{"AUTH", "secret"}, noPassword},
		{[]string{"AUTH", "default", "anything"}, "OK"}, // nopass user, as Redis
		{[]string{"AUTH", "alice", "secret"}, "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"DBSIZE"}, "(integer) 0"},

		// GET and SET with each option
		{[]string{"GET", "k"}, "(nil)"},
		{[]string{"SET", "k", "v1"}, "OK"},
		{[]string{"GET", "k"}, `"v1"`},
		{[]string{"SET", "k", "v2", "NX"}, "(nil)"},
		{[]string{"SET", "k", "v2", "XX"}, "OK"},
		{[]string{"SET", "absent", "v", "XX"}, "(nil)"},
		{[]string{"GET", "absent"}, "(nil)"},
		{[]string{"SET", "nx", "v", "nx"}, "OK"},
		{[]string{"SET", "k", "v3", "GET"}, `"v2"`},
		{[]string{"SET", "fresh", "f", "GET"}, "(nil)"},
		{[]string{"GET", "fresh"}, `"f"`},
		{[]string{"SET", "k", "v4", "NX", "GET"}, `"v3"`}, // not written; the old value
		{[]string{"GET", "k"}, `"v3"`},
		{[]string{"SET", "k", "v", "NX", "XX"}, "(error) ERR syntax error"},
		{[]string{"SET", "k", "v", "EX"}, "(error) ERR syntax error"},
		{[]string{"SET", "k", "v", "EX", "10", "PX", "100"}, "(error) ERR syntax error"},
		{[]string{"SET", "k", "v", "KEEPTTL", "EX", "10"}, "(error) ERR syntax error"},
		{[]string{"SET", "k", "v", "BOGUS"}, "(error) ERR syntax error"},
		{[]string{"SET", "k", "v", "EX", "0"}, "(error) ERR invalid expire time in 'set' command"},
		{[]string{"SET", "k", "v", "PX", "-5"}, "(error) ERR invalid expire time in 'set' command"},
		{[]string{"SET", "k", "v", "EX", "ten"}, notInt},
		{[]string{"SET", "k"}, "(error) ERR wrong number of arguments for 'set' command"},
		{[]string{"GET", "k", "x"}, "(error) ERR wrong number of arguments for 'get' command"},

		// expiries through SET
		{[]string{"SET", "ex", "v", "EX", "100"}, "OK"},
		{[]string{"TTL", "ex"}, "(integer) 100"},
		{[]string{"PTTL", "ex"}, between(98_000, 100_000)},
		{[]string{"SET", "px", "v", "PX", "100000"}, "OK"},
		{[]string{"TTL", "px"}, "(integer) 100"},
		{[]string{"SET", "exat", "v", "EXAT", exat}, "OK"},
		{[]string{"TTL", "exat"}, between(98, 100)},
		{[]string{"SET", "pxat", "v", "PXAT", pxat}, "OK"},
		{[]string{"PTTL", "pxat"}, between(98_000, 100_000)},
		{[]string{"SET", "ex", "kept", "KEEPTTL"}, "OK"},
		{[]string{"GET", "ex"}, `"kept"`},
		{[]string{"TTL", "ex"}, between(99, 100)},
		{[]string{"SET", "ex", "plain"}, "OK"}, // a SET without KEEPTTL drops the TTL
		{[]string{"TTL", "ex"}, "(integer) -1"},
		{[]string{"SET", "px", "v2", "XX", "GET", "KEEPTTL"}, `"v"`},
		{[]string{"TTL", "px"}, between(98, 100)},

		// DEL, EXISTS
		{[]string{"EXISTS", "k", "k", "nosuch"}, "(integer) 2"},
		{[]string{"DEL", "k", "fresh", "nosuch"}, "(integer) 2"},
		{[]string{"EXISTS", "k", "fresh"}, "(integer) 0"},
		{[]string{"DEL", "k"}, "(integer) 0"},
		{[]string{"DEL"}, "(error) ERR wrong number of arguments for 'del' command"},

		// counters
		{[]string{"INCR", "ctr"}, "(integer) 1"},
		{[]string{"INCRBY", "ctr", "41"}, "(integer) 42"},
		{[]string{"DECR", "ctr"}, "(integer) 41"},
		{[]string{"DECRBY", "ctr", "50"}, "(integer) -9"},
		{[]string{"INCRBY", "ctr", "-1"}, "(integer) -10"},
		{[]string{"GET", "ctr"}, `"-10"`},
		{[]string{"DECR", "newctr"}, "(integer) -1"},
		{[]string{"INCR", "nx"}, notInt},
		{[]string{"INCRBY", "ctr", "1.5"}, notInt},
		{[]string{"INCRBY", "ctr", "+1"}, notInt},
		{[]string{"DECRBY", "ctr", "x"}, notInt},
		{[]string{"SET", "max", "9223372036854775807"}, "OK"},
		{[]string{"INCR", "max"}, "(error) ERR increment or decrement would overflow"},
		{[]string{"GET", "max"}, `"9223372036854775807"`},
		{[]string{"DECRBY", "ctr", "-9223372036854775808"}, "(error) ERR decrement would overflow"},

		// EXPIRE, PEXPIRE, PERSIST, TTL, PTTL
		{[]string{"EXPIRE", "ctr", "100"}, "(integer) 1"},
		{[]string{"TTL", "ctr"}, "(integer) 100"},
		{[]string{"PEXPIRE", "ctr", "50000"}, "(integer) 1"},
		{[]string{"PTTL", "ctr"}, between(48_000, 50_000)},
		{[]string{"TTL", "ctr"}, "(integer) 50"},
		{[]string{"EXPIRE", "nosuch", "100"}, "(integer) 0"},
		{[]string{"PEXPIRE", "nosuch", "100"}, "(integer) 0"},
		{[]string{"EXPIRE", "ctr", "x"}, notInt},
		{[]string{"EXPIRE", "ctr", "100", "NX"}, "(integer) 0"}, // it has an expiry
		{[]string{"EXPIRE", "ctr", "100", "NX", "XX"}, "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{[]string{"EXPIRE", "ctr", "100", "YY"}, "(error) ERR Unsupported option YY"},
		{[]string{"PERSIST", "ctr"}, "(integer) 1"},
		{[]string{"PERSIST", "ctr"}, "(integer) 0"},
		{[]string{"PERSIST", "nosuch"}, "(integer) 0"},
		{[]string{"TTL", "ctr"}, "(integer) -1"},
		{[]string{"PTTL", "ctr"}, "(integer) -1"},
		{[]string{"TTL", "nosuch"}, "(integer) -2"},
		{[]string{"PTTL", "nosuch"}, "(integer) -2"},
		{[]string{"EXPIRE", "newctr", "-1"}, "(integer) 1"}, // a past time deletes, as in Redis
		{[]string{"EXISTS", "newctr"}, "(integer) 0"},

		// MGET, MSET
		{[]string{"MSET", "a", "1", "b", "2"}, "OK"},
		{[]string{"MGET", "a", "nosuch", "b"}, `["1" (nil) "2"]`},
		{[]string{"MSET", "a", "1", "b"}, "(error) ERR wrong number of arguments for 'mset' command"},
		{[]string{"MGET"}, "(error) ERR wrong number of arguments for 'mget' command"},

		// keys now: nx ex px exat pxat ctr max a b
		{[]string{"DBSIZE"}, "(integer) 9"},

		// commands without an opcode of their own, through the generic one
		{[]string{"ECHO", "hi"}, `"hi"`},
		{[]string{"SELECT", "0"}, "OK"},
		{[]string{"SELECT", "1"}, "(error) ERR DB index is out of range"},
		{[]string{"FLUSHDB", "ASYNC", "SYNC"}, "(error) ERR syntax error"},
		{[]string{"NOSUCH", "x"}, "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' "},
	})

	// avg_ttl is the active expiry cycle's estimate, 0 until a cycle ran.
	if ks := string(n.do("INFO", "keyspace").Bytes); !regexp.MustCompile(`^# Keyspace\r\ndb0:keys=9,expires=3,avg_ttl=\d+\r\n$`).MatchString(ks) {
		t.Errorf("INFO keyspace = %q, want 9 keys, 3 with an expiry", ks)
	}
	text := string(n.do("INFO").Bytes)
	info := parseInfo(t, text)
	if !slices.Equal(info.Sections, infoSections) {
		t.Errorf("INFO sections %q, want %q", info.Sections, infoSections)
	}
	for name, want := range map[string]string{
		"redis_version": "7.0.0", "pykv_version": testdaemon.Version,
		"tcp_port": strconv.Itoa(d.RESPPort()), "pykv_native_port": strconv.Itoa(d.NativePort()),
		"process_id": strconv.Itoa(d.PID()), "role": "master",
	} {
		if got, ok := info.Fields[name]; !ok || got != want {
			t.Errorf("INFO %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if db0, err := info.Sub("db0"); err != nil || db0["keys"] != "9" {
		t.Errorf("INFO db0 = %q, %v, want keys=9:\n%s", db0, err, text)
	}
	// FLUSHALL, through the generic opcode, empties the keyspace.
	if got := n.do("FLUSHALL").String(); got != "OK" {
		t.Errorf("FLUSHALL = %s", got)
	}
	if got := n.do("DBSIZE").String(); got != "(integer) 0" {
		t.Errorf("DBSIZE after FLUSHALL = %s", got)
	}
	if got := n.do("INFO", "keyspace").String(); got != `"# Keyspace\r\n"` {
		t.Errorf("INFO keyspace after FLUSHALL = %s", got)
	}
	if got := n.do("QUIT"); got.String() != "OK" {
		t.Fatalf("QUIT = %v", got)
	}
	n.expectClosed()
}

// TestNativeExpiryRemovesKeys checks that an expired key is gone, both on
// access and from DBSIZE, the active expiry's doing.
func TestNativeExpiryRemovesKeys(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	converse(t, n, []step{
		{[]string{"SET", "short", "v", "PX", "100"}, "OK"},
		{[]string{"SET", "shorter", "v"}, "OK"},
		{[]string{"PEXPIRE", "shorter", "50"}, "(integer) 1"},
		{[]string{"SET", "stays", "v"}, "OK"},
	})
	waitFor(t, 5*time.Second, "the keys to expire", func() bool {
		return n.do("DBSIZE").Int == 1
	})
	converse(t, n, []step{
		{[]string{"GET", "short"}, "(nil)"},
		{[]string{"TTL", "shorter"}, "(integer) -2"},
		{[]string{"GET", "stays"}, `"v"`},
	})
}

// TestNativeScan walks the keyspace with SCAN, MATCH and COUNT until the
// cursor comes back to 0, and checks that every key is seen.
func TestNativeScan(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	const keys = 500
	var users []string
	for i := range keys {
		k := fmt.Sprintf("user:%03d", i)
		if i%5 == 0 {
			k = fmt.Sprintf("other:%03d", i)
		} else {
			users = append(users, k)
		}
		n.send("SET", k, "v")
	}
	n.flush()
	for range keys {
		if r := n.read(); r.Kind != command.KindOK {
			t.Fatalf("SET: %v", r)
		}
	}
	if got := n.do("DBSIZE"); got.Int != keys {
		t.Fatalf("DBSIZE = %v, want %d", got, keys)
	}

	scan := func(args ...string) []string {
		var seen []string
		cursor := "0"
		for i := 0; ; i++ {
			if i > keys { // a scan that never ends is a bug, not a long wait
				t.Fatalf("SCAN %q did not end after %d calls", args, i)
			}
			r := n.do(append([]string{"SCAN", cursor}, args...)...)
			if r.Kind != command.KindArray || len(r.Array) != 2 || r.Array[0].Kind != command.KindBytes ||
				r.Array[1].Kind != command.KindArray {
				t.Fatalf("SCAN reply %v", r)
			}
			for _, k := range r.Array[1].Array {
				seen = append(seen, string(k.Bytes))
			}
			cursor = string(r.Array[0].Bytes)
			if cursor == "0" {
				return seen
			}
		}
	}
	all := scan("COUNT", "100")
	if slices.Sort(all); len(slices.Compact(all)) != keys {
		t.Errorf("SCAN COUNT 100 saw %d distinct keys, want %d", len(slices.Compact(all)), keys)
	}
	got := scan("MATCH", "user:*", "COUNT", "7")
	slices.Sort(got)
	got = slices.Compact(got)
	if !slices.Equal(got, users) {
		t.Errorf("SCAN MATCH user:* saw %d keys, want %d", len(got), len(users))
	}
	if got := scan("TYPE", "hash"); len(got) != 0 {
		t.Errorf("SCAN TYPE hash = %q, want none: every value is a string", got)
	}
	converse(t, n, []step{
		{[]string{"SCAN", "x"}, "(error) ERR invalid cursor"},
		{[]string{"SCAN", "0", "COUNT", "0"}, "(error) ERR syntax error"},
		{[]string{"SCAN", "0", "MATCH"}, "(error) ERR syntax error"},
	})
}

// TestNativePipeline writes 10,000 commands before reading any reply, and
// checks that the replies come back one per command, in order.
func TestNativePipeline(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	const cmds = 10_000 // in groups of SET, GET, INCR
	for i := range cmds / 4 {
		k := "p" + strconv.Itoa(i)
		n.send("SET", k, "v"+strconv.Itoa(i))
		n.send("GET", k)
		n.send("INCR", "ctr")
		n.send("EXISTS", k, "nosuch")
	}
	n.flush() // every request is on the wire before the first read
	for i := range cmds / 4 {
		want := []string{"OK", strconv.Quote("v" + strconv.Itoa(i)), "(integer) " + strconv.Itoa(i+1), "(integer) 1"}
		for j, w := range want {
			if got := n.read(); got.String() != w {
				t.Fatalf("reply %d = %v, want %s", 4*i+j, got, w)
			}
		}
	}
	if got := n.do("DBSIZE").Int; got != cmds/4+1 {
		t.Fatalf("DBSIZE = %d, want %d", got, cmds/4+1)
	}
}

// TestNativeAuth runs a daemon with --password: nothing but AUTH, HELLO
// and QUIT runs before AUTH, a wrong password is WRONGPASS, and the right
// one, in either form, opens the connection.
func TestNativeAuth(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{Password: "s3cret"})
	n := dialNative(t, d.Addr())
	const noAuth = "(error) NOAUTH Authentication required."
	const wrongPass = "(error) WRONGPASS invalid username-password pair or user is disabled."
	converse(t, n, []step{
		{[]string{"GET", "k"}, noAuth},
		{[]string{"SET", "k", "v"}, noAuth},
		{[]string{"PING"}, noAuth},
		{[]string{"DBSIZE"}, noAuth},
		{[]string{"NOSUCH"}, "(error) ERR unknown command 'NOSUCH', with args beginning with: "},
		{[]string{"AUTH", "wrong"}, wrongPass},
		{[]string{"AUTH", "default", "wrong"}, wrongPass},
		{[]string{"AUTH", "alice", "s3cret"}, wrongPass},
		{[]string{"GET", "k"}, noAuth},
		{[]string{"AUTH", "s3cret"}, "OK"},
		{[]string{"SET", "k", "v"}, "OK"},
		{[]string{"GET", "k"}, `"v"`},
	})

	n2 := dialNative(t, d.Addr())
	converse(t, n2, []step{
		{[]string{"GET", "k"}, noAuth},
		{[]string{"AUTH", "default", "s3cret"}, "OK"},
		{[]string{"GET", "k"}, `"v"`},
	})

	n3 := dialNative(t, d.Addr())
	converse(t, n3, []step{{[]string{"QUIT"}, "OK"}})
	n3.expectClosed()
}

// TestNativeMaxClients runs with --max-clients 2: a third connection gets
// an error saying so and is closed, the first two go on, and a slot freed
// by a client that leaves is given to the next.
func TestNativeMaxClients(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--max-clients", "2"}})
	c1 := dialAdmitted(t, d.Addr())
	c2 := dialAdmitted(t, d.Addr())
	waitClients(t, c1, 2)
	// dialAdmitted may have been refused while a readiness probe still held
	// a slot: count from here.
	rejected := infoInt(t, c1, "stats", "rejected_connections")

	c3 := dialNativeRaw(t, d.Addr())
	if err := c3.w.WriteHandshake(); err != nil {
		t.Fatal(err)
	}
	c3.flush()
	refusal := refusalOf(t, c3)
	if !strings.Contains(refusal, "max number of clients reached") {
		t.Fatalf("third connection: %s, want max number of clients reached", refusal)
	}
	c3.expectClosed()

	converse(t, c1, []step{{[]string{"SET", "k", "1"}, "OK"}})
	converse(t, c2, []step{{[]string{"INCR", "k"}, "(integer) 2"}})
	if got := infoInt(t, c1, "stats", "rejected_connections"); got != rejected+1 {
		t.Errorf("INFO stats rejected_connections went from %d to %d over one refusal", rejected, got)
	}

	c2.c.Close()
	c4 := dialAdmitted(t, d.Addr())
	converse(t, c4, []step{{[]string{"GET", "k"}, `"2"`}})
}

// infoInt returns the integer field name of INFO section, asked on c.
func infoInt(t *testing.T, c *nativeConn, section, name string) int {
	t.Helper()
	text := string(c.do("INFO", section).Bytes)
	n, err := parseInfo(t, text).Int(name)
	if err != nil {
		t.Fatalf("INFO %s: %v:\n%s", section, err, text)
	}
	return int(n)
}

// dialAdmitted connects and checks with PING that the server took the
// connection, retrying for a little while if it was refused: the
// readiness probes of testdaemon, and connections a test closed, hold
// their slot until the server has seen them go.
func dialAdmitted(t *testing.T, addr string) *nativeConn {
	t.Helper()
	var n *nativeConn
	waitFor(t, 5*time.Second, "a connection under the client limit", func() bool {
		n = dialNativeRaw(t, addr)
		if err := n.w.WriteHandshake(); err != nil {
			t.Fatal(err)
		}
		n.flush()
		if _, err := n.r.ReadHandshakeReply(); err != nil {
			if !errors.Is(err, netproto.ErrRefused) || !strings.Contains(err.Error(), "max number of clients reached") {
				t.Fatalf("handshake on a new connection: %v", err)
			}
			n.c.Close()
			return false
		}
		if r := n.do("PING"); r.String() != "PONG" {
			t.Fatalf("PING on a new connection: %v", r)
		}
		return true
	})
	return n
}

// refusalOf reads how the server refused a connection whose handshake was
// sent: a handshake refusal (as docs/protocol.md specifies for too many
// clients) or an accepted handshake followed by an error reply.
func refusalOf(t *testing.T, n *nativeConn) string {
	t.Helper()
	n.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := n.r.ReadHandshakeReply(); err != nil {
		return "handshake refused: " + err.Error()
	}
	r := n.read()
	if r.Kind != command.KindError {
		t.Fatalf("over the client limit: handshake accepted, then %v", r)
	}
	return "error reply: " + r.String()
}

// TestNativeMaxClientsRefusesInHandshake checks the letter of
// docs/protocol.md: a connection over the limit is refused in the
// handshake, status 3, not accepted and then sent an error frame.
func TestNativeMaxClientsRefusesInHandshake(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--max-clients", "1"}})
	c1 := dialAdmitted(t, d.Addr())
	waitClients(t, c1, 1)
	c2 := dialNativeRaw(t, d.Addr())
	c2.raw([]byte("PYKV\x00\x01"))
	c2.flush()
	want := "PYKV\x00\x01\x03\x00\x1dmax number of clients reached"
	got := make([]byte, len(want))
	if _, err := readFull(c2, got); err != nil || string(got) != want {
		t.Fatalf("handshake reply %q (%v), want %q", got, err, want)
	}
}

// TestNativeUnknownOpcodeKeepsConnection sends frames that decode but make
// no request: each gets a PROTO error and the connection reads on.
func TestNativeUnknownOpcodeKeepsConnection(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	n.send("SET", "k", "v")
	n.raw([]byte{0, 0, 0, 3, 0x7e, 0xab, 0xcd}) // unassigned opcode 0x7e, a body of junk
	n.raw([]byte{0, 0, 0, 0})                   // an empty frame
	n.raw([]byte{0, 0, 0, 5, 0x10, 0, 0, 0, 9}) // GET whose arg claims 9 bytes of none
	n.send("GET", "k")
	n.flush()
	for _, want := range []string{
		"OK",
		"(error) PROTO unknown opcode: 0x7e",
		"(error) PROTO malformed frame: empty frame",
		"(error) PROTO malformed frame: arg 1 claims 9 bytes, 0 left in frame",
		`"v"`,
	} {
		if got := n.read(); got.String() != want {
			t.Errorf("reply %v, want %s", got, want)
		}
	}
}

// TestNativeOversizedFrameClosesOnlyThatConnection sends a frame header
// claiming 4 GiB: the server answers with an error without reading or
// allocating the claim, closes that connection, and serves the others.
func TestNativeOversizedFrameClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	other := dialNative(t, d.Addr())
	converse(t, other, []step{{[]string{"SET", "k", "v"}, "OK"}})

	n := dialNative(t, d.Addr())
	n.raw([]byte{0xff, 0xff, 0xff, 0xff, 0x11})
	n.flush()
	want := "(error) PROTO frame too large: 4294967295 bytes claimed, limit is 67239936"
	if got := n.read(); got.String() != want {
		t.Fatalf("reply %v, want %s", got, want)
	}
	n.expectClosed()

	converse(t, other, []step{{[]string{"GET", "k"}, `"v"`}})
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"PING"}, "PONG"}})
}

// TestNativeHandshakeRefusals checks the handshake's refusals: a client
// that does not speak the protocol, and one that asks for another version.
func TestNativeHandshakeRefusals(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})

	resp := dialNativeRaw(t, d.Addr())
	resp.raw([]byte("*1\r\n$4\r\nPING\r\n"))
	resp.flush()
	want := "PYKV\x00\x01\x01\x00\x38bad magic \"*\": this port speaks the pykv native protocol"
	got := make([]byte, len(want))
	if _, err := readFull(resp, got); err != nil || string(got) != want {
		t.Errorf("RESP on the native port: %q (%v), want %q", got, err, want)
	}
	resp.expectClosed()

	v2 := dialNativeRaw(t, d.Addr())
	v2.raw([]byte("PYKV\x00\x02"))
	v2.flush()
	if _, err := v2.r.ReadHandshakeReply(); err == nil ||
		!strings.Contains(err.Error(), "client speaks version 2, server speaks 1") {
		t.Errorf("version 2 handshake: %v", err)
	}
	v2.expectClosed()
}

func readFull(n *nativeConn, b []byte) (int, error) {
	n.c.SetDeadline(time.Now().Add(ioTimeout))
	got := 0
	for got < len(b) {
		m, err := n.c.Read(b[got:])
		got += m
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// TestNativeIdleTimeout runs with --idle-timeout: a silent connection is
// closed, while one that keeps talking is not.
func TestNativeIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--idle-timeout", idle.String()}})
	quiet := dialNative(t, d.Addr())
	busy := dialNative(t, d.Addr())
	start := time.Now()
	for time.Since(start) < 3*idle {
		converse(t, busy, []step{{[]string{"PING"}, "PONG"}})
		time.Sleep(idle / 10) // far inside the timeout, even on a loaded machine
	}
	quiet.expectClosed()
	converse(t, busy, []step{{[]string{"PING"}, "PONG"}})
}

// TestNativeConfigGetMaxclients is the worked example of docs/protocol.md
// ("CONFIG GET maxclients, through the generic opcode, answered with a
// Map"), byte for byte.
func TestNativeConfigGetMaxclients(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	n.raw([]byte("\x00\x00\x00\x20\xff\x00\x00\x00\x06CONFIG\x00\x00\x00\x03GET\x00\x00\x00\x0amaxclients"))
	n.flush()
	want := "\x00\x00\x00\x1e\x08\x00\x00\x00\x01\x04\x00\x00\x00\x0amaxclients\x04\x00\x00\x00\x0510000"
	hdr := make([]byte, 4)
	if _, err := readFull(n, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr))
	if _, err := readFull(n, body); err != nil {
		t.Fatal(err)
	}
	if got := string(hdr) + string(body); got != want {
		t.Fatalf("CONFIG GET maxclients: %q, want %q", got, want)
	}
}

// TestNativeSelectNotAnInteger: Redis 7 parses SELECT's index with
// getIntFromObjectOrReply: a non-number is "value is not an integer or out
// of range", one beyond a C int "value is out of range, value must
// between ..." (redis-server 7.0.15's texts).
func TestNativeSelectNotAnInteger(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	const notInt = "(error) ERR value is not an integer or out of range"
	converse(t, dialNative(t, d.Addr()), []step{
		{[]string{"SELECT", "x"}, notInt},
		{[]string{"SELECT", "2147483648"}, "(error) ERR value is out of range, value must between -2147483648 and 2147483647"},
		{[]string{"SELECT", "-1"}, "(error) ERR DB index is out of range"},
	})
}
