package testdaemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
	dir  string // temporary directory of the binary, removed by Main
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

func buildBinary() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed on PATH to build pykvd: %w", err)
	}
	dir, err := os.MkdirTemp("", "pykvd-e2e-")
	if err != nil {
		return "", err
	}
	build.dir = dir
	bin := filepath.Join(dir, "pykvd")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// The working directory is the test's package directory, inside the
	// module, so pkg resolves to this checkout.
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "-ldflags", "-X main.version="+Version, pkg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
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
