package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestDocsListEveryCommand checks the Commands table of docs/protocol.md's
// RESP section against the daemon's COMMAND LIST and COMMAND INFO: a
// command added to the table without a line in the docs, or documented but
// gone, fails here.
func TestDocsListEveryCommand(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedCommands(t, string(text))

	d := testdaemon.Start(t, testdaemon.Options{})
	n := dialNative(t, d.Addr())
	var served []string
	for _, name := range n.do("COMMAND", "LIST").Array {
		served = append(served, string(name.Bytes))
		info := n.do("COMMAND", "INFO", string(name.Bytes))
		if len(info.Array) != 1 || len(info.Array[0].Array) != 10 {
			t.Fatalf("COMMAND INFO %s = %v", name.Bytes, info)
		}
		for _, sub := range info.Array[0].Array[9].Array {
			served = append(served, string(sub.Array[0].Bytes))
		}
	}
	// The Differences row states how many commands there are.
	m := regexp.MustCompile(`\| Commands \| about 240 \| the (\d+) of \[Commands\]`).FindStringSubmatch(string(text))
	if top := len(n.do("COMMAND", "LIST").Array); m == nil || m[1] != strconv.Itoa(top) {
		t.Errorf("docs/protocol.md's Differences row says %v commands; COMMAND LIST has %d", m, top)
	}
	for _, name := range served {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is served but not in docs/protocol.md's RESP Commands table", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(served, name) {
			t.Errorf("%s is in docs/protocol.md's RESP Commands table but not served", name)
		}
	}
}

// documentedCommands returns the commands of the Commands table under
// "## RESP", lower case as COMMAND LIST names them, subcommands as
// "container|sub", sorted.
func documentedCommands(t *testing.T, doc string) []string {
	t.Helper()
	_, resp, ok := strings.Cut(doc, "\n## RESP\n")
	if !ok {
		t.Fatal("docs/protocol.md has no RESP section")
	}
	_, table, ok := strings.Cut(resp, "\n### Commands\n")
	if !ok {
		t.Fatal("the RESP section has no Commands table")
	}
	table, _, _ = strings.Cut(table, "\n### ")
	// A command is `NAME`; its subcommands follow it in parentheses.
	entry := regexp.MustCompile("`([A-Z][A-Z-]*)`(?: \\(([^)]*)\\))?")
	sub := regexp.MustCompile("`([A-Z][A-Z-]*)`")
	var names []string
	for _, line := range strings.Split(table, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 4 || strings.HasPrefix(strings.TrimSpace(cols[1]), "---") || strings.TrimSpace(cols[1]) == "Group" {
			continue
		}
		for _, m := range entry.FindAllStringSubmatch(cols[2], -1) {
			name := strings.ToLower(m[1])
			names = append(names, name)
			for _, s := range sub.FindAllStringSubmatch(m[2], -1) {
				names = append(names, name+"|"+strings.ToLower(s[1]))
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no command found in the Commands table")
	}
	slices.Sort(names)
	return names
}
