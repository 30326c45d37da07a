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

// The options of SET and GETEX, as bits while they are parsed.
const (
	setNX = 1 << iota
	setXX
	setGet
	setKeepTTL
	setEX
	setPX
	setEXAT
	setPXAT
	getexPersist

	setExpiry = setEX | setPX | setEXAT | setPXAT
)

// parseSetOptions parses SET's options (argv[3:]) by Redis 7's rules: NX
// and XX exclude each other; the expiry options (EX, PX, EXAT, PXAT,
// KEEPTTL) exclude each other; repeating one is allowed and the last value
// wins; GET combines with anything. It returns the option bits and the
// expiry argument, or false for "ERR syntax error".
func parseSetOptions(opts [][]byte) (flags int, expiry []byte, ok bool) {
	return parseStringOptions(opts, false)
}

// parseStringOptions is Redis's parseExtendedStringArgumentsOrReply: SET's
// options, or with getex GETEX's, which are the expiry options and
// PERSIST, excluding each other in the same way.
func parseStringOptions(opts [][]byte, getex bool) (flags int, expiry []byte, ok bool) {
	for j := 0; j < len(opts); j++ {
		a := opts[j]
		var unit int
		switch {
		case !getex && is(a, "NX") && flags&setXX == 0:
			flags |= setNX
		case !getex && is(a, "XX") && flags&setNX == 0:
			flags |= setXX
		case !getex && is(a, "GET"):
			flags |= setGet
		case !getex && is(a, "KEEPTTL") && flags&setExpiry == 0:
			flags |= setKeepTTL
		case getex && is(a, "PERSIST") && flags&setExpiry == 0:
			flags |= getexPersist
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
			if flags&(setKeepTTL|getexPersist|setExpiry&^unit) != 0 || j+1 == len(opts) {
				return 0, nil, false
			}
			flags |= unit
			j++
			expiry = opts[j]
		}
	}
	return flags, expiry, true
}

// expireAt turns an expiry argument of SET, SETEX, PSETEX or GETEX into absolute
// unix milliseconds, as Redis's getExpireMillisecondsOrReply: the number
// must be positive and the result must fit in int64. A relative one is
// taken from s's clock (see nowMs). name is the command's name for the
// error text.
func (t *Table) expireAt(s *Session, arg []byte, unit int, name string) (int64, Reply, bool) {
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
		now := t.nowMs(s)
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
		at, rep, ok := t.expireAt(s, expiry, unit, "set")
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
	at, rep, ok := t.expireAt(s, argv[2], unit, name)
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

// errMSetNXArity is MSETNX's error for an odd count of keys and values.
var errMSetNXArity = Err("wrong number of arguments for 'msetnx' command")

// MSETNX key value [key value ...]
func (t *Table) msetnx(s *Session, argv [][]byte) Reply {
	if len(argv)%2 == 0 {
		return errMSetNXArity
	}
	wrote, err := t.storeFor(s).MSetNX(argv[1:]...)
	if err != nil {
		return storeError(err)
	}
	return boolInt(wrote)
}

// GETSET key value: SET key value GET, which clears the key's expiry.
func (t *Table) getset(s *Session, argv [][]byte) Reply {
	res, err := t.storeFor(s).Set(argv[1], argv[2], storage.SetOptions{Get: true})
	if err != nil {
		return storeError(err)
	}
	if !res.Existed {
		return Nil
	}
	return Bytes(res.Old)
}

// GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]
//
// As in Redis, a syntax error is reported before the key is looked up, and
// an invalid expiry only when the key exists: a missing key is nil
// whatever the expiry says.
func (t *Table) getex(s *Session, argv [][]byte) Reply {
	flags, expiry, ok := parseStringOptions(argv[2:], true)
	if !ok {
		return errSyntax
	}
	var at int64
	var badExpiry Reply // replied only if the key exists
	validExpiry := true
	if unit := flags & setExpiry; unit != 0 {
		at, badExpiry, validExpiry = t.expireAt(s, expiry, unit, "getex")
	}
	var rep Reply
	err := t.storeFor(s).Update(argv[1], func(cur storage.Current) (storage.Change, error) {
		switch {
		case !cur.Exists:
			rep = Nil
			return storage.Change{}, nil
		case !validExpiry:
			rep = badExpiry
			return storage.Change{}, nil
		}
		rep = Bytes(cur.Value)
		switch {
		case flags&setExpiry != 0:
			return storage.Change{Write: true, Value: cur.Value, ExpireAt: at, Build: cur.Build}, nil
		case flags&getexPersist != 0 && cur.ExpireAt != 0:
			return storage.Change{Write: true, Value: cur.Value, Build: cur.Build}, nil
		}
		return storage.Change{}, nil
	})
	if err != nil {
		return storeError(err)
	}
	return rep
}

// Errors of INCRBYFLOAT, in Redis 7's words.
var (
	errNotFloat = Err("value is not a valid float")
	errNaNOrInf = Err("increment would produce NaN or Infinity")
)

// INCRBYFLOAT key increment
//
// The sum is computed in Redis's long double (redisfmt.LongDouble) and
// stored, replied and logged as Redis writes it, so the log holds the
// result and a replay computes nothing. The key's expiry is kept.
func (t *Table) incrbyfloat(s *Session, argv [][]byte) Reply {
	incr, ok := redisfmt.ParseLongDouble(argv[2])
	if !ok {
		return errNotFloat
	}
	var rep Reply
	err := t.storeFor(s).Update(argv[1], func(cur storage.Current) (storage.Change, error) {
		var v redisfmt.LongDouble
		if cur.Exists {
			if v, ok = redisfmt.ParseLongDouble(cur.Value); !ok {
				rep = errNotFloat
				return storage.Change{}, nil
			}
		}
		sum, finite := v.Add(incr)
		if !finite {
			rep = errNaNOrInf
			return storage.Change{}, nil
		}
		text := sum.AppendHuman(nil)
		rep = Bytes(text)
		// Redis makes a string object of the text, never an integer.
		return storage.Change{Write: true, Value: text, ExpireAt: cur.ExpireAt, Build: storage.BuiltString}, nil
	})
	if err != nil {
		return storeError(err)
	}
	return rep
}

// APPEND key value: creates the key (even with an empty value) and keeps
// an existing key's expiry. A missing key is stored as SET would store
// the value; an existing one Redis changes in place, as raw, and counts
// as written (a WATCH of it fails) even when the suffix is empty.
func (t *Table) appendCmd(s *Session, argv [][]byte) Reply {
	suffix := argv[2]
	store := t.storeFor(s)
	limit := store.MaxValueSize()
	var n int
	err := store.Update(argv[1], func(cur storage.Current) (storage.Change, error) {
		n = len(cur.Value) + len(suffix)
		switch {
		case n > limit && cur.Exists && len(suffix) == 0:
			// A value written under a larger max_value_size stays as it
			// is, unwritten: only its build changes.
			return storage.Change{Retag: true, Build: storage.BuiltRaw}, nil
		case n > limit:
			return storage.Change{}, storage.ErrValueTooLarge
		}
		build := storage.BuiltByValue
		if cur.Exists {
			build = storage.BuiltRaw
		}
		v := append(append(make([]byte, 0, n), cur.Value...), suffix...)
		return storage.Change{Write: true, Value: v, ExpireAt: cur.ExpireAt, Build: build}, nil
	})
	if err != nil {
		return storeError(err)
	}
	return Int(int64(n))
}

// STRLEN key
func (t *Table) strlen(s *Session, argv [][]byte) Reply {
	v, err := t.storeFor(s).Get(argv[1])
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storeError(err)
	}
	return Int(int64(len(v)))
}

