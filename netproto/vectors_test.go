package netproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/reply"
)

// The format of testdata/vectors.txt is described at the top of that file,
// for the benefit of clients in other languages.

// vector is one block of testdata/vectors.txt.
type vector struct {
	line   int // where the block starts, for messages
	fields map[string]string
}

func (v vector) get(key string) (string, bool) {
	s, ok := v.fields[key]
	return s, ok
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []vector
	var cur *vector
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case line == "":
			cur = nil
			continue
		}
		if cur == nil {
			out = append(out, vector{line: i + 1, fields: map[string]string{}})
			cur = &out[len(out)-1]
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("vectors.txt:%d: no ':' in %q", i+1, line)
		}
		key = strings.TrimSpace(key)
		if _, dup := cur.fields[key]; dup {
			t.Fatalf("vectors.txt:%d: %s given twice", i+1, key)
		}
		cur.fields[key] = strings.TrimSpace(val)
	}
	return out
}

// quote renders s in the vectors' string notation: printable ASCII as is,
// and only \\, \" and \xHH as escapes.
func quote(s []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tokens splits the vectors' notation into tokens; a quoted string is one
// token, returned unquoted, with quoted set.
type token struct {
	text   string
	quoted bool
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			var b []byte
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string in %q", s)
				}
				c := s[i]
				if c == '"' {
					i++
					break
				}
				if c != '\\' {
					b = append(b, c)
					i++
					continue
				}
				if i+1 >= len(s) {
					return nil, fmt.Errorf("dangling escape in %q", s)
				}
				switch s[i+1] {
				case '\\', '"':
					b = append(b, s[i+1])
					i += 2
				case 'x':
					if i+4 > len(s) {
						return nil, fmt.Errorf("short \\x escape in %q", s)
					}
					v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
					if err != nil {
						return nil, fmt.Errorf("bad \\x escape in %q", s)
					}
					b = append(b, byte(v))
					i += 4
				default:
					return nil, fmt.Errorf("unknown escape \\%c in %q", s[i+1], s)
				}
			}
			out = append(out, token{text: string(b), quoted: true})
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

func parseArgv(s string) ([][]byte, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	argv := make([][]byte, len(toks))
	for i, tk := range toks {
		if !tk.quoted {
			return nil, fmt.Errorf("argv token %q is not quoted", tk.text)
		}
		argv[i] = []byte(tk.text)
	}
	return argv, nil
}

func formatArgv(argv [][]byte) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = quote(a)
	}
	return strings.Join(parts, " ")
}

// parseReply reads a reply in the vectors' prefix notation.
func parseReply(s string) (reply.Reply, error) {
	toks, err := tokenize(s)
	if err != nil {
		return reply.Reply{}, err
	}
	r, rest, err := parseReplyTokens(toks)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%d tokens after the reply", len(rest))
	}
	return r, err
}

func parseReplyTokens(toks []token) (reply.Reply, []token, error) {
	if len(toks) == 0 {
		return reply.Reply{}, nil, errors.New("missing reply")
	}
	word, toks := toks[0], toks[1:]
	need := func(n int) error {
		if len(toks) < n {
			return fmt.Errorf("%s needs %d more tokens", word.text, n)
		}
		return nil
	}
	switch word.text {
	case "ok":
		return reply.OK, toks, nil
	case "nil":
		return reply.Nil, toks, nil
	case "int":
		if err := need(1); err != nil {
			return reply.Reply{}, nil, err
		}
		n, err := strconv.ParseInt(toks[0].text, 10, 64)
		return reply.Int(n), toks[1:], err
	case "bytes", "status":
		if err := need(1); err != nil {
			return reply.Reply{}, nil, err
		}
		kind := reply.KindBytes
		if word.text == "status" {
			kind = reply.KindStatus
		}
		return reply.Reply{Kind: kind, Bytes: []byte(toks[0].text)}, toks[1:], nil
	case "error":
		if err := need(2); err != nil {
			return reply.Reply{}, nil, err
		}
		return reply.Errorf(toks[0].text, toks[1].text), toks[2:], nil
	case "array", "map":
		if err := need(1); err != nil {
			return reply.Reply{}, nil, err
		}
		n, err := strconv.Atoi(toks[0].text)
		if err != nil {
			return reply.Reply{}, nil, err
		}
		toks = toks[1:]
		kind := reply.KindArray
		if word.text == "map" {
			kind, n = reply.KindMap, 2*n
		}
		items := make([]reply.Reply, n)
		for i := range items {
			if items[i], toks, err = parseReplyTokens(toks); err != nil {
				return reply.Reply{}, nil, err
			}
		}
		return reply.Reply{Kind: kind, Array: items}, toks, nil
	}
	return reply.Reply{}, nil, fmt.Errorf("unknown reply word %q", word.text)
}

