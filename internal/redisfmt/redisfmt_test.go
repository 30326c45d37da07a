package redisfmt

import (
	"strconv"
	"testing"
)

// The cases on which the four parsers this package replaced (storage's
// ParseInt, the command table's parseInt, the RESP reader's length parser
// and pykv-bench's) agreed, and on which Redis's string2ll decides the same.
var parseIntCases = []struct {
	in   string
	want int64
	ok   bool
}{
	{"0", 0, true},
	{"7", 7, true},
	{"-7", -7, true},
	{"10", 10, true},
	{"42", 42, true},
	{"-1", -1, true},
	{"9223372036854775807", 9223372036854775807, true},
	{"-9223372036854775808", -9223372036854775808, true},
	{"9223372036854775808", 0, false},
	{"-9223372036854775809", 0, false},
	{"18446744073709551615", 0, false},
	{"18446744073709551616", 0, false},
	{"99999999999999999999", 0, false},
	{"-99999999999999999999", 0, false},
	{"100000000000000000000", 0, false},
	{"", 0, false},
	{"-", 0, false},
	{"--1", 0, false},
	{"-0", 0, false},
	{"00", 0, false},
	{"01", 0, false},
	{"-01", 0, false},
	{"+1", 0, false},
	{" 1", 0, false},
	{"1 ", 0, false},
	{"1a", 0, false},
	{"1\x00", 0, false},
	{"0x10", 0, false},
	{"1e3", 0, false},
	{"1.0", 0, false},
	{"1.5", 0, false},
	{"١", 0, false}, // an Arabic-Indic digit is not a digit
}

func TestParseInt(t *testing.T) {
	for _, c := range parseIntCases {
		got, ok := ParseInt([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
		if okRef := reference(c.in); okRef != c.ok {
			t.Errorf("reference(%q) = %v; the table says %v", c.in, okRef, c.ok)
		}
	}
}

// reference is string2ll's rule said another way: the text is accepted
// exactly when it is the canonical decimal form of an int64.
func reference(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

func FuzzParseInt(f *testing.F) {
	for _, c := range parseIntCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := ParseInt(b)
		if want := reference(string(b)); ok != want {
			t.Fatalf("ParseInt(%q) ok = %v; want %v", b, ok, want)
		}
		if ok && strconv.FormatInt(got, 10) != string(b) {
			t.Fatalf("ParseInt(%q) = %d", b, got)
		}
		if !ok && got != 0 {
			t.Fatalf("ParseInt(%q) = %d, false; want 0 on failure", b, got)
		}
	})
}

func TestParseDigits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"007", 7, true}, {"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false}, {"", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1 ", 0, false},
	} {
		if got, ok := ParseDigits([]byte(tc.in)); got != tc.want || ok != tc.ok {
			t.Errorf("ParseDigits(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
