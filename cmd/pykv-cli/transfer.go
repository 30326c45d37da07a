package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/kvjson"
	"github.com/pykv/pykv/internal/plural"
	"github.com/pykv/pykv/internal/progress"
	"github.com/pykv/pykv/reply"
)

// transfer is what --export, --import and --backup need: the client,
// where the summary and the errors go, and the clock of expiries.
type transfer struct {
	c      *client.Client
	addr   string
	stdin  io.Reader
	stdout io.Writer
	out    io.Writer // the summary of --import and --backup
	errOut io.Writer // errors, --export's summary, the progress bar's terminal
	now    func() time.Time
	quiet  bool // no progress bar even on a terminal
}

// exportFile streams EXPORT into path, or standard output for "-": to
// path+".tmp", fsynced and renamed once whole, so that a file named path
// is always a whole export. It returns the exit code.
func (x *transfer) exportFile(ctx context.Context, path string) int {
	var w io.Writer = x.stdout
	var f *os.File
	tmp := path + ".tmp"
	if path != "-" {
		var err error
		if f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			fmt.Fprintf(x.errOut, "pykv-cli: --export: %v (a .tmp left by an interrupted export can be removed)\n", err)
			return 1
		}
		w = f
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(x.errOut, "pykv-cli: --export: "+format+"\n", args...)
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
		return 1
	}
	start := time.Now()
	st, err := x.export(ctx, w)
	if err != nil {
		return fail("%v", err)
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return fail("fsync %s: %v", tmp, err)
		}
		if err := f.Close(); err != nil {
			return fail("close %s: %v", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fail("%v", err)
		}
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	name := path
	if path == "-" {
		name = "standard output"
	}
	fmt.Fprintf(x.errOut, "exported %s as of seq %d to %s (%s) in %s\n",
		plural.Count(st.lines, "key"), st.seq, name, plural.Count(st.bytes, "byte"), time.Since(start).Round(time.Millisecond))
	return 0
}

// exportStats is what an export wrote.
type exportStats struct {
	seq, lines uint64
	bytes      int64
}

// export sends EXPORT and copies its lines to w as they come: memory
// holds one chunk of the stream at a time.
func (x *transfer) export(ctx context.Context, w io.Writer) (exportStats, error) {
	var st exportStats
	s, first, err := x.c.Stream(ctx, "EXPORT")
	if err != nil {
		return st, errors.New(describe(err, x.addr))
	}
	defer s.Close()
	if first.IsError() {
		return st, fmt.Errorf("the server refused EXPORT: %s", first.Code+" "+first.Msg)
	}
	var keys uint64
	if _, err := fmt.Sscanf(string(first.Bytes), "EXPORT %d %d", &st.seq, &keys); err != nil || first.Kind != reply.KindStatus {
		return st, fmt.Errorf("unexpected reply to EXPORT: %s", first)
	}
	bar := progress.NewCount(fmt.Sprintf("exporting seq %d", st.seq), x.quiet)
	defer bar.Done()
	bw := bufio.NewWriterSize(w, 256<<10)
	for {
		r, err := s.Next(ctx)
		if err != nil {
			return st, fmt.Errorf("after %s: %s", plural.Count(st.lines, "line"), describe(err, x.addr))
		}
		switch r.Kind {
		case reply.KindBytes:
			if _, err := bw.Write(r.Bytes); err != nil {
				return st, fmt.Errorf("write: %w", err)
			}
			st.lines += uint64(bytes.Count(r.Bytes, []byte{'\n'}))
			st.bytes += int64(len(r.Bytes))
			bar.Set(int64(st.lines), int64(keys))
		case reply.KindInt:
			if uint64(r.Int) != st.lines {
				return st, fmt.Errorf("the server counted %d lines, %d arrived", r.Int, st.lines)
			}
			if err := bw.Flush(); err != nil {
				return st, fmt.Errorf("write: %w", err)
			}
			return st, nil
		case reply.KindError:
			return st, fmt.Errorf("the server: %s %s", r.Code, r.Msg)
		default:
			return st, fmt.Errorf("unexpected reply in EXPORT's stream: %s", r)
		}
	}
}

// Bounds of an import's batches: the SETs of one pipeline.
const (
	importBatchKeys  = 1000
	importBatchBytes = 4 << 20
	// maxImportLine is the longest line read whole: a key and a value of
	// the default maximum sizes, every byte escaped as \u00XX.
	maxImportLine = 6*(64<<10+64<<20) + 1<<10
	// maxReported is how many bad lines are named one by one.
	maxReported = 20
)