// formatReply renders r in the vectors' prefix notation.
func formatReply(r reply.Reply) string {
	switch r.Kind {
	case reply.KindOK:
		return "ok"
	case reply.KindNil:
		return "nil"
	case reply.KindInt:
		return "int " + strconv.FormatInt(r.Int, 10)
	case reply.KindBytes:
		return "bytes " + quote(r.Bytes)
	case reply.KindStatus:
		return "status " + quote(r.Bytes)
	case reply.KindError:
		return "error " + quote([]byte(r.Code)) + " " + quote([]byte(r.Msg))
	case reply.KindArray, reply.KindMap:
		s := "array " + strconv.Itoa(len(r.Array))
		if r.Kind == reply.KindMap {
			s = "map " + strconv.Itoa(len(r.Array)/2)
		}
		for _, it := range r.Array {
			s += " " + formatReply(it)
		}
		return s
	}
	return fmt.Sprintf("kind%d", r.Kind)
}

// The reference encoder below is written apart from the codec, field by
// field, and spaces its hex by field as the vectors file does. It makes the
// hex of a new vector, and it is what a mismatch is shown against.

func refU32(n int) string { return fmt.Sprintf("%08x", n) }

func refBlob(b []byte) string {
	if len(b) == 0 {
		return refU32(0)
	}
	return refU32(len(b)) + " " + hex.EncodeToString(b)
}

func refRequestHex(argv [][]byte) string {
	op, ok := Opcode(string(argv[0]))
	args := argv[1:]
	if !ok {
		op, args = OpCommand, argv
	}
	size := 1
	fields := []string{fmt.Sprintf("%02x", op)}
	for _, a := range args {
		size += 4 + len(a)
		fields = append(fields, refBlob(a))
	}
	return refU32(size) + " " + strings.Join(fields, " ")
}

func refValueHex(r reply.Reply) string {
	t := fmt.Sprintf("%02x", byte(r.Kind))
	switch r.Kind {
	case reply.KindInt:
		return t + " " + fmt.Sprintf("%016x", uint64(r.Int))
	case reply.KindBytes, reply.KindStatus:
		return t + " " + refBlob(r.Bytes)
	case reply.KindError:
		return t + " " + refBlob([]byte(r.Code)) + " " + refBlob([]byte(r.Msg))
	case reply.KindArray, reply.KindMap:
		n := len(r.Array)
		if r.Kind == reply.KindMap {
			n /= 2
		}
		s := t + " " + refU32(n)
		for _, it := range r.Array {
			s += " " + refValueHex(it)
		}
		return s
	}
	return t
}

func refReplyHex(r reply.Reply) string {
	v := refValueHex(r)
	return refU32(len(unhex(v))) + " " + v
}

// unhex decodes hex with spaces, panicking on bad input (the vectors are
// checked by parseHex first).
func unhex(s string) []byte {
	b, err := parseHex(s)
	if err != nil {
		panic(err)
	}
	return b
}

func parseHex(s string) ([]byte, error) {
	return hex.DecodeString(strings.Join(strings.Fields(s), ""))
}

