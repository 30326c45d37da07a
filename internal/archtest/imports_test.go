// Package archtest checks the import rules of docs/architecture.md's
// layers: which packages may depend on which. It has no code of its own.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pykv/pykv/"

// engine is every package of the storage engine and the command table
// above it: what a codec, a client or a leaf must never compile. (The
// command metadata, command/spec, is a leaf of its own.)
var engine = []string{"command", "storage", "snapshot", "segment", "index", "vfs"}

// deps returns the project's packages that pkg depends on, directly or not.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var mine []string
	for _, p := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(p, module); ok && rest != pkg {
			mine = append(mine, rest)
		}
	}
	return mine
}

// TestImportRules: leaves import nothing of the project, and the codecs,
// the client library, pykv-cli and pykv-bench depend on no engine package;
// bench/plot reads files and imports nothing of the project.
func TestImportRules(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		allowed   []string // nil: nothing of the project
		forbidden []string
	}{
		{pkg: "reply"},
		{pkg: "internal/redisfmt"},
		{pkg: "internal/glob"},
		{pkg: "internal/kvjson"},
		{pkg: "internal/gcpace"},
		{pkg: "vfs"},
		{pkg: "index"},
		{pkg: "segment", allowed: []string{"vfs"}},
		{pkg: "netproto", forbidden: engine},
		{pkg: "netproto/resp", forbidden: engine},
		{pkg: "client", forbidden: engine},
		{pkg: "command/spec", allowed: []string{"reply"}},
		{pkg: "cmd/pykv-cli", forbidden: engine},
		{pkg: "cmd/pykv-bench", forbidden: engine},
		{pkg: "bench/plot"},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			for _, d := range deps(t, tc.pkg) {
				bad := tc.forbidden == nil && !contains(tc.allowed, d)
				if contains(tc.forbidden, d) {
					bad = true
				}
				if bad {
					t.Errorf("%s depends on %s", tc.pkg, d)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