// importStats is what an import did.
type importStats struct {
	lines, imported, expired, failed int
}

// importFile reads export lines from path, or standard input for "-",
// and writes them in pipelined batches of SET key value [PXAT ms]. A
// line that cannot be read or is refused is reported with its number
// and skipped; a failed connection stops the import. It returns the
// exit code: 1 when any line failed.
func (x *transfer) importFile(ctx context.Context, path string) int {
	var r io.Reader = x.stdin
	total := int64(-1)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(x.errOut, "pykv-cli: --import: %v\n", err)
			return 1
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			total = fi.Size()
		}
		r = f
	}
	start := time.Now()
	st, err := x.importLines(ctx, r, total)
	summary := fmt.Sprintf("imported %s, skipped %s already expired, %s failed (of %s) in %s",
		plural.Count(st.imported, "key"), plural.Count(st.expired, "key"),
		plural.Count(st.failed, "line"), plural.Count(st.lines, "line"), time.Since(start).Round(time.Millisecond))
	if err != nil {
		fmt.Fprintf(x.errOut, "pykv-cli: --import stopped: %v\n", err)
		fmt.Fprintln(x.out, summary)
		return 1
	}
	fmt.Fprintln(x.out, summary)
	if st.failed > 0 {
		return 1
	}
	return 0
}

// countingReader counts the bytes read through it, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// importLines is importFile's work on r, of total bytes (-1: unknown).
func (x *transfer) importLines(ctx context.Context, r io.Reader, total int64) (importStats, error) {
	var st importStats
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<20)
	bar := progress.New("importing", x.quiet)
	defer bar.Done()
	bad := func(line int, format string, args ...any) {
		st.failed++
		if st.failed <= maxReported {
			fmt.Fprintf(x.errOut, "line %d: "+format+"\n", append([]any{line}, args...)...)
		} else if st.failed == maxReported+1 {
			fmt.Fprintln(x.errOut, "(more failed lines are counted, not shown)")
		}
	}
	b := &importBatch{p: x.c.Pipeline()}
	send := func() error {
		if err := b.send(ctx, &st, bad); err != nil {
			return fmt.Errorf("%s (at line %d)", describe(err, x.addr), st.lines)
		}
		bar.Set(cr.n-int64(br.Buffered()), total)
		return nil
	}
	for {
		line, tooLong, err := readLine(br, maxImportLine)
		if len(line) > 0 || tooLong {
			st.lines++
			if tooLong {
				bad(st.lines, "longer than %d bytes", maxImportLine)
			} else if l, derr := kvjson.DecodeLine(line); errors.Is(derr, kvjson.ErrBlank) {
				// skipped, but counted: line numbers are the file's
			} else if derr != nil {
				bad(st.lines, "%v", derr)
			} else if l.ExpireAtMs != 0 && l.ExpireAtMs <= x.now().UnixMilli() {
				st.expired++
			} else {
				b.add(st.lines, l)
				if b.full() {
					if err := send(); err != nil {
						return st, err
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read: %w (after line %d)", err, st.lines)
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
	}
	return st, send()
}

// readLine reads the next line, its '\n' included; a line longer than
// max is read to its end, keeping nothing, and reported as tooLong. The
// line may alias br's buffer until the next read.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if !full && len(buf) == 0 && !tooLong {
			return chunk, false, err // the common case: the line is in br's buffer whole
		}
		if len(buf)+len(chunk) > max {
			tooLong, buf = true, buf[:0]
		} else if !tooLong {
			buf = append(buf, chunk...)
		}
		if !full {
			return buf, tooLong, err
		}
	}
}

// importBatch is one pipeline of the lines read, in the file's order:
// each run of lines without an expiry is one MSET, a line with one is
// SET key value PXAT ms.
type importBatch struct {
	p     *client.Pipeline
	cmds  []*importCmd
	open  *importCmd // the MSET being filled, nil when none
	keys  int
	bytes int
}

// importCmd is one command of a batch and the line of each of its keys.
type importCmd struct {
	args  []any
	lines []int
}

