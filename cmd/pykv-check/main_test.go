package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/storage"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// makeDir writes a data directory: with merge, a snapshot plus a segment.
func makeDir(t *testing.T, merge bool) string {
	t.Helper()
	dir := t.TempDir()
	db, err := storage.Open(dir, storage.Options{Logger: quiet(), SegmentSize: 4096, NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := db.Set([]byte(fmt.Sprintf("key-%d", i%60)), []byte(fmt.Sprintf("value-%d", i)), storage.SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if merge {
		if _, err := db.Merge(); err != nil {
			t.Fatal(err)
		}
		db.Set([]byte("after"), []byte("merge"), storage.SetOptions{})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func check(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"-q"}, args...), &out, &errOut)
	return code, out.String() + errOut.String()
}

func files(t *testing.T, dir, ext string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	return m
}

func TestHealthyDirectory(t *testing.T) {
	for _, merge := range []bool{false, true} {
		dir := makeDir(t, merge)
		code, out := check(t, dir)
		if code != 0 || !strings.Contains(out, "0 problems") {
			t.Fatalf("merge=%v: exit %d\n%s", merge, code, out)
		}
	}
}

func TestBitFlipInSegmentNamed(t *testing.T) {
	dir := makeDir(t, false)
	seg := files(t, dir, segment.Ext)[0]
	b, _ := os.ReadFile(seg)
	at := segment.HeaderSize + 100
	b[at] ^= 0x10
	os.WriteFile(seg, b, 0o644)
	code, out := check(t, dir)
	if code != 1 || !strings.Contains(out, "DAMAGE") || !strings.Contains(out, seg) || !strings.Contains(out, "offset") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, err := storage.Open(dir, storage.Options{Logger: quiet()}); err == nil {
		t.Fatal("start-up accepted a damaged segment")
	}
	// --repair alone does not cut damage; --repair --force does.
	if code, out := check(t, "--repair", dir); code != 1 {
		t.Fatalf("repair without force: exit %d\n%s", code, out)
	}
	if code, out := check(t, "--repair", "--force", dir); code != 0 || !strings.Contains(out, ".broken") {
		t.Fatalf("repair --force: exit %d\n%s", code, out)
	}
}

func TestTornTailRepaired(t *testing.T) {
	dir := makeDir(t, false)
	segs := files(t, dir, segment.Ext)
	newest := segs[len(segs)-1]
	f, _ := os.OpenFile(newest, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(bytes.Repeat([]byte{0xde, 0xad}, 150)) // half a record's garbage, as a power loss may leave
	f.Close()
	code, out := check(t, dir)
	if code != 0 || !strings.Contains(out, "torn tail") {
		t.Fatalf("torn tail: exit %d\n%s", code, out)
	}
	code, out = check(t, "--repair", dir)
	if code != 0 || !strings.Contains(out, "cut "+newest) {
		t.Fatalf("repair: exit %d\n%s", code, out)
	}
	if kept, err := os.ReadFile(newest + ".broken"); err != nil || len(kept) != 300 {
		t.Fatalf(".broken: %d bytes, %v", len(kept), err)
	}
	if _, out := check(t, dir); strings.Contains(out, "torn tail") {
		t.Fatalf("still torn after repair:\n%s", out)
	}
}

// TestSnapshotCorruptionNamed flips bytes at random offsets of a snapshot's
// records, index and footer: pykv-check names the file and the offset each
// time, and start-up refuses.
func TestSnapshotCorruptionNamed(t *testing.T) {
	dir := makeDir(t, true)
	snap := files(t, dir, snapshot.Ext)[0]
	good, _ := os.ReadFile(snap)
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 30; i++ {
		at := rng.Intn(len(good))
		bad := append([]byte(nil), good...)
		bad[at] ^= byte(1 << rng.Intn(8))
		os.WriteFile(snap, bad, 0o644)
		code, out := check(t, dir)
		if code != 1 || !strings.Contains(out, snap) || !strings.Contains(out, "offset") {
			t.Fatalf("flip at %d: exit %d\n%s", at, code, out)
		}
		if db, err := storage.Open(dir, storage.Options{Logger: quiet()}); err == nil {
			db.Close()
			t.Fatalf("flip at %d: start-up accepted a damaged snapshot", at)
		}
	}
}

func TestRefusesDirectoryInUse(t *testing.T) {
	dir := makeDir(t, false)
	db, err := storage.Open(dir, storage.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, out := check(t, dir)
	want := fmt.Sprintf("pykv-check: %s is held by a running ", dir)
	pid := fmt.Sprintf("(pid %d): stop it first\n", os.Getpid())
	if code != 3 || !strings.HasPrefix(out, want) || !strings.HasSuffix(out, pid) || strings.Contains(out, "DAMAGE") {
		t.Fatalf("exit %d, output %q; want 3 and %q...%q, no DAMAGE", code, out, want, pid)
	}
	code, out = check(t, "--repair", dir)
	if code != 3 || !strings.HasPrefix(out, want) {
		t.Fatalf("--repair: exit %d, output %q; want 3 and %q...", code, out, want)
	}
}

// TestSummaryPlurals: one of a thing is said in the singular.
func TestSummaryPlurals(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(dir, storage.Options{Logger: quiet(), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("k"), []byte("v"), storage.SetOptions{})
	db.Close()
	code, out := check(t, dir)
	if code != 0 || !strings.Contains(out, "snapshot none (0 keys), 1 segment (1 record), last seq 1, ") ||
		!strings.HasSuffix(out, " bytes checked, 0 problems\n") {
		t.Fatalf("exit %d, summary %q", code, out)
	}
}

func TestUsage(t *testing.T) {
	if code, _ := check(t); code != 2 {
		t.Fatalf("no directory: exit %d", code)
	}
	if code, _ := check(t, "--force", "x"); code != 2 {
		t.Fatalf("--force without --repair: exit %d", code)
	}
}

// TestHostileFileNameNamed: a file under a name pykv cannot have written
// is reported as damage naming it (exit 1), with and without --repair,
// and a foreign name is listed as ignored without failing the check.
func TestHostileFileNameNamed(t *testing.T) {
	dir := makeDir(t, false)
	foreign := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(foreign, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := check(t, dir); code != 0 || !strings.Contains(out, "ignored (not a pykv file; pykvd leaves it alone): "+foreign) {
		t.Fatalf("foreign name: exit %d\n%s", code, out)
	}
	hostile := filepath.Join(dir, "2147483648.log")
	if err := os.WriteFile(hostile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{dir}, {"--repair", "--force", dir}} {
		if code, out := check(t, args...); code != 1 || !strings.Contains(out, hostile) || !strings.Contains(out, "out of range") {
			t.Fatalf("%v: exit %d, want 1 naming %s\n%s", args, code, hostile, out)
		}
	}
}
