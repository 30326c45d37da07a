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
//     first byte, as Redis counts its unparsed buffer) is an error.

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
		if count > r.lim.MaxInline {
			return 0, nil, protoErr(tooBig)
		}
	}
}

// inlineLine reads an inline request's line and returns it without its
// LF, or CRLF, and how many buffered bytes the caller discards once it is
// done with it (the line still lies in br's buffer then). The slice is
// valid until the next read.
func (r *Reader) inlineLine() ([]byte, int, error) {
	// Fast path: the whole line is buffered.
	b, _ := r.br.Peek(r.br.Buffered())
	if i := bytes.IndexByte(b, '\n'); i >= 0 && (i <= r.lim.MaxInline || i == r.lim.MaxInline+1 && b[i-1] == '\r') && bytes.IndexByte(b[:i], 0) < 0 {
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
		b = b[:min(len(b), r.lim.MaxInline+2-total)]
		if !nul {
			end, z := bytes.IndexByte(b, '\n'), bytes.IndexByte(b, 0)
			switch {
			case z >= 0 && (end < 0 || z < end):
				nul = true // the end can no longer be found
			case end >= 0:
				r.line = append(r.line, b[:end]...)
				_, _ = r.br.Discard(end + 1)
				if line := trimCR(r.line); len(line) <= r.lim.MaxInline {
					return line, 0, nil
				}
				return nil, 0, protoErr(textTooBigInline)
			default:
				r.line = append(r.line, b...)
			}
		}
		_, _ = r.br.Discard(len(b))
		// More than MaxInline bytes without the end is too big, but for
		// a CR in the last place: the LF may follow it.
		if total += len(b); total > r.lim.MaxInline && (nul || total > r.lim.MaxInline+1 || r.line[len(r.line)-1] != '\r') {
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
