package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var commandGoldens = []string{"testdata/commands.txt", "testdata/inline.txt"}

func TestReadCommandGolden(t *testing.T) {
	for _, file := range commandGoldens {
		for _, c := range loadGolden(t, file) {
			t.Run(filepath.Base(file)+"/"+c.name, func(t *testing.T) {
				for how, r := range readers(c.in, c.limits) {
					r.SetUnauthenticated(c.unauth)
					checkCommands(t, how, r, c)
				}
			})
		}
	}
}

func checkCommands(t *testing.T, how string, r *Reader, c golden) {
	t.Helper()
	var args [][]byte
	for i, want := range c.cmds {
		var err error
		args, err = r.ReadCommand(args)
		if err != nil {
			t.Fatalf("%s:%d (%s): command %d: %v", c.file, c.line, how, i+1, err)
		}
		if got := toStrings(args); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:%d (%s): command %d:\n got %q\nwant %q", c.file, c.line, how, i+1, got, want)
		}
	}
	_, err := r.ReadCommand(args)
	checkEnd(t, how, c, err)
}

// checkEnd checks the error that ends a golden input.
func checkEnd(t *testing.T, how string, c golden, err error) {
	t.Helper()
	switch {
	case c.err == "" && err != io.EOF:
		t.Fatalf("%s:%d (%s): after the last case got %v, want io.EOF", c.file, c.line, how, err)
	case c.err == "":
	case err == nil:
		t.Fatalf("%s:%d (%s): got no error, want %q", c.file, c.line, how, c.err)
	case err.Error() != c.err:
		t.Fatalf("%s:%d (%s): got error %q, want %q", c.file, c.line, how, err, c.err)
	case strings.HasPrefix(c.err, "Protocol error: "):
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("%s:%d (%s): %v is a %T, not a *ProtocolError", c.file, c.line, how, err, err)
		}
	}
}

func toStrings(args [][]byte) []string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = string(a)
	}
	return s
}

// TestEveryErrorTextIsCovered proves that every ProtocolError text is
// produced by at least one golden case, so none is dead or untested.
func TestEveryErrorTextIsCovered(t *testing.T) {
	var seen []string
	for _, file := range append(commandGoldens, replyGoldens...) {
		for _, c := range loadGolden(t, file) {
			seen = append(seen, c.err)
		}
	}
	for _, text := range errorTexts {
		found := false
		for _, s := range seen {
			found = found || strings.HasPrefix(s, text)
		}
		if !found {
			t.Errorf("no golden case ends in %q", text)
		}
	}
}

func TestProtocolErrorReply(t *testing.T) {
	r := NewReader(bufio.NewReader(strings.NewReader("*1\r\n$x\r\n")), Limits{})
	_, err := r.ReadCommand(nil)
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *ProtocolError", err)
	}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	if err := NewWriter(bw).WriteReply(pe.Reply()); err != nil {
		t.Fatal(err)
	}
	_ = bw.Flush()
	if want := "-ERR Protocol error: invalid bulk length\r\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// TestPipelined decodes many commands from one buffer, as a client that
