package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/kvjson"
)

// checkBinary builds pykv-check into a temporary directory.
func checkBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "github.com/pykv/pykv/cmd/pykv-check").CombinedOutput()
	if err != nil {
		t.Fatalf("go build pykv-check: %v\n%s", err, out)
	}
	return filepath.Join(dir, "pykv-check")
}

// dial returns a client of the daemon on port, closed by the cleanup.
func dial(t *testing.T, port int) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), PoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestExportImportRoundTrip: keys and values that are not UTF-8, text
// that needs escaping, and expiries go through --export and --import to
// another daemon unchanged; --export - writes the same lines to standard
// output.
func TestExportImportRoundTrip(t *testing.T) {
	pykvd, cli := buildBinaries(t)
	src, dst := startDaemon(t, pykvd, "--fsync", "no"), startDaemon(t, pykvd, "--fsync", "no")
	a, b := dial(t, src), dial(t, dst)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UnixMilli()
	keys := map[string]string{
		"plain":             "value",
		"bin\x00\xff\xfe":   "\x80\x00\x01",
		"quote\"back\\nl\n": "tab\there \u2028 é 😀",
		"ttl":               "expires",
		"empty value":       "",
		"":                  "the empty key",
	}
	for k, v := range keys {
		args := []any{"SET", k, v}
		if k == "ttl" {
			args = append(args, "PXAT", exp)
		}
		if err := a.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "dump.jsonl")
	_, stderr, code := runCLI(t, cli, "", "-p", strconv.Itoa(src), "--export", file)
	if code != 0 || !regexp.MustCompile(`^exported 6 keys as of seq 6 to .*dump.jsonl \(\d+ bytes\) in `).MatchString(stderr) {
		t.Fatalf("--export: exit %d, %s", code, stderr)
	}
	dump, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("the temporary file is left: %v", err)
	}
	if bytes.Count(dump, []byte("\n")) != 6 || !bytes.Contains(dump, []byte(`"key_base64":"YmluAP/+"`)) ||
		!bytes.Contains(dump, []byte(`{"key":"","value":"the empty key"}`)) ||
		!bytes.Contains(dump, []byte(fmt.Sprintf(`{"key":"ttl","value":"expires","expire_at_ms":%d}`, exp))) {
		t.Fatalf("the export:\n%s", dump)
	}
	for _, line := range bytes.SplitAfter(dump[:len(dump)-1], []byte("\n")) {
		l, err := kvjson.DecodeLine(line)
		if err != nil || keys[string(l.Key)] != string(l.Value) || (l.ExpireAtMs != 0) != (string(l.Key) == "ttl") {
			t.Fatalf("exported line %s: %+v, %v", line, l, err)
		}
	}
	stdout, stderr, code := runCLI(t, cli, "", "-p", strconv.Itoa(src), "--export", "-")
	if code != 0 || stdout != string(dump) || !strings.Contains(stderr, "to standard output") {
		t.Fatalf("--export -: exit %d, %s\n%s", code, stderr, stdout)
	}

	stdout, stderr, code = runCLI(t, cli, string(dump), "-p", strconv.Itoa(dst), "--import", "-")
	if code != 0 || !strings.HasPrefix(stdout, "imported 6 keys, skipped 0 keys already expired, 0 lines failed (of 6 lines) in ") {
		t.Fatalf("--import -: exit %d\n%s%s", code, stdout, stderr)
	}
	for k, v := range keys {
		got, err := b.Get(ctx, k).Result()
		if err != nil || string(got) != v {
			t.Errorf("%q after the round trip: %q, %v; want %q", k, got, err, v)
		}
	}
	// The most the time to live can be is what is left before the
	// request goes: the server reads its clock later.
	most := time.Until(time.UnixMilli(exp)).Milliseconds() + 1
	ttl, err := b.Do(ctx, "PTTL", "ttl").Result()
	if err != nil || ttl.Int <= 0 || ttl.Int > most {
		t.Fatalf("ttl's time to live after the round trip: %v, %v (expiry %d)", ttl, err, exp)
	}
	if n, _ := b.Do(ctx, "PTTL", "plain").Result(); n.Int != -1 {
		t.Fatalf("plain has a time to live after the round trip: %v", n)
	}
}

