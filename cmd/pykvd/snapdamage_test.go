package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/snapshot"
)

// TestDamagedSnapshotStopsStart (invariant 3, through the daemon): a bit
// flipped in a real daemon's snapshot, in its records, in its index (which
// start-up checks in the pass that loads it) or in its footer, makes the
// next start exit 1 with an error naming the file and an offset, whatever the keys
// loaded before the damage was found; with the file put back, the daemon
// starts and has every key.
func TestDamagedSnapshotStopsStart(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	c := dialNative(t, d.Addr())
	for i := range 200 {
		converse(t, c, []step{{[]string{"SET", fmt.Sprintf("key-%03d", i), strings.Repeat("v", i%50)}, "OK"}})
	}
	if r := c.do("COMPACT"); r.IsError() {
		t.Fatalf("COMPACT: %v", r)
	}
	if code := d.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	snaps, err := filepath.Glob(filepath.Join(d.DataDir(), "*"+snapshot.Ext))
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots in %s: %v %v", d.DataDir(), snaps, err)
	}
	path := snaps[0]
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		at   int
	}{
		{"record", snapshot.HeaderSize + 40},
		{"index", len(good) - snapshot.FooterSize - 10},
		{"footer", len(good) - 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]byte(nil), good...)
			bad[tc.at] ^= 0x10
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(path, good, 0o600)
			_, stderr, code := runBinary(t, t.TempDir(), "--data-dir", d.DataDir(),
				"--native-addr", freeAddr(t), "--resp-addr", freeAddr(t), "--http-addr", "")
			if code != 1 || !strings.Contains(stderr, path) || !strings.Contains(stderr, "offset") || !strings.Contains(stderr, "level=ERROR") {
				t.Errorf("byte %d flipped: exit code %d, want 1 and an error naming %s and an offset; stderr:\n%s", tc.at, code, path, stderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("pykvd panicked:\n%s", stderr)
			}
		})
	}
	d.Restart()
	c = dialNative(t, d.Addr())
	converse(t, c, []step{{[]string{"DBSIZE"}, "(integer) 200"}, {[]string{"GET", "key-199"}, `"` + strings.Repeat("v", 199%50) + `"`}})
}
