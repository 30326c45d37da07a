package resp

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/pykv/pykv/reply"
)

// Writer encodes replies (server side) and commands (client side) as RESP
// into a buffered stream. It never flushes by itself: the server flushes
// when its Reader has no more buffered input, so pipelined replies leave in
// few writes. It is not safe for concurrent use.
type Writer struct {
	bw      *bufio.Writer
	proto   int
	scratch [32]byte // a type byte, an int64 and CRLF
}

// NewWriter returns a Writer that speaks RESP2 until SetProto(3).
func NewWriter(bw *bufio.Writer) *Writer {
	return &Writer{bw: bw, proto: 2}
}

// SetProto selects the protocol version of the replies that follow, 2 or 3,
// as a server does on HELLO. It panics on any other version: the caller
// validates HELLO's argument and answers "NOPROTO" itself.
func (w *Writer) SetProto(v int) {
	if v != 2 && v != 3 {
		panic("resp: SetProto(" + strconv.Itoa(v) + "): the protocol version is 2 or 3")
	}
	w.proto = v
}

// Proto returns the protocol version in use, 2 or 3.
func (w *Writer) Proto() int { return w.proto }

// Flush writes the buffered bytes to the connection.
func (w *Writer) Flush() error { return w.bw.Flush() }

// WriteReply encodes r into the buffer, in the protocol version in use:
//
//	Kind      RESP2                      RESP3
//	OK        +OK                        +OK
//	Status    +text                      +text
//	Error     -CODE msg                  -CODE msg
//	Nil       $-1                        _
//	NilArray  *-1                        _
//	Int       :n                         :n
//	Bytes     $len, then the bytes       $len, then the bytes
//	Array     *n, then the items         *n, then the items
//	Set       *n, then the items         ~n, then the items
//	Map       *2n, keys and values       %n, keys and values
//
// A status or error text can only be one line: a CR or LF in it is written
// as a space, as Redis does. An error's Code is one word: space, CR and LF
// in it are dropped, and an empty Code is sent as "ERR".
// A reply that cannot be encoded (an unknown Kind, a Map with an odd number
// of items, at any depth) is ErrInvalidReply, and then nothing is written.
// Any other error is the connection's, from an earlier flush.
func (w *Writer) WriteReply(r reply.Reply) error {
	if err := check(r); err != nil {
		return err
	}
	w.reply(r)
	// A bufio.Writer keeps its first error and returns it from every later
	// write, so one empty Write reports any failure of the writes above.
	_, err := w.bw.Write(nil)
	return err
}

func (w *Writer) reply(r reply.Reply) {
	switch r.Kind {
	case reply.KindOK:
		_, _ = w.bw.WriteString("+OK\r\n")
	case reply.KindStatus:
		_ = w.bw.WriteByte('+')
		w.lineBytes(r.Bytes)
		_, _ = w.bw.WriteString("\r\n")
	case reply.KindError:
		_ = w.bw.WriteByte('-')
		w.code(r.Code)
		if r.Msg != "" {
			_ = w.bw.WriteByte(' ')
			w.line(r.Msg)
		}
		_, _ = w.bw.WriteString("\r\n")
	case reply.KindNil:
		switch {
		case w.proto == 3:
			_, _ = w.bw.WriteString("_\r\n")
		case r.IsNilArray():
			_, _ = w.bw.WriteString("*-1\r\n")
		default:
			_, _ = w.bw.WriteString("$-1\r\n")
		}
	case reply.KindInt:
		w.header(':', r.Int)
	case reply.KindBytes:
		if w.proto == 3 && r.IsText() {
			w.verbatim(r.Bytes)
			break
		}
		w.bulk(r.Bytes)
	case reply.KindArray, reply.KindMap:
		switch {
		case w.proto == 3 && r.Kind == reply.KindMap:
			w.header('%', int64(len(r.Array)/2))
		case w.proto == 3 && r.IsSet():
			w.header('~', int64(len(r.Array)))
		default:
			w.header('*', int64(len(r.Array)))
		}
		for _, it := range r.Array {
			w.reply(it)
		}
	}
}

