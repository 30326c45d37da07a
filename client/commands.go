package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/pykv/pykv/reply"
)

// cmdable is the one method set of the commands, as go-redis's cmdable
// is: a function that takes a built command and either runs it at once
// (the Client's, which delivers the reply before it returns) or queues it
// (the Pipeline's, whose Exec delivers it later). Client and Pipeline
// embed it, so each command below is written once and both have it.
//
// The error it returns is the command's own too, held by the Result, so
// the methods need not look at it.
type cmdable func(ctx context.Context, cmd pending) error

// Cmdable is the command method set that Client and Pipeline share, for
// code that should work on either: a Client runs each command at once, a
// Pipeline queues it for Exec. Each method is documented on Client.
type Cmdable interface {
	Get(ctx context.Context, key string) *Result[[]byte]
	Set(ctx context.Context, key string, value any, args SetArgs) *Result[[]byte]
	Del(ctx context.Context, keys ...string) *Result[int64]
	Exists(ctx context.Context, keys ...string) *Result[int64]
	Incr(ctx context.Context, key string) *Result[int64]
	IncrBy(ctx context.Context, key string, delta int64) *Result[int64]
	Decr(ctx context.Context, key string) *Result[int64]
	DecrBy(ctx context.Context, key string, delta int64) *Result[int64]
	Expire(ctx context.Context, key string, ttl time.Duration) *Result[bool]
	PExpire(ctx context.Context, key string, ttl time.Duration) *Result[bool]
	Persist(ctx context.Context, key string) *Result[bool]
	TTL(ctx context.Context, key string) *Result[time.Duration]
	PTTL(ctx context.Context, key string) *Result[time.Duration]
	MGet(ctx context.Context, keys ...string) *Result[[][]byte]
	MSet(ctx context.Context, pairs ...any) *Result[string]
	Scan(ctx context.Context, cursor uint64, match string, count int64) *Result[ScanPage]
	DBSize(ctx context.Context) *Result[int64]
	FlushAll(ctx context.Context) *Result[string]
	Info(ctx context.Context, sections ...string) *Result[string]
	Ping(ctx context.Context) *Result[string]
	Do(ctx context.Context, args ...any) *Result[reply.Reply]
}

// Both front ends have every command; cmdable_test.go checks that
// Cmdable lists every method of cmdable.
var (
	_ Cmdable = (*Client)(nil)
	_ Cmdable = (*Pipeline)(nil)
)

// do hands r to c and returns it.
func do[T any](ctx context.Context, c cmdable, r *Result[T]) *Result[T] {
	_ = c(ctx, r) // r holds the error, if any
	return r
}

// Get returns the value of key, or ErrNil when the key does not exist.
func (c cmdable) Get(ctx context.Context, key string) *Result[[]byte] {
	return do(ctx, c, newResult([][]byte{nameGet, []byte(key)}, nil, decodeBytes))
}

// Set sets key to value (a string, []byte, number, bool or
// encoding.BinaryMarshaler) with the options of args. Its error is ErrNil
// when args.NX or args.XX kept it from writing. With args.Get its value is
// the key's old value, or its error ErrNil when the key had none;
// otherwise its value is nil.
func (c cmdable) Set(ctx context.Context, key string, value any, args SetArgs) *Result[[]byte] {
	argv, err := args.argv(key, value)
	return do(ctx, c, newResult(argv, err, decodeSet))
}

// Del deletes keys and returns how many of them existed.
func (c cmdable) Del(ctx context.Context, keys ...string) *Result[int64] {
	return do(ctx, c, keysCmd(nameDel, keys))
}

// Exists returns how many of keys exist; a key named twice counts twice.
func (c cmdable) Exists(ctx context.Context, keys ...string) *Result[int64] {
	return do(ctx, c, keysCmd(nameExists, keys))
}

// Incr adds 1 to the integer value of key (0 when missing) and returns
// the result. A value that is not an integer is an *Error with Code "ERR".
func (c cmdable) Incr(ctx context.Context, key string) *Result[int64] {
	return do(ctx, c, newResult([][]byte{nameIncr, []byte(key)}, nil, decodeInt))
}

