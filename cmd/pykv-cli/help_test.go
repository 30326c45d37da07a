package main

import (
	"slices"
	"strings"
	"testing"
)

func TestHint(t *testing.T) {
	tests := []struct{ line, want string }{
		{"", ""},
		{"frob", ""},
		{"get", " key"},
		{"GET ", "key"},
		{"get k", ""},
		{"set", " key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"set k", " value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"set k v ", "[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"set k v nx ", "[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"incrby k ", "increment"},
		{"client setname ", "connection-name"},
		{"client setname x", ""},
		{"dbsize", ""},
		{`get "unbalanced`, ""},
	}
	for _, tt := range tests {
		if got := hint(tt.line); got != tt.want {
			t.Errorf("hint(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestCompleter(t *testing.T) {
	complete := func(line string) []string {
		got, n := completer{}.Do([]rune(line), len([]rune(line)))
		var out []string
		for _, g := range got {
			out = append(out, line[len(line)-n:]+string(g))
		}
		return out
	}
	if got := complete("ge"); !slices.Contains(got, "get ") || !slices.Contains(got, "getdel ") {
		t.Errorf("complete(ge) = %q", got)
	}
	if got := complete("INC"); !slices.Equal(got, []string{"INCR ", "INCRBY ", "INCRBYFLOAT "}) {
		t.Errorf("complete(INC) = %q", got)
	}
	if got := complete("help @st"); !slices.Equal(got, []string{"@string "}) {
		t.Errorf("complete(help @st) = %q", got)
	}
	if got := complete("get k"); got != nil {
		t.Errorf("complete(get k) = %q, want nothing: keys are not completed", got)
	}
}

func TestTopicHelp(t *testing.T) {
	got := topicHelp([]string{"set"}, "test", false)
	for _, want := range []string{"\n  SET key value [NX|XX]", "  summary: Set a key's value", "  since: 1.0.0\n  group: string\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("help set = %q, missing %q", got, want)
		}
	}
	if got := topicHelp([]string{"client", "setname"}, "test", false); !strings.Contains(got, "CLIENT SETNAME connection-name") ||
		strings.Contains(got, "GETNAME") {
		t.Errorf("help client setname = %q", got)
	}
	if got := topicHelp([]string{"client"}, "test", false); !strings.Contains(got, "CLIENT GETNAME") {
		t.Errorf("help client does not list its subcommands: %q", got)
	}
	group := topicHelp([]string{"@generic"}, "test", false)
	if !strings.Contains(group, "  DEL key [key ...]") || strings.Contains(group, "group:") || strings.Contains(group, "  GET ") {
		t.Errorf("help @generic = %q", group)
	}
	if got := topicHelp([]string{"frob"}, "test", false); !strings.Contains(got, "No help") {
		t.Errorf("help frob = %q", got)
	}
	if got := topicHelp(nil, "1.2.3", false); !strings.HasPrefix(got, "pykv-cli 1.2.3\n") || !strings.Contains(got, "@<group>") {
		t.Errorf("help = %q", got)
	}
	if got := topicHelp([]string{"get"}, "test", true); !strings.Contains(got, "\x1b[1mGET\x1b[0m") {
		t.Errorf("coloured help = %q", got)
	}
}

func TestHintPainting(t *testing.T) {
	h := &hinter{width: func() int { return 80 }}
	h.setPrompt("127.0.0.1:7380> ")
	paint := func(line string, pos int) string { return string(h.Paint([]rune(line), pos)) }

	if got, want := paint("get ", 4), "get \x1b[90mkey\x1b[0m\x1b[3D"; got != want {
		t.Errorf("Paint(get ) = %q, want %q: the hint in grey, the cursor moved back over it", got, want)
	}
	for _, tt := range []struct {
		line string
		pos  int
	}{
		{"get ", 2},    // the cursor is not at the end
		{"get k", 5},   // nothing left to hint
		{"get k\n", 6}, // the line was submitted
		{"", 0},
	} {
		if got := paint(tt.line, tt.pos); got != tt.line {
			t.Errorf("Paint(%q, %d) = %q, want the line alone", tt.line, tt.pos, got)
		}
	}
	// A hint is cut to what fits on the screen line, never wrapped, and
	// ends with an ellipsis where it was cut.
	for _, tt := range []struct {
		width int
		want  string
	}{
		// 16 columns of prompt and 4 of line leave 9 before the last column.
		{30, "set \x1b[90mkey valu…\x1b[0m\x1b[9D"},
		{24, "set \x1b[90mke…\x1b[0m\x1b[3D"},
		{22, "set \x1b[90m…\x1b[0m\x1b[1D"},
	} {
		h.width = func() int { return tt.width }
		if got := paint("set ", 4); got != tt.want {
			t.Errorf("Paint on a screen %d wide = %q, want %q", tt.width, got, tt.want)
		}
	}
}
