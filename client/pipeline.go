package client

import (
	"context"
	"errors"
	"time"

	"github.com/pykv/pykv/command"
)

// Pipeline queues commands and sends them together: Exec writes them all
// on one connection, flushes once, and reads the replies in order, so that
// many commands cost one round trip. Each queueing method returns the
// command's Result, which holds its value once Exec has run:
//
//	p := c.Pipeline()
//	g := p.Get("a")
//	n := p.Incr("hits")
//	if err := p.Exec(ctx); err != nil { ... }
//	v, err := g.Result()
//
// The commands run one after another on the server, but not atomically:
// another client's command may run between two of them. A Pipeline is not
// safe for concurrent use; after Exec it is empty and may be reused.
type Pipeline struct {
	c    *Client
	cmds []pending
}

// Pipeline returns an empty Pipeline on c.
func (c *Client) Pipeline() *Pipeline { return &Pipeline{c: c} }

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

func queue[T any](p *Pipeline, r *Result[T]) *Result[T] {
	p.cmds = append(p.cmds, r)
	return r
}

// Get queues GET; see Client.Get.
func (p *Pipeline) Get(key string) *Result[[]byte] { return queue(p, cmdGet(key)) }

// Set queues SET; see Client.Set.
func (p *Pipeline) Set(key string, value any, args SetArgs) *Result[[]byte] {
	return queue(p, cmdSet(key, value, args))
}

// Del queues DEL; see Client.Del.
func (p *Pipeline) Del(keys ...string) *Result[int64] { return queue(p, cmdKeys(nameDel, keys)) }

// Exists queues EXISTS; see Client.Exists.
func (p *Pipeline) Exists(keys ...string) *Result[int64] {
	return queue(p, cmdKeys(nameExists, keys))
}

// Incr queues INCR; see Client.Incr.
func (p *Pipeline) Incr(key string) *Result[int64] { return queue(p, cmdKey(nameIncr, key, decodeInt)) }

// IncrBy queues INCRBY; see Client.IncrBy.
func (p *Pipeline) IncrBy(key string, delta int64) *Result[int64] {
	return queue(p, cmdIncrBy(nameIncrBy, key, delta))
}

// Decr queues DECR; see Client.Decr.
func (p *Pipeline) Decr(key string) *Result[int64] { return queue(p, cmdKey(nameDecr, key, decodeInt)) }

// DecrBy queues DECRBY; see Client.DecrBy.
func (p *Pipeline) DecrBy(key string, delta int64) *Result[int64] {
	return queue(p, cmdIncrBy(nameDecrBy, key, delta))
}

// Expire queues EXPIRE or PEXPIRE; see Client.Expire.
func (p *Pipeline) Expire(key string, ttl time.Duration) *Result[bool] {
	return queue(p, cmdExpire(key, ttl, false))
}

// PExpire queues PEXPIRE; see Client.PExpire.
func (p *Pipeline) PExpire(key string, ttl time.Duration) *Result[bool] {
	return queue(p, cmdExpire(key, ttl, true))
}

// Persist queues PERSIST; see Client.Persist.
func (p *Pipeline) Persist(key string) *Result[bool] {
	return queue(p, cmdKey(namePersist, key, decodeBool))
}

// TTL queues TTL; see Client.TTL.
func (p *Pipeline) TTL(key string) *Result[time.Duration] {
	return queue(p, cmdKey(nameTTL, key, decodeDuration(time.Second)))
}

// PTTL queues PTTL; see Client.PTTL.
func (p *Pipeline) PTTL(key string) *Result[time.Duration] {
	return queue(p, cmdKey(namePTTL, key, decodeDuration(time.Millisecond)))
}

// MGet queues MGET; see Client.MGet.
func (p *Pipeline) MGet(keys ...string) *Result[[][]byte] { return queue(p, cmdMGet(keys)) }

// MSet queues MSET; see Client.MSet. Its value is "OK".
func (p *Pipeline) MSet(pairs ...any) *Result[string] { return queue(p, cmdMSet(pairs)) }

// Scan queues SCAN; see Client.Scan.
func (p *Pipeline) Scan(cursor uint64, match string, count int64) *Result[ScanPage] {
	return queue(p, cmdScan(cursor, match, count))
}

// DBSize queues DBSIZE; see Client.DBSize.
func (p *Pipeline) DBSize() *Result[int64] {
	return queue(p, newResult([][]byte{nameDBSize}, nil, decodeInt))
}

// Info queues INFO; see Client.Info.
func (p *Pipeline) Info(sections ...string) *Result[string] { return queue(p, cmdInfo(sections)) }

// Ping queues PING. Its value is "PONG".
func (p *Pipeline) Ping() *Result[string] {
	return queue(p, newResult([][]byte{namePing}, nil, decodeStatus))
}

// Do queues any command; see Client.Do.
func (p *Pipeline) Do(args ...any) *Result[command.Reply] { return queue(p, cmdDo(args)) }
