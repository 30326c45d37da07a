package client

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/command"
)

// Client is a pool of connections to one pykv server. It is safe for
// concurrent use by many goroutines, and meant to be long-lived: make one
// per server and share it. Every method takes a context first; its
// deadline and cancellation bound the whole call, from waiting for a
// connection to reading the reply.
type Client struct {
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

// run runs one command and returns its result.
func run[T any](ctx context.Context, c *Client, r *Result[T]) (T, error) {
	c.process(ctx, []pending{r})
	return r.Result()
}

// Get returns the value of key, or ErrNil when the key does not exist.
func (c *Client) Get(ctx context.Context, key string) ([]byte, error) {
	return run(ctx, c, cmdGet(key))
}

// Set sets key to value (a string, []byte, number, bool or
// encoding.BinaryMarshaler) with the options of args. It returns ErrNil
// when args.NX or args.XX kept it from writing. With args.Get it returns
// the key's old value, or ErrNil when the key had none; otherwise a nil
// value.
func (c *Client) Set(ctx context.Context, key string, value any, args SetArgs) ([]byte, error) {
	return run(ctx, c, cmdSet(key, value, args))
}

// Del deletes keys and returns how many of them existed.
func (c *Client) Del(ctx context.Context, keys ...string) (int64, error) {
	return run(ctx, c, cmdKeys(nameDel, keys))
}

// Exists returns how many of keys exist; a key named twice counts twice.
func (c *Client) Exists(ctx context.Context, keys ...string) (int64, error) {
	return run(ctx, c, cmdKeys(nameExists, keys))
}

// Incr adds 1 to the integer value of key (0 when missing) and returns
// the result. A value that is not an integer is an *Error with Code "ERR".
func (c *Client) Incr(ctx context.Context, key string) (int64, error) {
	return run(ctx, c, cmdKey(nameIncr, key, decodeInt))
}

// IncrBy adds delta to the integer value of key (0 when missing) and
// returns the result.
func (c *Client) IncrBy(ctx context.Context, key string, delta int64) (int64, error) {
	return run(ctx, c, cmdIncrBy(nameIncrBy, key, delta))
}

// Decr subtracts 1 from the integer value of key (0 when missing) and
// returns the result.
func (c *Client) Decr(ctx context.Context, key string) (int64, error) {
	return run(ctx, c, cmdKey(nameDecr, key, decodeInt))
}

// DecrBy subtracts delta from the integer value of key (0 when missing)
// and returns the result.
func (c *Client) DecrBy(ctx context.Context, key string, delta int64) (int64, error) {
	return run(ctx, c, cmdIncrBy(nameDecrBy, key, delta))
}

// Expire makes key expire after ttl and reports whether the key exists.
// A ttl of whole seconds is sent as EXPIRE, any other as PEXPIRE, so that
// nothing is rounded away; a ttl that is not positive deletes the key.
func (c *Client) Expire(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return run(ctx, c, cmdExpire(key, ttl, false))
}

// PExpire makes key expire after ttl, sent in milliseconds (PEXPIRE; a
// fraction of a millisecond is rounded up), and reports whether the key
// exists.
func (c *Client) PExpire(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return run(ctx, c, cmdExpire(key, ttl, true))
}

// Persist removes key's expiry and reports whether it had one.
func (c *Client) Persist(ctx context.Context, key string) (bool, error) {
	return run(ctx, c, cmdKey(namePersist, key, decodeBool))
}

// TTL returns key's remaining time to live in whole seconds (rounded to
// the nearest second, as Redis does), NoExpiry (-1ns) for a key without
// expiry, or KeyMissing (-2ns) for a key that does not exist.
func (c *Client) TTL(ctx context.Context, key string) (time.Duration, error) {
	return run(ctx, c, cmdKey(nameTTL, key, decodeDuration(time.Second)))
}

// PTTL returns key's remaining time to live in milliseconds, NoExpiry
// (-1ns) for a key without expiry, or KeyMissing (-2ns) for a key that
// does not exist.
func (c *Client) PTTL(ctx context.Context, key string) (time.Duration, error) {
	return run(ctx, c, cmdKey(namePTTL, key, decodeDuration(time.Millisecond)))
}

// MGet returns the values of keys in order, nil for each missing one.
func (c *Client) MGet(ctx context.Context, keys ...string) ([][]byte, error) {
	return run(ctx, c, cmdMGet(keys))
}

// MSet sets several keys in one atomic step. pairs are key, value, key,
// value... (keys string or []byte, values as Set takes them), or a single
// map[string]string, map[string][]byte or map[string]any.
func (c *Client) MSet(ctx context.Context, pairs ...any) error {
	_, err := run(ctx, c, cmdMSet(pairs))
	return err
}

// Scan returns a batch of keys matching the glob pattern match (empty
// matches all) from cursor on, about count of them (0: the server's
// default, 10), and the cursor to pass next, 0 when the iteration is
// done. Start with cursor 0. A key that exists for the whole iteration is
// returned at least once; one added or deleted meanwhile may or may not
// be. Iterator and All do the looping.
func (c *Client) Scan(ctx context.Context, cursor uint64, match string, count int64) ([]string, uint64, error) {
	page, err := run(ctx, c, cmdScan(cursor, match, count))
	return page.Keys, page.Cursor, err
}

// DBSize returns the number of keys.
func (c *Client) DBSize(ctx context.Context) (int64, error) {
	return run(ctx, c, newResult([][]byte{nameDBSize}, nil, decodeInt))
}

// Info returns the server's INFO text for sections (all of the default
// ones when none is named): "# Section" headers and "field:value" lines,
// separated by CRLF.
func (c *Client) Info(ctx context.Context, sections ...string) (string, error) {
	return run(ctx, c, cmdInfo(sections))
}

// Ping checks that the server answers, dialling a connection if none is
// idle.
func (c *Client) Ping(ctx context.Context) error {
	_, err := run(ctx, c, newResult([][]byte{namePing}, nil, decodeStatus))
	return err
}

// Do runs any command: args are the command name and its arguments,
// converted as Set converts a value. It returns the reply as the server
// sent it. An error reply is returned both as the reply and as a *Error;
// a Nil reply is a reply, not an error. Commands that change the state of
// a connection (AUTH, CLIENT SETNAME, QUIT) apply to whichever pooled
// connection ran them: set them in Options instead.
func (c *Client) Do(ctx context.Context, args ...any) (command.Reply, error) {
	return run(ctx, c, cmdDo(args))
}
