package command

import (
	"bytes"
	"errors"
	"math"
	"strconv"

	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/storage"
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

// TOUCH key [key ...]: EXISTS that counts as a use of each key, resetting
// its OBJECT IDLETIME.
func (t *Table) touchKeys(s *Session, argv [][]byte) Reply {
	n, err := t.storeFor(s).Touch(argv[1:]...)
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

// The options of the EXPIRE family, as bits while they are parsed.
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

// The errors of the EXPIRE family's options, in Redis 7's words.
var (
	errExpireNX   = Err("NX and XX, GT or LT options at the same time are not compatible")
	errExpireGTLT = Err("GT and LT options at the same time are not compatible")
)

// parseExpireOptions parses the options of the EXPIRE family (argv[3:]),
// as Redis's parseExtendedExpireArgumentsOrReply: an unknown option is
// reported as soon as it is met, then NX with any other, then GT with LT.
// Repeating an option is allowed.
func parseExpireOptions(opts [][]byte) (int, Reply, bool) {
	flags := 0
	for _, opt := range opts {
		switch {
		case is(opt, "NX"):
			flags |= expireNX
		case is(opt, "XX"):
			flags |= expireXX
		case is(opt, "GT"):
			flags |= expireGT
		case is(opt, "LT"):
			flags |= expireLT
		default:
			return 0, errorf("Unsupported option " + cString(opt)), false
		}
	}
	switch {
	case flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0:
		return 0, errExpireNX, false
	case flags&expireGT != 0 && flags&expireLT != 0:
		return 0, errExpireGTLT, false
	}
	return flags, Reply{}, true
}

// expireRefused reports whether the options forbid replacing the expiry
// current (absolute unix ms, 0 for none) with when, as Redis decides: no
// expiry counts as infinite, so GT always refuses it and LT never does.
func expireRefused(flags int, current, when int64) bool {
	has := current != 0
	switch {
	case flags&expireNX != 0 && has, flags&expireXX != 0 && !has:
		return true
	case flags&expireGT != 0 && (!has || when <= current):
		return true
	case flags&expireLT != 0 && has && when >= current:
		return true
	}
	return false
}

// expireGeneric is the EXPIRE family, as Redis's expireGenericCommand: the
// options are checked first, then the time, which may be negative or past
// (the key is deleted) but whose conversion to absolute milliseconds must
// not overflow. unitMs is 1000 for seconds, 1 for milliseconds; relative
// adds the Store's clock. name is the command's name for the error text.
// With options, the current expiry is compared and replaced in one
// Update, under the engine's lock.
func (t *Table) expireGeneric(s *Session, argv [][]byte, unitMs int64, relative bool, name string) Reply {
	flags, rep, ok := parseExpireOptions(argv[3:])
	if !ok {
		return rep
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
		now := t.nowMs(s)
		if when > math.MaxInt64-now {
			return invalidExpire(name)
		}
		when += now
	}
	store := t.storeFor(s)
	if flags == 0 {
		existed, err := store.Expire(argv[1], when)
		if err != nil {
			return storeError(err)
		}
		return boolInt(existed)
	}
	set := false
	err := store.Update(argv[1], func(cur storage.Current) (storage.Change, error) {
		if !cur.Exists || expireRefused(flags, cur.ExpireAt, when) {
			return storage.Change{}, nil
		}
		set = true
		// A time not after cur.Now deletes the key; 0 would mean none.
		return storage.Change{Write: true, Value: cur.Value, ExpireAt: max(when, cur.Now), Build: cur.Build}, nil
	})
	if err != nil {
		return storeError(err)
	}
	return boolInt(set)
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
	var match []byte   // the Store's pattern: nil, without MATCH, is every key
	var onlyEmpty bool // MATCH "": the empty key only
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
			match, onlyEmpty = storePattern(val)
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
	if onlyEmpty {
		keys = emptyKeyOf(keys)
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

// The keyspace commands of issue 16.

// EXPIRETIME key: the expiry in unix seconds, rounded to the nearest.
func (t *Table) expiretime(s *Session, argv [][]byte) Reply {
	at, err := t.storeFor(s).ExpireTime(argv[1])
	if err != nil {
		return storeError(err)
	}
	if at < 0 {
		return Int(at)
	}
	return Int((at + 500) / 1000) // rounded, as Redis does (and TTL)
}

// PEXPIRETIME key
func (t *Table) pexpiretime(s *Session, argv [][]byte) Reply {
	at, err := t.storeFor(s).ExpireTime(argv[1])
	if err != nil {
		return storeError(err)
	}
	return Int(at)
}

// errNoSuchKey is RENAME's and RENAMENX's error for a missing source.
var errNoSuchKey = Err("no such key")

// RENAME key newkey: the value and its expiry move in one atomic step;
// the new name's key, if any, is replaced, expiry included.
func (t *Table) rename(s *Session, argv [][]byte) Reply {
	if _, err := t.storeFor(s).Rename(argv[1], argv[2], false); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errNoSuchKey
		}
		return storeError(err)
	}
	return OK
}

// RENAMENX key newkey: 0 when the new name exists (the key itself
// included).
func (t *Table) renamenx(s *Session, argv [][]byte) Reply {
	renamed, err := t.storeFor(s).Rename(argv[1], argv[2], true)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errNoSuchKey
		}
		return storeError(err)
	}
	return boolInt(renamed)
}

