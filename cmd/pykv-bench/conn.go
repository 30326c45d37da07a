package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"time"

	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/reply"
)

// readBufSize is each connection's read buffer: a batch of replies of
// -P 16 GETs of 100 bytes (about 2 KiB) arrives in one read, and an MGET
// batch of a few hundred KiB in a few.
const readBufSize = 64 << 10

// dialTimeout bounds a connect and the handshake and AUTH that follow.
const dialTimeout = 5 * time.Second

// maxNativeReply bounds a native reply frame the skipper accepts: a
// larger length means the stream is out of step, not a real reply.
const maxNativeReply = netproto.DefaultMaxFrame

// maxRESPDepth bounds the nesting of a RESP reply the skipper follows.
const maxRESPDepth = 64

// replyKind is what the request loop needs to know of a reply.
type replyKind uint8

const (
	replyValue replyKind = iota // anything that is neither of the others
	replyNil                    // a GET of a missing key
	replyError                  // an error reply: the request failed
)

// conn is one connection of the load generator. It reads replies without
// decoding them into values: the request loop only needs where each ends
// and whether it is an error, and skipping allocates nothing.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader // reads through counted
	native bool
	errMsg []byte // the text of the last error reply, reused
	in     countingReader
}

// countingReader counts the reads that reach the connection, so that the
// request loop takes the time only when a reply came with a new read: the
// replies a read brought arrived together, and reading the clock costs
// about as much as skipping a reply.
type countingReader struct {
	r     io.Reader
	reads uint64
}

func (cr *countingReader) Read(p []byte) (int, error) {
	cr.reads++
	return cr.r.Read(p)
}

// newConn wraps an open connection.
func newConn(nc net.Conn, native bool) *conn {
	c := &conn{nc: nc, native: native}
	c.in.r = nc
	c.br = bufio.NewReaderSize(&c.in, readBufSize)
	return c
}

// dial connects, says the native handshake when needed, and AUTHs.
func dial(cfg Config) (*conn, error) {
	nc, err := net.DialTimeout("tcp", cfg.Addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, cfg.Protocol == protoNative)
	nc.SetDeadline(time.Now().Add(dialTimeout))
	if err := c.greet(cfg.Password); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", cfg.Addr, err)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// greet runs the native handshake and AUTH, through the codecs: they run
// once per connection, so their allocations do not matter.
func (c *conn) greet(password string) error {
	if c.native {
		bw := bufio.NewWriter(c.nc)
		w := netproto.NewWriter(bw)
		if err := w.WriteHandshake(); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if _, err := netproto.NewReader(c.br, netproto.Limits{}).ReadHandshakeReply(); err != nil {
			return err
		}
	}
	if password == "" {
		return nil
	}
	r, err := c.roundTrip([][]byte{[]byte("AUTH"), []byte(password)})
	if err != nil {
		return err
	}
	if r.Kind == reply.KindError {
		return fmt.Errorf("AUTH: %s %s", r.Code, r.Msg)
	}
	return nil
}

// roundTrip sends one command and decodes its reply with the protocol's
// codec: for AUTH and PING, not for the load.
func (c *conn) roundTrip(argv [][]byte) (reply.Reply, error) {
	bw := bufio.NewWriter(c.nc)
	var err error
	if c.native {
		err = netproto.NewWriter(bw).WriteRequest(argv)
	} else {
		err = resp.NewWriter(bw).WriteCommand(argv)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return reply.Reply{}, err
	}
	if c.native {
		return netproto.NewReader(c.br, netproto.Limits{}).ReadReply()
	}
	return resp.NewReader(c.br, resp.Limits{}).ReadReply()
}

func (c *conn) Close() error { return c.nc.Close() }

// skip reads one reply and reports its kind. After an error reply,
// c.errMsg holds its text.
func (c *conn) skip() (replyKind, error) {
	if c.native {
		return c.skipNative()
	}
	return c.skipRESP(0)
}

// errMalformedReply means the reply stream is out of step.
var errMalformedReply = errors.New("malformed reply")

// skipNative skips one native reply frame: a 4-byte length and a body
// whose first byte is the type (netproto's package doc).
func (c *conn) skipNative() (replyKind, error) {
	hdr, err := c.br.Peek(netproto.FrameHeaderSize + 1)
	if err != nil {
		return 0, eof(err)
	}
	n := int(binary.BigEndian.Uint32(hdr))
	if n < 1 || n > maxNativeReply {
		return 0, fmt.Errorf("%w: native frame of %d bytes", errMalformedReply, n)
	}
	kind := reply.Kind(hdr[netproto.FrameHeaderSize])
	switch kind {
	case reply.KindNil:
		_, err = c.br.Discard(netproto.FrameHeaderSize + n)
		return replyNil, eof(err)
	case reply.KindError:
		return replyError, c.readNativeError(n)
	}
	_, err = c.br.Discard(netproto.FrameHeaderSize + n)
	return replyValue, eof(err)
}

// readNativeError reads an error frame's body (type, code, message) into
// errMsg as "CODE message".
func (c *conn) readNativeError(n int) error {
	if _, err := c.br.Discard(netproto.FrameHeaderSize); err != nil {
		return eof(err)
	}
	body := append(c.errMsg[:0], make([]byte, n)...)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return eof(err)
	}
	p := body[1:] // after the type byte
	var parts [2][]byte
	for i := range parts {
		if len(p) < 4 || int(binary.BigEndian.Uint32(p)) > len(p)-4 {
			return fmt.Errorf("%w: truncated error reply", errMalformedReply)
		}
		l := int(binary.BigEndian.Uint32(p))
		parts[i], p = p[4:4+l], p[4+l:]
	}
	msg := make([]byte, 0, len(parts[0])+1+len(parts[1]))
	msg = append(append(append(msg, parts[0]...), ' '), parts[1]...)
	c.errMsg = msg
	return nil
}

