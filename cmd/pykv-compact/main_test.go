package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	if code := run([]string{"-q", dir}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "in use") {
		t.Fatalf("in use: exit %d: %s", code, errOut.String())
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