// Errors of COPY, in Redis 7's words.
var (
	errSameObject = Err("source and destination objects are the same")
	errDBIndex    = Err("DB index is out of range")
	errCIntRange  = Err("value is out of range, value must between -2147483648 and 2147483647")
)

// COPY source destination [DB destination-db] [REPLACE]: the options are
// parsed in order as Redis does, so the first bad one is reported. pykv
// has only database 0: DB 0 is accepted, any other index is out of range.
func (t *Table) copy(s *Session, argv [][]byte) Reply {
	replace := false
	for j := 3; j < len(argv); j++ {
		switch {
		case is(argv[j], "REPLACE"):
			replace = true
		case is(argv[j], "DB") && j+1 < len(argv):
			j++
			db, ok := redisfmt.ParseInt(argv[j])
			switch {
			case !ok:
				return errNotInteger
			case db < minCInt || db > maxCInt:
				return errCIntRange
			case db != 0:
				return errDBIndex
			}
		default:
			return errSyntax
		}
	}
	if bytes.Equal(argv[1], argv[2]) {
		return errSameObject
	}
	copied, err := t.storeFor(s).Copy(argv[1], argv[2], replace)
	if err != nil {
		return storeError(err)
	}
	return boolInt(copied)
}

// TYPE key: every pykv value is a string.
func (t *Table) typeCmd(s *Session, argv [][]byte) Reply {
	n, err := t.storeFor(s).Exists(argv[1])
	if err != nil {
		return storeError(err)
	}
	if n == 0 {
		return Status("none")
	}
	return Status("string")
}

// storePattern turns the pattern of SCAN's MATCH or of KEYS into the
// Store's, whose empty pattern matches every key. "*" alone matches every
// key without matching (Redis skips stringmatchlen for it, and so matches
// the empty key, which no star matches): nil, sparing the Store the glob.
// The empty pattern matches the empty key only, as stringmatchlen decides:
// the Store is asked for every key and onlyEmpty says to keep that one,
// which costs what KEYS * and SCAN cost, as KEYS "" costs in Redis.
func storePattern(pattern []byte) (match []byte, onlyEmpty bool) {
	switch {
	case len(pattern) == 0:
		return nil, true
	case len(pattern) == 1 && pattern[0] == '*':
		return nil, false
	}
	return pattern, false
}

// emptyKeyOf returns the empty key if keys holds it, else nothing.
func emptyKeyOf(keys [][]byte) [][]byte {
	for _, k := range keys {
		if len(k) == 0 {
			return [][]byte{k}
		}
	}
	return nil
}

// KEYS pattern: the glob is SCAN MATCH's (internal/glob); the order is
// the engine's.
func (t *Table) keys(s *Session, argv [][]byte) Reply {
	match, onlyEmpty := storePattern(argv[1])
	keys, err := t.storeFor(s).Keys(match)
	if err != nil {
		return storeError(err)
	}
	if onlyEmpty {
		keys = emptyKeyOf(keys)
	}
	items := make([]Reply, len(keys))
	for i, k := range keys {
		items[i] = Bytes(k)
	}
	return Array(items)
}

// RANDOMKEY
func (t *Table) randomkey(s *Session, _ [][]byte) Reply {
	k, err := t.storeFor(s).RandomKey()
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return Nil
		}
		return storeError(err)
	}
	return Bytes(k)
}

