package redisfmt

import (
	"strings"
	"testing"
)

// incrByFloatCases are INCRBYFLOAT's answers from redis-server 7.0 on
// x86-64 (the value before, "" for a missing key; the increment; the
// result, or "float" for "value is not a valid float" and "inf" for
// "increment would produce NaN or Infinity").
var incrByFloatCases = []struct{ value, incr, want string }{
	{"10.5", "0.1", "10.6"},
	{"0.1", "0.2", "0.3"},
	{"10.6", "5.0e3", "5010.60000000000000009"},
	{"5010.60000000000000009", "0x10", "5026.60000000000000009"},
	{"", "0.000003814697265625", "0.00000381469726562"}, // a tie at the 18th digit: to even
	{"", "2.5e-17", "0.00000000000000002"},
	{"", "1.5e-17", "0.00000000000000002"},
	{"", "3.5e-17", "0.00000000000000004"},
	{"", "1e-20", "0"},
	{"", "-0.000000000000000001", "0"}, // "-0" is written 0
	{"", "-1.5", "-1.5"},
	{"3", "-3", "0"},
	{"-0", "-0", "0"},
	{"", "9223372036854775807", "9223372036854775807"},
	{"1", "1e17", "100000000000000001"},
	{"", "1.7976931348623157e308", maxFloat64Text},
	{"", "0x1p-16445", "0"}, // the smallest subnormal
	{"", "0x1.8p1", "3"},
	{"", ".5", "0.5"},
	{"", "5.", "5"},
	{"", "+.5e+1", "5"},
	{"", "1.0e-4940", "0"},
	{"\x00", "1", "float"}, // strtold stops at a NUL, and string2ld wants every byte read
	{"1\x00zz", "1", "float"},
	{"", "1\x00", "float"},
	{"", "INFINITY", "inf"},
	{"", "-inf", "inf"},
	{"inf", "-inf", "inf"}, // NaN
	{"1.18973149535723176502e+4932", "1.18973149535723176502e+4932", "inf"}, // overflow
	{"", "0x1p-16446", "float"}, // half the smallest subnormal rounds to 0
	{"", "1e-4951", "float"},
	{"", "1e-5000", "float"},
	{"", "1e4933", "float"},
	{"", "1.2e4932", "float"},
	{"", "nan", "float"},
	{"", "-nan(1)", "float"},
	{"", "1e", "float"},
	{"", "1e+", "float"},
	{"", "0x", "float"},
	{"", "0x.p1", "float"},
	{"", "0x1p", "float"},
	{"", "infin", "float"},
	{"abc", "1", "float"},
	{"", "1,5", "float"},
	{"", " 1", "float"},
	{"", "1 ", "float"},
	{"", "+-1", "float"},
	{"", "", "float"},
	{"", ".", "float"},
	{"", "-", "float"},
	{"", "1e99999999999999999999999", "float"},
	{"", "0e99999999999999999999999", "0"},
	{"", strings.Repeat("1", 5120), "float"}, // MAX_LONG_DOUBLE_CHARS
	{"", "0." + strings.Repeat("0", 5100) + "1", "float"},
}

// maxFloat64Text is INCRBYFLOAT's text of math.MaxFloat64: every digit of
// the exact value.
const maxFloat64Text = "1797693134862315699959210467741044340483864469443291784853144207651766285231243963547018686083870855" +
	"6442879341942552068930870836345113605535789727802647761707349897768628839483561816329404559443492953" +
	"7447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863" +
	"339536384"

func TestIncrByFloatLikeRedis(t *testing.T) {
	for _, c := range incrByFloatCases {
		var v LongDouble
		ok := true
		if c.value != "" {
			v, ok = ParseLongDouble([]byte(c.value))
		}
		incr, ok2 := ParseLongDouble([]byte(c.incr))
		got := "float"
		if ok && ok2 {
			sum, finite := v.Add(incr)
			got = "inf"
			if finite {
				got = string(sum.AppendHuman([]byte("prefix:")))
				if !strings.HasPrefix(got, "prefix:") {
					t.Errorf("%q + %q: AppendHuman lost what it appended to: %q", c.value, c.incr, got)
				}
				got = strings.TrimPrefix(got, "prefix:")
			}
		}
		if got != c.want {
			t.Errorf("%q + %q = %q, want %q", c.value, c.incr, got, c.want)
		}
	}
}

// TestLongDoubleTextRoundTrips: what INCRBYFLOAT stores parses back to
// the same text, so a second INCRBYFLOAT (or a replay) starts from it.
func TestLongDoubleTextRoundTrips(t *testing.T) {
	for _, s := range []string{"0", "10.6", "5010.60000000000000009", "-1.5", maxFloat64Text} {
		v, ok := ParseLongDouble([]byte(s))
		if !ok {
			t.Fatalf("%q does not parse", s)
		}
		if got := string(v.AppendHuman(nil)); got != s {
			t.Errorf("%q written back as %q", s, got)
		}
	}
}