// errorClasses are the error names the vectors use.
var errorClasses = map[string]error{
	"frame-too-large":     ErrFrameTooLarge,
	"malformed":           ErrMalformed,
	"unknown-opcode":      ErrUnknownOpcode,
	"too-many-args":       ErrTooManyArgs,
	"bad-magic":           ErrBadMagic,
	"unsupported-version": ErrUnsupportedVersion,
	"refused":             ErrRefused,
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	names := map[string]bool{}
	for _, v := range vs {
		name, ok := v.get("name")
		if !ok {
			t.Fatalf("vectors.txt:%d: block without a name", v.line)
		}
		if names[name] {
			t.Fatalf("vectors.txt:%d: name %q used twice", v.line, name)
		}
		names[name] = true
		t.Run(name, func(t *testing.T) { checkVector(t, v) })
	}
}

func checkVector(t *testing.T, v vector) {
	lim := Limits{}
	if s, ok := v.get("max-args"); ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("line %d: max-args: %v", v.line, err)
		}
		lim.MaxArgs = n
	}
	var wantErr error
	if s, ok := v.get("error"); ok {
		if wantErr = errorClasses[s]; wantErr == nil {
			t.Fatalf("line %d: unknown error class %q", v.line, s)
		}
	}
	hexOf := func(key string) ([]byte, bool) {
		s, ok := v.get(key)
		if !ok {
			return nil, false
		}
		b, err := parseHex(s)
		if err != nil {
			t.Fatalf("line %d: %s: %v", v.line, key, err)
		}
		return b, true
	}
	checked := false

	if s, ok := v.get("argv"); ok {
		checked = true
		argv, err := parseArgv(s)
		if err != nil {
			t.Fatalf("line %d: argv: %v", v.line, err)
		}
		want, ok := hexOf("request-hex")
		if !ok {
			t.Fatalf("line %d: argv without request-hex; reference encoding:\nrequest-hex: %s", v.line, refRequestHex(argv))
		}
		if ref := unhex(refRequestHex(argv)); !bytes.Equal(ref, want) {
			t.Errorf("request-hex differs from the reference encoder:\n have %x\n ref  %s", want, refRequestHex(argv))
		}
		if got := encodeRequest(t, argv); !bytes.Equal(got, want) {
			t.Errorf("WriteRequest(%s)\n got  %x\n want %x", formatArgv(argv), got, want)
		}
		got, err := NewReader(bufio.NewReader(bytes.NewReader(want)), lim).ReadRequest(nil)
		if err != nil {
			t.Fatalf("ReadRequest(%x): %v", want, err)
		}
		if formatArgv(got) != formatArgv(argv) {
			t.Errorf("ReadRequest(%x)\n got  %s\n want %s", want, formatArgv(got), formatArgv(argv))
		}
	} else if b, ok := hexOf("request-hex"); ok {
		checked = true
		if wantErr == nil {
			t.Fatalf("line %d: request-hex without argv or error", v.line)
		}
		_, err := NewReader(bufio.NewReader(bytes.NewReader(b)), lim).ReadRequest(nil)
		if !errors.Is(err, wantErr) {
			t.Errorf("ReadRequest(%x) = %v, want %v", b, err, wantErr)
		}
	}

	if s, ok := v.get("reply"); ok {
		checked = true
		rep, err := parseReply(s)
		if err != nil {
			t.Fatalf("line %d: reply: %v", v.line, err)
		}
		want, ok := hexOf("reply-hex")
		if !ok {
			t.Fatalf("line %d: reply without reply-hex; reference encoding:\nreply-hex: %s", v.line, refReplyHex(rep))
		}
		if ref := unhex(refReplyHex(rep)); !bytes.Equal(ref, want) {
			t.Errorf("reply-hex differs from the reference encoder:\n have %x\n ref  %s", want, refReplyHex(rep))
		}
		if got := encodeReply(t, rep); !bytes.Equal(got, want) {
			t.Errorf("WriteReply(%s)\n got  %x\n want %x", s, got, want)
		}
		got, err := NewReader(bufio.NewReader(bytes.NewReader(want)), lim).ReadReply()
		if err != nil {
			t.Fatalf("ReadReply(%x): %v", want, err)
		}
		if formatReply(got) != formatReply(rep) {
			t.Errorf("ReadReply(%x)\n got  %s\n want %s", want, formatReply(got), formatReply(rep))
		}
	} else if b, ok := hexOf("reply-hex"); ok {
		checked = true
		if wantErr == nil {
			t.Fatalf("line %d: reply-hex without reply or error", v.line)
		}
		_, err := NewReader(bufio.NewReader(bytes.NewReader(b)), lim).ReadReply()
		if !errors.Is(err, wantErr) {
			t.Errorf("ReadReply(%x) = %v, want %v", b, err, wantErr)
		}
	}

	var wantVersion uint16
	if s, ok := v.get("version"); ok {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			t.Fatalf("line %d: version: %v", v.line, err)
		}
		wantVersion = uint16(n)
	}
	if b, ok := hexOf("handshake-hex"); ok {
		checked = true
		ver, err := NewReader(bufio.NewReader(bytes.NewReader(b)), lim).ReadHandshake()
		if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("ReadHandshake(%x) error = %v, want %v", b, err, wantErr)
		}
		if ver != wantVersion {
			t.Errorf("ReadHandshake(%x) version = %d, want %d", b, ver, wantVersion)
		}
		if wantErr == nil {
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			if err := NewWriter(bw).WriteHandshake(); err != nil {
				t.Fatal(err)
			}
			bw.Flush()
			if !bytes.Equal(buf.Bytes(), b) {
				t.Errorf("WriteHandshake() = %x, want %x", buf.Bytes(), b)
			}
		}
	}
	if b, ok := hexOf("handshake-reply-hex"); ok {
		checked = true
		ver, err := NewReader(bufio.NewReader(bytes.NewReader(b)), lim).ReadHandshakeReply()
		if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("ReadHandshakeReply(%x) error = %v, want %v", b, err, wantErr)
		}
		if ver != wantVersion {
			t.Errorf("ReadHandshakeReply(%x) version = %d, want %d", b, ver, wantVersion)
		}
		if wantErr == nil {
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			if err := NewWriter(bw).WriteHandshakeReply(nil); err != nil {
				t.Fatal(err)
			}
			bw.Flush()
			if !bytes.Equal(buf.Bytes(), b) {
				t.Errorf("WriteHandshakeReply(nil) = %x, want %x", buf.Bytes(), b)
			}
		}
	}
	if !checked {
		t.Fatalf("line %d: block checks nothing", v.line)
	}
}

