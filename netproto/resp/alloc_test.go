package resp

import (
	"bufio"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/pykv/pykv/reply"
)

// repeatReader returns its pattern over and over, without end or allocation.
type repeatReader struct {
	pattern []byte
	off     int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.pattern[r.off:])
		n += k
		r.off = (r.off + k) % len(r.pattern)
	}
	return n, nil
}

func TestReadCommandSteadyStateDoesNotAllocate(t *testing.T) {
	for name, in := range map[string]string{
		"resp":   "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
		"inline": "SET key \"a value\"\r\n",
	} {
		r := NewReader(bufio.NewReader(&repeatReader{pattern: []byte(in)}), Limits{})
		args, _ := r.ReadCommand(nil) // warm up: the Reader's and caller's buffers
		allocs := testing.AllocsPerRun(1000, func() {
			var err error
			if args, err = r.ReadCommand(args); err != nil || len(args) != 3 {
				t.Fatalf("%q, %v", args, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per command, want 0", name, allocs)
		}
	}
}

func TestWriteReplyDoesNotAllocate(t *testing.T) {
	w := NewWriter(bufio.NewWriter(io.Discard))
	replies := []reply.Reply{
		reply.OK, reply.Nil, reply.Int(-123456789), reply.Bytes([]byte("value")),
		reply.Status("a status longer than thirty-two bytes, with\r\na line break"),
		reply.Errorf("WRONGTYPE", "Operation against a key holding the wrong kind of value"),
		reply.Array([]reply.Reply{reply.Bytes([]byte("a")), reply.Nil, reply.Int(1)}),
		{Kind: reply.KindMap, Array: []reply.Reply{reply.Bytes([]byte("k")), reply.Int(1)}},
	}
	for _, proto := range []int{2, 3} {
		w.SetProto(proto)
		for _, rep := range replies {
			allocs := testing.AllocsPerRun(1000, func() {
				if err := w.WriteReply(rep); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("RESP%d %s: %.1f allocations, want 0", proto, render(rep), allocs)
			}
		}
	}
}

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileLengthsDoNotAllocate sends lengths that claim gigabytes and
// then nothing: what is allocated must stay near what arrived, whether the
// length is refused by a limit or accepted and then never sent.
func TestHostileLengthsDoNotAllocate(t *testing.T) {
	const budget = 64 << 10 // the first chunk of a bulk string, and small change
	huge := Limits{MaxBulk: math.MaxInt, MaxArgs: math.MaxInt, MaxCommand: math.MaxInt}
	for _, tc := range []struct {
		name  string
		lim   Limits
		in    string
		reply bool // read with ReadReply instead of ReadCommand
		err   string
	}{
		{"array count, default limits", Limits{}, "*2147483648\r\n", false, textInvalidMultibulkLength},
		{"bulk length, default limits", Limits{}, "*1\r\n$4294967296\r\n", false, textInvalidBulkLength},
		{"array count, no limits", huge, "*2147483647\r\n$1\r\na\r\n", false, "unexpected EOF"},
		{"bulk length, no limits", huge, "*1\r\n$4294967296\r\nabc", false, "unexpected EOF"},
		{"bulk at the default limit", Limits{}, "*1\r\n$536870912\r\nabc", false, "unexpected EOF"},
		{"bulk length of MaxInt64, no limits", huge, "*1\r\n$9223372036854775807\r\nabc", false, textInvalidBulkLength},
		{"bulk length of MaxInt64-2, no limits", huge, "*1\r\n$9223372036854775805\r\nabc", false, "unexpected EOF"},
		{"reply bulk length of MaxInt64, no limits", huge, "$9223372036854775807\r\nabc", true, textInvalidBulkLength},
		{"reply array count, default limits", Limits{}, "*2147483648\r\n", true, textInvalidMultibulkLength},
		{"reply bulk length, default limits", Limits{}, "$4294967296\r\n", true, textInvalidBulkLength},
		{"reply array count, no limits", huge, "*2147483647\r\n:1\r\n", true, "unexpected EOF"},
		{"reply map count, no limits", huge, "%1073741823\r\n:1\r\n", true, "unexpected EOF"},
		{"reply bulk length, no limits", huge, "$4294967296\r\nabc", true, "unexpected EOF"},
	} {
		br := bufio.NewReader(strings.NewReader(tc.in))
		r := NewReader(br, tc.lim)
		var err error
		n := allocated(func() {
			if tc.reply {
				_, err = r.ReadReply()
			} else {
				_, err = r.ReadCommand(nil)
			}
		})
		if err == nil || err.Error() != tc.err {
			t.Errorf("%s: got error %v, want %q", tc.name, err, tc.err)
		}
		t.Logf("%s: %d bytes allocated", tc.name, n)
		if n > budget {
			t.Errorf("%s: %d bytes allocated for %d bytes of input", tc.name, n, len(tc.in))
		}
		allocs := testing.AllocsPerRun(10, func() {
			r := NewReader(bufio.NewReader(strings.NewReader(tc.in)), tc.lim)
			if tc.reply {
				_, _ = r.ReadReply()
			} else {
				_, _ = r.ReadCommand(nil)
			}
		})
		if allocs > 12 {
			t.Errorf("%s: %.0f allocations", tc.name, allocs)
		}
	}
}

// TestSlowBulkGrowsWithArrival feeds a large accepted bulk string and checks
// that memory follows the bytes sent, not the length declared.
func TestSlowBulkGrowsWithArrival(t *testing.T) {
	const sent = 1 << 20
	in := "*1\r\n$536870912\r\n" + strings.Repeat("x", sent)
	r := NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
	var err error
	n := allocated(func() { _, err = r.ReadCommand(nil) })
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v", err)
	}
	// A buffer that doubles as bytes arrive allocates, over all its steps,
	// less than four times what it ends up holding.
	if n > 5*sent {
		t.Fatalf("%d bytes allocated for %d sent of 512 MiB declared", n, sent)
	}
}

// TestMaxCommandStopsAnEndlessCommand sends a command of the most arguments
// allowed, each a bulk string within MaxBulk, without end. MaxArgs times
// MaxBulk would be terabytes; MaxCommand stops it once its arguments reach
// the limit, having read and held about that much and no more.
func TestMaxCommandStopsAnEndlessCommand(t *testing.T) {
	const limit = 1 << 20
	bulk := "$65536\r\n" + strings.Repeat("x", 65536) + "\r\n"
	src := &countReader{r: io.MultiReader(strings.NewReader("*1048576\r\n"), &repeatReader{pattern: []byte(bulk)})}
	r := NewReader(bufio.NewReader(src), Limits{MaxCommand: limit})
	var err error
	n := allocated(func() { _, err = r.ReadCommand(nil) })
	if err != ErrCommandTooLarge {
		t.Fatalf("got %v, want ErrCommandTooLarge", err)
	}
	// The arguments up to the limit, their framing and one bufio buffer.
	if src.n > limit+limit/64+4096 {
		t.Errorf("%d bytes read for a MaxCommand of %d", src.n, limit)
	}
	// A buffer that doubles allocates, over all its steps, a few times what
	// it ends up holding.
	if n > 6*limit {
		t.Errorf("%d bytes allocated for a MaxCommand of %d", n, limit)
	}
	t.Logf("read %d bytes, allocated %d", src.n, n)
}

// TestMaxCommandStopsAFloodOfEmptyArguments sends a count of INT_MAX,
// which Redis 7 accepts, then empty bulk strings without end: six bytes
// each, but each costs the reader its bookkeeping. MaxCommand holds that
// too, so the flood stops after MaxCommand/argOverhead arguments.
func TestMaxCommandStopsAFloodOfEmptyArguments(t *testing.T) {
	const limit = 1 << 20
	src := &countReader{r: io.MultiReader(strings.NewReader("*2147483647\r\n"), &repeatReader{pattern: []byte("$0\r\n\r\n")})}
	r := NewReader(bufio.NewReader(src), Limits{MaxCommand: limit})
	var err error
	var args [][]byte
	n := allocated(func() { args, err = r.ReadCommand(nil) })
	if err != ErrCommandTooLarge {
		t.Fatalf("got %v, want ErrCommandTooLarge", err)
	}
	if want := limit / argOverhead * 6; src.n > want+4096 {
		t.Errorf("%d bytes read, want about %d", src.n, want)
	}
	if n > 4*limit {
		t.Errorf("%d bytes allocated for a MaxCommand of %d", n, limit)
	}
	t.Logf("read %d bytes, allocated %d, %d args returned", src.n, n, len(args))
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