// GETRANGE key start end (and SUBSTR, its old name): the integers are
// checked before the key is looked up, and a missing key is the empty
// string, as in Redis.
func (t *Table) getrange(s *Session, argv [][]byte) Reply {
	start, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return errNotInteger
	}
	end, ok := redisfmt.ParseInt(argv[3])
	if !ok {
		return errNotInteger
	}
	v, err := t.storeFor(s).Get(argv[1])
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storeError(err)
	}
	lo, hi, ok := byteRange(start, end, int64(len(v)))
	if !ok {
		return Bytes([]byte{})
	}
	return Bytes(v[lo : hi+1])
}

// byteRange turns GETRANGE's start and end into indexes of a value of
// length n, by Redis's rules: negative ones count from the end, both are
// clamped to the value, and false means the range is empty.
func byteRange(start, end, n int64) (lo, hi int64, ok bool) {
	if start < 0 && end < 0 && start > end {
		return 0, 0, false
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return 0, 0, false
	}
	return start, end, true
}

// errOffsetRange is SETRANGE's error for a negative offset.
var errOffsetRange = Err("offset is out of range")

// SETRANGE key offset value: an empty value writes nothing and answers
// the current length; a missing key is created with zero bytes before the
// offset; an existing key keeps its expiry. The result may not be longer
// than the engine's max_value_size.
func (t *Table) setrange(s *Session, argv [][]byte) Reply {
	offset, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return errNotInteger
	}
	if offset < 0 {
		return errOffsetRange
	}
	part := argv[3]
	store := t.storeFor(s)
	limit := store.MaxValueSize()
	var n int
	err := store.Update(argv[1], func(cur storage.Current) (storage.Change, error) {
		n = len(cur.Value)
		if len(part) == 0 {
			return storage.Change{}, nil
		}
		if offset > int64(limit-len(part)) {
			return storage.Change{}, storage.ErrValueTooLarge
		}
		end := int(offset) + len(part)
		v := make([]byte, max(len(cur.Value), end))
		copy(v, cur.Value)
		copy(v[offset:], part)
		n = len(v)
		// Raw, as Redis builds a new key's value or unshares an old one.
		return storage.Change{Write: true, Value: v, ExpireAt: cur.ExpireAt, Build: storage.BuiltRaw}, nil
	})
	if err != nil {
		return storeError(err)
	}
	return Int(int64(n))
}
