package command

import (
	"errors"
	"math"

	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/storage"
)

// GET key
func (t *Table) get(s *Session, argv [][]byte) Reply {
	v, err := t.storeFor(s).Get(argv[1])
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return Nil
		}
		return storeError(err)
	}
	return Bytes(v)
}

// The options of SET, as bits while they are parsed.
const (
	setNX = 1 << iota
	setXX
	setGet
	setKeepTTL
	setEX
	setPX
	setEXAT
	setPXAT

	setExpiry = setEX | setPX | setEXAT | setPXAT
)

// parseSetOptions parses SET's options (argv[3:]) by Redis 7's rules: NX
// and XX exclude each other; the expiry options (EX, PX, EXAT, PXAT,
// KEEPTTL) exclude each other; repeating one is allowed and the last value
// wins; GET combines with anything. It returns the option bits and the
// expiry argument, or false for "ERR syntax error".
func parseSetOptions(opts [][]byte) (flags int, expiry []byte, ok bool) {
	for j := 0; j < len(opts); j++ {
		a := opts[j]
		var unit int
		switch {
		case is(a, "NX") && flags&setXX == 0:
			flags |= setNX
		case is(a, "XX") && flags&setNX == 0:
			flags |= setXX
		case is(a, "GET"):
			flags |= setGet
		case is(a, "KEEPTTL") && flags&setExpiry == 0:
			flags |= setKeepTTL
		case is(a, "EX"):
			unit = setEX
		case is(a, "PX"):
			unit = setPX
		case is(a, "EXAT"):
			unit = setEXAT
		case is(a, "PXAT"):
			unit = setPXAT
		default:
			return 0, nil, false
		}
		if unit != 0 {
			if flags&(setKeepTTL|setExpiry&^unit) != 0 || j+1 == len(opts) {
				return 0, nil, false
			}
			flags |= unit
			j++
			expiry = opts[j]
		}
	}
	return flags, expiry, true
}

// expireAt turns an expiry argument of SET, SETEX or PSETEX into absolute
// unix milliseconds, as Redis's getExpireMillisecondsOrReply: the number
// must be positive and the result must fit in int64. name is the command's
// name for the error text.
func (t *Table) expireAt(arg []byte, unit int, name string) (int64, Reply, bool) {
	n, ok := redisfmt.ParseInt(arg)
	if !ok {
		return 0, errNotInteger, false
	}
	seconds := unit == setEX || unit == setEXAT
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		return 0, invalidExpire(name), false
	}
	if seconds {
		n *= 1000
	}
	if unit == setEX || unit == setPX {
		now := t.nowMs()
		if n > math.MaxInt64-now {
			return 0, invalidExpire(name), false
		}
		n += now
	}
	return n, Reply{}, true
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
func (t *Table) set(s *Session, argv [][]byte) Reply {
	flags, expiry, ok := parseSetOptions(argv[3:])
	if !ok {
		return errSyntax
	}
	opt := storage.SetOptions{
		NX:      flags&setNX != 0,
		XX:      flags&setXX != 0,
		Get:     flags&setGet != 0,
		KeepTTL: flags&setKeepTTL != 0,
	}
	if unit := flags & setExpiry; unit != 0 {
		at, rep, ok := t.expireAt(expiry, unit, "set")
		if !ok {
			return rep
		}
		opt.ExpireAt = at
	}
	res, err := t.storeFor(s).Set(argv[1], argv[2], opt)
	if err != nil {
		return storeError(err)
	}
	switch {
	case opt.Get && res.Existed:
		return Bytes(res.Old)
	case opt.Get, !res.Written:
		return Nil
	}
	return OK
}

// SETNX key value
func (t *Table) setnx(s *Session, argv [][]byte) Reply {
	res, err := t.storeFor(s).Set(argv[1], argv[2], storage.SetOptions{NX: true})
	if err != nil {
		return storeError(err)
	}
	return boolInt(res.Written)
}

// SETEX key seconds value
func (t *Table) setex(s *Session, argv [][]byte) Reply {
	return t.setWithExpiry(s, argv, setEX, "setex")
}

// PSETEX key milliseconds value
func (t *Table) psetex(s *Session, argv [][]byte) Reply {
	return t.setWithExpiry(s, argv, setPX, "psetex")
}

func (t *Table) setWithExpiry(s *Session, argv [][]byte, unit int, name string) Reply {
	at, rep, ok := t.expireAt(argv[2], unit, name)
	if !ok {
		return rep
	}
	if _, err := t.storeFor(s).Set(argv[1], argv[3], storage.SetOptions{ExpireAt: at}); err != nil {
		return storeError(err)
	}
	return OK
}

// GetDeleter is a Store that can read and delete a key in one atomic step.
// GETDEL needs it: a Get followed by a Del could delete a value written in
// between, which the client never saw. *storage.DB is expected to
// implement it; with a Store that does not, GETDEL replies with an error.
type GetDeleter interface {
	// GetDel returns the value of key and deletes the key, or
	// storage.ErrNotFound.
	GetDel(key []byte) ([]byte, error)
}

// GETDEL key
func (t *Table) getdel(s *Session, argv [][]byte) Reply {
	gd, ok := t.storeFor(s).(GetDeleter)
	if !ok {
		return Err("GETDEL is not supported by this storage engine")
	}
	v, err := gd.GetDel(argv[1])
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return Nil
		}
		return storeError(err)
	}
	return Bytes(v)
}

// INCR key
func (t *Table) incr(s *Session, argv [][]byte) Reply { return t.incrBy(s, argv[1], 1) }

// DECR key
func (t *Table) decr(s *Session, argv [][]byte) Reply { return t.incrBy(s, argv[1], -1) }

// INCRBY key increment
func (t *Table) incrby(s *Session, argv [][]byte) Reply {
	n, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return errNotInteger
	}
	return t.incrBy(s, argv[1], n)
}

// DECRBY key decrement
func (t *Table) decrby(s *Session, argv [][]byte) Reply {
	n, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return errNotInteger
	}
	if n == math.MinInt64 { // its negation does not fit
		return Err("decrement would overflow")
	}
	return t.incrBy(s, argv[1], -n)
}

func (t *Table) incrBy(s *Session, key []byte, delta int64) Reply {
	n, err := t.storeFor(s).IncrBy(key, delta)
	if err != nil {
		return storeError(err)
	}
	return Int(n)
}

// MGET key [key ...]
func (t *Table) mget(s *Session, argv [][]byte) Reply {
	vals, err := t.storeFor(s).MGet(argv[1:]...)
	if err != nil {
		return storeError(err)
	}
	items := make([]Reply, len(vals))
	for i, v := range vals {
		if v == nil {
			items[i] = Nil
		} else {
			items[i] = Bytes(v)
		}
	}
	return Array(items)
}

// errMSetArity is MSET's error for an odd count of keys and values:
// Redis reports it as a wrong number of arguments.
var errMSetArity = Err("wrong number of arguments for 'mset' command")

// MSET key value [key value ...]
func (t *Table) mset(s *Session, argv [][]byte) Reply {
	if len(argv)%2 == 0 {
		return errMSetArity
	}
	if err := t.storeFor(s).MSet(argv[1:]...); err != nil {
		return storeError(err)
	}
	return OK
}
