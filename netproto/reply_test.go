package netproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/pykv/pykv/reply"
)

func replyBytes(s string) reply.Reply { return reply.Bytes([]byte(s)) }

// nested returns depth Arrays, one inside the other, around a Nil.
func nested(depth int) reply.Reply {
	r := reply.Nil
	for range depth {
		r = reply.Array([]reply.Reply{r})
	}
	return r
}

func TestWriteReply(t *testing.T) {
	tests := []struct {
		name string
		r    reply.Reply
		want []byte
	}{
		{"ok", reply.OK, frame([]byte{0x01})},
		{"nil", reply.Nil, frame([]byte{0x02})},
		{"int", reply.Int(-2), frame([]byte{0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe})},
		{"int min", reply.Int(math.MinInt64), frame([]byte{0x03, 0x80, 0, 0, 0, 0, 0, 0, 0})},
		{"bytes", replyBytes("v"), frame([]byte{0x04}, arg("v"))},
		{"nil bytes is the empty string", reply.Bytes(nil), frame([]byte{0x04}, arg(""))},
		{"status", reply.Status("PONG"), frame([]byte{0x07}, arg("PONG"))},
		{"error", reply.Errorf("ERR", "no"), frame([]byte{0x06}, arg("ERR"), arg("no"))},
		{"empty array", reply.Array(nil), frame([]byte{0x05}, be32(0))},
		{"array", reply.Array([]reply.Reply{reply.Nil, reply.Int(1)}),
			frame([]byte{0x05}, be32(2), []byte{0x02}, []byte{0x03, 0, 0, 0, 0, 0, 0, 0, 1})},
		{"map counts pairs", reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{replyBytes("a"), reply.OK}},
			frame([]byte{0x08}, be32(1), []byte{0x04}, arg("a"), []byte{0x01})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodeReply(t, tt.r); !bytes.Equal(got, tt.want) {
				t.Errorf("WriteReply(%s)\n got  %x\n want %x", tt.r, got, tt.want)
			}
		})
	}
}

func TestWriteReplyInvalid(t *testing.T) {
	cyclic := reply.Array(make([]reply.Reply, 1))
	cyclic.Array[0] = cyclic // its own first item: endless nesting
	tests := []struct {
		name string
		r    reply.Reply
	}{
		{"zero kind", reply.Reply{}},
		{"unknown kind", reply.Reply{Kind: 9}},
		{"unknown kind inside", reply.Array([]reply.Reply{reply.OK, {Kind: 200}})},
		{"odd map", reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{reply.OK}}},
		{"too deep", nested(MaxDepth + 1)},
		{"cyclic", cyclic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bw := bufio.NewWriter(io.Discard)
			if err := NewWriter(bw).WriteReply(tt.r); !errors.Is(err, ErrInvalidReply) {
				t.Fatalf("WriteReply = %v, want ErrInvalidReply", err)
			}
			if bw.Buffered() != 0 {
				t.Errorf("%d bytes written before the error", bw.Buffered())
			}
		})
	}
	if err := NewWriter(bufio.NewWriter(io.Discard)).WriteReply(nested(MaxDepth)); err != nil {
		t.Errorf("WriteReply at MaxDepth: %v", err)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		lim     Limits
		want    string // formatReply of the result
		wantErr error
	}{
		{"int max", frame([]byte{0x03, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), Limits{}, "int 9223372036854775807", nil},
		{"error", frame([]byte{0x06}, arg("WRONGTYPE"), arg("bad")), Limits{}, `error "WRONGTYPE" "bad"`, nil},
		{"nested at MaxDepth", encodeReply(t, nested(MaxDepth)), Limits{}, formatReply(nested(MaxDepth)), nil},
		{"nested past MaxDepth", bytes.Join([][]byte{be32(5*(MaxDepth+1) + 1), bytes.Repeat([]byte{0x05, 0, 0, 0, 1}, MaxDepth+1), {0x02}}, nil), Limits{}, "", ErrMalformed},
		{"items at the limit", frame([]byte{0x05}, be32(2), []byte{0x05}, be32(1), []byte{0x02, 0x02}), Limits{MaxArgs: 3}, "array 2 array 1 nil nil", nil},
		{"items over the limit, counted across levels", frame([]byte{0x05}, be32(2), []byte{0x05}, be32(2), []byte{0x02, 0x02}), Limits{MaxArgs: 3}, "", ErrTooManyArgs},
		{"map pairs count double", frame([]byte{0x08}, be32(2), []byte{0x02, 0x02, 0x02, 0x02}), Limits{MaxArgs: 3}, "", ErrTooManyArgs},
		{"map short of its values", frame([]byte{0x08}, be32(1), []byte{0x02}), Limits{}, "", ErrMalformed},
		{"count past the frame", frame([]byte{0x05}, be32(math.MaxUint32)), Limits{}, "", ErrMalformed},
		{"item cut short", frame([]byte{0x05}, be32(2), []byte{0x02, 0x04, 0, 0}), Limits{}, "", ErrMalformed},
		{"error code past the frame", frame([]byte{0x06}, be32(10), []byte("E")), Limits{}, "", ErrMalformed},
		{"error without message", frame([]byte{0x06}, arg("E")), Limits{}, "", ErrMalformed},
		{"trailing bytes", frame([]byte{0x01, 0x01}), Limits{}, "", ErrMalformed},
		{"unknown type", frame([]byte{0x42}), Limits{}, "", ErrMalformed},
		{"empty frame", frame(), Limits{}, "", ErrMalformed},
		{"over MaxFrame", frame([]byte{0x04}, arg("abcd")), Limits{MaxFrame: 8}, "", ErrFrameTooLarge},
		{"end of stream", nil, Limits{}, "", io.EOF},
		{"cut in the body", frame([]byte{0x04}, arg("abcd"))[:7], Limits{}, "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readerOf(tt.in, tt.lim).ReadReply()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadReply(%x) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadReply(%x): %v", tt.in, err)
			}
			if formatReply(got) != tt.want {
				t.Errorf("ReadReply(%x) = %s, want %s", tt.in, formatReply(got), tt.want)
			}
		})
	}
}

