package command

import "testing"

// TestOneLine: CR and LF become spaces and every other byte stays as it
// came, the bytes that are not UTF-8 too (a rune-wise rewrite turned 0xff
// into U+FFFD; TestProtocolRandomLikeRedis found it against redis-server).
func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a\r\nb", "a  b"},
		{"\xff\r\x80", "\xff \x80"},
		{"\xffno newline", "\xffno newline"},
		{"é\nü", "é ü"},
	} {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
