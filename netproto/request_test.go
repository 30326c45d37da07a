package netproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/pykv/pykv/reply"
)

// frame builds a frame from its body parts, by hand rather than with the
// codec under test.
func frame(parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(be32(uint32(len(body))), body...)
}

func arg(s string) []byte { return append(be32(uint32(len(s))), s...) }

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		lim     Limits
		want    string // formatArgv of the result
		wantErr error
	}{
		{"opcode without args", frame([]byte{OpDBSize}), Limits{}, `"DBSIZE"`, nil},
		{"opcode with args", frame([]byte{OpSet}, arg("k"), arg("v"), arg("EX"), arg("10")), Limits{}, `"SET" "k" "v" "EX" "10"`, nil},
		{"empty arg", frame([]byte{OpSet}, arg("k"), arg("")), Limits{}, `"SET" "k" ""`, nil},
		{"generic", frame([]byte{OpCommand}, arg("Config"), arg("GET"), arg("x")), Limits{}, `"Config" "GET" "x"`, nil},
		{"generic naming an opcode command", frame([]byte{OpCommand}, arg("get"), arg("k")), Limits{}, `"get" "k"`, nil},
		{"max args exactly", frame([]byte{OpDel}, arg("a"), arg("b")), Limits{MaxArgs: 3}, `"DEL" "a" "b"`, nil},
		{"one arg too many", frame([]byte{OpDel}, arg("a"), arg("b"), arg("c")), Limits{MaxArgs: 3}, "", ErrTooManyArgs},
		{"generic name counts as an arg", frame([]byte{OpCommand}, arg("X"), arg("a"), arg("b")), Limits{MaxArgs: 2}, "", ErrTooManyArgs},
		{"frame at the limit", frame([]byte{OpGet}, arg("kk")), Limits{MaxFrame: 7}, `"GET" "kk"`, nil},
		{"frame over the limit", frame([]byte{OpGet}, arg("kkk")), Limits{MaxFrame: 7}, "", ErrFrameTooLarge},
		{"unknown opcode", frame([]byte{0x40}), Limits{}, "", ErrUnknownOpcode},
		{"empty frame", frame(), Limits{}, "", ErrMalformed},
		{"arg past the end", frame([]byte{OpGet}, be32(2), []byte("k")), Limits{}, "", ErrMalformed},
		{"huge arg length", frame([]byte{OpGet}, be32(math.MaxUint32), []byte("k")), Limits{}, "", ErrMalformed},
		{"truncated length", frame([]byte{OpGet}, arg("k"), []byte{0, 0}), Limits{}, "", ErrMalformed},
		{"generic without name", frame([]byte{OpCommand}), Limits{}, "", ErrMalformed},
		{"generic with empty name", frame([]byte{OpCommand}, arg("")), Limits{}, "", ErrMalformed},
		{"end of stream", nil, Limits{}, "", io.EOF},
		{"cut in the header", []byte{0, 0}, Limits{}, "", io.ErrUnexpectedEOF},
		{"cut in the body", frame([]byte{OpGet}, arg("key"))[:8], Limits{}, "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, err := readerOf(tt.in, tt.lim).ReadRequest(nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadRequest(%x) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadRequest(%x): %v", tt.in, err)
			}
			if got := formatArgv(argv); got != tt.want {
				t.Errorf("ReadRequest(%x) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestFrameTooLargeSaysBothSizes(t *testing.T) {
	_, err := readerOf(frame([]byte{OpGet}, arg("kkk")), Limits{MaxFrame: 7}).ReadRequest(nil)
	if err == nil || !strings.Contains(err.Error(), "8 bytes claimed") || !strings.Contains(err.Error(), "limit is 7") {
		t.Fatalf("error %q should name the claimed (8) and the allowed (7) size", err)
	}
	if Recoverable(err) {
		t.Error("a frame too large must not be recoverable: its body is still in the stream")
	}
}

// TestRecoverableErrorsLeaveTheNextFrame checks the promise behind
// Recoverable: after such an error, the next frame reads normally.
func TestRecoverableErrorsLeaveTheNextFrame(t *testing.T) {
	bad := [][]byte{
		frame([]byte{0x40}, arg("x")),
		frame(),
		frame([]byte{OpGet}, be32(9), []byte("k")),
		frame([]byte{OpCommand}),
		frame([]byte{OpDel}, arg("a"), arg("b"), arg("c"), arg("d")),
	}
	good := frame([]byte{OpGet}, arg("k"))
	for _, b := range bad {
		r := readerOf(append(append([]byte{}, b...), good...), Limits{MaxArgs: 4})
		_, err := r.ReadRequest(nil)
		if !Recoverable(err) {
			t.Fatalf("ReadRequest(%x) = %v, want a recoverable error", b, err)
		}
		argv, err := r.ReadRequest(nil)
		if err != nil || formatArgv(argv) != `"GET" "k"` {
			t.Fatalf("after %x: ReadRequest = %s, %v; want the next frame", b, formatArgv(argv), err)
		}
	}
}

func TestRecoverable(t *testing.T) {
	for _, err := range []error{nil, io.EOF, io.ErrUnexpectedEOF, ErrFrameTooLarge, ErrBadMagic, errors.New("x")} {
		if Recoverable(err) {
			t.Errorf("Recoverable(%v) = true", err)
		}
	}
}

func TestErrorReply(t *testing.T) {
	_, err := readerOf(frame([]byte{0x7e}), Limits{}).ReadRequest(nil)
	got := ErrorReply(err)
	want := reply.Errorf("PROTO", "unknown opcode: 0x7e")
	if got.Kind != want.Kind || got.Code != want.Code || got.Msg != want.Msg {
		t.Errorf("ErrorReply(%v) = %s, want %s", err, got, want)
	}
}

// TestArgsAreTheCallers checks that argv may be changed in place without
// harm: appending to one arg leaves the next alone, and upper-casing the
// name does not touch the opcode table.
func TestArgsAreTheCallers(t *testing.T) {
	in := append(frame([]byte{OpSet}, arg("k"), arg("v")), frame([]byte{OpSet}, arg("k"), arg("v"))...)
	r := readerOf(in, Limits{})
	argv, err := r.ReadRequest(nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(argv[1], "XXXX"...)
	argv[0][0] = 's'
	if formatArgv(argv) != `"sET" "k" "v"` {
		t.Fatalf("argv = %s after an append to argv[1]", formatArgv(argv))
	}
	argv, err = r.ReadRequest(argv)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := OpcodeName(OpSet); name != "SET" || formatArgv(argv) != `"SET" "k" "v"` {
		t.Fatalf("the opcode table changed: OpcodeName = %q, argv = %s", name, formatArgv(argv))
	}
}

// cycle is an endless stream repeating data, for reading without
// allocating.
type cycle struct {
	data []byte
	off  int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.off:])
	c.off = (c.off + n) % len(c.data)
	return n, nil
}

