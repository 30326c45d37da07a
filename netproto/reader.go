package netproto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame layout constants: part of the wire format, never to be changed.
const (
	// FrameHeaderSize is the size of the length that starts every frame:
	// a big-endian uint32, the number of body bytes that follow it.
	FrameHeaderSize = 4
	// lenSize is the size of every length and count inside a frame body:
	// a big-endian uint32.
	lenSize = 4
)

// growStep is how much of a frame body the Reader allocates before any of
// it has arrived. Beyond it the buffer grows with the bytes actually
// received (at most doubling), so that memory follows data, never a claim.
const growStep = 64 << 10

// maxRetained is the largest request buffer a Reader keeps from one
// request to the next. A larger one (left by a big SET) is dropped at the
// next call, so an idle connection does not pin tens of megabytes.
const maxRetained = 1 << 20

// Reader decodes the native protocol from a buffered stream: the handshake
// and requests on the server side, the handshake reply and replies on the
// client side. It is not safe for concurrent use; a client may read with
// one goroutine while another writes with a Writer.
type Reader struct {
	br     *bufio.Reader
	lim    Limits          // in force
	full   Limits          // as configured, in force once authenticated
	unauth bool            // SetUnauthenticated(true): lim is the unauthenticated one
	buf    []byte          // request frame body, reused by ReadRequest
	name   [maxOpName]byte // argv[0] of ReadRequest for a dedicated opcode
}

// NewReader returns a Reader that reads from br within lim (zero fields
// mean the defaults).
func NewReader(br *bufio.Reader, lim Limits) *Reader {
	lim = lim.withDefaults()
	return &Reader{br: br, lim: lim, full: lim}
}

// SetLimits replaces the Reader's limits from the next read on (zero
// fields mean the defaults).
func (r *Reader) SetLimits(lim Limits) {
	r.full = lim.withDefaults()
	r.SetUnauthenticated(r.unauth)
}

// SetUnauthenticated, while on, holds requests to UnauthMaxFrame and
// UnauthMaxArgs (or the Reader's limits, when lower), as a server does for
// a connection that has not authenticated; a request over them fails with
// an error that is also ErrUnauthenticated. Off restores the limits.
func (r *Reader) SetUnauthenticated(on bool) {
	r.unauth, r.lim = on, r.full
	if on {
		r.lim = Limits{MaxFrame: min(r.full.MaxFrame, UnauthMaxFrame), MaxArgs: min(r.full.MaxArgs, UnauthMaxArgs)}
	}
}

// Buffered returns the number of bytes already read from the connection
// but not yet decoded. A server flushes its replies when it reaches zero:
// the client has no more pipelined requests in flight for now.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// readFrame reads one frame and appends its body to dst. It rejects a
// claim over MaxFrame before reading any of the body, and an empty body.
func (r *Reader) readFrame(dst []byte) ([]byte, error) {
	hdr, err := r.br.Peek(FrameHeaderSize)
	if err != nil {
		if len(hdr) == 0 && errors.Is(err, io.EOF) {
			return dst, io.EOF // a clean end between frames
		}
		return dst, unexpected(err)
	}
	n := binary.BigEndian.Uint32(hdr)
	// Compare as uint64 so that a claim above MaxInt on a 32-bit machine
	// cannot wrap.
	if uint64(n) > uint64(r.lim.MaxFrame) {
		return dst, fmt.Errorf("%w: %d bytes claimed, limit is %d", ErrFrameTooLarge, n, r.lim.MaxFrame)
	}
	if _, err := r.br.Discard(FrameHeaderSize); err != nil {
		return dst, err
	}
	dst, err = r.readBody(dst, int(n))
	if err != nil {
		return dst, err
	}
	if n == 0 {
		return dst, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	return dst, nil
}

// readBody appends n bytes of the stream to dst. The caller has checked n
// against MaxFrame, but n is still only a claim: the buffer grows by at
// most growStep or its own size at a time, so what is allocated follows
// the bytes that really arrived.
func (r *Reader) readBody(dst []byte, n int) ([]byte, error) {
	for n > 0 {
		step := n
		if step > cap(dst)-len(dst) {
			// Grow to exactly what this step needs. The sizes double, so
			// the buffers of one frame add up to less than three times its
			// size (twice, plus a last one when it just misses a doubling),
			// and never more than twice what has arrived is allocated ahead.
			step = min(step, max(len(dst), growStep))
			grown := make([]byte, len(dst), len(dst)+step)
			copy(grown, dst)
			dst = grown
		}
		m := len(dst)
		if _, err := io.ReadFull(r.br, dst[m:m+step]); err != nil {
			return dst[:m], unexpected(err)
		}
		dst = dst[:m+step]
		n -= step
	}
	return dst, nil
}

// unexpected turns an EOF inside a frame or handshake into
// io.ErrUnexpectedEOF: the peer hung up part way.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
