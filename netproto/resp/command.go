package resp

import (
	"math"

	"github.com/pykv/pykv/internal/redisfmt"
)

// ReadCommand reads the next command and returns its arguments, appended to
// args[:0] so that a server reuses one slice for every command. It accepts
// both forms Redis accepts:
//
//   - a RESP array of bulk strings, as client libraries send it:
//     "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
//   - an inline command, one line as typed in telnet or sent by redis-cli:
//     "SET k v\r\n", ended by LF or CRLF and split as Redis splits it.
//
// The rules of an inline command are those of Redis's sdssplitargs:
//
//   - arguments are separated by white space (space, \t, \r, \n, \v, \f);
//   - "double quotes" keep spaces and understand \n \r \t \b \a, \xHH (two
//     hex digits) and a backslash before any other byte for that byte;
//   - 'single quotes' keep everything literally except \' for a quote;
//   - a quote may open in the middle of an argument (a"b c" is "ab c"), but a
//     closing quote must be followed by white space or the end of the line,
//     or the line is the ProtocolError "unbalanced quotes in request";
//   - a NUL byte before the LF hides the line's end, as Redis's strchr
//     stops at it: the request is "too big" once MaxInline bytes have come.
//
// The framing is Redis 7's to the byte (see the package doc): a length
// line ends at its CR, the byte after it and the two after a bulk string
// are skipped unchecked.
//
// Empty lines, and arrays of a count of zero or less ("*0\r\n", "*-1\r\n"),
// are skipped, as Redis skips them; so the result always has at least one
// argument. Blank
// lines already buffered after a command are consumed with it, so that
// Buffered is zero when nothing but them followed.
//
// The returned slices point into the Reader's own buffer: they are valid
// only until the next call of a Read method. A caller copies what it keeps.
// Each argument has its capacity clipped to its length, so appending to one
// never overwrites the next.
//
// io.EOF means the stream ended cleanly between two commands;
// io.ErrUnexpectedEOF, that it ended inside one. A *ProtocolError means the
// input broke the grammar or the Limits: the stream cannot be trusted after
// it, so the server sends ProtocolError.Reply and closes the connection.
// ErrCommandTooLarge means the command passed MaxCommand: the server
// closes the connection without a reply, as Redis does past
// client-query-buffer-limit.
func (r *Reader) ReadCommand(args [][]byte) ([][]byte, error) {
	if r.shrink() {
		// The caller's slice still points into the dropped buffer past the
		// length the next command will overwrite; let it go.
		clear(args[:cap(args)])
	}
	args = args[:0]
	for {
		r.buf, r.offs = r.buf[:0], r.offs[:0]
		first, err := r.br.Peek(1)
		if err != nil {
			return args, err // io.EOF here is the clean end
		}
		if first[0] == '*' {
			err = r.readMultibulk()
		} else {
			err = r.readInline()
		}
		if err != nil {
			return args, err
		}
		if len(r.offs) > 0 {
			break
		}
	}
	for i := 0; i < len(r.offs); i += 2 {
		end := r.offs[i+1]
		args = append(args, r.buf[r.offs[i]:end:end])
	}
	r.skipBlankLines()
	return args, nil
}

// skipBlankLines consumes the blank lines already buffered after a command,
// without waiting for more input. A client that ends its request with an
// extra newline ("PING\r\n\n", as echo piped into nc sends it) and then
// waits for the reply would otherwise leave Buffered above zero: the server
// would not flush, and block reading a line that never comes.
func (r *Reader) skipBlankLines() {
	for {
		b, _ := r.br.Peek(r.br.Buffered()) // never blocks
		i := 0
		for i < len(b) && b[i] != '\n' && isSpace(b[i]) {
			i++
		}
		if i == len(b) || b[i] != '\n' {
			return
		}
		_, _ = r.br.Discard(i + 1)
	}
}

// readMultibulk reads an array of bulk strings into r.buf and r.offs, by
// the rules and with the texts of Redis 7's processMultibulkBuffer: a count
// of zero or less is a request of no arguments, which is skipped; a count
// above INT_MAX, or MaxArgs, is refused; the two bytes after each bulk
// string are skipped unchecked.
func (r *Reader) readMultibulk() error {
	_, line, err := r.header(textTooBigCount)
	if err != nil {
		return err
	}
	n, ok := redisfmt.ParseInt(line)
	if !ok || n > math.MaxInt32 || n > int64(r.lim.MaxArgs) {
		return protoErr(textInvalidMultibulkLength)
	}
	if r.unauth && n > UnauthMaxArgs {
		return protoErr(textUnauthMultibulkLength)
	}
	maxHeld := r.maxHeld()
	for i := range max(n, 0) {
		if i >= int64(maxHeld) {
			return ErrCommandTooLarge
		}
		first, line, err := r.header(textTooBigBulkCount)
		if err != nil {
			return err
		}
		if first != '$' {
			return protoErrByte(textExpectedDollar, first)
		}
		size, ok := redisfmt.ParseInt(line)
		if !ok || size < 0 || size > int64(r.lim.MaxBulk) {
			return protoErr(textInvalidBulkLength)
		}
		if r.unauth && size > UnauthMaxBulk {
			return protoErr(textUnauthBulkLength)
		}
		// len(r.buf) never passes MaxCommand, so the difference cannot
		// overflow.
		if size > int64(r.lim.MaxCommand-len(r.buf)) {
			return ErrCommandTooLarge
		}
		start := len(r.buf)
		if r.buf, err = r.readBulk(r.buf, int(size), false); err != nil {
			return err
		}
		r.offs = append(r.offs, start, len(r.buf))
	}
	return nil
}

// readInline reads one line and splits it into r.buf and r.offs.
func (r *Reader) readInline() error {
	line, consume, err := r.inlineLine()
	if err != nil {
		return err
	}
	err = r.splitInline(line)
	_, _ = r.br.Discard(consume) // cannot fail: the bytes are buffered
	if err != nil {
		return err
	}
	// Only a MaxCommand below MaxInline can be passed here, and what was
	// split is at most the line, already bounded: checking afterwards
	// costs nothing.
	if len(r.buf) > r.lim.MaxCommand || len(r.offs)/2 > r.maxHeld() {
		return ErrCommandTooLarge
	}
	return nil
}

// maxHeld is how many arguments one command may have before their
// bookkeeping passes MaxCommand; never fewer than minHeld, so that a
// MaxCommand of a few bytes still admits short commands.
func (r *Reader) maxHeld() int { return max(r.lim.MaxCommand/argOverhead, minHeld) }

const minHeld = 1024