func TestReadRequestDoesNotAllocate(t *testing.T) {
	stream := append(frame([]byte{OpSet}, arg("key:1"), arg(strings.Repeat("v", 100))), frame([]byte{OpCommand}, arg("CONFIG"), arg("GET"), arg("x"))...)
	r := NewReader(bufio.NewReader(&cycle{data: stream}), Limits{})
	var argv [][]byte
	var err error
	read := func() {
		if argv, err = r.ReadRequest(argv); err != nil {
			t.Fatal(err)
		}
	}
	read() // sizes the buffers
	read()
	if n := testing.AllocsPerRun(1000, read); n != 0 {
		t.Errorf("ReadRequest allocates %v times per request", n)
	}
}

func TestReadRequestDropsABigBuffer(t *testing.T) {
	big := frame([]byte{OpSet}, arg("k"), arg(strings.Repeat("v", 2*maxRetained)))
	small := frame([]byte{OpGet}, arg("k"))
	r := readerOf(append(big, small...), Limits{})
	if _, err := r.ReadRequest(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadRequest(nil); err != nil {
		t.Fatal(err)
	}
	if cap(r.buf) > maxRetained {
		t.Errorf("the reader kept a %d-byte buffer after a small request", cap(r.buf))
	}
}

// allocDuring returns the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestFrameClaiming4GiBIsNotAllocated sends a header claiming 4 GiB - 1
// bytes, the most the length field can say. Under the default limit it is
// refused before reading on; under a limit that admits it, memory follows
// the few bytes that really arrive.
func TestFrameClaiming4GiBIsNotAllocated(t *testing.T) {
	claim := append(be32(math.MaxUint32), OpSet, 0, 0, 0, 1, 'k')
	const budget = 1 << 20 // far below the claim; a little for the error and buffers

	var err error
	n := allocDuring(func() { _, err = readerOf(claim, Limits{}).ReadRequest(nil) })
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadRequest = %v, want ErrFrameTooLarge", err)
	}
	if n > budget {
		t.Errorf("refusing a 4 GiB claim allocated %d bytes", n)
	}
	n = allocDuring(func() { _, err = readerOf(claim, Limits{}).ReadReply() })
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadReply = %v, want ErrFrameTooLarge", err)
	}
	if n > budget {
		t.Errorf("refusing a 4 GiB reply claim allocated %d bytes", n)
	}

	if math.MaxInt < math.MaxUint32 {
		t.Skip("int cannot admit a 4 GiB frame here")
	}
	open := Limits{MaxFrame: math.MaxInt}
	n = allocDuring(func() { _, err = readerOf(claim, open).ReadRequest(nil) })
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("ReadRequest = %v, want io.ErrUnexpectedEOF", err)
	}
	if n > budget {
		t.Errorf("an admitted 4 GiB claim with 6 bytes behind it allocated %d bytes", n)
	}
	n = allocDuring(func() { _, err = readerOf(claim, open).ReadReply() })
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("ReadReply = %v, want io.ErrUnexpectedEOF", err)
	}
	if n > budget {
		t.Errorf("an admitted 4 GiB reply claim with 6 bytes behind it allocated %d bytes", n)
	}
}