// IncrBy adds delta to the integer value of key (0 when missing) and
// returns the result.
func (c cmdable) IncrBy(ctx context.Context, key string, delta int64) *Result[int64] {
	return do(ctx, c, byCmd(nameIncrBy, key, delta))
}

// Decr subtracts 1 from the integer value of key (0 when missing) and
// returns the result.
func (c cmdable) Decr(ctx context.Context, key string) *Result[int64] {
	return do(ctx, c, newResult([][]byte{nameDecr, []byte(key)}, nil, decodeInt))
}

// DecrBy subtracts delta from the integer value of key (0 when missing)
// and returns the result.
func (c cmdable) DecrBy(ctx context.Context, key string, delta int64) *Result[int64] {
	return do(ctx, c, byCmd(nameDecrBy, key, delta))
}

// Expire makes key expire after ttl and reports whether the key exists.
// A ttl of whole seconds is sent as EXPIRE, any other as PEXPIRE, so that
// nothing is rounded away; a ttl that is not positive deletes the key.
func (c cmdable) Expire(ctx context.Context, key string, ttl time.Duration) *Result[bool] {
	return do(ctx, c, newResult(expiryArgs(key, ttl, false), nil, decodeBool))
}

// PExpire makes key expire after ttl, sent in milliseconds (PEXPIRE; a
// fraction of a millisecond is rounded up), and reports whether the key
// exists.
func (c cmdable) PExpire(ctx context.Context, key string, ttl time.Duration) *Result[bool] {
	return do(ctx, c, newResult(expiryArgs(key, ttl, true), nil, decodeBool))
}

// Persist removes key's expiry and reports whether it had one.
func (c cmdable) Persist(ctx context.Context, key string) *Result[bool] {
	return do(ctx, c, newResult([][]byte{namePersist, []byte(key)}, nil, decodeBool))
}

// TTL returns key's remaining time to live in whole seconds (rounded to
// the nearest second, as Redis does), NoExpiry (-1ns) for a key without
// expiry, or KeyMissing (-2ns) for a key that does not exist.
func (c cmdable) TTL(ctx context.Context, key string) *Result[time.Duration] {
	return do(ctx, c, newResult([][]byte{nameTTL, []byte(key)}, nil, decodeDuration(time.Second)))
}

// PTTL returns key's remaining time to live in milliseconds, NoExpiry
// (-1ns) for a key without expiry, or KeyMissing (-2ns) for a key that
// does not exist.
func (c cmdable) PTTL(ctx context.Context, key string) *Result[time.Duration] {
	return do(ctx, c, newResult([][]byte{namePTTL, []byte(key)}, nil, decodeDuration(time.Millisecond)))
}

// MGet returns the values of keys in order, nil for each missing one.
func (c cmdable) MGet(ctx context.Context, keys ...string) *Result[[][]byte] {
	var err error
	if len(keys) == 0 {
		err = errNoKeys("MGET")
	}
	return do(ctx, c, newResult(keyArgs(nameMGet, keys), err, decodeValues))
}

// MSet sets several keys in one atomic step; its value is "OK". pairs are
// key, value, key, value... (keys string or []byte, values as Set takes
// them), or a single map[string]string, map[string][]byte or
// map[string]any, whose keys are sent in sorted order.
func (c cmdable) MSet(ctx context.Context, pairs ...any) *Result[string] {
	argv, err := msetArgs(pairs)
	return do(ctx, c, newResult(argv, err, decodeStatus))
}

// Scan returns a batch of keys matching the glob pattern match (empty
// matches all: no MATCH is sent, as go-redis does; Redis's MATCH "", which
// matches the empty key only, is Do(ctx, "SCAN", cursor, "MATCH", "")) from
// cursor on, about count of them (0: the server's
// default, 10), and the cursor to pass next, 0 when the iteration is
// done. Start with cursor 0. A key that exists for the whole iteration is
// returned at least once; one added or deleted meanwhile may or may not
// be. Client.Iterator and Client.All do the looping.
func (c cmdable) Scan(ctx context.Context, cursor uint64, match string, count int64) *Result[ScanPage] {
	argv := [][]byte{nameScan, strconv.AppendUint(nil, cursor, 10)}
	if match != "" {
		argv = append(argv, []byte("MATCH"), []byte(match))
	}
	if count > 0 {
		argv = append(argv, []byte("COUNT"), strconv.AppendInt(nil, count, 10))
	}
	return do(ctx, c, newResult(argv, nil, decodeScan))
}

