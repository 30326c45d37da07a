package spec

import (
	"slices"
	"strings"
	"testing"
)

// legacyRange is the first key, last key and key step that COMMAND INFO's
// 4th to 6th fields report for specs, as Redis 7 derives them: a lone
// index-and-range spec gives its own (the last key made absolute unless it
// counts from the end); several give the span from the first key of the
// first to the last of the last, step 1, if they are index-and-range specs
// of step 1 that follow each other; no specs give zeros.
func legacyRange(specs []KeySpec) (first, last, step int) {
	ranged := func(ks KeySpec) bool { return ks.BeginSearch.Type == "index" && ks.FindKeys.Type == "range" }
	abs := func(ks KeySpec) int {
		if ks.FindKeys.LastKey < 0 {
			return ks.FindKeys.LastKey
		}
		return ks.BeginSearch.Index + ks.FindKeys.LastKey
	}
	switch {
	case len(specs) == 0:
		return 0, 0, 0
	case len(specs) == 1 && ranged(specs[0]):
		return specs[0].BeginSearch.Index, abs(specs[0]), specs[0].FindKeys.KeyStep
	}
	prevLast := 0
	for i, ks := range specs {
		if !ranged(ks) || ks.FindKeys.KeyStep != 1 || (i > 0 && prevLast != ks.BeginSearch.Index-1) {
			continue // Redis leaves such a spec out (and calls the keys movable)
		}
		if first == 0 {
			first = ks.BeginSearch.Index
		}
		if l := abs(ks); last >= 0 && (l < 0 || l > last) {
			last = l // a last key counted from the end reaches furthest
		}
		prevLast = last
	}
	if first == 0 {
		return 0, 0, 0
	}
	return first, last, 1
}

// TestKeyPositionsFollowKeySpecs: every command's first key, last key
// and key step are what Redis derives from its key specifications, so
// that a cluster client reading either finds the same keys.
func TestKeyPositionsFollowKeySpecs(t *testing.T) {
	for name, c := range byFullName() {
		first, last, step := legacyRange(c.KeySpecs())
		if c.FirstKey != first || c.LastKey != last || c.KeyStep != step {
			t.Errorf("%s: key positions %d %d %d, its key specs %+v give %d %d %d",
				name, c.FirstKey, c.LastKey, c.KeyStep, c.KeySpecs(), first, last, step)
		}
	}
}

// TestLegacyRange checks the derivation itself on the shapes Redis's
// commands have.
func TestLegacyRange(t *testing.T) {
	ro := []string{"RO"}
	tests := []struct {
		name              string
		specs             []KeySpec
		first, last, step int
	}{
		{"none", nil, 0, 0, 0},
		{"get", []KeySpec{{Flags: ro, BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}, 1, 1, 1},
		{"mset", []KeySpec{{Flags: ro, BeginSearch: byIndex(1), FindKeys: keyRange(-1, 2, 0)}}, 1, -1, 2},
		{"lcs", []KeySpec{{Flags: ro, BeginSearch: byIndex(1), FindKeys: keyRange(1, 1, 0)}}, 1, 2, 1},
		{"rename", []KeySpec{{Flags: ro, BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)},
			{Flags: ro, BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}, 1, 2, 1},
		{"bitop", []KeySpec{{Flags: ro, BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)},
			{Flags: ro, BeginSearch: byIndex(3), FindKeys: keyRange(-1, 1, 0)}}, 2, -1, 1},
		{"zunionstore", []KeySpec{{Flags: ro, BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)},
			{Flags: ro, BeginSearch: byIndex(2), FindKeys: keyNum(0, 1, 1)}}, 1, 1, 1},
		{"xread", []KeySpec{{Flags: ro, BeginSearch: byKeyword("STREAMS", 1), FindKeys: keyRange(-1, 1, 2)}}, 0, 0, 0},
	}
	for _, tt := range tests {
		if f, l, s := legacyRange(tt.specs); f != tt.first || l != tt.last || s != tt.step {
			t.Errorf("%s: %d %d %d, want %d %d %d", tt.name, f, l, s, tt.first, tt.last, tt.step)
		}
	}
}

// TestKeySpecIndexOfArgs: COMMAND DOCS's key_spec_index of each key
// argument names one of its command's key specifications, every key
// specification is named by some key argument, and no other argument
// names one.
func TestKeySpecIndexOfArgs(t *testing.T) {
	for name, c := range byFullName() {
		used := make([]bool, len(c.KeySpecs()))
		var walk func(args []Arg)
		walk = func(args []Arg) {
			for _, a := range args {
				switch {
				case a.Type == "key" && (a.KeySpec < 0 || a.KeySpec >= len(used)):
					t.Errorf("%s: key argument %s has key_spec_index %d of %d key specs", name, a.Name, a.KeySpec, len(used))
				case a.Type == "key":
					used[a.KeySpec] = true
				case a.KeySpec != -1:
					t.Errorf("%s: %s argument %s has key_spec_index %d", name, a.Type, a.Name, a.KeySpec)
				}
				walk(a.Args)
			}
		}
		walk(c.Arguments())
		for i, u := range used {
			if !u {
				t.Errorf("%s: key spec %d is no argument's key_spec_index", name, i)
			}
		}
	}
}

// TestKeySpecTableNamesCommands: each entry of keySpecTable is a command
// or subcommand, so that none is lost to a misspelling.
func TestKeySpecTableNamesCommands(t *testing.T) {
	known := byFullName()
	for _, e := range keySpecTable {
		if known[e.name] == nil {
			t.Errorf("keySpecTable has %q, not a command", e.name)
		}
	}
}

// TestACLCategoryTable: aclCategoryTable names commands and Redis's
// categories only.
func TestACLCategoryTable(t *testing.T) {
	known := byFullName()
	for name, cats := range aclCategoryTable {
		if known[name] == nil {
			t.Errorf("aclCategoryTable has %q, not a command", name)
		}
		for _, cat := range cats {
			if !slices.Contains(aclOrder, cat) {
				t.Errorf("%s: unknown ACL category %q", name, cat)
			}
		}
	}
	if got := strings.Join(known["flushall"].ACLCategories(), " "); got != "@keyspace @write @slow @dangerous" {
		t.Errorf("flushall's ACL categories: %s", got)
	}
}

// TestStateFlagTable: stateFlagTable names commands and Redis's flags
// only, none of them one that pykv acts on (Flags), and FlagNames lists
// both kinds in Redis's order.
func TestStateFlagTable(t *testing.T) {
	known := byFullName()
	own := (FlagWrite | FlagReadOnly | FlagFast | FlagAdmin | FlagNoAuth | FlagNoMulti).Names()
	for name, flags := range stateFlags {
		if known[name] == nil {
			t.Errorf("stateFlagTable has %q, not a command", name)
		}
		for _, f := range flags {
			if !slices.Contains(redisFlagOrder, f) || slices.Contains(own, f) {
				t.Errorf("%s: %q is not one of Redis's flags about a state pykv never enters", name, f)
			}
		}
	}
	if got := strings.Join(known["auth"].FlagNames(), " "); got != "noscript loading stale fast no_auth allow_busy" {
		t.Errorf("auth's flags: %s", got)
	}
}
