// Command pykv-check verifies a stopped pykv data directory: every CRC of
// every live file, the snapshot's index against its records, the seq order
// across files, and the DATASET file. It prints each problem with its file
// and offset, then a summary.
//
// With --repair it cuts a torn tail of the newest segment, and with
// --repair --force any damage in a segment, keeping the cut bytes beside
// the file in a .broken file.
//
// A directory that a running pykvd (or pykv-compact) holds is not checked:
// pykv-check says "DIR is held by a running pykvd (pid N): stop it first".
//
// Exit codes: 0 the directory is sound (a torn tail is reported but is not
// damage: pykvd cuts it at start), 1 damage found or repair failed, 2 usage
// error, 3 the directory is held by a running process (dirlock.ExitHeld).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pykv/pykv/internal/dirlock"
	"github.com/pykv/pykv/internal/plural"
	"github.com/pykv/pykv/internal/progress"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("pykv-check", flag.ContinueOnError)
	fl.SetOutput(stderr)
	repair := fl.Bool("repair", false, "cut a torn tail of the newest segment, keeping the cut bytes in a .broken file")
	force := fl.Bool("force", false, "with --repair: also cut damage in any segment (everything from the damage to the end of that file)")
	quiet := fl.Bool("q", false, "no progress bar")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pykv-check [flags] DIR\n\nVerify a stopped pykv data directory.\n\nFlags:\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 || (*force && !*repair) {
		fl.Usage()
		return 2
	}
	dir := fl.Arg(0)
	opts := storage.Options{}
	if *repair {
		done, err := storage.Repair(dir, opts, *force)
		for _, d := range done {
			fmt.Fprintln(stdout, d)
		}
		if errors.Is(err, vfs.ErrLocked) {
			fmt.Fprintf(stderr, "pykv-check: %s\n", dirlock.Held(dir))
			return dirlock.ExitHeld
		}
		if err != nil {
			fmt.Fprintf(stderr, "pykv-check: repair: %v\n", err)
			return 1
		}
		if len(done) == 0 {
			fmt.Fprintln(stdout, "nothing to repair")
		}
	}
	bar := progress.New("checking "+dir, *quiet)
	rep := storage.Check(dir, opts, bar.Set)
	bar.Done()
	if len(rep.Problems) == 1 && errors.Is(rep.Problems[0], vfs.ErrLocked) {
		// Not damage: nothing was checked.
		fmt.Fprintf(stderr, "pykv-check: %s\n", dirlock.Held(dir))
		return dirlock.ExitHeld
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "DAMAGE: %v\n", p)
	}
	if rep.Torn != nil {
		fmt.Fprintf(stdout, "torn tail (pykvd cuts it at start; --repair cuts it now): %v\n", rep.Torn)
	}
	for _, f := range rep.Obsolete {
		fmt.Fprintf(stdout, "obsolete file (pykvd removes it at start): %s\n", f)
	}
	for _, f := range rep.Ignored {
		fmt.Fprintf(stdout, "ignored (not a pykv file; pykvd leaves it alone): %s\n", f)
	}
	snap := "snapshot none"
	switch len(rep.Snapshots) {
	case 0:
	case 1:
		snap = "snapshot " + rep.Snapshots[0]
	default:
		snap = "snapshots " + strings.Join(rep.Snapshots, " ")
	}
	fmt.Fprintf(stdout, "%s: %s (%s), %s (%s), last seq %d, %s checked, %s\n",
		dir, snap, plural.Count(rep.Keys, "key"), plural.Count(rep.Segments, "segment"),
		plural.Count(rep.Records, "record"), rep.LastSeq, plural.Count(rep.Bytes, "byte"),
		plural.Count(len(rep.Problems), "problem"))
	if len(rep.Problems) > 0 {
		return 1
	}
	return 0
}