// DBSize returns the number of keys.
func (c cmdable) DBSize(ctx context.Context) *Result[int64] {
	return do(ctx, c, newResult([][]byte{nameDBSize}, nil, decodeInt))
}

// FlushAll removes every key (FLUSHALL): one record on the server, so
// that after a crash every key or none is found. Its value is "OK", once
// the flush is durable under the server's fsync policy.
func (c cmdable) FlushAll(ctx context.Context) *Result[string] {
	return do(ctx, c, newResult([][]byte{nameFlushAll}, nil, decodeStatus))
}

// Info returns the server's INFO text for sections (all of the default
// ones when none is named): "# Section" headers and "field:value" lines,
// separated by CRLF.
func (c cmdable) Info(ctx context.Context, sections ...string) *Result[string] {
	return do(ctx, c, newResult(keyArgs(nameInfo, sections), nil, decodeString))
}

// Ping checks that the server answers; its value is "PONG". A Client
// dials a connection for it if none is idle.
func (c cmdable) Ping(ctx context.Context) *Result[string] {
	return do(ctx, c, newResult([][]byte{namePing}, nil, decodeStatus))
}

// Do runs any command: args are the command name and its arguments,
// converted as Set converts a value. Its value is the reply as the server
// sent it. An error reply is both the value and, as a *Error, the error;
// a Nil reply is a value, not an error. Commands that change the state of
// a connection (AUTH, CLIENT SETNAME, QUIT) apply to whichever pooled
// connection ran them: set them in Options instead.
func (c cmdable) Do(ctx context.Context, args ...any) *Result[reply.Reply] {
	argv, err := toArgs(args)
	if err == nil && (len(argv) == 0 || len(argv[0]) == 0) {
		err = errors.New("pykv/client: Do without a command name")
	}
	return do(ctx, c, newResult(argv, err, decodeReply))
}

// The helpers below build the argv that several commands share.

// errNoKeys is the error of a multi-key command called without keys,
// caught before a round trip.
func errNoKeys(name string) error {
	return fmt.Errorf("pykv/client: %s needs at least one key", name)
}

// keysCmd is a command of name and one or more keys, answering an integer.
func keysCmd(name []byte, keys []string) *Result[int64] {
	var err error
	if len(keys) == 0 {
		err = errNoKeys(string(name))
	}
	return newResult(keyArgs(name, keys), err, decodeInt)
}

// byCmd is INCRBY or DECRBY of key by delta.
func byCmd(name []byte, key string, delta int64) *Result[int64] {
	return newResult([][]byte{name, []byte(key), strconv.AppendInt(nil, delta, 10)}, nil, decodeInt)
}

// msetArgs accepts key, value, key, value... or a single map of keys to
// values (map[string]string, map[string][]byte or map[string]any), whose
// keys are sent in sorted order.
func msetArgs(pairs []any) ([][]byte, error) {
	if len(pairs) == 1 {
		switch m := pairs[0].(type) {
		case map[string]string:
			pairs = flatten(m)
		case map[string][]byte:
			pairs = flatten(m)
		case map[string]any:
			pairs = flatten(m)
		}
	}
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return nil, errors.New("pykv/client: MSET needs key, value pairs")
	}
	argv := make([][]byte, 1+len(pairs))
	argv[0] = nameMSet
	for i, p := range pairs {
		if i%2 == 0 {
			if _, ok := p.(string); !ok {
				if _, ok := p.([]byte); !ok {
					return nil, fmt.Errorf("pykv/client: MSET key %d is a %T, not a string", i/2, p)
				}
			}
		}
		b, err := toArg(p)
		if err != nil {
			return nil, err
		}
		argv[1+i] = b
	}
	return argv, nil
}

func flatten[V any](m map[string]V) []any {
	pairs := make([]any, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		pairs = append(pairs, k, m[k])
	}
	return pairs
}
