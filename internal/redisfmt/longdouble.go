package redisfmt

import (
	"bytes"
	"math/big"
)

// LongDouble is a number as Redis's INCRBYFLOAT holds it: C's long double
// on x86-64 Linux, the x87 80-bit extended format, with a 64-bit
// significand, normal numbers from 2^-16382 to just under 2^16384 and
// subnormal ones down to 2^-16445. Every operation rounds as the x87 does
// (to nearest, ties to even), so that the digits pykv stores are the
// digits redis-server stores. The zero value is 0.
type LongDouble struct {
	x big.Float // exact: precision 64 holds every long double; may be ±Inf
}

// The bounds of the x87 extended format, as exponents of big.Float's
// MantExp (x = mant × 2^exp with 0.5 ≤ |mant| < 1).
const (
	ldMaxExp       = 16384  // the largest finite numbers are just under 2^16384
	ldMinNormalExp = -16381 // 2^-16382, the smallest normal number
	ldDenormShift  = 16445  // the smallest subnormal number is 2^-16445
	ldPrec         = 64
)

// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses
// text of this length or more.
const maxLongDoubleChars = 5 * 1024

// ParseLongDouble parses b as Redis's string2ld (util.c) does with glibc's
// strtold: b must be 1 to 5119 bytes, not begin with a space, and be all
// of one number (strtold must read every byte, so a NUL byte is refused):
// a decimal or hexadecimal ("0x1.8p3") floating-point number with an
// optional sign, or "inf" or "infinity" in any case. NaN is refused, and
// so is a number too large for a long double, or so small it rounds to 0
// (a 0 written as such is fine).
func ParseLongDouble(b []byte) (LongDouble, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars {
		return LongDouble{}, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return LongDouble{}, false
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
	}
	var r LongDouble
	switch {
	case equalFold(b, "inf"), equalFold(b, "infinity"):
		r.x.SetInf(neg)
		return r, true
	case len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X'):
		if v, ok := parseHexFloat(b[2:]); ok {
			return roundLongDouble(v, neg)
		}
		return LongDouble{}, false // "0x" without digits: strtold stops after the 0
	}
	v, ok := parseDecimalFloat(b)
	if !ok {
		return LongDouble{}, false
	}
	return roundLongDouble(v, neg)
}

// equalFold reports whether b is word, ignoring ASCII case; word is lower
// case.
func equalFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// exactNumber is a parsed number before rounding: mant × base^exp with
// base 10 or 2, or a value certain to overflow or to round to 0.
type exactNumber struct {
	mant      *big.Int
	exp       int64
	binary    bool
	overflow  bool // far above the largest long double
	underflow bool // far below half the smallest subnormal, and not 0
}

// expLimit bounds the exponents worth computing with: past it the number
// over- or underflows whatever its digits (at most 5119 of them).
const expLimit = 1 << 20

// scanDigits reads a run of digits of the given base from b and returns
// their value and how many there were.
func scanDigits(b []byte, base int) (*big.Int, int) {
	n := 0
	for n < len(b) && digitValue(b[n]) < base {
		n++
	}
	v := new(big.Int)
	if n > 0 {
		v.SetString(string(b[:n]), base)
	}
	return v, n
}

func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// parseMantissa reads digits, an optional '.' and more digits, at least
// one digit in all, and returns the digits as one integer, the count of
// digits after the point, and what follows.
func parseMantissa(b []byte, base int) (mant *big.Int, frac int, rest []byte, ok bool) {
	ip, n := scanDigits(b, base)
	b = b[n:]
	digits := n
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
		fp, m := scanDigits(b, base)
		b = b[m:]
		digits += m
		frac = m
		shift := new(big.Int).Exp(big.NewInt(int64(base)), big.NewInt(int64(m)), nil)
		ip.Mul(ip, shift).Add(ip, fp)
	}
	return ip, frac, b, digits > 0
}

