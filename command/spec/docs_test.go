package spec

import (
	"strings"
	"testing"
)

// TestDocTableNamesCommands: every entry of docTable and deprecated is a
// command or subcommand (index panics at start for a command without
// one), and the facts a reader looks for are where they belong.
func TestDocTableNamesCommands(t *testing.T) {
	known := byFullName()
	for _, e := range docTable {
		if known[e.name] == nil {
			t.Errorf("docTable has %q, not a command", e.name)
		}
	}
	if len(docTable) != len(known) {
		t.Errorf("docTable has %d entries for %d commands", len(docTable), len(known))
	}
	for _, tc := range []struct {
		name, since, complexity, flags, deprecated string
		history                                    int
	}{
		{"get", "1.0.0", "O(1)", "", "", 0},
		{"set", "1.0.0", "O(1)", "", "", 4},
		{"getset", "1.0.0", "O(1)", "deprecated", "6.2.0", 0},
		{"slaveof", "1.0.0", "O(1)", "deprecated", "5.0.0", 0},
		{"client|setinfo", "7.2.0", "O(1)", "", "", 0},
		{"client|kill", "2.4.0", connections, "", "", 5},
		{"monitor", "1.0.0", "", "", "", 0},
	} {
		d := known[tc.name].Doc()
		if d.Since != tc.since || d.Complexity != tc.complexity || strings.Join(d.DocFlags(), ",") != tc.flags ||
			d.DeprecatedSince != tc.deprecated || len(d.History) != tc.history {
			t.Errorf("%s: docs %+v", tc.name, d)
		}
	}
	// pykv's own commands: no Redis version, a complexity in pykv's words.
	for _, name := range []string{"backup", "compact", "export"} {
		if d := known[name].Doc(); d.Since != "" || d.Complexity == "" {
			t.Errorf("%s: docs %+v", name, d)
		}
	}
	if h := known["set"].Doc().History[0]; h.Version != "2.6.12" || h.Text != "Added the `EX`, `PX`, `NX` and `XX` options." {
		t.Errorf("set's first change is %+v", h)
	}
}
