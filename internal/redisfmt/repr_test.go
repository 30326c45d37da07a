package redisfmt

import "testing"

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
