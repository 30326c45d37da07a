package resp

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"slices"

	"github.com/pykv/pykv/internal/redisfmt"
)

// Defaults of Limits, Redis's values.
const (
	// DefaultMaxBulk is the longest bulk string accepted: 512 MiB, Redis's
	// proto-max-bulk-len.
	DefaultMaxBulk = 512 << 20
	// DefaultMaxArgs is the most arguments in one command (elements in one
	// aggregate reply): Redis 7's bound on an array count, INT_MAX. The
	// arguments' bytes are bounded by MaxCommand, and room for them grows
	// with what arrives, never with a count.
	DefaultMaxArgs = math.MaxInt32
	// DefaultMaxInline is the longest inline request (simple string in a
	// reply), line ending excluded: 64 KiB, Redis's PROTO_INLINE_MAX_SIZE.
	DefaultMaxInline = 64 << 10
	// DefaultMaxCommand is the most bytes of arguments in one command:
	// 512 MiB, room for one bulk string of DefaultMaxBulk. Redis bounds a
	// client's whole query buffer (client-query-buffer-limit, 1 GiB) for
	// the same reason: without it, DefaultMaxArgs bulks of DefaultMaxBulk
	// each would let one command claim 512 TiB.
	DefaultMaxCommand = 512 << 20
)

// Limits of a client that has not authenticated, Redis's own
// (processMultibulkBuffer in networking.c): Reader.SetUnauthenticated
// applies them on top of the Limits.
const (
	// UnauthMaxArgs is the largest array count before AUTH; a larger one
	// is "Protocol error: unauthenticated multibulk length". An inline
	// command is not bounded by it, as in Redis.
	UnauthMaxArgs = 10
	// UnauthMaxBulk is the longest bulk string before AUTH; a longer one is
	// "Protocol error: unauthenticated bulk length".
	UnauthMaxBulk = 16384
)

// Limits bound what a Reader accepts, so that a client cannot make the server
// allocate more than it actually sends. A field that is zero or negative
// takes its default; math.MaxInt means no limit.
type Limits struct {
	// MaxBulk is the longest bulk string in bytes. A longer declared length
	// is a ProtocolError, before any byte of it is read.
	MaxBulk int
	// MaxArgs is the most arguments in one command, and the most elements
	// in one aggregate reply (a map counts its keys and values).
	MaxArgs int
	// MaxInline is the longest line of a simple string, error or number
	// in a reply, without its line ending. In a request it is how many
	// bytes of an inline line, or of a "*count" or "$length" line, may
	// have come without the line's end once the bytes read are exhausted:
	// Redis's rule, so the end may come in the read that passed it.
	MaxInline int
	// MaxCommand is the most bytes of arguments in one command: the sum of
	// the lengths of its bulk strings (of its split arguments, inline). It
	// is checked as each bulk string's length is read, before any byte of
	// it, so a command that would pass it is ErrCommandTooLarge as soon as
	// the length that crosses it arrives. The bookkeeping of its arguments,
	// argOverhead bytes each, is held to MaxCommand too (but 1024 arguments
	// are always allowed): a flood of empty
	// arguments, which a count up to INT_MAX admits, stops there. It bounds
	// commands only, not replies (ReadReply).
	MaxCommand int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBulk <= 0 {
		l.MaxBulk = DefaultMaxBulk
	}
	// A bulk string or a line is read with its CRLF: its length plus 2 must
	// fit an int.
	l.MaxBulk = min(l.MaxBulk, math.MaxInt-2)
	l.MaxInline = min(l.MaxInline, math.MaxInt-2)
	if l.MaxArgs <= 0 {
		l.MaxArgs = DefaultMaxArgs
	}
	if l.MaxInline <= 0 {
		l.MaxInline = DefaultMaxInline
	}
	if l.MaxCommand <= 0 {
		l.MaxCommand = DefaultMaxCommand
	}
	return l
}

const (
	// maxHeaderLen is the longest content of a length line ("$123", "*4")
	// after its type byte: a sign and 19 digits fit. Anything longer is
	// rejected at once instead of buffered, since no valid length follows.
	maxHeaderLen = 20

	// bulkChunk is how much room a bulk string gets before its bytes have
	// arrived. A longer bulk grows with what has actually been read, so a
	// declared length costs nothing until it is sent.
	bulkChunk = 16 << 10

	// argOverhead is what the Reader and its caller hold for each argument
	// besides its bytes: two offsets and a slice header.
	argOverhead = 40

	// maxRetain is the most capacity a Reader keeps in its buffers between
	// commands: a connection that once sent a 100 MB value does not hold
	// 100 MB for the rest of its life.
	maxRetain = 64 << 10
)

// Reader decodes RESP from a buffered stream: commands on the server side
// (ReadCommand), replies on the client side (ReadReply). It is not safe for
// concurrent use. After any error other than io.EOF, its state is undefined:
// close the connection.
type Reader struct {
	br  *bufio.Reader
	lim Limits

	unauth bool // hold commands to UnauthMaxArgs and UnauthMaxBulk

	buf  []byte                 // the bytes of the current command's arguments
	offs []int                  // start and end in buf of each argument
	line []byte                 // a line longer than br's buffer, gathered piece by piece
	hdr  [maxHeaderLen + 1]byte // a length line: its digits and CR
}

// NewReader returns a Reader that reads from br within lim.
func NewReader(br *bufio.Reader, lim Limits) *Reader {
	return &Reader{br: br, lim: lim.withDefaults()}
}