// parseExponent reads what follows an exponent letter: an optional sign
// and at least one decimal digit, saturating at ±expLimit. It must be all
// of b.
func parseExponent(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var e int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if e < expLimit {
			e = e*10 + int64(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

func parseDecimalFloat(b []byte) (exactNumber, bool) {
	mant, frac, rest, ok := parseMantissa(b, 10)
	if !ok {
		return exactNumber{}, false
	}
	var e int64
	if len(rest) > 0 {
		if rest[0] != 'e' && rest[0] != 'E' {
			return exactNumber{}, false
		}
		if e, ok = parseExponent(rest[1:]); !ok {
			return exactNumber{}, false
		}
	}
	n := exactNumber{mant: mant, exp: e - int64(frac)}
	if mant.Sign() != 0 {
		// mant < 10^digits; 10^4933 is past the largest long double and
		// 10^-4952 under half the smallest subnormal.
		top := n.exp + int64(len(mant.String()))
		n.overflow = top > 4934
		n.underflow = top < -4952
	}
	return n, true
}

func parseHexFloat(b []byte) (exactNumber, bool) {
	mant, frac, rest, ok := parseMantissa(b, 16)
	if !ok {
		return exactNumber{}, false
	}
	var e int64
	if len(rest) > 0 {
		if rest[0] != 'p' && rest[0] != 'P' {
			return exactNumber{}, false
		}
		if e, ok = parseExponent(rest[1:]); !ok {
			return exactNumber{}, false
		}
	}
	n := exactNumber{mant: mant, exp: e - 4*int64(frac), binary: true}
	if mant.Sign() != 0 {
		top := n.exp + int64(mant.BitLen())
		n.overflow = top > ldMaxExp+1
		n.underflow = top < -ldDenormShift-2
	}
	return n, true
}

// rat returns n's exact value.
func (n exactNumber) rat() *big.Rat {
	base := big.NewInt(10)
	if n.binary {
		base = big.NewInt(2)
	}
	e := n.exp
	if e < 0 {
		e = -e
	}
	p := new(big.Int).Exp(base, big.NewInt(e), nil)
	if n.exp < 0 {
		return new(big.Rat).SetFrac(n.mant, p)
	}
	return new(big.Rat).SetInt(new(big.Int).Mul(n.mant, p))
}

// roundLongDouble rounds a parsed number to a long double as strtold
// does, refusing what overflows or rounds to 0 from a number that is not
// 0 (string2ld's ERANGE cases).
func roundLongDouble(n exactNumber, neg bool) (LongDouble, bool) {
	if n.overflow || n.underflow {
		return LongDouble{}, false
	}
	var r LongDouble
	if n.mant.Sign() == 0 {
		if neg {
			r.x.Neg(&r.x)
		}
		return r, true
	}
	v := n.rat()
	if neg {
		v.Neg(v)
	}
	if !r.round(v) || r.x.IsInf() || r.x.Sign() == 0 {
		return LongDouble{}, false
	}
	return r, true
}

// minNormal is 2^-16382, the smallest normal long double.
var minNormal = new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), -ldMinNormalExp+1))

// round sets r to v rounded to the nearest long double, ties to even, as
// the x87 rounds an exact result: to 64 significant bits in the normal
// range, to a multiple of 2^-16445 below it, to ±Inf above it. It reports
// false for a value that rounds to ±Inf.
func (r *LongDouble) round(v *big.Rat) bool {
	abs := new(big.Rat).Abs(v)
	if abs.Sign() != 0 && abs.Cmp(minNormal) < 0 {
		// Subnormal: the count of 2^-16445 quanta, rounded half to even.
		q := new(big.Rat).Mul(abs, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), ldDenormShift)))
		n, rem := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
		switch c := new(big.Int).Lsh(rem, 1).Cmp(q.Denom()); {
		case c > 0, c == 0 && n.Bit(0) == 1:
			n.Add(n, big.NewInt(1))
		}
		r.x.SetPrec(ldPrec).SetInt(n)
		r.x.SetMantExp(&r.x, -ldDenormShift)
		if v.Sign() < 0 {
			r.x.Neg(&r.x)
		}
		return true
	}
	r.x.SetPrec(ldPrec).SetMode(big.ToNearestEven).SetRat(v)
	if r.x.MantExp(nil) > ldMaxExp {
		r.x.SetInf(v.Sign() < 0)
		return false
	}
	return true
}

// Add returns a + b rounded as the x87 rounds it, and whether the sum is
// finite: Redis's INCRBYFLOAT refuses a sum that is NaN or infinite.
func (a LongDouble) Add(b LongDouble) (LongDouble, bool) {
	if a.x.IsInf() || b.x.IsInf() {
		return LongDouble{}, false // ±Inf, or NaN for Inf - Inf
	}
	var r LongDouble
	if a.x.Sign() == 0 && b.x.Sign() == 0 {
		r.x.Add(&a.x, &b.x) // IEEE's signed zeros: -0 only for -0 + -0
		return r, true
	}
	av, _ := a.x.Rat(nil)
	bv, _ := b.x.Rat(nil)
	sum := new(big.Rat).Add(av, bv)
	if sum.Sign() == 0 {
		return r, true // x + -x is +0
	}
	if !r.round(sum) {
		return LongDouble{}, false
	}
	return r, true
}

// IsInf reports whether a is ±Inf.
func (a LongDouble) IsInf() bool { return a.x.IsInf() }

// AppendHuman appends a's text as Redis's ld2string in LD_STR_HUMAN mode
// writes it, which INCRBYFLOAT stores and replies: printf's "%.17Lf"
// (fixed notation, 17 digits after the point, rounded half to even from
// the exact binary value), then without trailing zeros after the point,
// nor the point itself if nothing follows it, and "-0" written "0". ±Inf
// is "inf" and "-inf".
func (a LongDouble) AppendHuman(dst []byte) []byte {
	if a.x.IsInf() {
		if a.x.Sign() < 0 {
			return append(dst, "-inf"...)
		}
		return append(dst, "inf"...)
	}
	start := len(dst)
	dst = a.x.Append(dst, 'f', 17)
	text := dst[start:]
	if bytes.IndexByte(text, '.') >= 0 {
		text = bytes.TrimSuffix(bytes.TrimRight(text, "0"), []byte("."))
	}
	if string(text) == "-0" {
		dst[start] = '0'
		return dst[:start+1]
	}
	return dst[:start+len(text)]
}
