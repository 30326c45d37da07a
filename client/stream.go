package client

import (
	"context"
	"sync"

	"github.com/pykv/pykv/reply"
)

// Stream is a command whose reply is followed by more replies: pykv's
// EXPORT answers a status line, then streams bulk replies of export
// lines and ends with an integer. The command runs on a connection of
// its own, out of the pool (it holds one of PoolSize's places until
// Close), whose reads are bounded by the contexts only, not by
// ReadTimeout: the server may work long before its first reply (EXPORT
// merges first). Not safe for concurrent use.
type Stream struct {
	c    *Client
	cn   *conn
	once sync.Once
}

// Stream sends one command and returns its first reply with the Stream
// that reads the replies after it. An error reply is returned as the
// reply, with a nil error: the command was refused. The caller must
// Close the Stream (nil only when the error is not nil).
func (c *Client) Stream(ctx context.Context, args ...any) (*Stream, reply.Reply, error) {
	argv, err := toArgs(args)
	if err != nil {
		return nil, reply.Reply{}, err
	}
	if c.closed.Load() {
		return nil, reply.Reply{}, ErrClosed
	}
	cn, err := c.pool.get(ctx)
	if err != nil {
		return nil, reply.Reply{}, err
	}
	cn.tc.readTimeout = 0 // the connection is this Stream's alone, and never pooled again
	s := &Stream{c: c, cn: cn}
	stop := cn.tc.arm(ctx)
	err = cn.write([][][]byte{argv})
	var rep reply.Reply
	if err == nil {
		rep, err = cn.r.ReadReply()
	}
	if !stop() {
		err = ctxError(ctx)
		if err == nil {
			err = errAborted
		}
	}
	if err != nil {
		s.Close()
		return nil, reply.Reply{}, ioError(ctx, c.opts.Addr, err)
	}
	return s, rep, nil
}

// Next reads the next reply of the stream. The protocol of the command
// says which reply is the last; reading past it waits for a reply that
// never comes, until ctx ends. An error is the connection's: the stream
// is over.
func (s *Stream) Next(ctx context.Context) (reply.Reply, error) {
	stop := s.cn.tc.arm(ctx)
	rep, err := s.cn.r.ReadReply()
	if !stop() && err == nil {
		// Cancelled as the reply arrived: the reply is whole, the
		// connection's deadlines poisoned, which Close's discard
		// handles.
		s.cn.broken = true
	}
	if err != nil {
		return reply.Reply{}, ioError(ctx, s.c.opts.Addr, err)
	}
	return rep, nil
}

// Close closes the stream's connection, whether or not the stream was
// read to its end, and gives its place in the pool back.
func (s *Stream) Close() error {
	s.once.Do(func() { s.c.pool.remove(s.cn) })
	return nil
}
