package resp

import (
	"bufio"
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pykv/pykv/reply"
)

func TestWriteReply(t *testing.T) {
	kv := func(items ...reply.Reply) reply.Reply {
		return reply.Reply{Kind: reply.KindMap, Array: items}
	}
	str := func(s string) reply.Reply { return reply.Bytes([]byte(s)) }
	for _, tc := range []struct {
		name         string
		reply        reply.Reply
		resp2, resp3 string
	}{
		{"ok", reply.OK, "+OK\r\n", "+OK\r\n"},
		{"status", reply.Status("PONG"), "+PONG\r\n", "+PONG\r\n"},
		{"status with CR and LF", reply.Status("a\r\nb\nc"), "+a  b c\r\n", "+a  b c\r\n"},
		{"nil", reply.Nil, "$-1\r\n", "_\r\n"},
		{"nil array", reply.NilArray, "*-1\r\n", "_\r\n"},
		{"int", reply.Int(42), ":42\r\n", ":42\r\n"},
		{"negative int", reply.Int(-9223372036854775808), ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"},
		{"bytes", str("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
		{"binary bytes", str("a\r\n\x00"), "$4\r\na\r\n\x00\r\n", "$4\r\na\r\n\x00\r\n"},
		{"empty bytes", reply.Bytes(nil), "$0\r\n\r\n", "$0\r\n\r\n"},
		{"error", reply.Errorf("WRONGTYPE", "Operation against a key holding the wrong kind of value"),
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"error without code", reply.Errorf("", "boom"), "-ERR boom\r\n", "-ERR boom\r\n"},
		{"error without message", reply.Errorf("NOAUTH", ""), "-NOAUTH\r\n", "-NOAUTH\r\n"},
		{"error with LF", reply.Err("bad\r\nnews"), "-ERR bad  news\r\n", "-ERR bad  news\r\n"},
		{"error code with spaces", reply.Errorf("WRONG TYPE\r\n", "x"), "-WRONGTYPE x\r\n", "-WRONGTYPE x\r\n"},
		{"error code of spaces alone", reply.Errorf(" \n", "x"), "-ERR x\r\n", "-ERR x\r\n"},
		{"empty array", reply.Array(nil), "*0\r\n", "*0\r\n"},
		{"array with nil", reply.Array([]reply.Reply{str("a"), reply.Nil, reply.Int(1)}),
			"*3\r\n$1\r\na\r\n$-1\r\n:1\r\n", "*3\r\n$1\r\na\r\n_\r\n:1\r\n"},
		{"map", kv(str("proto"), reply.Int(3), str("mode"), str("standalone")),
			"*4\r\n$5\r\nproto\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n",
			"%2\r\n$5\r\nproto\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"},
		{"empty map", kv(), "*0\r\n", "%0\r\n"},
		{"map in an array", reply.Array([]reply.Reply{kv(str("k"), reply.Nil)}),
			"*1\r\n*2\r\n$1\r\nk\r\n$-1\r\n", "*1\r\n%1\r\n$1\r\nk\r\n_\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := encode(t, 2, tc.reply); got != tc.resp2 {
				t.Errorf("RESP2: got %q, want %q", got, tc.resp2)
			}
			if got := encode(t, 3, tc.reply); got != tc.resp3 {
				t.Errorf("RESP3: got %q, want %q", got, tc.resp3)
			}
		})
	}
}

// TestWriteReplyRefusesWhole checks that a reply that cannot be encoded is
// refused before any byte of it is written, however deep the fault.
func TestWriteReplyRefusesWhole(t *testing.T) {
	odd := reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{reply.Int(1)}}
	for name, r := range map[string]reply.Reply{
		"odd map":            odd,
		"odd map in array":   reply.Array([]reply.Reply{reply.Int(1), odd}),
		"unknown kind":       {Kind: 99},
		"zero reply":         {},
		"unknown kind later": reply.Array([]reply.Reply{reply.OK, {Kind: 42}}),
	} {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		err := NewWriter(bw).WriteReply(r)
		if !errors.Is(err, ErrInvalidReply) {
			t.Errorf("%s: got %v, want ErrInvalidReply", name, err)
		}
		if bw.Buffered() != 0 {
			t.Errorf("%s: %d bytes written", name, bw.Buffered())
		}
	}
}

// TestWriteReplyReportsConnectionError checks that a failed flush is
// reported by the next WriteReply, not lost.
func TestWriteReplyReportsConnectionError(t *testing.T) {
	boom := errors.New("broken pipe")
	w := NewWriter(bufio.NewWriterSize(&failWriter{boom}, 16))
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = w.WriteReply(reply.Bytes([]byte("a value longer than the buffer")))
	}
	if err != boom {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if err := w.WriteCommand([][]byte{[]byte("PING")}); err != boom {
		t.Fatalf("WriteCommand: got %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (f *failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestSetProto(t *testing.T) {
	w := NewWriter(bufio.NewWriter(&bytes.Buffer{}))
	if w.Proto() != 2 {
		t.Fatalf("a new Writer speaks RESP%d, want RESP2", w.Proto())
	}
	w.SetProto(3)
	if w.Proto() != 3 {
		t.Fatalf("after SetProto(3): RESP%d", w.Proto())
	}
	for _, v := range []int{0, 1, 4} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetProto(%d) did not panic", v)
				}
			}()
			w.SetProto(v)
		}()
	}
}

// TestWriteCommandRoundTrip encodes commands as a client does and reads them
// back as the server does.
func TestWriteCommandRoundTrip(t *testing.T) {
	cmds := [][]string{
		{"SET", "k", "v"},
		{"ECHO", ""},
		{"ECHO", "a\r\nb\x00", strings.Repeat("x", 100_000)},
		{"PING"},
	}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := NewWriter(bw)
	for _, c := range cmds {
		args := make([][]byte, len(c))
		for i, a := range c {
			args[i] = []byte(a)
		}
		if err := w.WriteCommand(args); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Flush()
	if !strings.HasPrefix(out.String(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n") {
		t.Fatalf("encoding: %q", out.String()[:40])
	}
	r := NewReader(bufio.NewReader(&out), Limits{})
	var args [][]byte
	for _, want := range cmds {
		var err error
		if args, err = r.ReadCommand(args); err != nil {
			t.Fatal(err)
		}
		if got := toStrings(args); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("got %.40q, want %.40q", got, want)
		}
	}
}

// TestIndexLineEnd: the first CR or LF, as strings.IndexAny finds it, for
// strings of CR, LF and others, short and longer than a vector.
func TestIndexLineEnd(t *testing.T) {
	cases := []string{"", "a", "\r", "\n", "\r\n", "\n\r", "ab\rc\nd", "ab\nc\rd",
		strings.Repeat("x", 100) + "\n" + strings.Repeat("y", 50) + "\r",
		strings.Repeat("x", 100) + "\r" + strings.Repeat("y", 50) + "\n",
		strings.Repeat("x", 200)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		b := make([]byte, rng.IntN(80))
		for i := range b {
			b[i] = "ab\r\n"[rng.IntN(4)]
			if rng.IntN(8) != 0 {
				b[i] = 'x'
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want := strings.IndexAny(s, "\r\n")
		if got := indexLineEnd(s); got != want {
			t.Errorf("indexLineEnd(%q) = %d, want %d", s, got, want)
		}
		if got := indexLineEndBytes([]byte(s)); got != want {
			t.Errorf("indexLineEndBytes(%q) = %d, want %d", s, got, want)
		}
	}
}