// TestReadReplyOwnsItsMemory checks that a reply stays intact while later
// replies are read: clients hand replies to their callers and forget them.
func TestReadReplyOwnsItsMemory(t *testing.T) {
	var in []byte
	in = append(in, encodeReply(t, reply.Array([]reply.Reply{replyBytes("first"), reply.Status("one")}))...)
	in = append(in, encodeReply(t, reply.Array([]reply.Reply{replyBytes("ZZZZZ"), reply.Status("ZZZ")}))...)
	r := NewReader(bufio.NewReaderSize(bytes.NewReader(in), 16), Limits{})
	first, err := r.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadReply(); err != nil {
		t.Fatal(err)
	}
	if got := formatReply(first); got != `array 2 bytes "first" status "one"` {
		t.Errorf("first reply became %s after the second was read", got)
	}
}

func TestWriteReplyDoesNotAllocate(t *testing.T) {
	w := NewWriter(bufio.NewWriter(io.Discard))
	replies := []reply.Reply{
		reply.OK, reply.Nil, reply.Int(42), replyBytes(strings.Repeat("v", 100)),
		reply.Status("PONG"), reply.Err("unknown command 'FOO'"),
		reply.Array([]reply.Reply{replyBytes("a"), reply.Nil, reply.Array([]reply.Reply{reply.Int(1)})}),
		{Kind: reply.KindMap, Array: []reply.Reply{replyBytes("proto"), reply.Int(3)}},
	}
	n := testing.AllocsPerRun(1000, func() {
		for _, r := range replies {
			if err := w.WriteReply(r); err != nil {
				t.Fatal(err)
			}
		}
	})
	if n != 0 {
		t.Errorf("WriteReply allocates %v times", n)
	}
}

// FuzzReadReply feeds arbitrary bytes to ReadReply. It must not panic, and
// every reply it accepts must re-encode to the very bytes it was read
// from: the encoding is canonical, so decode then encode is the identity.
func FuzzReadReply(f *testing.F) {
	seeds := []reply.Reply{
		reply.OK, reply.Nil, reply.Int(-1), replyBytes("v"), reply.Status("PONG"),
		reply.Errorf("ERR", "unknown command"), reply.Array(nil), nested(3),
		reply.Array([]reply.Reply{replyBytes("17"), reply.Array([]reply.Reply{replyBytes("k1"), replyBytes("")})}),
		{Kind: reply.KindMap, Array: []reply.Reply{replyBytes("server"), replyBytes("pykv"), replyBytes("proto"), reply.Int(3)}},
	}
	for _, r := range seeds {
		b := new(bytes.Buffer)
		bw := bufio.NewWriter(b)
		if err := NewWriter(bw).WriteReply(r); err != nil {
			f.Fatal(err)
		}
		bw.Flush()
		f.Add(b.Bytes(), 0)
	}
	f.Add(frame([]byte{0x05}, be32(3), []byte{0x02, 0x02, 0x02}), 2)
	f.Add(frame([]byte{0x05}, be32(math.MaxUint32)), 0)
	f.Add(frame([]byte{0x01, 0x01}), 0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x04}, 0)
	f.Fuzz(func(t *testing.T, in []byte, maxArgs int) {
		src := bytes.NewReader(in)
		r := NewReader(bufio.NewReader(src), Limits{MaxFrame: 1 << 16, MaxArgs: maxArgs % 64})
		pos := func() int { return len(in) - src.Len() - r.Buffered() }
		for start := 0; ; {
			rep, err := r.ReadReply()
			end := pos()
			raw := in[start:end]
			start = end
			if err != nil {
				if Recoverable(err) {
					continue
				}
				return
			}
			if out := encodeReply(t, rep); !bytes.Equal(out, raw) {
				t.Fatalf("read %x as %s, which encodes to %x", raw, formatReply(rep), out)
			}
		}
	})
}

// TestReadReplyAllocations pins the client's cost: one buffer for the
// frame, one slice per Array or Map, and the two strings of an Error.
func TestReadReplyAllocations(t *testing.T) {
	tests := []struct {
		r    reply.Reply
		want float64
	}{
		{replyBytes(strings.Repeat("v", 100)), 1},
		{reply.Array([]reply.Reply{replyBytes("a"), reply.Array([]reply.Reply{reply.Nil})}), 3},
		{reply.Errorf("ERR", "no such key"), 3},
	}
	for _, tt := range tests {
		r := NewReader(bufio.NewReader(&cycle{data: encodeReply(t, tt.r)}), Limits{})
		n := testing.AllocsPerRun(200, func() {
			if _, err := r.ReadReply(); err != nil {
				t.Fatal(err)
			}
		})
		if n != tt.want {
			t.Errorf("ReadReply(%s) allocates %v times, want %v", tt.r, n, tt.want)
		}
	}
}
