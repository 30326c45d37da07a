package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestHostileFileNamesStopStart puts a file under a name pykv cannot have
// written into a real daemon's data directory (its own segment, moved
// there, or garbage beside it): the next start must exit 1 with an error
// naming the file, and must not panic. With the file moved back out the
// daemon starts and has its data.
func TestHostileFileNamesStopStart(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"SET", "k", "v"}, "OK"}})
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	segs, err := filepath.Glob(filepath.Join(d.DataDir(), "*.log"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segment in %s: %v", d.DataDir(), err)
	}
	seg := segs[len(segs)-1]
	for _, tc := range []struct {
		name string
		move bool // move the newest segment there (else write garbage)
	}{
		{"2147483648.log", true},
		{"2147483647.log", true},
		{"4294967295.log", false},
		{"0000000000.snap", false},
		{"00000000001.log", true},
		{"99999999999999999999999.snap", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(d.DataDir(), tc.name)
			if tc.move {
				if err := os.Rename(seg, path); err != nil {
					t.Fatal(err)
				}
				defer os.Rename(path, seg)
			} else {
				if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(path)
			}
			_, stderr, code := runBinary(t, t.TempDir(), "--data-dir", d.DataDir(),
				"--native-addr", freeAddr(t), "--resp-addr", freeAddr(t), "--http-addr", "")
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, path) || !strings.Contains(stderr, "level=ERROR") {
				t.Errorf("stderr does not log an error naming %s:\n%s", path, stderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("pykvd panicked:\n%s", stderr)
			}
		})
	}
	d.Restart()
	converse(t, dialNative(t, d.Addr()), []step{{[]string{"GET", "k"}, `"v"`}})
}
