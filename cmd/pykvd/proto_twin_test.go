package main

import (
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// protoTwins are a pykvd and a redis-server with the same limits on a
// request: Redis's proto-max-bulk-len (512 MB) is pykvd's
// max_frame_bytes here, so that a bulk length is refused by both or by
// neither.
func startProtoTwins(t *testing.T) (pykvAddr, redisAddr string) {
	t.Helper()
	server := needTool(t, "redis-server")
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	if err := os.WriteFile(conf, []byte("max_frame_bytes = 536870912\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf}})
	port := startRedis(t, server, "--databases", "1")
	return d.RESPAddr(), "127.0.0.1:" + strconv.Itoa(port)
}

// protoOutcome is what a server did with a byte stream: the bytes it
// answered, and whether it closed the connection.
type protoOutcome struct {
	reply  string
	closed bool
}

// exchange writes chunks to addr one write each, then reads until the
// server closes the connection or quiet has passed since the last write
// (the server then keeps it open, waiting for the rest of a request).
// With halfClose the client shuts its side after the last chunk, so that
// every server closes once it has answered, and quiet is only a bound.
func exchange(t *testing.T, addr string, chunks []string, halfClose bool, quiet time.Duration) protoOutcome {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	for _, ch := range chunks {
		if _, err := c.Write([]byte(ch)); err != nil {
			// The server closed at a protocol error before the rest came.
			if !isReset(err) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "broken pipe") {
				t.Fatalf("write to %s: %v", addr, err)
			}
			break
		}
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(quiet))
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == nil {
			continue
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			if halfClose {
				t.Fatalf("%s did not close within %v of a half-closed stream; read %q", addr, quiet, got)
			}
			return protoOutcome{reply: string(got)}
		case err == io.EOF || isReset(err):
			return protoOutcome{reply: string(got), closed: true}
		default:
			t.Fatalf("read from %s: %v", addr, err)
		}
	}
}

// protoCases are byte streams at the edges of Redis's request grammar
// (processInlineBuffer, processMultibulkBuffer and sdssplitargs in Redis
// 7): each one's reply and close must be redis-server's.
var protoCases = []struct {
	name   string
	chunks []string
}{
	{"empty arrays", []string{"*0\r\n*-1\r\n*-10\r\n*-9223372036854775808\r\nPING\r\n"}},
	{"count minus zero", []string{"*-0\r\nPING\r\n"}},
	{"empty and blank inline lines", []string{"\r\n\n   \r\n\t\n\v\f\r\nPING\r\n"}},
	{"leading and trailing spaces", []string{"   ECHO    a   \t b  \r\n"}},
	{"double quotes and escapes", []string{`ECHO "a b" "\x41\x4a\x4z\n\r\t\b\a\"\\\q" x"y z"` + "\r\n"}},
	{"single quotes", []string{`ECHO 'a b' 'it\'s' '\n\x41' a'b c'` + "\r\n"}},
	{"empty quoted argument", []string{`ECHO "" ''` + "\r\n" + `""` + "\r\n"}},
	{"unbalanced double quote", []string{"ECHO \"abc\r\nPING\r\n"}},
	{"unbalanced single quote", []string{"ECHO 'abc\r\nPING\r\n"}},
	{"closing quote followed by a letter", []string{"PING\r\nECHO \"a\"b\r\nPING\r\n"}},
	{"closing quote followed by \\v", []string{"ECHO \"a\"\vb\r\n"}},
	{"backslash at the end inside quotes", []string{"ECHO \"a\\\r\n"}},
	{"inline LF alone, CR inside", []string{"ECHO a\rb\nPING\n"}},
	{"NUL hides the line end", []string{"ECHO a\x00b\r\nPING\r\n"}},
	{"null bulk in a request", []string{"*1\r\n$-1\r\n"}},
	{"negative bulk length", []string{"*1\r\n$-2\r\nPING\r\n"}},
	{"non-numeric count", []string{"*x\r\n"}},
	{"count with a plus", []string{"*+1\r\n$4\r\nPING\r\n"}},
	{"count with a space", []string{"* 1\r\n$4\r\nPING\r\n"}},
	{"count with a leading zero", []string{"*01\r\n$4\r\nPING\r\n"}},
	{"empty count", []string{"*\r\n"}},
	{"non-numeric bulk length", []string{"*1\r\n$x\r\nPING\r\n"}},
	{"empty bulk length", []string{"*1\r\n$\r\n"}},
	{"expected dollar", []string{"*1\r\n+PING\r\n"}},
	{"CR where a dollar is due", []string{"*1\r\n\r\n"}},
	{"dollar checked only at the CR", []string{"*1\r\nX"}},
	{"count over a million", []string{"*1048577\r\n$4\r\nPING\r\n"}},
	{"count at INT_MAX", []string{"*2147483647\r\n"}},
	{"count over INT_MAX", []string{"*2147483648\r\n"}},
	{"count over int64", []string{"*9223372036854775808\r\n"}},
	{"bulk length at 512 MB", []string{"*1\r\n$536870912\r\nabc"}},
	{"bulk length over 512 MB", []string{"*1\r\n$536870913\r\n"}},
	{"count line without CR", []string{"*1\n$4\r\nPING\r\n"}},
	{"count line CR and any byte", []string{"*1\rX$4\r\nPING\r\n"}},
	{"bulk line LF alone", []string{"*1\r\n$4\nPING\r\n"}},
	{"missing CRLF after a bulk, waiting", []string{"*1\r\n$4\r\nPING"}},
	{"bad bulk terminator", []string{"*2\r\n$4\r\nECHO\r\n$3\r\nabcX\r\n"}},
	{"bulk terminator skipped unchecked", []string{"*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n"}},
	{"inline line over 64 KiB without newline", []string{"ECHO " + strings.Repeat("a", 70000)}},
	{"inline line of 60 KiB", []string{"ECHO " + strings.Repeat("a", 60000) + "\r\n"}},
	// Redis decides "too big" after each 16 KiB read: an end that comes in
	// the read that passed 64 KiB is found.
	{"inline line of 70 000 bytes sent at once", []string{"ECHO " + strings.Repeat("a", 70000) + "\r\nPING\r\n"}},
	{"count line of 70 000 bytes sent at once", []string{"*" + strings.Repeat("1", 70000) + "\r\n"}},
	{"bulk length line of 70 000 bytes sent at once", []string{"*1\r\n$" + strings.Repeat("1", 70000) + "\r\n"}},
	{"count line over 64 KiB without CR", []string{"*" + strings.Repeat("1", 70000)}},
	{"bulk length line over 64 KiB without CR", []string{"*1\r\n$" + strings.Repeat("1", 70000)}},
	{"long count line with its CR", []string{"*" + strings.Repeat("1", 100) + "\r\n"}},
	{"pipelined inline and multibulk", []string{"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO 'x y'\r\n*0\r\n\r\n*1\r\n$4\r\nPING\r\nPING\n"}},
	{"good requests before a bad one", []string{"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n?\r\nPING\r\n"}},
	{"unknown inline command", []string{"FOO bar 'baz qux'\r\n"}},
	{"empty command name", []string{"\"\"\r\n*1\r\n$0\r\n\r\n"}},
	{"split byte by byte", strings.Split("*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nECHO \"q\\x41\"\r\n*1\r\n$4\r\nPING\r\n", "")},
	{"split byte by byte, then an error", strings.Split("PING\r\n*1\r\n$x\r\n", "")},
}

// TestProtocolLikeRedis sends each of protoCases to redis-server and to
// pykvd, and requires the same reply bytes and the same close: whether
// the server closed the connection, or kept it open for the rest.
func TestProtocolLikeRedis(t *testing.T) {
	t.Parallel()
	pykvAddr, redisAddr := startProtoTwins(t)
	const quiet = 700 * time.Millisecond
	for _, tc := range protoCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := exchange(t, redisAddr, tc.chunks, false, quiet)
			got := exchange(t, pykvAddr, tc.chunks, false, quiet)
			if got != want {
				t.Errorf("stream %q:\npykvd:        %q closed=%v\nredis-server: %q closed=%v", strings.Join(tc.chunks, ""), got.reply, got.closed, want.reply, want.closed)
			}
		})
	}
}

