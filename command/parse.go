package command

import "math"

// maxInt64Digits is the length of the longest base-10 int64,
// "-9223372036854775808".
const maxInt64Digits = 20

// parseInt parses b as a base-10 int64 exactly as Redis's string2ll does,
// so that pykv accepts and refuses the same numbers: an optional '-', then
// digits without a leading zero ("0" alone is fine); no '+', no spaces, no
// "-0". It works on the bytes, without converting them to a string.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > maxInt64Digits {
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
	v, ok := parseDigits(b)
	if !ok {
		return 0, false
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true // -v wraps to the two's complement, MinInt64 included
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// parseUint parses b as a base-10 uint64 of digits only (SCAN's cursor).
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	return parseDigits(b)
}

// parseDigits parses a non-empty run of decimal digits, refusing anything
// else and any value above MaxUint64.
func parseDigits(b []byte) (uint64, bool) {
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

// is reports whether arg equals upper, an upper-case ASCII keyword such as
// "NX", ignoring ASCII case, without allocating.
func is(arg []byte, upper string) bool {
	if len(arg) != len(upper) {
		return false
	}
	for i, c := range arg {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// clone copies b, so a reply or a Session can keep bytes of argv, which the
// caller reuses after Exec returns.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

// boolInt is the integer reply of a yes/no command: 1 or 0.
func boolInt(b bool) Reply {
	if b {
		return Int(1)
	}
	return Int(0)
}