// TestBodyGrowsWithTheData reads a large frame that really arrives: the
// buffers grow by doubling and add up to less than three times the frame.
func TestBodyGrowsWithTheData(t *testing.T) {
	const size = 2 << 20
	in := frame([]byte{OpSet}, arg("k"), arg(strings.Repeat("v", size)))
	var err error
	var argv [][]byte
	n := allocDuring(func() { argv, err = readerOf(in, Limits{}).ReadRequest(nil) })
	if err != nil || len(argv[2]) != size {
		t.Fatalf("ReadRequest: %v", err)
	}
	if n > 3*size {
		t.Errorf("reading an %d-byte frame allocated %d bytes", size, n)
	}
}

func TestWriteRequestFoldsCase(t *testing.T) {
	want := frame([]byte{OpIncrBy}, arg("n"), arg("5"))
	for _, name := range []string{"INCRBY", "incrby", "IncrBy"} {
		if got := encodeRequest(t, [][]byte{[]byte(name), []byte("n"), []byte("5")}); !bytes.Equal(got, want) {
			t.Errorf("WriteRequest(%s) = %x, want %x", name, got, want)
		}
	}
}

func TestWriteRequestInvalid(t *testing.T) {
	for _, argv := range [][][]byte{nil, {}, {nil}, {[]byte(""), []byte("x")}} {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		if err := NewWriter(bw).WriteRequest(argv); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("WriteRequest(%q) = %v, want ErrInvalidRequest", argv, err)
		}
		if bw.Buffered() != 0 {
			t.Errorf("WriteRequest(%q) wrote %d bytes before failing", argv, bw.Buffered())
		}
	}
}

func TestWriteRequestDoesNotAllocate(t *testing.T) {
	w := NewWriter(bufio.NewWriter(io.Discard))
	get := [][]byte{[]byte("get"), []byte("key:1")}
	generic := [][]byte{[]byte("CONFIG"), []byte("GET"), []byte("maxclients")}
	n := testing.AllocsPerRun(1000, func() {
		if err := w.WriteRequest(get); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRequest(generic); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("WriteRequest allocates %v times", n)
	}
}

// FuzzReadRequest feeds arbitrary bytes to ReadRequest. It must not panic,
// and every request it accepts must survive a round trip: it re-encodes to
// the very bytes read, except a generic frame naming a command that has an
// opcode, which re-encodes with the opcode and reads back as the same argv
// but for the name's case.
func FuzzReadRequest(f *testing.F) {
	f.Add(frame([]byte{OpGet}, arg("k")), 0)
	f.Add(frame([]byte{OpSet}, arg("k"), arg("v"), arg("PX"), arg("100"), arg("NX")), 0)
	f.Add(append(frame([]byte{OpPing}), frame([]byte{OpMGet}, arg("a"), arg(""), arg("c"))...), 0)
	f.Add(frame([]byte{OpCommand}, arg("hello"), arg("3")), 0)
	f.Add(frame([]byte{OpCommand}, arg("get"), arg("k")), 0)
	f.Add(frame([]byte{OpDel}, arg("a"), arg("b"), arg("c")), 2)
	f.Add(frame([]byte{0x7e}), 0)
	f.Add(frame(), 0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, OpGet}, 0)
	f.Add(frame([]byte{OpGet}, be32(100), []byte("k")), 0)
	f.Fuzz(func(t *testing.T, in []byte, maxArgs int) {
		src := bytes.NewReader(in)
		r := NewReader(bufio.NewReader(src), Limits{MaxFrame: 1 << 16, MaxArgs: maxArgs % 64})
		pos := func() int { return len(in) - src.Len() - r.Buffered() }
		var argv [][]byte
		for start := 0; ; {
			var err error
			argv, err = r.ReadRequest(argv)
			end := pos()
			raw := in[start:end]
			start = end
			if err != nil {
				if Recoverable(err) {
					continue
				}
				return
			}
			out := encodeRequest(t, argv)
			_, hasOp := opcodeOf(argv[0])
			if (raw[FrameHeaderSize] != OpCommand || !hasOp) && !bytes.Equal(out, raw) {
				t.Fatalf("read %x as %s, which encodes to %x", raw, formatArgv(argv), out)
			}
			back, err := readerOf(out, Limits{}).ReadRequest(nil)
			if err != nil {
				t.Fatalf("re-reading %x: %v", out, err)
			}
			if !bytes.EqualFold(back[0], argv[0]) || formatArgv(back[1:]) != formatArgv(argv[1:]) {
				t.Fatalf("round trip of %s gave %s", formatArgv(argv), formatArgv(back))
			}
		}
	})
}
