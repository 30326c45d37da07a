package spec

import (
	"strings"
	"testing"
)

// TestArgNotationNamesCommands: every entry of argNotation is a command or
// subcommand of the table, and every command with an argument hint has
// structured arguments (and the other way round).
func TestArgNotationNamesCommands(t *testing.T) {
	known := byFullName()
	for name := range argNotation {
		if known[name] == nil {
			t.Errorf("argNotation has %q, not a command", name)
		}
	}
	for name, c := range known {
		// COMMAND LIST documents Redis's FILTERBY, which pykv refuses;
		// Redis 7.0's COMMAND DOCS gives COMMAND GETKEYS and
		// GETKEYSANDFLAGS no arguments, though they take a command.
		if len(c.Subcommands) > 0 || name == "command|list" || name == "command|getkeys" || name == "command|getkeysandflags" {
			continue
		}
		if (c.Args != "") != (len(c.Arguments()) > 0) {
			t.Errorf("%s: hint %q but %d structured arguments", name, c.Args, len(c.Arguments()))
		}
	}
	set := known["set"].Arguments()
	if len(set) != 5 || set[0].Type != "key" || set[2].Type != "oneof" || set[3].Token != "GET" || set[3].Type != "pure-token" ||
		strings.Join(set[4].Flags.Names(), ",") != "optional" || set[4].Args[0].Token != "EX" || set[4].Args[0].Type != "integer" ||
		set[3].Since != "6.2.0" || set[4].Since != "" || set[4].Args[4].Since != "6.0.0" {
		t.Errorf("set parsed as %+v", set)
	}
	if kill := known["client|kill"].Arguments()[0].Args; kill[0].Name != "ip:port" || kill[0].DeprecatedSince != "2.8.12" ||
		kill[1].Args[4].Token != "LADDR" || kill[1].Args[4].Since != "6.2.0" || kill[1].Args[3].Since != "" {
		t.Errorf("client|kill parsed as %+v", kill)
	}
}

// byFullName is every command and subcommand by its name ("client|kill").
func byFullName() map[string]*Command {
	known := map[string]*Command{}
	var walk func(cs []*Command)
	walk = func(cs []*Command) {
		for _, c := range cs {
			known[c.Name] = c
			walk(c.Subcommands)
		}
	}
	walk(All())
	return known
}