// SetLimits replaces the Reader's Limits from the next read on. A server can
// hold a client that has not authenticated to tight limits and relax them
// after AUTH, as Redis does.
func (r *Reader) SetLimits(lim Limits) { r.lim = lim.withDefaults() }

// SetUnauthenticated holds the commands read from now on to UnauthMaxArgs
// and UnauthMaxBulk, with Redis's error texts, until it is called with
// false: a server calls it for a client that has not authenticated yet,
// when a password is set, and again after AUTH.
func (r *Reader) SetUnauthenticated(on bool) { r.unauth = on }

// Buffered returns the number of bytes already read from the connection and
// not yet decoded. A server flushes its replies when this is zero, before it
// blocks for more input: that is what makes pipelining cheap.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// shrink drops buffers that one large command or reply grew past
// maxRetain, between two of them. It reports whether it dropped the
// arguments' buffer.
func (r *Reader) shrink() bool {
	dropped := cap(r.buf) > maxRetain
	if dropped {
		r.buf = nil
	}
	if cap(r.line) > maxRetain {
		r.line = nil
	}
	if cap(r.offs) > maxRetain/8 {
		r.offs = nil
	}
	return dropped
}

// errLineTooLong is internal: readLine's callers turn it into the
// ProtocolError of their context.
var errLineTooLong = protoErr("line too long")

// readLine returns the next line without its "\n", or "\r\n" when
// requireCR. The slice is valid until the next read. A line whose content is
// longer than limit is errLineTooLong, found without buffering more than limit
// bytes plus one buffer of br. EOF in a line is io.ErrUnexpectedEOF.
func (r *Reader) readLine(limit int, requireCR bool) ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.line = append(r.line[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.line) > limit+1 {
				return nil, errLineTooLong
			}
			line, err = r.br.ReadSlice('\n')
			r.line = append(r.line, line...)
		}
		line = r.line
	}
	if err != nil {
		// No line ending: even a final CR would leave too much content.
		if len(line) > limit+1 {
			return nil, errLineTooLong
		}
		return nil, noEOF(err)
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	} else if requireCR {
		return nil, protoErr(textLineNotTerminated)
	}
	if len(line) > limit {
		return nil, errLineTooLong
	}
	return line, nil
}

// readInt reads the rest of a length or integer line (its type byte already
// read) and parses it; a malformed or overlong line is the ProtocolError
// text.
func (r *Reader) readInt(text string) (int64, error) {
	line, err := r.headerLine()
	if err == errLineTooLong {
		return 0, protoErr(text)
	}
	if err != nil {
		return 0, err
	}
	n, ok := redisfmt.ParseInt(line)
	if !ok {
		return 0, protoErr(text)
	}
	return n, nil
}

// headerLine returns the rest of a length line without its CRLF, copied
// into r.hdr. No valid length is longer than maxHeaderLen, so a longer line
// is errLineTooLong as soon as its bytes arrive, whatever follows.
func (r *Reader) headerLine() ([]byte, error) {
	n := 0
	// Fast path: the whole line is already buffered.
	b, _ := r.br.Peek(min(r.br.Buffered(), len(r.hdr)+1))
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		n = copy(r.hdr[:], b[:i])
		_, _ = r.br.Discard(i + 1) // cannot fail: the bytes are buffered
	} else if len(b) > len(r.hdr) {
		return nil, errLineTooLong
	} else {
		for {
			c, err := r.br.ReadByte()
			if err != nil {
				return nil, noEOF(err)
			}
			if c == '\n' {
				break
			}
			if n == len(r.hdr) {
				return nil, errLineTooLong
			}
			r.hdr[n] = c
			n++
		}
	}
	if n == 0 || r.hdr[n-1] != '\r' {
		return nil, errLineTooLong // not a length line either way
	}
	return r.hdr[:n-1], nil
}

// readBulk appends the n bytes of a bulk string to dst, then consumes the
// two bytes that end it. When checkCRLF, they must be CRLF (a reply);
// otherwise they are skipped whatever they are, as Redis skips them after
// an argument (processMultibulkBuffer). Room grows with the bytes that have
// arrived, never with the declared n alone.
func (r *Reader) readBulk(dst []byte, n int, checkCRLF bool) ([]byte, error) {
	need := n + 2
	if need <= r.br.Buffered() { // fast path: it has all arrived
		b, _ := r.br.Peek(need)
		if checkCRLF && (b[n] != '\r' || b[n+1] != '\n') {
			return dst, protoErr(textBulkNotTerminated)
		}
		dst = append(dst, b[:n]...)
		_, _ = r.br.Discard(need)
		return dst, nil
	}
	for need > 0 {
		if cap(dst) == len(dst) {
			dst = slices.Grow(dst, min(need, max(bulkChunk, r.br.Buffered(), len(dst))))
		}
		m := min(need, cap(dst)-len(dst))
		k, err := io.ReadFull(r.br, dst[len(dst):len(dst)+m])
		dst = dst[:len(dst)+k]
		need -= k
		if err != nil {
			return dst, noEOF(err)
		}
	}
	if checkCRLF && (dst[len(dst)-2] != '\r' || dst[len(dst)-1] != '\n') {
		return dst, protoErr(textBulkNotTerminated)
	}
	return dst[:len(dst)-2], nil
}

// noEOF turns io.EOF, met inside a command or reply, into
// io.ErrUnexpectedEOF: only EOF between two of them is clean.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
