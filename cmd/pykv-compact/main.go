// Command pykv-compact merges a stopped pykv data directory into one
// snapshot: the housekeeper's merge, offline, with progress on a terminal.
// It refuses a directory that a running pykvd holds.
//
// Exit codes: 0 done, 1 the merge failed, 2 usage error or the directory is
// in use.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

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
	if err != nil {
		fmt.Fprintf(stderr, "pykv-compact: %v\n", err)
		if errors.Is(err, vfs.ErrLocked) {
			return 2
		}
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
	fmt.Fprintf(stdout, "%s: merged %d files into %s: %d keys, %d expired dropped, %d -> %d bytes (%d reclaimed) in %s\n",
		dir, st.Files, st.Snapshot, st.Keys, st.Expired, st.BytesRead, st.BytesWritten, st.Reclaimed,
		time.Since(start).Round(time.Millisecond))
	return 0
}