// WriteCommand encodes a command as a RESP array of bulk strings, the form
// every client sends and ReadCommand reads back.
func (w *Writer) WriteCommand(args [][]byte) error {
	w.header('*', int64(len(args)))
	for _, a := range args {
		w.bulk(a)
	}
	_, err := w.bw.Write(nil) // the first error, as in WriteReply
	return err
}

// header writes a type byte, n and CRLF, without allocating.
func (w *Writer) header(c byte, n int64) {
	b := append(w.scratch[:0], c)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '\r', '\n')
	_, _ = w.bw.Write(b)
}

func (w *Writer) bulk(b []byte) {
	w.header('$', int64(len(b)))
	_, _ = w.bw.Write(b)
	_, _ = w.bw.WriteString("\r\n")
}

// verbatim writes b as a RESP3 verbatim string of format "txt", as Redis's
// addReplyVerbatim does: "=<len+4>\r\ntxt:<b>\r\n".
func (w *Writer) verbatim(b []byte) {
	w.header('=', int64(len(b))+4)
	_, _ = w.bw.WriteString("txt:")
	_, _ = w.bw.Write(b)
	_, _ = w.bw.WriteString("\r\n")
}

// line writes s with each CR and LF replaced by a space.
func (w *Writer) line(s string) {
	for {
		i := indexLineEnd(s)
		if i < 0 {
			_, _ = w.bw.WriteString(s)
			return
		}
		_, _ = w.bw.WriteString(s[:i])
		_ = w.bw.WriteByte(' ')
		s = s[i+1:]
	}
}

// code writes an error code as one word, the word a reader splits off:
// space, CR and LF in it are dropped, and an empty code is sent as "ERR".
func (w *Writer) code(s string) {
	if s != "" && !strings.ContainsAny(s, " \r\n") {
		_, _ = w.bw.WriteString(s)
		return
	}
	n := 0
	for i := range len(s) {
		if !isCodeSpace(s[i]) {
			_ = w.bw.WriteByte(s[i])
			n++
		}
	}
	if n == 0 {
		_, _ = w.bw.WriteString("ERR")
	}
}

func isCodeSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' }

// indexLineEnd is the index of the first CR or LF in s, or -1: two
// IndexByte scans, which are vectorised, where IndexAny goes a byte at a
// time (a monitor line of 170 bytes took 170 ns to check that way).
func indexLineEnd(s string) int {
	i := strings.IndexByte(s, '\r')
	if i < 0 {
		return strings.IndexByte(s, '\n')
	}
	if j := strings.IndexByte(s[:i], '\n'); j >= 0 {
		return j
	}
	return i
}

// indexLineEndBytes is indexLineEnd for a []byte.
func indexLineEndBytes(b []byte) int {
	i := bytes.IndexByte(b, '\r')
	if i < 0 {
		return bytes.IndexByte(b, '\n')
	}
	if j := bytes.IndexByte(b[:i], '\n'); j >= 0 {
		return j
	}
	return i
}

// lineBytes is line for a []byte.
func (w *Writer) lineBytes(b []byte) {
	for {
		i := indexLineEndBytes(b)
		if i < 0 {
			_, _ = w.bw.Write(b)
			return
		}
		_, _ = w.bw.Write(b[:i])
		_ = w.bw.WriteByte(' ')
		b = b[i+1:]
	}
}

// check reports whether r can be encoded, before a byte of it is written.
func check(r reply.Reply) error {
	switch r.Kind {
	case reply.KindOK, reply.KindNil, reply.KindInt, reply.KindBytes,
		reply.KindError, reply.KindStatus:
		return nil
	case reply.KindMap:
		if len(r.Array)%2 != 0 {
			return fmt.Errorf("%w: map with %d items, an odd number", ErrInvalidReply, len(r.Array))
		}
	case reply.KindArray:
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidReply, r.Kind)
	}
	for _, it := range r.Array {
		if err := check(it); err != nil {
			return err
		}
	}
	return nil
}
