package command

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/kvjson"
	"github.com/pykv/pykv/storage"
)

// engineTable opens a real engine in a temporary directory, with a clock
// the test moves, and a Table over it.
func engineTable(t *testing.T) (*Table, *storage.DB, *atomic.Int64, string) {
	t.Helper()
	var now atomic.Int64
	now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	dir := t.TempDir()
	db, err := storage.Open(dir, storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true,
		Clock: func() time.Time { return time.UnixMilli(now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db, Config{}), db, &now, dir
}

func execArgs(tab *Table, s *Session, args ...string) Reply {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return tab.Exec(s, argv)
}

// exportedLines decodes NDJSON into "key=value@expiry" strings, sorted.
func exportedLines(t *testing.T, b []byte) []string {
	t.Helper()
	var got []string
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		l, err := kvjson.DecodeLine(line)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%q=%q@%d", l.Key, l.Value, l.ExpireAtMs))
	}
	sort.Strings(got)
	return got
}

// TestExportStreamsOneSeq: EXPORT answers the seq and key count, then
// streams every key as of that seq, binary ones and expiries included,
// and none written after it, ending with the count of lines.
func TestExportStreamsOneSeq(t *testing.T) {
	tab, _, now, _ := engineTable(t)
	s := tab.NewSession()
	s.Native = true
	exp := now.Load() + 60_000
	for _, c := range [][]string{
		{"SET", "text", "hello\nworld"},
		{"SET", "bin\xff", "\x00\x01\xfe"},
		{"SET", "ttl", "v", "PXAT", fmt.Sprint(exp)},
		{"SET", "gone", "x"},
		{"DEL", "gone"},
	} {
		if r := execArgs(tab, s, c...); r.IsError() {
			t.Fatalf("%q: %s", c, r)
		}
	}
	r := execArgs(tab, s, "EXPORT")
	if r.String() != "EXPORT 5 3" || s.Stream == nil {
		t.Fatalf("EXPORT = %s (stream set: %v), want the status EXPORT 5 3 and a stream", r, s.Stream != nil)
	}
	execArgs(tab, s, "SET", "after", "x") // after the view: not in it
	stream := s.Stream
	s.Stream = nil
	var body []byte
	var replies []Reply
	stream(func(r Reply) error {
		replies = append(replies, r)
		if r.Kind == KindBytes {
			body = append(body, r.Bytes...)
		}
		return nil
	})
	last := replies[len(replies)-1]
	if last.Kind != KindInt || last.Int != 3 {
		t.Fatalf("the stream ends with %s, want (integer) 3", last)
	}
	want := []string{
		`"bin\xff"="\x00\x01\xfe"@0`,
		`"text"="hello\nworld"@0`,
		fmt.Sprintf(`"ttl"="v"@%d`, exp),
	}
	if got := exportedLines(t, body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("exported\n%v\nwant\n%v", got, want)
	}
}

// TestExportLinesSkipsExpired: a key whose expiry passed between the
// merge and the export is left out and counted; chunks hold whole lines.
func TestExportLinesSkipsExpired(t *testing.T) {
	tab, db, now, _ := engineTable(t)
	s := tab.NewSession()
	execArgs(tab, s, "SET", "soon", "v", "PX", "1000")
	big := strings.Repeat("v", 1000)
	for i := range 1000 {
		execArgs(tab, s, "SET", fmt.Sprintf("k%04d", i), big)
	}
	v, err := db.View()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	now.Add(1000)
	chunks := 0
	var body []byte
	st, err := ExportLines(v, now.Load(), func(chunk []byte) error {
		if !bytes.HasSuffix(chunk, []byte("\n")) || len(chunk) > ExportChunk+2<<10 {
			t.Errorf("a chunk of %d bytes not ending a line", len(chunk))
		}
		chunks++
		body = append(body, chunk...)
		return nil
	})
	if err != nil || st.Lines != 1000 || st.Expired != 1 || st.Bytes != int64(len(body)) || chunks < 3 {
		t.Fatalf("ExportLines: %+v, %v, %d chunks", st, err, chunks)
	}
	if got := exportedLines(t, body); len(got) != 1000 || strings.Contains(strings.Join(got, ""), "soon") {
		t.Fatalf("%d lines exported, the expired key among them: %v", len(got), strings.Contains(strings.Join(got, ""), "soon"))
	}
	stop := errors.New("client gone")
	n := 0
	if _, err := ExportLines(v, now.Load(), func([]byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("an emit failure: %v after %d chunks, want it returned after 1", err, n)
	}
}

// TestExportRefusals: EXPORT needs the native protocol and an engine
// that has views; a stream whose connection failed releases the view.
func TestExportRefusals(t *testing.T) {
	f := newFixture(t, Config{})
	f.s.Native = true
	if got := f.exec("EXPORT").String(); !strings.Contains(got, "not supported by this storage engine") {
		t.Errorf("EXPORT on a store without views: %s", got)
	}
	tab, db, _, dir := engineTable(t)
	s := tab.NewSession()
	execArgs(tab, s, "SET", "k", "v")
	if got := execArgs(tab, s, "EXPORT").String(); !strings.Contains(got, "native protocol only") || s.Stream != nil {
		t.Errorf("EXPORT over RESP: %s", got)
	}
	s.Native = true
	execArgs(tab, s, "EXPORT")
	s.Stream(func(Reply) error { return errors.New("connection failed") })
	execArgs(tab, s, "SET", "k2", "v")
	if _, err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
	if len(snaps) != 1 {
		t.Fatalf("after the stream failed and a merge: snapshots %v, want the new one only", snaps)
	}
}

// TestBackupCommand: BACKUP answers the absolute path, the seq and what
// it copied; the copy opens with every key; a used target is refused.
func TestBackupCommand(t *testing.T) {
	tab, _, _, _ := engineTable(t)
	s := tab.NewSession()
	execArgs(tab, s, "SET", "a", "1")
	execArgs(tab, s, "SET", "b", "2")
	target := filepath.Join(t.TempDir(), "backup")
	r := execArgs(tab, s, "BACKUP", target)
	if r.Kind != KindMap {
		t.Fatalf("BACKUP = %s", r)
	}
	got := map[string]Reply{}
	for i := 0; i+1 < len(r.Array); i += 2 {
		got[string(r.Array[i].Bytes)] = r.Array[i+1]
	}
	if string(got["path"].Bytes) != target || got["seq"].Int != 2 || got["keys"].Int != 2 || got["linked"].Int != 1 || got["bytes"].Int <= 0 {
		t.Fatalf("BACKUP = %s", r)
	}
	b, err := storage.Open(target, storage.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get([]byte("b")); err != nil || string(v) != "2" {
		t.Fatalf("b in the backup: %q, %v", v, err)
	}
	b.Close()
	if got := execArgs(tab, s, "BACKUP", target).String(); !strings.Contains(got, "ERR BACKUP: ") || !strings.Contains(got, "is not empty") {
		t.Errorf("BACKUP to a used directory: %s", got)
	}
	if got := execArgs(tab, s, "BACKUP", "").String(); !strings.Contains(got, "the path is empty") {
		t.Errorf("BACKUP with an empty path: %s", got)
	}
	if _, err := os.Stat(filepath.Join(target, "LOCK")); err != nil {
		t.Fatalf("the backup was not opened as a data directory: %v", err)
	}
}
