package server

import (
	"bufio"
	"errors"
	"io"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/netproto"
)

// Native is the Protocol of the native binary wire format, for a Server.
type Native struct {
	// Limits bound the requests a connection accepts.
	Limits netproto.Limits
}

// Name implements Protocol.
func (Native) Name() string { return "native" }

// NewCodec implements Protocol.
func (n Native) NewCodec(r *bufio.Reader, w *bufio.Writer) Codec {
	return &nativeCodec{r: netproto.NewReader(r, n.Limits), w: netproto.NewWriter(w)}
}

type nativeCodec struct {
	r *netproto.Reader
	w *netproto.Writer
}

// SetAuthenticated implements Codec: before AUTH a request is held to
// netproto.UnauthMaxFrame and UnauthMaxArgs, within the configured limits.
func (c *nativeCodec) SetAuthenticated(authed bool) { c.r.SetUnauthenticated(!authed) }

func (c *nativeCodec) Handshake(refuse error) error {
	_, err := c.r.ReadHandshake()
	if errors.Is(err, io.EOF) {
		return err
	}
	if err == nil && refuse != nil {
		err = refuse // status 3, with refuse's text
	}
	if werr := c.w.WriteHandshakeReply(err); werr != nil && err == nil {
		err = werr
	}
	if ferr := c.w.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

func (c *nativeCodec) ReadCommand(argv [][]byte) ([][]byte, error) {
	return c.r.ReadRequest(argv)
}

func (c *nativeCodec) WriteReply(_ *command.Session, r command.Reply) error {
	return c.w.WriteReply(r)
}

func (c *nativeCodec) Buffered() int { return c.r.Buffered() }

func (c *nativeCodec) Flush() error { return c.w.Flush() }

func (c *nativeCodec) ErrorReply(err error) (command.Reply, bool, bool) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return command.Reply{}, false, false
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return command.Reply{}, false, false
	}
	return netproto.ErrorReply(err), true, netproto.Recoverable(err)
}
