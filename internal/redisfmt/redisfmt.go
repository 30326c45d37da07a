// Package redisfmt holds the rules by which Redis reads its own text
// formats, so that every part of pykv that reads one (the command table,
// the engine's INCR, the RESP codec, the benchmark's reply reader) accepts
// and refuses exactly what Redis does, from one copy. It is a leaf: it
// imports nothing of the project, so the wire codecs and the client may
// use it without compiling the engine.
//
// LongDouble is INCRBYFLOAT's number: C's long double on x86-64, parsed as
// glibc's strtold parses, rounded as the x87 rounds and written as Redis's
// ld2string writes, computed exactly with math/big.
//
// AppendRepr is sdscatrepr's quoting, which MONITOR writes and pykv-cli
// prints as redis-cli does.
//
// Glob patterns, the other Redis text rule, have their own package,
// internal/glob, whose matcher is long enough to deserve one.
package redisfmt

import "math"

// MaxInt64Len is the length of the longest base-10 int64,
// "-9223372036854775808": no longer text can be one.
const MaxInt64Len = 20

// ParseInt parses b as a base-10 int64 exactly as Redis's string2ll
// (util.c) does: an optional '-', then digits without a leading zero ("0"
// alone is fine), and a value that fits in an int64. No '+', no spaces, no
// "-0". Put another way, b is accepted exactly when it is the text
// strconv.FormatInt would write for the value. It reads the bytes as they
// are, without converting them to a string.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > MaxInt64Len {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	u, ok := ParseDigits(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true // -u wraps to the two's complement, MinInt64 included
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// ParseDigits parses b, a non-empty run of decimal digits and nothing else
// (leading zeros allowed), as a uint64, refusing a value above MaxUint64.
// SCAN's cursor is read with it.
func ParseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
