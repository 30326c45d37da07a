package client

import (
	"encoding"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Command names, shared by every call so that building an argv does not
// copy them.
var (
	nameGet      = []byte("GET")
	nameSet      = []byte("SET")
	nameDel      = []byte("DEL")
	nameExists   = []byte("EXISTS")
	nameIncr     = []byte("INCR")
	nameIncrBy   = []byte("INCRBY")
	nameDecr     = []byte("DECR")
	nameDecrBy   = []byte("DECRBY")
	nameExpire   = []byte("EXPIRE")
	namePExpire  = []byte("PEXPIRE")
	namePersist  = []byte("PERSIST")
	nameTTL      = []byte("TTL")
	namePTTL     = []byte("PTTL")
	nameMGet     = []byte("MGET")
	nameMSet     = []byte("MSET")
	nameScan     = []byte("SCAN")
	nameDBSize   = []byte("DBSIZE")
	nameFlushAll = []byte("FLUSHALL")
	nameInfo     = []byte("INFO")
	namePing     = []byte("PING")
)

// toArg converts a command argument or value to the bytes sent: strings
// and byte slices as they are, integers and floats in decimal, bools as 1
// and 0, and anything implementing encoding.BinaryMarshaler as what it
// marshals to. Other types are an error rather than a guess: a
// time.Duration, for one, has no unit a command could know.
func toArg(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	case int:
		return strconv.AppendInt(nil, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(nil, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(nil, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(nil, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(nil, v, 10), nil
	case uint:
		return strconv.AppendUint(nil, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(nil, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(nil, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(nil, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(nil, v, 10), nil
	case float32:
		return strconv.AppendFloat(nil, float64(v), 'f', -1, 32), nil
	case float64:
		return strconv.AppendFloat(nil, v, 'f', -1, 64), nil
	case bool:
		if v {
			return []byte("1"), nil
		}
		return []byte("0"), nil
	case encoding.BinaryMarshaler:
		return v.MarshalBinary()
	case nil:
		return nil, fmt.Errorf("pykv/client: nil argument")
	}
	return nil, fmt.Errorf("pykv/client: cannot send an argument of type %T "+
		"(use a string, []byte, integer, float, bool or encoding.BinaryMarshaler)", v)
}

// toArgs converts every element of args with toArg.
func toArgs(args []any) ([][]byte, error) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		b, err := toArg(a)
		if err != nil {
			return nil, err
		}
		argv[i] = b
	}
	return argv, nil
}

// keyArgs returns name followed by keys.
func keyArgs(name []byte, keys []string) [][]byte {
	argv := make([][]byte, 1+len(keys))
	argv[0] = name
	for i, k := range keys {
		argv[1+i] = []byte(k)
	}
	return argv
}

// ms converts a duration to whole milliseconds, rounding a positive one up
// so that a positive TTL never becomes 0 (which would expire the key at
// once).
func ms(d time.Duration) int64 {
	n := d.Milliseconds()
	if d > 0 && d%time.Millisecond != 0 {
		n++
	}
	return n
}

// expiryArgs returns the argv of EXPIRE or PEXPIRE for ttl: whole seconds
// travel as EXPIRE, anything finer as PEXPIRE, so that no precision is
// lost either way.
func expiryArgs(key string, ttl time.Duration, precise bool) [][]byte {
	if !precise && ttl%time.Second == 0 {
		return [][]byte{nameExpire, []byte(key), strconv.AppendInt(nil, int64(ttl/time.Second), 10)}
	}
	return [][]byte{namePExpire, []byte(key), strconv.AppendInt(nil, ms(ttl), 10)}
}

// SetArgs are the options of SET. The zero value is a plain SET that
// removes any TTL the key had, as in Redis.
type SetArgs struct {
	// TTL, when positive, makes the key expire after it (EX or PX; sent
	// in milliseconds unless it is whole seconds, a fraction of a
	// millisecond rounded up). At most one of TTL, ExpireAt and KeepTTL.
	TTL time.Duration
	// ExpireAt, when not zero, makes the key expire at that time (EXAT or
	// PXAT). A time in the past writes a key that is already gone.
	ExpireAt time.Time
	// KeepTTL keeps the TTL the key had (KEEPTTL).
	KeepTTL bool

	// NX writes only if the key does not exist; XX only if it does. When
	// the condition fails, Set returns ErrNil (or, with Get, the old
	// value). At most one of them.
	NX, XX bool

	// Get returns the key's old value (ErrNil when it had none), as SET
	// ... GET.
	Get bool
}

// argv returns SET's argv, or an error for contradictory options.
func (a SetArgs) argv(key string, value any) ([][]byte, error) {
	v, err := toArg(value)
	if err != nil {
		return nil, err
	}
	expiries := 0
	for _, set := range []bool{a.TTL != 0, !a.ExpireAt.IsZero(), a.KeepTTL} {
		if set {
			expiries++
		}
	}
	switch {
	case expiries > 1:
		return nil, fmt.Errorf("pykv/client: SET: at most one of TTL, ExpireAt and KeepTTL")
	case a.NX && a.XX:
		return nil, fmt.Errorf("pykv/client: SET: NX and XX exclude each other")
	case a.TTL < 0:
		return nil, fmt.Errorf("pykv/client: SET: negative TTL %v", a.TTL)
	}
	argv := make([][]byte, 0, 7)
	argv = append(argv, nameSet, []byte(key), v)
	if a.NX {
		argv = append(argv, []byte("NX"))
	}
	if a.XX {
		argv = append(argv, []byte("XX"))
	}
	if a.Get {
		argv = append(argv, []byte("GET"))
	}
	switch {
	case a.TTL%time.Second == 0 && a.TTL > 0:
		argv = append(argv, []byte("EX"), strconv.AppendInt(nil, int64(a.TTL/time.Second), 10))
	case a.TTL > 0:
		argv = append(argv, []byte("PX"), strconv.AppendInt(nil, ms(a.TTL), 10))
	case !a.ExpireAt.IsZero():
		at := a.ExpireAt.UnixMilli()
		if at <= 0 || at == math.MaxInt64 {
			return nil, fmt.Errorf("pykv/client: SET: ExpireAt %v is out of range", a.ExpireAt)
		}
		if at%1000 == 0 {
			argv = append(argv, []byte("EXAT"), strconv.AppendInt(nil, at/1000, 10))
		} else {
			argv = append(argv, []byte("PXAT"), strconv.AppendInt(nil, at, 10))
		}
	case a.KeepTTL:
		argv = append(argv, []byte("KEEPTTL"))
	}
	return argv, nil
}
