package server

import (
	"bufio"
	"errors"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
)

// RESP is the Protocol of Redis's wire format (RESP2, and RESP3 after
// HELLO 3), so that redis-cli, redis-benchmark and Redis client libraries
// work against a Server of the same command table.
type RESP struct {
	// Limits bound the requests a connection accepts.
	Limits resp.Limits
}

// Name implements Protocol.
func (RESP) Name() string { return "resp" }

// NewCodec implements Protocol.
func (p RESP) NewCodec(r *bufio.Reader, w *bufio.Writer) Codec {
	return &respCodec{br: r, r: resp.NewReader(r, p.Limits), w: resp.NewWriter(w)}
}

type respCodec struct {
	br *bufio.Reader
	r  *resp.Reader
	w  *resp.Writer
	// sniffed is set once the start of the stream was checked for the
	// native protocol's handshake.
	sniffed bool
}

// errNativeOnRESP answers a client that opens with the native protocol's
// handshake on the RESP port (pykv-cli or the Go client pointed at the
// wrong port). Without it the handshake, which has no line end, would
// wait for one until the client gave up; with it the client reads a RESP
// error where it expects netproto.Magic, and can say which port to use.
var errNativeOnRESP = errors.New("this port speaks RESP (Redis's protocol), not pykv's native protocol: " +
	"use the native port (7380 by default) with pykv-cli, or redis-cli here")

// sniffNative reports whether the stream opens with netproto.Magic. It peeks one
// byte more only while the bytes so far are a prefix of netproto.Magic, so a RESP
// command (which always ends with a line end) never waits on it.
func (c *respCodec) sniffNative() (bool, error) {
	for i := 1; i <= len(netproto.Magic); i++ {
		b, err := c.br.Peek(i)
		if len(b) < i {
			return false, err
		}
		if b[i-1] != netproto.Magic[i-1] {
			return false, nil
		}
	}
	return true, nil
}

// Handshake: RESP has none (HELLO is an ordinary command), so a refusal
// is an error reply, as Redis sends it, before the close.
func (c *respCodec) Handshake(refuse error) error {
	if refuse != nil {
		c.w.WriteReply(command.Err(refuse.Error()))
		c.w.Flush()
	}
	return refuse
}

// SetAuthenticated implements Codec with Redis's limits for a client
// that has not authenticated.
func (c *respCodec) SetAuthenticated(authed bool) { c.r.SetUnauthenticated(!authed) }

func (c *respCodec) ReadCommand(argv [][]byte) ([][]byte, error) {
	if !c.sniffed {
		c.sniffed = true
		native, err := c.sniffNative()
		if err != nil {
			return argv[:0], err
		}
		if native {
			return argv[:0], errNativeOnRESP
		}
	}
	return c.r.ReadCommand(argv)
}

func (c *respCodec) WriteReply(s *command.Session, r command.Reply) error {
	if p := max(s.Proto, 2); p != c.w.Proto() {
		c.w.SetProto(p)
	}
	return c.w.WriteReply(r)
}

func (c *respCodec) Buffered() int { return c.r.Buffered() }

func (c *respCodec) Flush() error { return c.w.Flush() }

// ErrorReply: a protocol error gets Redis's text and the connection closes,
// as in Redis; I/O errors close without a reply.
func (c *respCodec) ErrorReply(err error) (command.Reply, bool, bool) {
	var pe *resp.ProtocolError
	if errors.As(err, &pe) {
		return pe.Reply(), true, false
	}
	if errors.Is(err, errNativeOnRESP) {
		return command.Err(err.Error()), true, false
	}
	return command.Reply{}, false, false
}