// protoGen makes request streams: well-formed requests of both forms,
// then mutated at random where the grammar is delicate.
type protoGen struct {
	rng *rand.Rand
	key string
}

var protoPieces = []string{"\r", "\n", "\r\n", "\x00", "*", "$", "-1", "0", "-", " ", "\t", "\"", "'", "\\", "\\x4", "\\x41", "99", "2147483648", "536870913"}

func (g *protoGen) request() string {
	k := g.key + strconv.Itoa(g.rng.Intn(3))
	if g.rng.Intn(4) == 0 {
		k = "" // the empty key, a key like any other, as in Redis
	}
	v := []string{"v", "", "a b", "x\"y", "it's", "\x00\xff"}[g.rng.Intn(6)]
	menu := [][]string{{"PING"}, {"ECHO", v}, {"SET", k, v}, {"GET", k}, {"DEL", k}, {"STRLEN", k}, {"EXISTS", k, k},
		{"MULTI"}, {"EXEC"}, {"INCR", k}}
	args := menu[g.rng.Intn(len(menu))]
	if g.rng.Intn(3) == 0 {
		var b strings.Builder
		for i, a := range args {
			if i > 0 {
				b.WriteString([]string{" ", "  ", "\t"}[g.rng.Intn(3)])
			}
			switch {
			case a == "" || strings.ContainsAny(a, " \"'\x00") || strings.IndexByte(a, 0xff) >= 0 || g.rng.Intn(4) == 0:
				b.WriteString(strconv.Quote(a)) // Go's escapes are sdssplitargs's for these bytes
			default:
				b.WriteString(a)
			}
		}
		b.WriteString([]string{"\r\n", "\n"}[g.rng.Intn(2)])
		return b.String()
	}
	s := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		s += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	return s
}

