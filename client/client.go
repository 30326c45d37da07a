package client

import (
	"context"
	"sync/atomic"
)

// Client is a pool of connections to one pykv server. It is safe for
// concurrent use by many goroutines, and meant to be long-lived: make one
// per server and share it. Every command method takes a context first; its
// deadline and cancellation bound the whole call, from waiting for a
// connection to reading the reply. A command method runs the command
// before it returns its Result: call Result, Val or Err on it.
type Client struct {
	cmdable // every command, run at once: see commands.go

	opts   Options
	pool   *pool
	closed atomic.Bool
}

// New returns a Client for opts. It checks the options but does not
// connect: connections are made as calls need them, so New succeeds while
// the server is down. Call Ping to check that the server answers.
func New(opts Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{opts: o}
	c.cmdable = func(ctx context.Context, cmd pending) error { return c.process(ctx, []pending{cmd}) }
	c.pool = newPool(&c.opts, func(ctx context.Context) (*conn, error) { return dial(ctx, &c.opts) })
	return c, nil
}

// Options returns the client's options, with the defaults filled in.
func (c *Client) Options() Options { return c.opts }

// Close closes the idle connections, and the others as their calls
// finish. Calls after Close return ErrClosed.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.pool.close()
	return nil
}

// PoolStats reports what the connection pool has done so far.
func (c *Client) PoolStats() PoolStats { return c.pool.stats() }

// process runs cmds in one round trip on one connection and delivers their
// results. A command that could not be built is not sent (its Result holds
// why). It returns the first error that is not a command's own: building
// one, or the connection failing; after the latter, every command without
// a reply holds that error too.
func (c *Client) process(ctx context.Context, cmds []pending) error {
	send := cmds
	argvs := make([][][]byte, 0, len(cmds))
	size := 0
	var buildErr error
	for i, cmd := range cmds {
		argv, err := cmd.args()
		if err != nil {
			if buildErr == nil {
				buildErr = err
				// Copy the commands before this one; leave cmds as it is.
				send = append(make([]pending, 0, len(cmds)), cmds[:i]...)
			}
			continue
		}
		if buildErr != nil {
			send = append(send, cmd)
		}
		argvs = append(argvs, argv)
		size += requestSize(argv)
	}
	if len(send) == 0 {
		return buildErr
	}
	if c.closed.Load() {
		fail(send, ErrClosed)
		return ErrClosed
	}
	cn, err := c.pool.get(ctx)
	if err != nil {
		fail(send, err)
		return err
	}
	err = cn.roundTrip(ctx, c.opts.Addr, send, argvs, size)
	// Bytes left over after the last reply were never asked for: the
	// stream is out of step, whatever the replies looked like.
	if err != nil || cn.broken || cn.r.Buffered() > 0 {
		c.pool.remove(cn)
	} else {
		c.pool.put(cn)
	}
	if err != nil {
		return err
	}
	return buildErr
}

// requestSize is the size of argv's request frame, to decide whether a
// batch fits in one write.
func requestSize(argv [][]byte) int {
	n := 4 + 1 // frame length, opcode
	for _, a := range argv {
		n += 4 + len(a)
	}
	return n
}
