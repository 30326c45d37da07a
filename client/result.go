package client

import (
	"strconv"
	"time"

	"github.com/pykv/pykv/reply"
)

// Result is the typed result of one command, what every command method
// returns. A Client's method returns it complete. A Pipeline's holds
// ErrNotExecuted until Exec, then the command's value or error, which
// stay valid after the Pipeline is reused. A Result is not safe for
// concurrent use while its Pipeline runs.
type Result[T any] struct {
	argv   [][]byte
	err    error // set before Exec when the command could not be built
	decode func(reply.Reply) (T, error)
	val    T
	done   bool
}

// newResult returns the Result of a command with argv (or with the error
// that kept it from being built) and its reply decoder.
func newResult[T any](argv [][]byte, err error, decode func(reply.Reply) (T, error)) *Result[T] {
	return &Result[T]{argv: argv, err: err, decode: decode}
}

// Result returns the command's value and error: ErrNil for a missing
// value, *Error for an error reply, the connection's error when the round
// trip could not complete (see the package doc).
func (r *Result[T]) Result() (T, error) {
	if !r.done && r.err == nil {
		return r.val, ErrNotExecuted
	}
	return r.val, r.err
}

// Val returns the command's value, the zero value after an error.
func (r *Result[T]) Val() T { return r.val }

// Err returns the command's error, nil on success.
func (r *Result[T]) Err() error {
	_, err := r.Result()
	return err
}

func (r *Result[T]) args() ([][]byte, error) { return r.argv, r.err }

func (r *Result[T]) deliver(rep reply.Reply, err error) {
	r.done = true
	if err != nil {
		r.err = err
		return
	}
	r.val, r.err = r.decode(rep)
}

// The decoders turn a reply into a method's result. An error reply is a
// *Error in all of them.

func decodeBytes(r reply.Reply) ([]byte, error) {
	switch r.Kind {
	case reply.KindBytes:
		if r.Bytes == nil {
			return []byte{}, nil // an empty value is not a missing one
		}
		return r.Bytes, nil
	case reply.KindNil:
		return nil, ErrNil
	case reply.KindError:
		return nil, replyError(r)
	}
	return nil, unexpected(r)
}

// decodeSet is SET's: OK is nil, Nil (a failed NX/XX, or GET of a missing
// key) is ErrNil, a value is the old value of SET ... GET.
func decodeSet(r reply.Reply) ([]byte, error) {
	if r.Kind == reply.KindOK {
		return nil, nil
	}
	return decodeBytes(r)
}

func decodeInt(r reply.Reply) (int64, error) {
	switch r.Kind {
	case reply.KindInt:
		return r.Int, nil
	case reply.KindError:
		return 0, replyError(r)
	}
	return 0, unexpected(r)
}

func decodeBool(r reply.Reply) (bool, error) {
	n, err := decodeInt(r)
	return n != 0, err
}

// decodeStatus is the reply of a command that answers OK or a status text
// such as PONG.
func decodeStatus(r reply.Reply) (string, error) {
	switch r.Kind {
	case reply.KindOK:
		return "OK", nil
	case reply.KindStatus, reply.KindBytes:
		return string(r.Bytes), nil
	case reply.KindError:
		return "", replyError(r)
	}
	return "", unexpected(r)
}

func decodeString(r reply.Reply) (string, error) {
	b, err := decodeBytes(r)
	return string(b), err
}

// Special values of TTL and PTTL, the same as Redis's -1 and -2 (as
// nanoseconds, which no real TTL is).
const (
	// NoExpiry is the TTL of a key that exists and does not expire.
	NoExpiry time.Duration = -1
	// KeyMissing is the TTL of a key that does not exist.
	KeyMissing time.Duration = -2
)

// decodeDuration returns a TTL reply in unit, passing NoExpiry and
// KeyMissing through as they are.
func decodeDuration(unit time.Duration) func(reply.Reply) (time.Duration, error) {
	return func(r reply.Reply) (time.Duration, error) {
		n, err := decodeInt(r)
		if err != nil {
			return 0, err
		}
		if n < 0 {
			return time.Duration(n), nil
		}
		return time.Duration(n) * unit, nil
	}
}

// decodeValues is MGET's: one value per key, nil for a missing one.
func decodeValues(r reply.Reply) ([][]byte, error) {
	switch r.Kind {
	case reply.KindArray:
		vals := make([][]byte, len(r.Array))
		for i, it := range r.Array {
			switch it.Kind {
			case reply.KindNil:
			case reply.KindBytes:
				vals[i] = it.Bytes
				if vals[i] == nil {
					vals[i] = []byte{}
				}
			default:
				return nil, unexpected(r)
			}
		}
		return vals, nil
	case reply.KindError:
		return nil, replyError(r)
	}
	return nil, unexpected(r)
}

// ScanPage is one reply of SCAN: a batch of keys and the cursor to pass
// to the next call, 0 when the iteration is complete.
type ScanPage struct {
	Keys   []string
	Cursor uint64
}

func decodeScan(r reply.Reply) (ScanPage, error) {
	if r.Kind == reply.KindError {
		return ScanPage{}, replyError(r)
	}
	if r.Kind != reply.KindArray || len(r.Array) != 2 ||
		r.Array[0].Kind != reply.KindBytes || r.Array[1].Kind != reply.KindArray {
		return ScanPage{}, unexpected(r)
	}
	cursor, err := strconv.ParseUint(string(r.Array[0].Bytes), 10, 64)
	if err != nil {
		return ScanPage{}, unexpected(r)
	}
	keys := make([]string, len(r.Array[1].Array))
	for i, k := range r.Array[1].Array {
		if k.Kind != reply.KindBytes {
			return ScanPage{}, unexpected(r)
		}
		keys[i] = string(k.Bytes)
	}
	return ScanPage{Keys: keys, Cursor: cursor}, nil
}

// decodeReply is Do's: the reply as it is, with an error reply also
// returned as a *Error. A Nil reply is not an error here: whether nil is a
// failure depends on the command.
func decodeReply(r reply.Reply) (reply.Reply, error) {
	if r.Kind == reply.KindError {
		return r, replyError(r)
	}
	return r, nil
}
