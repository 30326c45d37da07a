package resp

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pykv/pykv/reply"
)

// A golden case is a block of "key: value" lines under testdata/; blocks are
// separated by blank lines and '#' starts a comment line. Keys:
//
//	name:   what the case shows
//	limits: bulk=N args=N inline=N command=N (any of them; the rest take
//	        defaults)
//	unauth: true: the Reader reads as for a client that has not
//	        authenticated (SetUnauthenticated)
//	in:     input bytes, with Go's escapes (\r\n, \x00, \\) but bare quotes;
//	        several in: lines are concatenated
//	cmd:    the arguments of the next command, as Go-quoted strings
//	reply:  the next reply, rendered by render
//	out2:   the bytes WriteReply gives for the reply in RESP2 (out3: RESP3)
//	err:    the error that ends the input; without it, a clean io.EOF
type golden struct {
	file    string
	line    int
	name    string
	limits  Limits
	unauth  bool
	in      []byte
	cmds    [][]string
	replies []string
	out2    *string
	out3    *string
	err     string
}

func loadGolden(t testing.TB, file string) []golden {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []golden
	var cur *golden
	for i, text := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(text, "#") {
			continue
		}
		if strings.TrimSpace(text) == "" {
			cur = nil
			continue
		}
		key, val, ok := strings.Cut(text, ":")
		if !ok {
			t.Fatalf("%s:%d: no key in %q", file, i+1, text)
		}
		val = strings.TrimPrefix(val, " ")
		if cur == nil {
			cases = append(cases, golden{file: file, line: i + 1})
			cur = &cases[len(cases)-1]
		}
		where := file + ":" + strconv.Itoa(i+1)
		switch key {
		case "name":
			cur.name = val
		case "limits":
			cur.limits = parseLimits(t, where, val)
		case "unauth":
			cur.unauth = val == "true"
		case "in":
			cur.in = append(cur.in, unquote(t, where, val)...)
		case "cmd":
			cur.cmds = append(cur.cmds, parseArgs(t, where, val))
		case "reply":
			cur.replies = append(cur.replies, val)
		case "out2":
			s := unquote(t, where, val)
			cur.out2 = &s
		case "out3":
			s := unquote(t, where, val)
			cur.out3 = &s
		case "err":
			cur.err = val
		default:
			t.Fatalf("%s: unknown key %q", where, key)
		}
	}
	for _, c := range cases {
		if c.name == "" {
			t.Fatalf("%s:%d: case without a name", c.file, c.line)
		}
	}
	return cases
}

// unquote decodes Go escapes in s; quotes need no backslash.
func unquote(t testing.TB, where, s string) string {
	t.Helper()
	var b []byte
	for s != "" {
		c, multibyte, rest, err := strconv.UnquoteChar(s, 0)
		if err != nil {
			t.Fatalf("%s: bad string at %q: %v", where, s, err)
		}
		if c < 256 && !multibyte {
			b = append(b, byte(c))
		} else {
			b = utf8.AppendRune(b, c)
		}
		s = rest
	}
	return string(b)
}

func parseArgs(t testing.TB, where, s string) []string {
	t.Helper()
	var args []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			t.Fatalf("%s: bad argument list at %q", where, s)
		}
		a, _ := strconv.Unquote(q)
		args = append(args, a)
		s = s[len(q):]
	}
	return args
}

func parseLimits(t testing.TB, where, s string) Limits {
	t.Helper()
	var l Limits
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: bad limit %q", where, f)
		}
		switch k {
		case "bulk":
			l.MaxBulk = n
		case "args":
			l.MaxArgs = n
		case "inline":
			l.MaxInline = n
		case "command":
			l.MaxCommand = n
		default:
			t.Fatalf("%s: unknown limit %q", where, k)
		}
	}
	return l
}

// render writes a reply in the golden files' notation: OK, nil, :5, "bytes"
// (Go-quoted), +"status", -CODE "msg", [items] for an array, {k v} for a map.
func render(r reply.Reply) string {
	var b strings.Builder
	renderTo(&b, r)
	return b.String()
}

func renderTo(b *strings.Builder, r reply.Reply) {
	switch r.Kind {
	case reply.KindOK:
		b.WriteString("OK")
	case reply.KindNil:
		b.WriteString("nil")
	case reply.KindInt:
		b.WriteString(":" + strconv.FormatInt(r.Int, 10))
	case reply.KindBytes:
		b.WriteString(strconv.Quote(string(r.Bytes)))
	case reply.KindStatus:
		b.WriteString("+" + strconv.Quote(string(r.Bytes)))
	case reply.KindError:
		b.WriteString("-" + r.Code + " " + strconv.Quote(r.Msg))
	case reply.KindArray, reply.KindMap:
		open, end := "[", "]"
		switch {
		case r.Kind == reply.KindMap:
			open, end = "{", "}"
		case r.IsSet():
			open = "~["
		}
		b.WriteString(open)
		for i, it := range r.Array {
			if i > 0 {
				b.WriteByte(' ')
			}
			renderTo(b, it)
		}
		b.WriteString(end)
	default:
		b.WriteString("?kind" + strconv.Itoa(int(r.Kind)))
	}
}

// readers returns the ways a golden input is fed: whole, and one byte per
// read through the smallest bufio buffer, so that every line and bulk string
// also crosses buffer boundaries.
func readers(in []byte, lim Limits) map[string]*Reader {
	return map[string]*Reader{
		"whole":    NewReader(bufio.NewReader(strings.NewReader(string(in))), lim),
		"bytewise": NewReader(bufio.NewReaderSize(&oneByteReader{data: in}, 16), lim),
	}
}

// oneByteReader hands out its data one byte per Read.
type oneByteReader struct{ data []byte }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(o.data) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.data[0]
	o.data = o.data[1:]
	return 1, nil
}
