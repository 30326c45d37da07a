package redisfmt

import (
	"fmt"
	"testing"
)

func TestAppendRepr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"SET", `"SET"`},
		{"a \"b\" \\c", `"a \"b\" \\c"`},
		{"\n\r\t\a\b", `"\n\r\t\a\b"`},
		{"\x00\x1f\x7f\xff", `"\x00\x1f\x7f\xff"`},
		{"é", `"\xc3\xa9"`},
		{" ~", `" ~"`},
	} {
		if got := string(AppendRepr([]byte("> "), []byte(tc.in))); got != "> "+tc.want {
			t.Errorf("AppendRepr(%q) = %s, want > %s", tc.in, got, tc.want)
		}
	}
}

// TestAppendReprEveryByte: every byte, alone and between plain runs, is
// quoted as sdscatrepr quotes it one byte at a time (the runs of plain
// bytes copied at once change nothing).
func TestAppendReprEveryByte(t *testing.T) {
	one := func(c byte) string {
		switch c {
		case '\\', '"':
			return `\` + string(c)
		case '\n':
			return `\n`
		case '\r':
			return `\r`
		case '\t':
			return `\t`
		case '\a':
			return `\a`
		case '\b':
			return `\b`
		}
		if c >= ' ' && c <= '~' {
			return string(c)
		}
		return fmt.Sprintf(`\x%02x`, c)
	}
	for c := range 256 {
		in := []byte{'a', 'b', byte(c), 'c', byte(c)}
		want := `"ab` + one(byte(c)) + "c" + one(byte(c)) + `"`
		if got := string(AppendRepr(nil, in)); got != want {
			t.Errorf("AppendRepr(%q) = %s, want %s", in, got, want)
		}
	}
}
