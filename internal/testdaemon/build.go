package testdaemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// pkg is the import path of the daemon's main package.
const pkg = "github.com/pykv/pykv/cmd/pykvd"

// buildTimeout bounds the one build of a test run: a cold build of pykvd
// and its dependencies takes well under a minute on a small machine.
const buildTimeout = 3 * time.Minute

var build struct {
	once sync.Once
	dir  string // temporary directory of the binaries, removed by Main
	bin  string
	err  error

	toolsMu sync.Mutex
	tools   map[string]*tool // by command name, for Tool
}

// tool is one binary of cmd/ other than pykvd, built once by Tool.
type tool struct {
	once sync.Once
	bin  string
	err  error
}

// Binary returns the path of a pykvd built from this checkout, building it
// the first time it is called in the test process. The build runs `go
// build` (which must be on PATH) without -race, whatever the tests run
// with: the daemon is the thing under test, not the test's own code, and
// a race-instrumented daemon is several times slower. A failed build fails
// every test that asks, with the compiler's output.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.bin, build.err = buildBinary() })
	if build.err != nil {
		t.Fatalf("testdaemon: %v", build.err)
	}
	return build.bin
}

func buildBinary() (string, error) { return buildCmd(pkg, "pykvd") }

// Tool returns the path of another binary of this checkout's cmd/, such
// as "pykv-check", built the first time it is asked for in the test
// process, beside pykvd and the same way. A failed build fails t.
func Tool(t testing.TB, name string) string {
	t.Helper()
	build.toolsMu.Lock()
	if build.tools == nil {
		build.tools = map[string]*tool{}
	}
	tl := build.tools[name]
	if tl == nil {
		tl = &tool{}
		build.tools[name] = tl
	}
	build.toolsMu.Unlock()
	tl.once.Do(func() { tl.bin, tl.err = buildCmd(path.Dir(pkg)+"/"+name, name) })
	if tl.err != nil {
		t.Fatalf("testdaemon: %v", tl.err)
	}
	return tl.bin
}

// buildCmd builds the main package pkgPath into the run's temporary
// directory as name.
func buildCmd(pkgPath, name string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed on PATH to build %s: %w", name, err)
	}
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// The working directory is the test's package directory, inside the
	// module, so pkgPath resolves to this checkout.
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "-ldflags", "-X main.version="+Version, pkgPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkgPath, err, out)
	}
	return bin, nil
}

// binDir returns the run's temporary directory for binaries, making it
// on first use.
func binDir() (string, error) {
	build.toolsMu.Lock()
	defer build.toolsMu.Unlock()
	if build.dir == "" {
		dir, err := os.MkdirTemp("", "pykvd-e2e-")
		if err != nil {
			return "", err
		}
		build.dir = dir
	}
	return build.dir, nil
}

// Main runs a test package's tests and then removes the binary Binary
// built. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testdaemon.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}