// skipRESP skips one RESP2 or RESP3 reply whose type byte is next.
func (c *conn) skipRESP(depth int) (replyKind, error) {
	if depth > maxRESPDepth {
		return 0, fmt.Errorf("%w: RESP reply nested deeper than %d", errMalformedReply, maxRESPDepth)
	}
	t, err := c.br.ReadByte()
	if err != nil {
		return 0, eof(err)
	}
	switch t {
	case '+', ':', ',', '#', '(':
		_, err := c.line(false)
		return replyValue, err
	case '_':
		_, err := c.line(false)
		return replyNil, err
	case '-':
		line, err := c.line(true)
		c.errMsg = append(c.errMsg[:0], line...)
		return replyError, err
	case '$', '=', '!':
		n, err := c.length()
		if err != nil || n < 0 {
			return replyNil, err
		}
		if t == '!' {
			c.errMsg = c.errMsg[:0]
			for range n {
				b, err := c.br.ReadByte()
				if err != nil {
					return 0, eof(err)
				}
				c.errMsg = append(c.errMsg, b)
			}
			_, err = c.br.Discard(2)
			return replyError, eof(err)
		}
		_, err = c.br.Discard(n + 2)
		return replyValue, eof(err)
	case '*', '~', '>', '%', '|':
		n, err := c.length()
		if err != nil || n < 0 {
			return replyNil, err
		}
		if t == '%' || t == '|' {
			n *= 2
		}
		for range n {
			if _, err := c.skipRESP(depth + 1); err != nil {
				return 0, err
			}
		}
		if t == '|' { // an attribute comes before the reply it describes
			return c.skipRESP(depth)
		}
		return replyValue, nil
	}
	return 0, fmt.Errorf("%w: RESP type byte %q", errMalformedReply, t)
}

// line reads up to and including the next LF. With keep it returns the
// line without CRLF (valid until the next read); without, it discards a
// line of any length.
func (c *conn) line(keep bool) ([]byte, error) {
	for {
		b, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull && !keep {
			continue
		}
		if err != nil {
			return nil, eof(err)
		}
		if len(b) >= 2 && b[len(b)-2] == '\r' {
			b = b[:len(b)-2]
		}
		return b, nil
	}
}

// length reads a RESP length line, an integer by Redis's rules
// (redisfmt), of at most maxLength: a longer reply is not one the
// benchmark could hold. A negative length is a null.
func (c *conn) length() (int, error) {
	b, err := c.line(true)
	if err != nil {
		return 0, err
	}
	n, ok := redisfmt.ParseInt(b)
	if !ok || n > maxLength {
		return 0, fmt.Errorf("%w: RESP length %q", errMalformedReply, b)
	}
	return int(n), nil
}

// maxLength is the largest reply length accepted, the largest int of a
// 32-bit platform, so that a length always fits an int; Redis's own bulk
// limit (proto-max-bulk-len) is 512 MiB.
const maxLength = math.MaxInt32

// eof turns an EOF in the middle of replies into an error that says so.
func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