// TestImportReportsLines: an import names each line it could not use
// by its number, counts the expired ones it skipped, and exits 1.
func TestImportReportsLines(t *testing.T) {
	pykvd, cli := buildBinaries(t)
	port := startDaemon(t, pykvd, "--fsync", "no")
	past := time.Now().Add(-time.Minute).UnixMilli()
	future := time.Now().Add(time.Hour).UnixMilli()
	input := strings.Join([]string{
		`{"key":"good","value":"1"}`,
		`{"key":"broken","value":`,
		fmt.Sprintf(`{"key":"old","value":"x","expire_at_ms":%d}`, past),
		``,
		fmt.Sprintf(`{"key":"%s","value":"too long a key"}`, strings.Repeat("k", 70_000)),
		fmt.Sprintf(`{"key_base64":"/w==","value":"later","expire_at_ms":%d}`, future),
		`{"key":"typo","value":"v","expires_at_ms":5}`,
	}, "\n")
	file := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(file, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, cli, "", "-p", strconv.Itoa(port), "--import", file)
	if code != 1 || !strings.HasPrefix(stdout, "imported 2 keys, skipped 1 key already expired, 3 lines failed (of 7 lines) in ") {
		t.Fatalf("--import: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"line 2: not a JSON object",
		"line 5: refused: ERR key exceeds maximum allowed size",
		`line 7: unknown field "expires_at_ms": a line has key or key_base64, value or value_base64, and expire_at_ms`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	c := dial(t, port)
	if v, err := c.Get(context.Background(), "\xff").Result(); err != nil || string(v) != "later" {
		t.Fatalf("the binary key: %q, %v", v, err)
	}
	if n, _ := c.Do(context.Background(), "DBSIZE").Result(); n.Int != 2 {
		t.Fatalf("DBSIZE after the import: %v, want 2", n)
	}
	if _, stderr, code := runCLI(t, cli, "", "--export", "a", "--import", "b"); code != 2 || !strings.Contains(stderr, "--export and --import: give one at a time") {
		t.Fatalf("--export with --import: exit %d, %s", code, stderr)
	}
}

// TestExportImportMany: many small keys through the real daemons, in
// seconds: 100 000 by default, a million under PYKV_TORTURE=1 (make
// torture). Every key arrives with its value.
func TestExportImportMany(t *testing.T) {
	n := 100_000
	if os.Getenv("PYKV_TORTURE") != "" {
		n = 1_000_000
	}
	pykvd, cli := buildBinaries(t)
	src, dst := startDaemon(t, pykvd, "--fsync", "no"), startDaemon(t, pykvd, "--fsync", "no")
	a, b := dial(t, src), dial(t, dst)
	ctx := context.Background()
	load := time.Now()
	const batch = 5000
	for i := 0; i < n; i += batch {
		args := []any{"MSET"}
		for j := i; j < min(i+batch, n); j++ {
			args = append(args, fmt.Sprintf("key:%07d", j), fmt.Sprintf("v%d", j*7))
		}
		if err := a.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("loaded %d keys in %s", n, time.Since(load).Round(time.Millisecond))
	file := filepath.Join(t.TempDir(), "many.jsonl")
	start := time.Now()
	if _, stderr, code := runCLI(t, cli, "", "-p", strconv.Itoa(src), "--export", file); code != 0 || !strings.HasPrefix(stderr, fmt.Sprintf("exported %d keys", n)) {
		t.Fatalf("--export: exit %d, %s", code, stderr)
	}
	exported := time.Since(start)
	start = time.Now()
	if stdout, stderr, code := runCLI(t, cli, "", "-p", strconv.Itoa(dst), "--import", file); code != 0 || !strings.HasPrefix(stdout, fmt.Sprintf("imported %d keys,", n)) {
		t.Fatalf("--import: exit %d\n%s%s", code, stdout, stderr)
	}
	fi, _ := os.Stat(file)
	t.Logf("%d keys: export %s, import %s, %d bytes of lines", n, exported.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), fi.Size())
	if got, _ := b.Do(ctx, "DBSIZE").Result(); got.Int != int64(n) {
		t.Fatalf("DBSIZE after the import: %d, want %d", got.Int, n)
	}
	for i := 0; i < n; i += batch {
		args := []any{"MGET"}
		for j := i; j < min(i+batch, n); j++ {
			args = append(args, fmt.Sprintf("key:%07d", j))
		}
		r, err := b.Do(ctx, args...).Result()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.Array {
			if want := fmt.Sprintf("v%d", (i+k)*7); string(v.Bytes) != want {
				t.Fatalf("key:%07d = %q after the import, want %q", i+k, v.Bytes, want)
			}
		}
	}
}

// TestBackupUnderWriteLoad: BACKUP while a client writes: the copy
// passes pykv-check, opens with a real pykvd, holds every write
// acknowledged before BACKUP was sent, and is consistent as of the seq
// it reports: exactly the first seq keys of the one writer, each with
// its value.
func TestBackupUnderWriteLoad(t *testing.T) {
	pykvd, cli := buildBinaries(t)
	check := checkBinary(t)
	port := startDaemon(t, pykvd, "--fsync", "everysec")
	c := dial(t, port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var acked atomic.Int64 // keys 0..acked-1 are acknowledged
	warm := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			if err := c.Do(ctx, "SET", fmt.Sprintf("w%07d", i), fmt.Sprintf("value-%d", i)).Err(); err != nil {
				if ctx.Err() == nil {
					t.Errorf("write %d: %v", i, err)
				}
				return
			}
			acked.Store(int64(i + 1))
			if i == 2000 {
				close(warm)
			}
		}
	}()
	<-warm
	before := acked.Load()
	dir := filepath.Join(t.TempDir(), "backup")
	stdout, stderr, code := runCLI(t, cli, "", "-p", strconv.Itoa(port), "--backup", dir)
	after := acked.Load()
	cancel()
	wg.Wait()
	m := regexp.MustCompile(`^backup of seq (\d+) in (.*): (\d+) keys, snapshot hard-linked \(\d+ bytes\), in `).FindStringSubmatch(stdout)
	if code != 0 || m == nil || m[2] != dir {
		t.Fatalf("--backup: exit %d\n%s%s", code, stdout, stderr)
	}
	seq, _ := strconv.ParseInt(m[1], 10, 64)
	if seq < before || m[3] != m[1] {
		t.Fatalf("backup as of seq %d with %s keys; %d writes were acknowledged before BACKUP was sent", seq, m[3], before)
	}
	t.Logf("writes acknowledged: %d before BACKUP, %d when it answered; the backup is as of seq %d", before, after, seq)

	if out, err := exec.Command(check, "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("pykv-check %s: %v\n%s", dir, err, out)
	}
	bport := startDaemon(t, pykvd, "--data-dir", dir)
	bc := dial(t, bport)
	if n, err := bc.Do(context.Background(), "DBSIZE").Result(); err != nil || n.Int != seq {
		t.Fatalf("the backup holds %v keys (%v), want %d", n, err, seq)
	}
	for i := int64(0); i < seq; i += 1000 {
		args := []any{"MGET"}
		for j := i; j < min(i+1000, seq+1); j++ {
			args = append(args, fmt.Sprintf("w%07d", j))
		}
		r, err := bc.Do(context.Background(), args...).Result()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.Array {
			j := i + int64(k)
			want := fmt.Sprintf("value-%d", j)
			if j == seq {
				want = "" // the first write after the backup's seq is not in it
			}
			if string(v.Bytes) != want {
				t.Fatalf("w%07d in the backup = %q, want %q", j, v.Bytes, want)
			}
		}
	}
	info, err := bc.Do(context.Background(), "INFO", "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(info.Bytes))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "pykv_last_seq:"); ok && v != m[1] {
			t.Fatalf("the backup opens at seq %s, want %s", v, m[1])
		}
	}
}