func (b *importBatch) add(line int, l kvjson.Line) {
	if l.ExpireAtMs != 0 {
		b.open = nil
		b.cmds = append(b.cmds, &importCmd{args: []any{"SET", l.Key, l.Value, "PXAT", strconv.FormatInt(l.ExpireAtMs, 10)}, lines: []int{line}})
	} else {
		if b.open == nil {
			b.open = &importCmd{args: []any{"MSET"}}
			b.cmds = append(b.cmds, b.open)
		}
		b.open.args = append(b.open.args, l.Key, l.Value)
		b.open.lines = append(b.open.lines, line)
	}
	b.keys++
	b.bytes += len(l.Key) + len(l.Value) + 32
}

func (b *importBatch) full() bool {
	return b.keys >= importBatchKeys || b.bytes >= importBatchBytes
}

// send runs the batch and counts each line imported or failed. An MSET
// refused (a key or value over the server's limits) wrote nothing, being
// atomic: its lines are sent again one SET each, to find the ones at
// fault. An error is the connection's; the lines of the batch not
// answered by then are not counted.
func (b *importBatch) send(ctx context.Context, st *importStats, bad func(int, string, ...any)) error {
	cmds := b.cmds
	b.cmds, b.open, b.keys, b.bytes = nil, nil, 0, 0
	if len(cmds) == 0 {
		return nil
	}
	res := make([]*client.Result[reply.Reply], len(cmds))
	for i, c := range cmds {
		res[i] = b.p.Do(ctx, c.args...)
	}
	if err := connError(b.p.Exec(ctx)); err != nil {
		return err
	}
	var retry []*importCmd
	for i, c := range cmds {
		rep, _ := res[i].Result()
		switch {
		case rep.IsError() && c.args[0] == "MSET" && len(c.lines) > 1:
			for j, line := range c.lines {
				retry = append(retry, &importCmd{args: []any{"SET", c.args[1+2*j], c.args[2+2*j]}, lines: []int{line}})
			}
		case rep.IsError():
			bad(c.lines[0], "refused: %s %s", rep.Code, rep.Msg)
		default:
			st.imported += len(c.lines)
		}
	}
	if len(retry) > 0 {
		b.cmds = retry
		return b.send(ctx, st, bad)
	}
	return nil
}

// connError returns err unless it is only a command's error reply (the
// connection is fine; the reply is counted with its line).
func connError(err error) error {
	var e *client.Error
	if errors.As(err, &e) {
		return nil
	}
	return err
}

// backupDir sends BACKUP dir, dir made absolute against the working
// directory (the server resolves a relative path against its own), and
// prints where and as of which seq the copy is.
func (x *transfer) backupDir(ctx context.Context, dir string) int {
	abs, err := filepath.Abs(dir)
	if err != nil {
		fmt.Fprintf(x.errOut, "pykv-cli: --backup: %v\n", err)
		return 2
	}
	rep, err := x.c.Do(ctx, "BACKUP", abs).Result()
	if rep.Kind == 0 {
		fmt.Fprintln(x.errOut, describe(err, x.addr))
		return 1
	}
	if rep.IsError() {
		fmt.Fprintf(x.errOut, "pykv-cli: --backup: %s %s\n", rep.Code, rep.Msg)
		return 1
	}
	f := map[string]reply.Reply{}
	for i := 0; i+1 < len(rep.Array); i += 2 {
		f[string(rep.Array[i].Bytes)] = rep.Array[i+1]
	}
	how := "copied"
	if f["linked"].Int == 1 {
		how = "hard-linked"
	}
	fmt.Fprintf(x.out, "backup of seq %d in %s: %s, snapshot %s (%s), in %s\n",
		f["seq"].Int, f["path"].Bytes, plural.Count(f["keys"].Int, "key"), how,
		plural.Count(f["bytes"].Int, "byte"), (time.Duration(f["duration_ms"].Int) * time.Millisecond).String())
	return 0
}

// mode names the one of --export, --import, --backup, --scan, --bigkeys,
// --stat, --latency and --latency-history given, or "" for none; more
// than one is a usage error.
func (o *options) mode() (string, error) {
	var set []string
	for _, m := range []struct {
		name string
		on   bool
	}{
		{"--export", o.export != ""}, {"--import", o.importFrom != ""}, {"--backup", o.backup != ""},
		{"--scan", o.scan}, {"--bigkeys", o.bigkeys}, {"--stat", o.stat},
		{"--latency", o.latency}, {"--latency-history", o.latencyHistory},
	} {
		if m.on {
			set = append(set, m.name)
		}
	}
	if len(set) > 1 {
		return "", fmt.Errorf("%s: give one at a time", strings.Join(set, " and "))
	}
	if len(set) == 0 {
		return "", nil
	}
	return set[0], nil
}
