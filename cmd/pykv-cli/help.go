package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pykv/pykv/netproto/resp"

	"github.com/pykv/pykv/command/spec"
)

// Help, hints and completion all come from the command table's Specs, so
// that pykv-cli never describes a command differently from the server it
// was built with.

// generalHelp is what "help" alone prints.
func generalHelp(version string) string {
	return "pykv-cli " + version + `
To get help about pykv commands type:
      "help @<group>" to get a list of commands in <group>
      "help <command>" for help on <command>
      "help <tab>" to get a list of possible help topics
      "quit" to exit

Groups: ` + strings.Join(groups(), ", ") + `
`
}

// groups returns the command groups, sorted.
func groups() []string {
	seen := map[string]bool{}
	var gs []string
	for _, sp := range spec.All() {
		if !seen[sp.Group] {
			seen[sp.Group] = true
			gs = append(gs, sp.Group)
		}
	}
	sort.Strings(gs)
	return gs
}

// topicHelp is what "help <topic...>" prints: one command (with its
// subcommands, for a container such as CLIENT), one subcommand ("help
// client setname"), or every command of a group ("help @string"). color
// adds redis-cli's bold name and grey arguments.
func topicHelp(topic []string, version string, color bool) string {
	if len(topic) == 0 {
		return generalHelp(version)
	}
	var specs []*spec.Command
	showGroup := true
	if g, ok := strings.CutPrefix(topic[0], "@"); ok {
		showGroup = false
		for _, sp := range spec.All() {
			if strings.EqualFold(sp.Group, g) {
				specs = append(specs, sp)
			}
		}
	} else if sp, ok := spec.Lookup([]byte(topic[0])); ok {
		switch sub := subcommand(sp, topic[1:]); {
		case sub != nil:
			specs = []*spec.Command{sub}
		default:
			specs = append([]*spec.Command{sp}, sp.Subcommands...)
		}
	}
	if len(specs) == 0 {
		return fmt.Sprintf("No help for %q. Type \"help\" for the topics.\n", strings.Join(topic, " "))
	}
	var b strings.Builder
	// field writes one "name: value" line, the name yellow in color as
	// redis-cli shows it; an empty value writes nothing.
	field := func(name, value string) {
		switch {
		case value == "":
		case color:
			fmt.Fprintf(&b, "  \x1b[33m%s:\x1b[0m %s\n", name, value)
		default:
			fmt.Fprintf(&b, "  %s: %s\n", name, value)
		}
	}
	for _, sp := range specs {
		if color {
			fmt.Fprintf(&b, "\n  \x1b[1m%s\x1b[0m \x1b[90m%s\x1b[0m\n", displayName(sp), sp.Args)
		} else {
			fmt.Fprintf(&b, "\n  %s %s\n", displayName(sp), sp.Args)
		}
		field("summary", sp.Summary)
		field("since", sp.Doc().Since)
		if showGroup {
			field("group", sp.Group)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// subcommand returns the Spec of sp's subcommand named by args[0], or nil.
func subcommand(sp *spec.Command, args []string) *spec.Command {
	if len(args) == 0 {
		return nil
	}
	for _, sub := range sp.Subcommands {
		if strings.EqualFold(sub.Name, sp.Name+"|"+args[0]) {
			return sub
		}
	}
	return nil
}

// displayName is a Spec's name as typed: "SET", "CLIENT SETNAME".
func displayName(sp *spec.Command) string {
	return strings.ToUpper(strings.ReplaceAll(sp.Name, "|", " "))
}

// hint returns the grey text shown after what the user has typed: the
// arguments of the command still to come, as redis-cli shows them. Each
// word typed after the command consumes one word of the hint, until an
// optional part ("[...]") is reached, which stays. It returns "" when the
// line names no known command.
func hint(line string) string {
	args, err := resp.SplitArgs(line)
	if err != nil || len(args) == 0 {
		return ""
	}
	sp, ok := spec.Lookup([]byte(args[0]))
	if !ok {
		return ""
	}
	typed := len(args) - 1
	if sub := subcommand(sp, args[1:]); sub != nil {
		sp = sub
		typed--
	}
	h := sp.Args
	for typed > 0 && h != "" && h[0] != '[' {
		if h[0] == ' ' {
			typed--
		}
		h = h[1:]
	}
	if h == "" {
		return ""
	}
	if !endsInSpace(line) {
		h = " " + h
	}
	return h
}

// endsInSpace reports whether s ends in a byte that separates arguments.
func endsInSpace(s string) bool {
	return s != "" && strings.IndexByte(" \t\n\v\f\r", s[len(s)-1]) >= 0
}

// completer completes command names, and help topics after "help", in the
// case the user started typing in.
type completer struct{}

// Do implements readline.AutoCompleter: candidates are the rest of each
// word that starts with what is typed before the cursor.
func (completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	fields := strings.Fields(before)
	spaced := endsInSpace(before)
	var word string
	var candidates []string
	switch {
	case len(fields) == 0 || len(fields) == 1 && !spaced:
		if len(fields) == 1 {
			word = fields[0]
		}
		candidates = commandNames()
		candidates = append(candidates, "help", "quit", "exit", "clear")
	case strings.EqualFold(fields[0], "help") && (len(fields) == 1 || len(fields) == 2 && !spaced):
		if len(fields) == 2 {
			word = fields[1]
		}
		candidates = commandNames()
		for _, g := range groups() {
			candidates = append(candidates, "@"+g)
		}
	default:
		return nil, 0
	}
	lower := word == strings.ToLower(word)
	var out [][]rune
	for _, c := range candidates {
		if len(c) >= len(word) && strings.EqualFold(c[:len(word)], word) {
			if lower {
				c = strings.ToLower(c)
			}
			out = append(out, []rune(c[len(word):]+" "))
		}
	}
	return out, len([]rune(word))
}

// commandNames returns every top-level command name in upper case.
func commandNames() []string {
	specs := spec.All()
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = strings.ToUpper(sp.Name)
	}
	return names
}