// TestVectorsCoverEveryOpcodeAndKind keeps the vectors complete: adding an
// opcode or a reply kind without a vector fails here.
func TestVectorsCoverEveryOpcodeAndKind(t *testing.T) {
	ops := map[byte]bool{}
	kinds := map[reply.Kind]bool{}
	var walk func(reply.Reply)
	walk = func(r reply.Reply) {
		kinds[r.Kind] = true
		for _, it := range r.Array {
			walk(it)
		}
	}
	classes := map[string]bool{}
	for _, v := range loadVectors(t) {
		if _, ok := v.get("argv"); ok {
			b, _ := parseHex(v.fields["request-hex"])
			if len(b) > FrameHeaderSize {
				ops[b[FrameHeaderSize]] = true
			}
		}
		if s, ok := v.get("reply"); ok {
			r, err := parseReply(s)
			if err != nil {
				t.Fatal(err)
			}
			walk(r)
		}
		if s, ok := v.get("error"); ok {
			classes[s] = true
		}
	}
	for op := range 256 {
		if _, ok := OpcodeName(byte(op)); (ok || byte(op) == OpCommand) && !ops[byte(op)] {
			t.Errorf("no vector for opcode 0x%02x", op)
		}
	}
	for k := reply.KindOK; k <= reply.KindMap; k++ {
		if !kinds[k] {
			t.Errorf("no vector for reply kind %d", k)
		}
	}
	for c := range errorClasses {
		if !classes[c] {
			t.Errorf("no vector for error %s", c)
		}
	}
}

func encodeRequest(t testing.TB, argv [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := NewWriter(bw).WriteRequest(argv); err != nil {
		t.Fatalf("WriteRequest(%s): %v", formatArgv(argv), err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeReply(t testing.TB, r reply.Reply) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := NewWriter(bw).WriteReply(r); err != nil {
		t.Fatalf("WriteReply(%s): %v", formatReply(r), err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// be32 is a big-endian uint32, for hand-built frames in tests.
func be32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