// Redis's rules for a string's encoding: an integer that fits a C long,
// written in at most 20 bytes, is "int"; other values of up to 44 bytes
// are "embstr" (kept in the object's own allocation), longer ones "raw".
// Integers from 0 to 9999 are shared objects, whose reference count
// OBJECT REFCOUNT reports as INT_MAX.
const (
	embstrLimit    = 44
	longDigits     = 20
	sharedInts     = 10000
	sharedRefcount = math.MaxInt32
)

// encodingOf is the encoding Redis gives a value built as b (see
// storage.Build), and whether it is one of the shared integers, whose
// OBJECT REFCOUNT is sharedRefcount.
func encodingOf(v []byte, b storage.Build) (enc string, shared bool) {
	switch b {
	case storage.BuiltRaw:
		return "raw", false
	case storage.BuiltString:
		if len(v) <= embstrLimit {
			return "embstr", false
		}
		return "raw", false
	}
	enc, n, isInt := encodingByValue(v)
	return enc, isInt && b == storage.BuiltByValue && n >= 0 && n < sharedInts
}

// encodingByValue is the encoding Redis gives a value that a SET stored
// (tryObjectEncoding), and its integer value when that encoding is int.
func encodingByValue(v []byte) (enc string, n int64, isInt bool) {
	if len(v) <= longDigits {
		if n, ok := redisfmt.ParseInt(v); ok {
			return "int", n, true
		}
	}
	if len(v) <= embstrLimit {
		return "embstr", 0, false
	}
	return "raw", 0, false
}

// objectValue reads the key of OBJECT's subcommands, and how its value
// was built: ok false with Nil for a missing key, as Redis's
// objectCommandLookupOrReply answers. The read is no use of the key
// (LOOKUP_NOTOUCH there).
func (t *Table) objectValue(s *Session, key []byte) ([]byte, storage.Build, Reply, bool) {
	v, b, err := t.storeFor(s).PeekBuilt(key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, 0, Nil, false
	case err != nil:
		return nil, 0, storeError(err), false
	}
	return v, b, Reply{}, true
}

// objectExists is objectValue for the subcommands that need no value.
func (t *Table) objectExists(s *Session, key []byte) (Reply, bool) {
	n, err := t.storeFor(s).Exists(key)
	switch {
	case err != nil:
		return storeError(err), false
	case n == 0:
		return Nil, false
	}
	return Reply{}, true
}

// OBJECT ENCODING key: by the value and how it was built.
func (t *Table) objectEncoding(s *Session, argv [][]byte) Reply {
	v, b, rep, ok := t.objectValue(s, argv[2])
	if !ok {
		return rep
	}
	enc, _ := encodingOf(v, b)
	return Bytes([]byte(enc))
}

// OBJECT REFCOUNT key: INT_MAX for a shared integer, else 1.
func (t *Table) objectRefcount(s *Session, argv [][]byte) Reply {
	v, b, rep, ok := t.objectValue(s, argv[2])
	if !ok {
		return rep
	}
	if _, shared := encodingOf(v, b); shared {
		return Int(sharedRefcount)
	}
	return Int(1)
}

// errNoLFU is Redis's answer to OBJECT FREQ under a maxmemory-policy
// without LFU, such as noeviction, the policy CONFIG GET reports.
var errNoLFU = Err("An LFU maxmemory policy is not selected, access frequency not tracked. " +
	"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")

// OBJECT FREQ key
func (t *Table) objectFreq(s *Session, argv [][]byte) Reply {
	if rep, ok := t.objectExists(s, argv[2]); !ok {
		return rep
	}
	return errNoLFU
}

// OBJECT IDLETIME key: the seconds since the key was last used, by
// Redis's LRU clock (one-second steps, kept 24 bits wide), which pykv
// keeps per key as Redis does under a policy other than LFU.
func (t *Table) objectIdletime(s *Session, argv [][]byte) Reply {
	n, err := t.storeFor(s).IdleTime(argv[2])
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Nil
	case err != nil:
		return storeError(err)
	}
	return Int(n)
}

// objectHelpLines are Redis 7.0's OBJECT HELP, word for word: pykv has
// every subcommand it lists.
var objectHelpLines = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// OBJECT HELP
func (t *Table) objectHelp(_ *Session, _ [][]byte) Reply {
	lines := make([]Reply, len(objectHelpLines))
	for i, l := range objectHelpLines {
		lines[i] = Status(l)
	}
	return Array(lines)
}
