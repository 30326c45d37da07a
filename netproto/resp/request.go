package resp

import (
	"bytes"
)

// The two scans below find the end of a request's line the way Redis 7
// finds it in its query buffer (processInlineBuffer and
// processMultibulkBuffer in networking.c), so that every byte stream gets
// the reply, and the close, that it gets from Redis:
//
//   - Redis looks for the line's end with strchr, which stops at a NUL
//     byte: a NUL before the end hides it, and the request waits until
//     more than MaxInline bytes have come, which is "too big".
//   - A length line ("*3", "$5") ends at its first CR, and the byte after
//     the CR is skipped whatever it is; it is complete once that byte has
//     arrived. Its first byte is checked only then.
//   - An inline line ends at LF; a CR just before the LF is dropped.
//   - More than MaxInline bytes without the end (counted from the line's
//     first byte, as Redis counts its unparsed buffer) is an error, found
//     once the bytes read from the connection are exhausted (Redis checks
//     after each read): the end may come in the read that passed the limit.

// header reads a length line: its first byte (the type, '*' or '$' when
// well formed) and what lies between that byte and the CR, copied into
// r.hdr. Content longer than any valid length is returned empty, which no
// length parses. A line with no CR within r.lim.MaxInline bytes is the
// ProtocolError tooBig.
func (r *Reader) header(tooBig string) (byte, []byte, error) {
	// Fast path: the whole line is buffered, and short.
	b, _ := r.br.Peek(r.br.Buffered())
	if i := bytes.IndexByte(b[:min(len(b), maxHeaderLen+2)], '\r'); i > 0 && i+1 < len(b) && bytes.IndexByte(b[:i], 0) < 0 {
		first := b[0]
		n := copy(r.hdr[:], b[1:i])
		_, _ = r.br.Discard(i + 2) // cannot fail: the bytes are buffered
		return first, r.hdr[:n], nil
	}
	var first byte
	n, long, nul := 0, false, false
	for count := 1; ; count++ {
		c, err := r.br.ReadByte()
		if err != nil {
			return 0, nil, noEOF(err)
		}
		switch {
		case c == '\r' && !nul:
			if _, err := r.br.ReadByte(); err != nil { // the LF, or whatever stands for it
				return 0, nil, noEOF(err)
			}
			if count == 1 {
				return c, r.hdr[:0], nil
			}
			if long {
				n = 0
			}
			return first, r.hdr[:n], nil
		case count == 1:
			first = c
		case n < maxHeaderLen:
			r.hdr[n] = c
			n++
		default:
			long = true
		}
		if c == 0 {
			nul = true
		}
		// Decided once what was read is exhausted, as inlineLine does.
		if count > r.lim.MaxInline && r.br.Buffered() == 0 {
			return 0, nil, protoErr(tooBig)
		}
	}
}

// inlineLine reads an inline request's line and returns it without its
// LF, or CRLF, and how many buffered bytes the caller discards once it is
// done with it (the line still lies in br's buffer then). The slice is
// valid until the next read.
//
// Like Redis, it decides that a line is too big only once what has been
// read from the connection is exhausted: a line is refused when more than
// MaxInline bytes of it have come without its end, but its end may come in
// the same read as the byte that passed MaxInline. Redis reads 16 KiB at
// a time, and so does a server's Reader whose bufio buffer is 16 KiB: a
// line of 70 000 bytes sent at once is accepted by both, one of 82 000
// refused.
func (r *Reader) inlineLine() ([]byte, int, error) {
	// Fast path: the whole line is buffered.
	b, _ := r.br.Peek(r.br.Buffered())
	if i := bytes.IndexByte(b, '\n'); i >= 0 && i <= r.lim.MaxInline && bytes.IndexByte(b[:i], 0) < 0 {
		return trimCR(b[:i]), i + 1, nil
	}
	r.line = r.line[:0]
	total, nul := 0, false
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return nil, 0, noEOF(err)
			}
		}
		b, _ := r.br.Peek(r.br.Buffered())
		if !nul {
			end, z := bytes.IndexByte(b, '\n'), bytes.IndexByte(b, 0)
			switch {
			case z >= 0 && (end < 0 || z < end):
				nul = true // the end can no longer be found
			case end >= 0:
				r.line = append(r.line, b[:end]...)
				_, _ = r.br.Discard(end + 1)
				return trimCR(r.line), 0, nil
			default:
				r.line = append(r.line, b...)
			}
		}
		_, _ = r.br.Discard(len(b))
		if total += len(b); total > r.lim.MaxInline {
			return nil, 0, protoErr(textTooBigInline)
		}
	}
}

// trimCR drops one CR at the end of line.
func trimCR(line []byte) []byte {
	if len(line) > 0 && line[len(line)-1] == '\r' {
		return line[:len(line)-1]
	}
	return line
}
