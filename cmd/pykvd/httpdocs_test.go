package main

import (
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestHTTPExamplesRunTopToBottom runs the shell examples of docs/http.md's
// Endpoints section, and those of the /docs/curl page, in order against a
// fresh daemon, each with curl -f: an example that fails (a 409 because
// an earlier one set the same key, a file it needs and no example made)
// fails here. The /docs/curl page's <pre> blocks must wrap, not scroll.
func TestHTTPExamplesRunTopToBottom(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	doc, err := os.ReadFile("../../docs/http.md")
	if err != nil {
		t.Fatal(err)
	}
	_, endpoints, _ := strings.Cut(string(doc), "\n## Endpoints\n")
	endpoints, _, _ = strings.Cut(endpoints, "\n## Errors\n")
	var mdBlocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(endpoints, -1) {
		mdBlocks = append(mdBlocks, m[1])
	}

	httpAddr := freeAddr(t)
	page := func(t *testing.T) []string {
		resp, err := http.Get("http://" + httpAddr + "/docs/curl")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !regexp.MustCompile(`pre \{[^}]*white-space: pre-wrap`).Match(b) {
			t.Errorf("the /docs/curl page's pre blocks do not wrap (white-space: pre-wrap)")
		}
		var blocks []string
		for _, m := range regexp.MustCompile(`(?s)<pre>(.*?)</pre>`).FindAllSubmatch(b, -1) {
			blocks = append(blocks, html.UnescapeString(string(m[1])))
		}
		return blocks
	}
	for _, tc := range []struct {
		name   string
		blocks func(t *testing.T) []string
	}{
		{"docs/http.md", func(*testing.T) []string { return mdBlocks }},
		{"/docs/curl", page},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--http-addr", httpAddr}})
			// An example that feeds pykv-cli runs the one built from this
			// checkout, pointed at this daemon.
			cli := testdaemon.Tool(t, "pykv-cli") + " -p " + strconv.Itoa(d.NativePort()) + " "
			blocks := tc.blocks(t)
			if len(blocks) < 5 {
				t.Fatalf("found only %d example blocks", len(blocks))
			}
			dir := t.TempDir()
			for _, block := range blocks {
				for _, cmd := range shellLines(block) {
					line := strings.ReplaceAll(cmd, "localhost:7381", httpAddr)
					switch {
					case strings.HasPrefix(line, "curl ") && !strings.Contains(line, ">"):
						line = "curl -sSf -o /dev/null " + strings.TrimPrefix(line, "curl ")
					case strings.HasPrefix(line, "curl "):
						line = "curl -sSf " + strings.TrimPrefix(line, "curl ")
					case strings.HasPrefix(line, "pykv-cli "):
						line = cli + strings.TrimPrefix(line, "pykv-cli ")
					}
					sh := exec.Command("bash", "-c", line)
					sh.Dir = dir
					if out, err := sh.CombinedOutput(); err != nil {
						t.Errorf("example %q failed: %v\n%s", cmd, err, out)
					}
				}
			}
		})
	}
}

// shellLines splits a block into its commands, joining lines continued
// with a backslash.
func shellLines(block string) []string {
	var cmds []string
	var cur strings.Builder
	for _, l := range strings.Split(block, "\n") {
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			continue
		}
		cur.WriteString(l)
		if s := strings.TrimSpace(cur.String()); s != "" {
			cmds = append(cmds, s)
		}
		cur.Reset()
	}
	return cmds
}