// pipelines sends them, mixing both forms, and checks Buffered on the way.
func TestPipelined(t *testing.T) {
	var in bytes.Buffer
	const n = 1000
	for i := range n {
		v := strconv.Itoa(i)
		if i%3 == 0 {
			in.WriteString("SET key:" + v + " \"v " + v + "\"\r\n")
		} else {
			in.WriteString("*3\r\n$3\r\nSET\r\n$" + strconv.Itoa(len("key:"+v)) + "\r\nkey:" + v +
				"\r\n$" + strconv.Itoa(len("v "+v)) + "\r\nv " + v + "\r\n")
		}
	}
	total := in.Len()
	r := NewReader(bufio.NewReaderSize(&in, 1<<20), Limits{})
	var args [][]byte
	for i := range n {
		var err error
		if args, err = r.ReadCommand(args); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		v := strconv.Itoa(i)
		if want := []string{"SET", "key:" + v, "v " + v}; !reflect.DeepEqual(toStrings(args), want) {
			t.Fatalf("command %d: got %q, want %q", i, args, want)
		}
		if i == 0 && r.Buffered() == 0 || r.Buffered() >= total {
			t.Fatalf("command %d: Buffered() = %d of %d", i, r.Buffered(), total)
		}
	}
	if r.Buffered() != 0 {
		t.Fatalf("Buffered() = %d after the last command, want 0", r.Buffered())
	}
	if _, err := r.ReadCommand(args); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

// TestArgsDoNotOverlap checks that appending to one argument cannot
// overwrite the next: each has its capacity clipped.
func TestArgsDoNotOverlap(t *testing.T) {
	r := NewReader(bufio.NewReader(strings.NewReader("*2\r\n$1\r\na\r\n$1\r\nb\r\n")), Limits{})
	args, err := r.ReadCommand(nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(args[0], 'X')
	if string(args[1]) != "b" {
		t.Fatalf("second argument became %q", args[1])
	}
}

// TestLargeBulk reads values larger than the bufio buffer and the first
// chunk of room, and checks the buffer is not kept afterwards.
func TestLargeBulk(t *testing.T) {
	for _, size := range []int{bulkChunk - 1, bulkChunk, bulkChunk + 1, 3*bulkChunk + 7, 1 << 20} {
		val := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		in := "*2\r\n$4\r\nECHO\r\n$" + strconv.Itoa(size) + "\r\n" + string(val) + "\r\n*1\r\n$4\r\nPING\r\n"
		r := NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
		args, err := r.ReadCommand(nil)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(args) != 2 || !bytes.Equal(args[1], val) {
			t.Fatalf("size %d: value differs", size)
		}
		if args, err = r.ReadCommand(args); err != nil || string(args[0]) != "PING" {
			t.Fatalf("size %d: next command %q, %v", size, args, err)
		}
		if cap(r.buf) > maxRetain {
			t.Fatalf("size %d: %d bytes of buffer kept", size, cap(r.buf))
		}
		if size > maxRetain && cap(args) > 1 && args[:2][1] != nil {
			t.Fatalf("size %d: the caller's slice still holds the large value", size)
		}
	}
}

// TestInlineAtDefaultLimit checks the 64 KiB inline limit as Redis
// applies it: after each read of up to 16 KiB, a line of more than 64 KiB
// without its end is too big; an end that came in the read that passed
// 64 KiB is still found. The server's Reader reads through a 16 KiB bufio
// buffer, as here.
func TestInlineAtDefaultLimit(t *testing.T) {
	line := func(n int) string { return "ECHO " + strings.Repeat("a", n-5) }
	for _, tc := range []struct {
		name  string
		in    string
		chunk int
		args  int // the length of the second argument, 0 for the error
	}{
		{"a line of 64 KiB", line(DefaultMaxInline) + "\r\n", 16 << 10, DefaultMaxInline - 5},
		{"a line of 70 000 bytes sent at once", line(70000) + "\r\n", 16 << 10, 70000 - 5},
		{"a line of 81 900 bytes sent at once", line(81900) + "\r\n", 16 << 10, 81900 - 5},
		{"a line of 82 000 bytes sent at once", line(82000) + "\r\n", 16 << 10, 0},
		{"a line of 70 000 bytes without an end", line(70000), 16 << 10, 0},
		{"a line of 64 KiB and a CR, then the LF, byte by byte", line(DefaultMaxInline) + "\r\n", 1, 0},
		{"64 KiB before the LF, byte by byte", line(DefaultMaxInline-1) + "\r\n", 1, DefaultMaxInline - 6},
	} {
		r := NewReader(bufio.NewReaderSize(&chunkReader{data: []byte(tc.in), n: tc.chunk}, 16<<10), Limits{})
		args, err := r.ReadCommand(nil)
		switch {
		case tc.args == 0 && (err == nil || err.Error() != textTooBigInline):
			t.Errorf("%s: got %d args, %v; want %q", tc.name, len(args), err, textTooBigInline)
		case tc.args != 0 && (err != nil || len(args) != 2 || len(args[1]) != tc.args):
			t.Errorf("%s: got %d args, %v", tc.name, len(args), err)
		}
	}
}

// chunkReader hands out its data n bytes per Read.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// TestEOFBetweenCommandsIsClean tells a clean close from a cut command.
func TestEOFBetweenCommandsIsClean(t *testing.T) {
	for in, want := range map[string]error{
		"":                   io.EOF,
		"\r\n\r\n":           io.EOF,
		"*0\r\n":             io.EOF,
		"*1\r\n":             io.ErrUnexpectedEOF,
		"PING":               io.ErrUnexpectedEOF,
		"*1\r\n$4\r\nPING\r": io.ErrUnexpectedEOF,
	} {
		r := NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
		if _, err := r.ReadCommand(nil); err != want {
			t.Errorf("%q: got %v, want %v", in, err, want)
		}
	}
}

// TestReadErrorIsPassedOn checks that a connection's own error (a timeout,
// a reset) reaches the caller unchanged, not disguised as a protocol error.
func TestReadErrorIsPassedOn(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("*2\r\n$3\r\nGET\r\n$1"), &failReader{boom})
	r := NewReader(bufio.NewReader(src), Limits{})
	if _, err := r.ReadCommand(nil); err != boom {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }

// TestSetLimits tightens the limits as a server does before AUTH, then
// relaxes them.
func TestSetLimits(t *testing.T) {
	in := "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"
	r := NewReader(bufio.NewReader(strings.NewReader(in)), Limits{MaxArgs: 2, MaxBulk: 4})
	args, err := r.ReadCommand(nil)
	if err != nil || string(args[0]) != "AUTH" {
		t.Fatalf("%q, %v", args, err)
	}
	r.SetLimits(Limits{})
	if args, err = r.ReadCommand(args); err != nil || len(args) != 3 {
		t.Fatalf("after SetLimits: %q, %v", args, err)
	}
	r = NewReader(bufio.NewReader(strings.NewReader(in[len("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"):])), Limits{MaxArgs: 2})
	if _, err = r.ReadCommand(nil); err == nil || err.Error() != textInvalidMultibulkLength {
		t.Fatalf("under tight limits: %v", err)
	}
}

// TestTrailingBlankLinesLetTheServerFlush checks that blank lines already
// buffered after a command are consumed with it, so Buffered reaches zero
// and the server flushes the reply the client waits for.
func TestTrailingBlankLinesLetTheServerFlush(t *testing.T) {
	for in, left := range map[string]int{
		"PING\r\n":                 0,
		"PING\n\n":                 0,
		"PING\r\n\r\n \t\r\n":      0,
		"*1\r\n$4\r\nPING\r\n\r\n": 0,
		"PING\r\n\r\nGET":          3, // a command begun: the client sends the rest
		"PING\r\n  ":               2, // a line not ended yet is not skipped
	} {
		r := NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
		if _, err := r.ReadCommand(nil); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if r.Buffered() != left {
			t.Errorf("%q: Buffered() = %d after the command, want %d", in, r.Buffered(), left)
		}
	}
}
