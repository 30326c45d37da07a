package command

import (
	"math"
	"strconv"

	"github.com/pykv/pykv/internal/redisfmt"
)

// DEL key [key ...] and UNLINK key [key ...]: pykv frees nothing in the
// foreground, so the two are the same.
func (t *Table) del(s *Session, argv [][]byte) Reply {
	n, err := t.storeFor(s).Del(argv[1:]...)
	if err != nil {
		return storeError(err)
	}
	return Int(int64(n))
}

// EXISTS key [key ...]: a key named twice counts twice, as in Redis.
func (t *Table) exists(s *Session, argv [][]byte) Reply {
	n, err := t.storeFor(s).Exists(argv[1:]...)
	if err != nil {
		return storeError(err)
	}
	return Int(int64(n))
}

// EXPIRE key seconds
func (t *Table) expire(s *Session, argv [][]byte) Reply {
	return t.expireGeneric(s, argv, 1000, true, "expire")
}

// PEXPIRE key milliseconds
func (t *Table) pexpire(s *Session, argv [][]byte) Reply {
	return t.expireGeneric(s, argv, 1, true, "pexpire")
}

// EXPIREAT key unix-time-seconds
func (t *Table) expireat(s *Session, argv [][]byte) Reply {
	return t.expireGeneric(s, argv, 1000, false, "expireat")
}

// PEXPIREAT key unix-time-milliseconds
func (t *Table) pexpireat(s *Session, argv [][]byte) Reply {
	return t.expireGeneric(s, argv, 1, false, "pexpireat")
}

// errExpireOptions refuses Redis 7's NX, XX, GT and LT options of the
// EXPIRE family: each needs the current TTL compared and replaced in one
// step, which the Store does not offer, and a PTTL then Expire would race
// with other writers.
var errExpireOptions = Err("the NX, XX, GT and LT options of EXPIRE are not supported by pykv")

// expireGeneric is the EXPIRE family, as Redis's expireGenericCommand: the
// time may be negative or past (the key is deleted), but the conversion to
// absolute milliseconds must not overflow. unitMs is 1000 for seconds, 1
// for milliseconds; relative adds the Store's clock. name is the command's
// name for the error text.
func (t *Table) expireGeneric(s *Session, argv [][]byte, unitMs int64, relative bool, name string) Reply {
	if len(argv) > 3 {
		for _, opt := range argv[3:] {
			if !is(opt, "NX") && !is(opt, "XX") && !is(opt, "GT") && !is(opt, "LT") {
				return Err(oneLine("Unsupported option " + string(truncate(opt, unknownArgsLimit))))
			}
		}
		return errExpireOptions
	}
	when, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return errNotInteger
	}
	if unitMs == 1000 {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			return invalidExpire(name)
		}
		when *= 1000
	}
	if relative {
		now := t.nowMs()
		if when > math.MaxInt64-now {
			return invalidExpire(name)
		}
		when += now
	}
	existed, err := t.storeFor(s).Expire(argv[1], when)
	if err != nil {
		return storeError(err)
	}
	return boolInt(existed)
}

// PERSIST key
func (t *Table) persist(s *Session, argv [][]byte) Reply {
	ok, err := t.storeFor(s).Persist(argv[1])
	if err != nil {
		return storeError(err)
	}
	return boolInt(ok)
}

// PTTL key
func (t *Table) pttl(s *Session, argv [][]byte) Reply {
	ms, err := t.storeFor(s).PTTL(argv[1])
	if err != nil {
		return storeError(err)
	}
	return Int(ms)
}

// TTL key: the remaining milliseconds rounded to the nearest second, as
// Redis does, so a fresh EXPIRE k 10 reads 10, not 9.
func (t *Table) ttl(s *Session, argv [][]byte) Reply {
	ms, err := t.storeFor(s).PTTL(argv[1])
	if err != nil {
		return storeError(err)
	}
	if ms < 0 {
		return Int(ms)
	}
	return Int((ms + 500) / 1000)
}

// scanDefaultCount is SCAN's COUNT when none is given, as in Redis.
const scanDefaultCount = 10

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
func (t *Table) scan(s *Session, argv [][]byte) Reply {
	cursor, ok := parseUint(argv[1])
	if !ok {
		return Err("invalid cursor")
	}
	var match []byte
	count := scanDefaultCount
	onlyStrings := true
	for i := 2; i < len(argv); i += 2 {
		if i+1 == len(argv) {
			return errSyntax
		}
		opt, val := argv[i], argv[i+1]
		switch {
		case is(opt, "COUNT"):
			n, ok := redisfmt.ParseInt(val)
			if !ok {
				return errNotInteger
			}
			if n < 1 {
				return errSyntax
			}
			count = int(min(n, math.MaxInt32))
		case is(opt, "MATCH"):
			match = val
			if len(match) == 1 && match[0] == '*' {
				match = nil // matches everything: spare the Store the glob
			}
		case is(opt, "TYPE"):
			// Every pykv value is a string; another type matches no key,
			// but the cursor still advances as in Redis.
			onlyStrings = is(val, "STRING")
		default:
			return errSyntax
		}
	}
	next, keys, err := t.storeFor(s).Scan(cursor, match, count)
	if err != nil {
		return storeError(err)
	}
	if !onlyStrings {
		keys = nil
	}
	items := make([]Reply, len(keys))
	for i, k := range keys {
		items[i] = Bytes(k)
	}
	return Array([]Reply{
		Bytes(strconv.AppendUint(nil, next, 10)),
		Array(items),
	})
}

// DBSIZE
func (t *Table) dbsize(s *Session, _ [][]byte) Reply {
	return Int(t.storeFor(s).DBSize())
}
