package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/storage"
)

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	opts := storage.Options{Logger: slog.New(slog.DiscardHandler), SegmentSize: 4096, NoHousekeeper: true}
	db, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		db.Set([]byte(fmt.Sprintf("key-%d", i%50)), []byte(fmt.Sprintf("value-%d", i)), storage.SetOptions{})
	}
	db.Close()
	var out, errOut bytes.Buffer
	if code := run([]string{"-q", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "50 keys") {
		t.Fatalf("summary: %s", out.String())
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "*"+snapshot.Ext))
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segment.Ext))
	if len(snaps) != 1 || len(segs) > 1 {
		t.Fatalf("after compaction: snapshots %v, segments %v", snaps, segs)
	}
	if rep := storage.Check(dir, storage.Options{}, nil); len(rep.Problems) > 0 {
		t.Fatal(rep.Problems)
	}
	db, err = storage.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 450; i < 500; i++ {
		v, err := db.Get([]byte(fmt.Sprintf("key-%d", i%50)))
		if err != nil || string(v) != fmt.Sprintf("value-%d", i) {
			t.Fatalf("key-%d: %q %v", i%50, v, err)
		}
	}
	// A directory in use is refused.
	out.Reset()
	errOut.Reset()
	want := fmt.Sprintf("pykv-compact: %s is held by a running ", dir)
	pid := fmt.Sprintf("(pid %d): stop it first\n", os.Getpid())
	if code := run([]string{"-q", dir}, &out, &errOut); code != 3 ||
		!strings.HasPrefix(errOut.String(), want) || !strings.HasSuffix(errOut.String(), pid) {
		t.Fatalf("held: exit %d, stderr %q; want 3 and %q...%q", code, errOut.String(), want, pid)
	}
}

// TestSizes: a merge's figures are its sizes before and after, and never
// a negative reclaim.
func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		before, after int64
		want          string
	}{
		{4096, 1024, "4096 -> 1024 bytes (3072 reclaimed)"},
		{100, 119, "100 -> 119 bytes (grew by 19)"},
		{100, 100, "100 -> 100 bytes (same size)"},
		{2, 1, "2 -> 1 byte (1 reclaimed)"},
	} {
		if got := sizes(tc.before, tc.after); got != tc.want {
			t.Errorf("sizes(%d, %d) = %q, want %q", tc.before, tc.after, got, tc.want)
		}
	}
}

// TestCompactOneKeySummary merges a directory of one key, whose snapshot
// (with its index section and footer) is larger than the log it replaces:
// the summary says "grew by" in the singular where there is one.
func TestCompactOneKeySummary(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(dir, storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("k"), []byte("v"), storage.SetOptions{})
	db.Close()
	var out, errOut bytes.Buffer
	if code := run([]string{"-q", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	got := out.String()
	if !strings.Contains(got, ": merged 1 file into ") || !strings.Contains(got, ": 1 key, ") ||
		!regexp.MustCompile(` \d+ -> \d+ bytes \((grew by \d+|\d+ reclaimed)\) in `).MatchString(got) {
		t.Fatalf("summary %q", got)
	}
}

// TestHostileFileNameRefused: pykv-compact refuses a directory holding a
// file under a name pykv cannot have written, naming it, and exits 1.
func TestHostileFileNameRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(dir, storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("k"), []byte("v"), storage.SetOptions{})
	db.Close()
	hostile := filepath.Join(dir, "0000000000.snap")
	if err := os.WriteFile(hostile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-q", dir}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), hostile) {
		t.Fatalf("exit %d, want 1 naming %s: %s%s", code, hostile, out.String(), errOut.String())
	}
}
