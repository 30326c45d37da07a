package client

import (
	"context"
	"errors"
)

// Pipeline queues commands and sends them together: Exec writes them all
// on one connection, flushes once, and reads the replies in order, so that
// many commands cost one round trip. It has the Client's command methods,
// the same ones (see cmdable in commands.go); here each queues its command
// and returns its Result, which holds ErrNotExecuted until Exec has run.
// Their context is not used: Exec's bounds the round trip.
//
//	p := c.Pipeline()
//	g := p.Get(ctx, "a")
//	n := p.Incr(ctx, "hits")
//	if err := p.Exec(ctx); err != nil { ... }
//	v, err := g.Result()
//
// The commands run one after another on the server, but not atomically:
// another client's command may run between two of them. A Pipeline is not
// safe for concurrent use; after Exec it is empty and may be reused.
type Pipeline struct {
	cmdable // every command, queued: see commands.go

	c    *Client
	cmds []pending
}

// Pipeline returns an empty Pipeline on c.
func (c *Client) Pipeline() *Pipeline {
	p := &Pipeline{c: c}
	p.cmdable = func(_ context.Context, cmd pending) error {
		p.cmds = append(p.cmds, cmd)
		return nil
	}
	return p
}

// Len returns the number of queued commands.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Discard drops the queued commands without sending them.
func (p *Pipeline) Discard() { p.cmds = nil }

// Exec sends the queued commands and reads their replies into their
// Results, then empties the Pipeline. It returns nil when every command
// got a reply that is not an error. Otherwise it returns the first of: an
// error that stopped the round trip (I/O, timeout, cancellation; the
// commands without a reply hold it too, and may or may not have run), an
// error that kept a command from being sent, or the first *Error reply.
// ErrNil is not an error of the pipeline: a missing key is a result.
func (p *Pipeline) Exec(ctx context.Context) error {
	cmds := p.cmds
	p.cmds = nil
	if len(cmds) == 0 {
		return nil
	}
	if err := p.c.process(ctx, cmds); err != nil {
		return err
	}
	for _, c := range cmds {
		if err := c.(interface{ Err() error }).Err(); err != nil && !errors.Is(err, ErrNil) {
			return err
		}
	}
	return nil
}
