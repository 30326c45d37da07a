package netproto

import (
	"bufio"
	"errors"

	"github.com/pykv/pykv/command"
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
	return &respCodec{r: resp.NewReader(r, p.Limits), w: resp.NewWriter(w)}
}

type respCodec struct {
	r *resp.Reader
	w *resp.Writer
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

func (c *respCodec) ReadCommand(argv [][]byte) ([][]byte, error) { return c.r.ReadCommand(argv) }

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
	return command.Reply{}, false, false
}
