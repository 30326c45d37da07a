// Command pykv-compact merges a stopped pykv data directory into one
// snapshot: the housekeeper's merge, offline, with progress on a terminal.
// It refuses a directory that a running pykvd holds: "DIR is held by a
// running pykvd (pid N): stop it first".
//
// It reports the files' bytes before and after, and what the merge
// reclaimed, or that it grew them: a merge of a log with little dead data
// writes a snapshot with an index section, which can be larger than the
// segments it replaces.
//
// Exit codes: 0 done, 1 the merge failed, 2 usage error, 3 the directory is
// held by a running process (dirlock.ExitHeld).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pykv/pykv/internal/dirlock"
	"github.com/pykv/pykv/internal/plural"
	"github.com/pykv/pykv/internal/progress"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("pykv-compact", flag.ContinueOnError)
	fl.SetOutput(stderr)
	quiet := fl.Bool("q", false, "no progress bar")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pykv-compact [flags] DIR\n\nMerge a stopped pykv data directory into one snapshot.\n\nFlags:\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	dir := fl.Arg(0)
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(stderr, "pykv-compact: %v\n", err)
		return 2
	}
	bar := progress.New("merging "+dir, *quiet)
	db, err := storage.Open(dir, storage.Options{
		ExpiryInterval: -1, NoHousekeeper: true, MergeProgress: bar.Set,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if errors.Is(err, vfs.ErrLocked) {
		fmt.Fprintf(stderr, "pykv-compact: %s\n", dirlock.Held(dir))
		return dirlock.ExitHeld
	}
	if err != nil {
		fmt.Fprintf(stderr, "pykv-compact: %v\n", err)
		return 1
	}
	start := time.Now()
	st, err := db.Merge()
	bar.Done()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "pykv-compact: %v\n", err)
		return 1
	}
	if st.Snapshot == "" {
		fmt.Fprintf(stdout, "%s: nothing to merge\n", dir)
		return 0
	}
	fmt.Fprintf(stdout, "%s: merged %s into %s: %s, %d expired dropped, %s in %s\n",
		dir, plural.Count(st.Files, "file"), st.Snapshot, plural.Count(st.Keys, "key"), st.Expired,
		sizes(st.BytesRead, st.BytesWritten), time.Since(start).Round(time.Millisecond))
	return 0
}

// sizes reports a merge's bytes before and after: "4096 -> 1024 bytes
// (3072 reclaimed)", or "(grew by 19)" when the merge wrote more than it
// read, never a negative reclaim.
func sizes(before, after int64) string {
	s := fmt.Sprintf("%d -> %s", before, plural.Count(after, "byte"))
	switch {
	case after > before:
		return s + fmt.Sprintf(" (grew by %d)", after-before)
	case after < before:
		return s + fmt.Sprintf(" (%d reclaimed)", before-after)
	}
	return s + " (same size)"
}