// stream is a few requests with up to three mutations, cut into writes.
func (g *protoGen) stream() []string {
	var s string
	for n := 1 + g.rng.Intn(5); n > 0; n-- {
		s += g.request()
	}
	b := []byte(s)
	for n := g.rng.Intn(6); n > 0 && len(b) > 0; n-- {
		i := g.rng.Intn(len(b))
		switch g.rng.Intn(4) {
		case 0: // replace a byte
			const bytes = "\r\n\x00*$-0123456789 \"'\\x"
			b[i] = bytes[g.rng.Intn(len(bytes))]
		case 1: // insert a piece
			p := protoPieces[g.rng.Intn(len(protoPieces))]
			b = append(b[:i], append([]byte(p), b[i:]...)...)
		case 2: // delete a byte
			b = append(b[:i], b[i+1:]...)
		case 3: // cut the stream short
			b = b[:i]
		}
	}
	var chunks []string
	for len(b) > 0 {
		n := 1 + g.rng.Intn(min(len(b), 24))
		if g.rng.Intn(3) == 0 {
			n = len(b)
		}
		chunks = append(chunks, string(b[:n]))
		b = b[n:]
	}
	return chunks
}

// TestProtocolRandomLikeRedis runs mutated request streams against both
// servers in lock step, half-closing each so that both servers close once
// they have answered: their replies, state included, must be the same
// bytes. PYKV_PROTO_SEED replays a failing seed.
func TestProtocolRandomLikeRedis(t *testing.T) {
	t.Parallel()
	pykvAddr, redisAddr := startProtoTwins(t)
	seed := time.Now().UnixNano()
	if s := os.Getenv("PYKV_PROTO_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	g := &protoGen{rng: rand.New(rand.NewSource(seed)), key: "proto:"}
	iterations := 1000
	if testing.Short() {
		iterations = 50
	}
	for i := range iterations {
		chunks := g.stream()
		want := exchange(t, redisAddr, chunks, true, ioTimeout)
		got := exchange(t, pykvAddr, chunks, true, ioTimeout)
		if got != want {
			t.Fatalf("seed %d (PYKV_PROTO_SEED=%d replays it), stream %d %q:\npykvd:        %q\nredis-server: %q", seed, seed, i, strings.Join(chunks, ""), got.reply, want.reply)
		}
	}
}

// TestProtocolUnauthenticatedLikeRedis: with a password set, a client that
// has not authenticated is held to Redis's small limits (an array of 10, a
// bulk of 16 KiB; an inline command is not bounded), with the same replies
// and closes as redis-server's.
func TestProtocolUnauthenticatedLikeRedis(t *testing.T) {
	t.Parallel()
	const pass = "s3cret"
	server := needTool(t, "redis-server")
	d := testdaemon.Start(t, testdaemon.Options{Password: pass})
	redisAddr := "127.0.0.1:" + strconv.Itoa(startRedis(t, server, "--requirepass", pass))
	const quiet = 700 * time.Millisecond
	for _, tc := range []struct {
		name   string
		chunks []string
	}{
		{"a command before AUTH", []string{"PING\r\n*1\r\n$4\r\nPING\r\n"}},
		{"an array of 10", []string{respBulk(manyArgs("DEL", 10)...)}},
		{"an array of 11", []string{"*11\r\n"}},
		{"a count of INT_MAX", []string{"*2147483647\r\n"}},
		{"an empty array", []string{"*0\r\n*-5\r\nPING\r\n"}},
		{"a bulk of 16384", []string{respBulk("AUTH", strings.Repeat("p", 16384))}},
		{"a bulk length of 16385", []string{"*2\r\n$4\r\nAUTH\r\n$16385\r\n"}},
		{"an invalid bulk length", []string{"*2\r\n$4\r\nAUTH\r\n$536870913\r\n"}},
		{"an inline command of 11 arguments", []string{"AUTH 1 2 3 4 5 6 7 8 9 10\r\n"}},
		{"AUTH, then past the limits", []string{"AUTH " + pass + "\r\n" + respBulk(manyArgs("DEL", 11)...) + "*2\r\n$4\r\nECHO\r\n$16385\r\n" + strings.Repeat("e", 16385) + "\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := exchange(t, redisAddr, tc.chunks, false, quiet)
			got := exchange(t, d.RESPAddr(), tc.chunks, false, quiet)
			if got != want {
				t.Errorf("stream %.200q:\npykvd:        %.300q closed=%v\nredis-server: %.300q closed=%v", strings.Join(tc.chunks, ""), got.reply, got.closed, want.reply, want.closed)
			}
		})
	}
}
