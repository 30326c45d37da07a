package command

import "github.com/pykv/pykv/internal/redisfmt"

// parseUint parses b as a base-10 uint64 of digits only (SCAN's cursor).
func parseUint(b []byte) (uint64, bool) { return redisfmt.ParseDigits(b) }

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
