package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/pykv/pykv/netproto/resp"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		line string
		want []string // nil with bad: an error
		bad  bool
	}{
		{"", []string{}, false},
		{"   \t  ", []string{}, false},
		{"SET k v", []string{"SET", "k", "v"}, false},
		{"  get   key  ", []string{"get", "key"}, false},
		{"set k \"hello world\"", []string{"set", "k", "hello world"}, false},
		{`set k "a\nb\tc\rd\ae\bf"`, []string{"set", "k", "a\nb\tc\rd\ae\bf"}, false},
		{`set k "\x41\x7a\xff\x00"`, []string{"set", "k", "Az\xff\x00"}, false},
		{`set k "\xZZ"`, []string{"set", "k", "xZZ"}, false}, // not hex: \x is just x
		{`set k "\"quoted\" \\ \q"`, []string{"set", "k", `"quoted" \ q`}, false},
		{`set k 'single \' quote'`, []string{"set", "k", "single ' quote"}, false},
		{`set k 'no \n escapes \x41'`, []string{"set", "k", `no \n escapes \x41`}, false},
		{`set k ""`, []string{"set", "k", ""}, false},
		{`set k ''`, []string{"set", "k", ""}, false},
		{`set foo"bar baz"`, []string{"set", "foobar baz"}, false},
		{`a'b c'`, []string{"ab c"}, false},
		{"a\nb\rc", []string{"a", "b", "c"}, false},
		{"a\vb", []string{"a\vb"}, false}, // \v separates only before a word, as in sds
		{"a\x00b c", []string{"a"}, false},
		{`"unterminated`, nil, true},
		{`'unterminated`, nil, true},
		{`"closed"junk`, nil, true},
		{`'closed'junk`, nil, true},
		{`"trailing backslash\`, nil, true},
		{`"ok" "fine"`, []string{"ok", "fine"}, false},
	}
	for _, tt := range tests {
		got, err := resp.SplitArgs(tt.line)
		if tt.bad {
			if err == nil {
				t.Errorf("SplitArgs(%q) = %q, want an error", tt.line, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v, want %q", tt.line, got, err, tt.want)
		}
	}
}

// FuzzSplitArgs checks that splitting never panics, and that a value
// printed the way the standard output quotes it splits back to itself: a
// value copied from pykv-cli's output can be pasted into a command.
func FuzzSplitArgs(f *testing.F) {
	f.Add(`set k "a\x00b"`)
	f.Add(`'a\'b' "c\"d"`)
	f.Add("\xff\x00 \\ \"")
	f.Fuzz(func(t *testing.T, s string) {
		resp.SplitArgs(s)
		var b strings.Builder
		writeQuoted(&b, []byte(s))
		args, err := resp.SplitArgs("x " + b.String())
		if err != nil || len(args) != 2 || args[1] != s {
			t.Fatalf("%q quoted as %s splits to %q, %v", s, b.String(), args, err)
		}
	})
}
