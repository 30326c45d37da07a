package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/reply"
)

// The tests of -r, -i, --json and the modes of modes.go run the real
// pykv-cli against a real pykvd and read what it prints.

// cliDaemon starts a daemon and returns pykv-cli's path, the daemon's
// native port as a flag value, and the port.
func cliDaemon(t *testing.T) (cli, port string, native int) {
	t.Helper()
	d := testdaemon.Start(t, testdaemon.Options{})
	return testdaemon.Tool(t, "pykv-cli"), strconv.Itoa(d.NativePort()), d.NativePort()
}

// TestRepeat: -r runs a one-shot command N times (INCR ends at N), -i
// waits between the runs, -r 0 runs nothing, -r applies to each line of
// standard input, and -r -1 runs until SIGINT, which ends it cleanly.
func TestRepeat(t *testing.T) {
	t.Parallel()
	cli, port, native := cliDaemon(t)
	c := dial(t, native)
	ctx := context.Background()
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    string
		counter string
		n       int64
		atLeast time.Duration
	}{
		{"three times", []string{"-r", "3", "INCR", "a"}, "", "1\n2\n3\n", "a", 3, 0},
		{"with an interval", []string{"-r", "3", "-i", "0.15", "INCR", "b"}, "", "1\n2\n3\n", "b", 3, 300 * time.Millisecond},
		{"zero times", []string{"-r", "0", "INCR", "c"}, "", "", "c", 0, 0},
		{"standard form", []string{"-r", "2", "--no-raw", "INCR", "d"}, "", "(integer) 1\n(integer) 2\n", "d", 2, 0},
		{"piped lines", []string{"-r", "2"}, "INCR e\nINCR e\n", "1\n2\n3\n4\n", "e", 4, 0},
		{"a line's own count wins", []string{"-r", "5"}, "2 INCR f\n", "1\n2\n", "f", 2, 0},
	}
	for _, tt := range tests {
		start := time.Now()
		out, errOut, code := runCLI(t, cli, tt.stdin, append([]string{"-p", port}, tt.args...)...)
		took := time.Since(start)
		if out != tt.want || code != 0 {
			t.Errorf("%s: pykv-cli %q: got %q, exit %d (stderr %q), want %q, exit 0", tt.name, tt.args, out, code, errOut, tt.want)
		}
		n, err := c.Get(ctx, tt.counter).Result()
		if got, _ := strconv.ParseInt(string(n), 10, 64); got != tt.n && !(tt.n == 0 && err != nil) {
			t.Errorf("%s: %s is %q (%v) afterwards, want %d", tt.name, tt.counter, n, err, tt.n)
		}
		if took < tt.atLeast {
			t.Errorf("%s: took %v, want at least %v (-i between the runs)", tt.name, took, tt.atLeast)
		}
	}

	// A failed run makes the exit code 1, and the other runs still run.
	c.Do(ctx, "SET", "text", "x")
	out, _, code := runCLI(t, cli, "", "-p", port, "-r", "2", "INCR", "text")
	if want := "ERR value is not an integer or out of range\n\n"; out != want+want || code != 1 {
		t.Errorf("-r 2 of a failing command: %q, exit %d", out, code)
	}

	// -r -1: until interrupted.
	cmd := exec.Command(cli, "-p", port, "-r", "-1", "-i", "0.01", "INCR", "forever")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := c.Get(ctx, "forever").Result(); len(b) > 0 {
			if n, _ := strconv.Atoi(string(b)); n >= 5 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("-r -1: INCR forever did not reach 5 in 10 s; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("-r -1 after SIGINT: %v (stderr %q), want exit 0", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatal("-r -1 did not stop within 10 s of SIGINT")
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("-r -1: line %d is %q, want %d (stdout %q)", i+1, l, i+1, stdout.String())
		}
	}
	// SIGINT may land while an INCR is in flight: the server may have
	// run it, but its reply is never read. So forever is the number of
	// lines printed, or one more; anything else is a reply lost or
	// printed twice.
	b, _ := c.Get(ctx, "forever").Result()
	if n, _ := strconv.Atoi(string(b)); n != len(lines) && n != len(lines)+1 {
		t.Errorf("-r -1: forever is %s, but %d lines were printed (want %d or %d)", b, len(lines), len(lines), len(lines)+1)
	}
}

// TestJSON: --json prints each reply as a line that encoding/json parses
// into the expected value; non-UTF-8 strings come as {"base64": ...} and
// errors as {"error": ...}.
func TestJSON(t *testing.T) {
	t.Parallel()
	cli, port, native := cliDaemon(t)
	c := dial(t, native)
	ctx := context.Background()
	tricky := "é \"q\" \\ <&> \n\t\x01\u2028 😀"
	for _, kv := range [][2]string{{"s", "v"}, {"tricky", tricky}, {"bin", "\xff\x00\xfe"}, {"n", "41"}} {
		if err := c.Do(ctx, "SET", kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args []string
		want any
		code int
	}{
		{[]string{"SET", "k", "v"}, "OK", 0},
		{[]string{"PING"}, "PONG", 0},
		{[]string{"GET", "s"}, "v", 0},
		{[]string{"GET", "missing"}, nil, 0},
		{[]string{"GET", "tricky"}, tricky, 0},
		{[]string{"GET", "bin"}, map[string]any{"base64": base64.StdEncoding.EncodeToString([]byte("\xff\x00\xfe"))}, 0},
		{[]string{"INCR", "n"}, 42.0, 0},
		{[]string{"MGET", "s", "missing", "n"}, []any{"v", nil, "42"}, 0},
		{[]string{"SCAN", "0", "MATCH", "s"}, []any{"0", []any{"s"}}, 0},
		{[]string{"SCAN", "0", "MATCH", "none*"}, []any{"0", []any{}}, 0},
		{[]string{"EXISTS", "s", "missing"}, 1.0, 0},
		{[]string{"INCR", "s"}, map[string]any{"error": "ERR value is not an integer or out of range"}, 1},
		{[]string{"FROB"}, map[string]any{"error": "ERR unknown command 'FROB', with args beginning with: "}, 1},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, cli, "", append([]string{"-p", port, "--json"}, tt.args...)...)
		var got any
		if err := json.Unmarshal([]byte(out), &got); err != nil || strings.Count(out, "\n") != 1 {
			t.Errorf("pykv-cli --json %q: %q is not one line of JSON: %v (stderr %q)", tt.args, out, err, errOut)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || code != tt.code {
			t.Errorf("pykv-cli --json %q: got %#v, exit %d; want %#v, exit %d", tt.args, got, code, tt.want, tt.code)
		}
	}

	// A map: HELLO's reply is an object with the server's fields.
	out, _, _ := runCLI(t, cli, "", "-p", port, "--json", "HELLO")
	var hello map[string]any
	if err := json.Unmarshal([]byte(out), &hello); err != nil || hello["server"] != "pykv" || hello["role"] != "master" {
		t.Errorf("--json HELLO: %q (%v), want an object with server pykv and role master", out, err)
	}

	// With -r, a line per run; and on standard input, a line per command.
	out, _, _ = runCLI(t, cli, "", "-p", port, "--json", "-r", "3", "INCR", "r")
	out2, _, _ := runCLI(t, cli, "GET r\nMGET r s\n", "-p", port, "--json")
	for _, tt := range []struct {
		out  string
		want []any
	}{
		{out, []any{1.0, 2.0, 3.0}},
		{out2, []any{"3", []any{"3", "v"}}},
	} {
		var got []any
		dec := json.NewDecoder(strings.NewReader(tt.out))
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%q: %v", tt.out, err)
			}
			got = append(got, v)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("--json lines %q: got %#v, want %#v", tt.out, got, tt.want)
		}
	}
}

// TestFormatJSON checks the JSON of replies the daemon does not send
// (maps with keys that are not strings, nil arrays) and that every
// output is valid JSON.
func TestFormatJSON(t *testing.T) {
	tests := []struct {
		r    reply.Reply
		want string
	}{
		{reply.OK, `"OK"`},
		{reply.Nil, `null`},
		{reply.NilArray, `null`},
		{reply.Int(-7), `-7`},
		{reply.Status("QUEUED"), `"QUEUED"`},
		{reply.Bytes([]byte("a\"b\\c\x00\x7f</>")), `"a\"b\\c\u0000\u007f</>"`},
		{reply.Bytes([]byte{0xc3}), `{"base64":"ww=="}`},
		{reply.Bytes(nil), `""`},
		{reply.Array(nil), `[]`},
		{reply.Array([]reply.Reply{reply.Int(1), reply.Array([]reply.Reply{reply.Nil})}), `[1,[null]]`},
		{reply.Errorf("WRONGTYPE", "Operation against a key holding the wrong kind of value"),
			`{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}`},
		{reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{
			reply.Bytes([]byte("a")), reply.Int(1),
			reply.Int(2), reply.Bytes([]byte("two")),
			reply.Bytes([]byte{0xff}), reply.Nil,
		}}, `{"a":1,"2":"two","{\"base64\":\"/w==\"}":null}`},
		{reply.Reply{Kind: reply.KindMap}, `{}`},
	}
	for _, tt := range tests {
		got := formatJSON(tt.r)
		if got != tt.want+"\n" {
			t.Errorf("formatJSON(%v) = %q, want %q", tt.r, got, tt.want+"\n")
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("formatJSON(%v) = %q: not valid JSON", tt.r, got)
		}
	}
}

// FuzzJSONBytes: any bytes, as a reply, print as valid JSON that gives
// the bytes back: a string when they are UTF-8, else base64.
func FuzzJSONBytes(f *testing.F) {
	for _, s := range []string{"", "plain", "\xff", "é", "\x00\"\\\n", "\xed\xa0\x80", "\u2028"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := formatJSON(reply.Bytes(b))
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%q printed as %q: %v", b, out, err)
		}
		var back []byte
		switch v := v.(type) {
		case string:
			back = []byte(v)
		case map[string]any:
			s, _ := v["base64"].(string)
			back, _ = base64.StdEncoding.DecodeString(s)
		}
		if !bytes.Equal(back, b) {
			t.Fatalf("%q printed as %q, which reads back as %q", b, out, back)
		}
	})
}

// TestScan: --scan lists every key once (SCAN of a keyspace that does
// not change), --pattern and --count narrow and pace it, and the three
// output forms print the keys bare, quoted and as JSON strings.
func TestScan(t *testing.T) {
	t.Parallel()
	cli, port, native := cliDaemon(t)
	c := dial(t, native)
	ctx := context.Background()
	var users, all []string
	p := c.Pipeline()
	for i := range 230 {
		k := fmt.Sprintf("user:%d", i)
		users = append(users, k)
		p.Set(ctx, k, i, client.SetArgs{})
	}
	all = append(all, users...)
	for i := range 40 {
		k := fmt.Sprintf("order:%d", i)
		all = append(all, k)
		p.Set(ctx, k, i, client.SetArgs{})
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	sort.Strings(users)
	sort.Strings(all)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--scan"}, all},
		{[]string{"--scan", "--count", "1000"}, all},
		{[]string{"--scan", "--pattern", "user:*"}, users},
		{[]string{"--scan", "--pattern", "user:*", "--count", "7", "-i", "0.001"}, users},
		{[]string{"--scan", "--pattern", "nothing*"}, nil},
		{[]string{"--scan", "--pattern", "order:3?"}, []string{"order:30", "order:31", "order:32", "order:33", "order:34",
			"order:35", "order:36", "order:37", "order:38", "order:39"}},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, cli, "", append([]string{"-p", port}, tt.args...)...)
		var got []string
		if out != "" {
			got = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		sort.Strings(got)
		if !slices.Equal(got, tt.want) || code != 0 {
			t.Errorf("pykv-cli %q: %d keys, exit %d (stderr %q); want %d keys, exit 0\n got %q\nwant %q",
				tt.args, len(got), code, errOut, len(tt.want), got, tt.want)
		}
	}

	// Keys that need quoting: bare in the raw form, quoted as redis-cli
	// quotes them in the standard form, JSON strings (or base64) with
	// --json.
	c.Do(ctx, "SET", "odd key\n\xff", "v")
	forms := []struct{ flag, want string }{
		{"--raw", "odd key\n\xff\n"},
		{"--no-raw", "\"odd key\\n\\xff\"\n"},
		{"--json", `{"base64":"` + base64.StdEncoding.EncodeToString([]byte("odd key\n\xff")) + "\"}\n"},
	}
	for _, f := range forms {
		out, _, _ := runCLI(t, cli, "", "-p", port, f.flag, "--scan", "--pattern", "odd*")
		if out != f.want {
			t.Errorf("--scan %s: %q, want %q", f.flag, out, f.want)
		}
	}
	out, _, _ := runCLI(t, cli, "", "-p", port, "--json", "--scan", "--pattern", "user:1?")
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var k string
		if err := json.Unmarshal([]byte(l), &k); err != nil || !strings.HasPrefix(k, "user:1") {
			t.Errorf("--json --scan: line %q: %q, %v", l, k, err)
		}
	}
}

// TestBigKeys: --bigkeys names the biggest value's key, and its summary
// counts the keys, their names' and values' bytes and averages exactly;
// --pattern limits it to the matching keys; an empty keyspace has no
// biggest key.
func TestBigKeys(t *testing.T) {
	t.Parallel()
	cli, port, native := cliDaemon(t)
	c := dial(t, native)
	ctx := context.Background()

	out, _, code := runCLI(t, cli, "", "-p", port, "--bigkeys")
	if code != 0 || strings.Contains(out, "Biggest string found '") ||
		!strings.Contains(out, "Sampled 0 keys in the keyspace!\nTotal key length in bytes is 0 (avg len 0.00)\n\n\n"+
			"0 strings with 0 bytes (00.00% of keys, avg size 0.00)\n") {
		t.Errorf("--bigkeys of an empty keyspace: exit %d\n%s", code, out)
	}

	sizes := map[string]int{"big one": 1000, "b\xffin": 999}
	var keyBytes, valueBytes int
	for i := range 150 {
		sizes[fmt.Sprintf("k:%03d", i)] = i
	}
	p := c.Pipeline()
	for k, n := range sizes {
		p.Set(ctx, k, strings.Repeat("x", n), client.SetArgs{})
		keyBytes += len(k)
		valueBytes += n
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	n := len(sizes)
	out, errOut, code := runCLI(t, cli, "", "-p", port, "--bigkeys")
	want := fmt.Sprintf("\n-------- summary -------\n\n"+
		"Sampled %d keys in the keyspace!\n"+
		"Total key length in bytes is %d (avg len %.2f)\n\n"+
		"Biggest string found '\"big one\"' has 1000 bytes\n\n"+
		"%d strings with %d bytes (100.00%% of keys, avg size %.2f)\n",
		n, keyBytes, float64(keyBytes)/float64(n), n, valueBytes, float64(valueBytes)/float64(n))
	const intro = "\n# Scanning the entire keyspace to find biggest keys as well as\n" +
		"# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n" +
		"# per 100 SCAN commands (not usually needed).\n\n"
	if code != 0 || !strings.HasPrefix(out, intro) || !strings.HasSuffix(out, want) {
		t.Fatalf("--bigkeys: exit %d (stderr %q)\n%s\nwant it to start with\n%s\nand end with\n%s", code, errOut, out, intro, want)
	}
	// The lines of progress: each biggest so far bigger than the last,
	// the last one the biggest.
	progress := regexp.MustCompile(`(?m)^\[\d\d\.\d\d%\] Biggest string found so far '(.*)' with (\d+) bytes$`).FindAllStringSubmatch(out, -1)
	last := 0
	for _, m := range progress {
		size, _ := strconv.Atoi(m[2])
		if size <= last {
			t.Errorf("--bigkeys: %q after a biggest of %d", m[0], last)
		}
		last = size
	}
	if len(progress) == 0 || progress[len(progress)-1][1] != `"big one"` {
		t.Errorf("--bigkeys: the progress lines %q do not end with \"big one\"", progress)
	}

	// --pattern and --count: only k:1?? (k:100 to k:149), 50 keys.
	out, _, _ = runCLI(t, cli, "", "-p", port, "--bigkeys", "--pattern", "k:1??", "--count", "3", "-i", "0.001")
	var sum, klen int
	for i := 100; i < 150; i++ {
		sum += i
		klen += 5
	}
	want = fmt.Sprintf("Sampled 50 keys in the keyspace!\nTotal key length in bytes is %d (avg len 5.00)\n\n"+
		"Biggest string found '\"k:149\"' has 149 bytes\n\n50 strings with %d bytes (100.00%% of keys, avg size %.2f)\n",
		klen, sum, float64(sum)/50)
	if !strings.HasSuffix(out, want) {
		t.Errorf("--bigkeys --pattern k:1??:\n%s\nwant it to end with\n%s", out, want)
	}
}

// statLine matches a line of --stat: keys, memory, clients, blocked,
// requests (+delta), connections, hits, misses.
var statLine = regexp.MustCompile(`^(\d+) +(\d+(?:\.\d\d)?[BKMGTPE]) +(\d+) +(\d+) +(\d+) \(\+(\d+)\) +(\d+) +(\d+) +(\d+) *$`)

// TestStat: --stat -r N prints N lines under redis-cli's header (again
// every 20 lines), with the key count, the lookups that hit and missed,
// and the requests between two lines (this test's INFO, one each).
func TestStat(t *testing.T) {
	t.Parallel()
	cli, port, native := cliDaemon(t)
	c := dial(t, native)
	ctx := context.Background()
	for i := range 7 {
		c.Set(ctx, "key"+strconv.Itoa(i), i, client.SetArgs{})
	}
	for _, k := range []string{"key1", "key2", "key3", "nokey", "nokey2"} {
		c.Get(ctx, k)
	}
	c.Close() // its connection is not counted as a client

	for _, n := range []int{1, 3, 25} {
		out, errOut, code := runCLI(t, cli, "", "-p", port, "--stat", "-r", strconv.Itoa(n), "-i", "0.02")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		headers := 1 + (n-1)/20
		if code != 0 || len(lines) != n+2*headers {
			t.Fatalf("--stat -r %d: exit %d, %d lines, want %d (stderr %q)\n%s", n, code, len(lines), n+2*headers, errOut, out)
		}
		row := 0
		for i := 0; i < len(lines); i++ {
			if row%20 == 0 {
				if lines[i]+"\n"+lines[i+1]+"\n" != statHeader {
					t.Fatalf("--stat -r %d: line %d: %q, want the header\n%s", n, i+1, lines[i], out)
				}
				i += 2
			}
			m := statLine.FindStringSubmatch(lines[i])
			if m == nil {
				t.Fatalf("--stat -r %d: line %d: %q is not a line of figures\n%s", n, i+1, lines[i], out)
			}
			delta := "1"
			if row == 0 {
				delta = "0"
			}
			if m[1] != "7" || m[3] != "1" || m[6] != delta || m[8] != "3" || m[9] != "2" {
				t.Errorf("--stat -r %d: line %d: %q: want 7 keys, 1 client, +%s requests, 3 hits, 2 misses", n, i+1, lines[i], delta)
			}
			row++
		}
	}

	out, _, _ := runCLI(t, cli, "", "-p", port, "--stat", "--json", "-r", "2", "-i", "0.02")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("--stat --json -r 2: %q", out)
	}
	for i, l := range lines {
		var f struct {
			Keys, Clients, KeyspaceHits, KeyspaceMisses, RequestsDelta, UsedMemory int64
		}
		dec := json.NewDecoder(strings.NewReader(l))
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("--stat --json line %q: %v", l, err)
		}
		var raw map[string]any
		json.Unmarshal([]byte(l), &raw)
		want := map[string]any{"keys": 7.0, "clients": 1.0, "keyspace_hits": 3.0, "keyspace_misses": 2.0,
			"requests_delta": float64(i), "merging": false}
		for k, v := range want {
			if raw[k] != v {
				t.Errorf("--stat --json line %d: %s is %v, want %v (%s)", i+1, k, raw[k], v, l)
			}
		}
		if u, _ := raw["used_memory"].(float64); u <= 0 {
			t.Errorf("--stat --json line %d: used_memory %v", i+1, raw["used_memory"])
		}
	}
}

// TestLatency: --latency -r N takes N samples and prints one line of
// numbers (min <= avg <= max, in milliseconds) in each output form;
// without -r it samples for -i seconds; --latency-history -r N prints N
// lines of -i seconds each.
func TestLatency(t *testing.T) {
	t.Parallel()
	cli, port, _ := cliDaemon(t)
	num := `(\d+\.\d\d)`
	tests := []struct {
		args    []string
		line    *regexp.Regexp // one per line of output
		lines   int
		count   string // the samples, "" for any
		atLeast time.Duration
	}{
		{[]string{"--latency", "-r", "20"}, regexp.MustCompile(`^` + num + ` ` + num + ` ` + num + ` (\d+)$`), 1, "20", 0},
		{[]string{"--latency", "-r", "5", "--no-raw"}, regexp.MustCompile(`^min: ` + num + `, max: ` + num + `, avg: ` + num + ` \((\d+) samples\)$`), 1, "5", 0},
		{[]string{"--latency", "-r", "5", "--json"}, regexp.MustCompile(`^\{"min": ` + num + `, "max": ` + num + `, "avg": ` + num + `, "count": (\d+)\}$`), 1, "5", 0},
		{[]string{"--latency", "-i", "0.3"}, regexp.MustCompile(`^` + num + ` ` + num + ` ` + num + ` (\d+)$`), 1, "", 300 * time.Millisecond},
		{[]string{"--latency-history", "-i", "0.2", "-r", "3"}, regexp.MustCompile(`^` + num + ` ` + num + ` ` + num + ` (\d+)$`), 3, "", 600 * time.Millisecond},
		{[]string{"--latency-history", "-i", "0.1", "-r", "2", "--no-raw"},
			regexp.MustCompile(`^min: ` + num + `, max: ` + num + `, avg: ` + num + ` \((\d+) samples\) -- \d+\.\d\d seconds range$`), 2, "", 200 * time.Millisecond},
	}
	for _, tt := range tests {
		start := time.Now()
		out, errOut, code := runCLI(t, cli, "", append([]string{"-p", port}, tt.args...)...)
		took := time.Since(start)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != 0 || len(lines) != tt.lines || took < tt.atLeast {
			t.Errorf("pykv-cli %q: exit %d, %d lines in %v, want %d lines in %v or more (stderr %q)\n%s",
				tt.args, code, len(lines), took, tt.lines, tt.atLeast, errOut, out)
			continue
		}
		for _, l := range lines {
			m := tt.line.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("pykv-cli %q: line %q, want it to match %s", tt.args, l, tt.line)
				continue
			}
			lo, _ := strconv.ParseFloat(m[1], 64)
			hi, _ := strconv.ParseFloat(m[2], 64)
			avg, _ := strconv.ParseFloat(m[3], 64)
			n, _ := strconv.Atoi(m[4])
			if !(lo <= avg && avg <= hi) || hi <= 0 || n < 1 || tt.count != "" && m[4] != tt.count {
				t.Errorf("pykv-cli %q: line %q: want 0 < min <= avg <= max and %s samples", tt.args, l, tt.count)
			}
		}
	}
}

// TestModeUsage: the modes refuse a command, each other, and bad -r, -i
// and --count values, with exit code 2; --help lists every new flag.
func TestModeUsage(t *testing.T) {
	t.Parallel()
	cli := testdaemon.Tool(t, "pykv-cli")
	tests := [][]string{
		{"--scan", "GET", "k"},
		{"--scan", "--stat"},
		{"--bigkeys", "--export", "-"},
		{"--latency", "--latency-history"},
		{"-r", "-2", "PING"},
		{"-i", "-1", "PING"},
		{"-i", "NaN", "PING"},
		{"-i", "1e12", "PING"},
		{"--pattern", "x*", "PING"},
		{"--scan", "--count", "-1"},
	}
	for _, args := range tests {
		_, errOut, code := runCLI(t, cli, "", append([]string{"-p", "1"}, args...)...)
		if code != 2 || errOut == "" {
			t.Errorf("pykv-cli %q: exit %d, stderr %q; want exit 2 and a reason", args, code, errOut)
		}
	}
	_, help, code := runCLI(t, cli, "", "--help")
	for _, flag := range []string{"-r N", "-i seconds", "-json", "-scan", "-pattern pattern", "-count N",
		"-bigkeys", "-stat", "-latency", "-latency-history"} {
		if !strings.Contains(help, "\n  "+flag) || code != 0 {
			t.Errorf("--help (exit %d) does not list %q:\n%s", code, flag, help)
		}
	}
}

// TestLiveLines runs the modes in process as on a terminal, which a pipe
// to the binary cannot show: --latency rewrites its line in place and
// ends it after -r samples, --latency-history ends each interval's line
// with its range, and an interrupted --bigkeys prints the summary of
// what it saw, marked with its progress.
func TestLiveLines(t *testing.T) {
	t.Parallel()
	_, _, native := cliDaemon(t)
	c := dial(t, native)
	ctx := context.Background()
	c.Set(ctx, "k", "v", client.SetArgs{})
	newMonitor := func(out *bytes.Buffer, repeat int, interval float64) *monitor {
		return &monitor{c: c, addr: "test", out: out, errOut: out, tty: true,
			repeat: repeat, repeatSet: true, interval: interval, now: time.Now}
	}

	var out bytes.Buffer
	if code := newMonitor(&out, 4, 0).latencyMode(ctx, false); code != 0 {
		t.Fatalf("--latency -r 4 on a terminal: exit %d\n%q", code, out.String())
	}
	parts := strings.Split(out.String(), "\x1b[0G\x1b[2K")
	live := regexp.MustCompile(`^min: \d+\.\d\d, max: \d+\.\d\d, avg: \d+\.\d\d \((\d) samples\)$`)
	if len(parts) != 5 || parts[0] != "" || !strings.HasSuffix(out.String(), " (4 samples)\n") {
		t.Fatalf("--latency -r 4 on a terminal: %q, want 4 rewrites of one line, then a newline", out.String())
	}
	for i, p := range parts[1:] {
		m := live.FindStringSubmatch(strings.TrimSuffix(p, "\n"))
		if m == nil || m[1] != strconv.Itoa(i+1) {
			t.Errorf("--latency on a terminal: update %d is %q", i+1, p)
		}
	}

	out.Reset()
	if code := newMonitor(&out, 2, 0.1).latencyMode(ctx, true); code != 0 {
		t.Fatalf("--latency-history on a terminal: exit %d\n%q", code, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	ended := regexp.MustCompile(`\x1b\[0G\x1b\[2Kmin: \d+\.\d\d, max: \d+\.\d\d, avg: \d+\.\d\d \(\d+ samples\) -- 0\.\d\d seconds range$`)
	if len(lines) != 2 || !ended.MatchString(lines[0]) || !ended.MatchString(lines[1]) {
		t.Errorf("--latency-history -i 0.1 -r 2 on a terminal: %q, want 2 lines, each ending with its range", out.String())
	}

	// --bigkeys with --count 1 and -i 60 pauses a minute after 100 SCANs;
	// once the daemon has counted DBSIZE and those SCANs, Ctrl-C (the
	// context's cancel) ends it at once, with the summary.
	p := c.Pipeline()
	for i := range 300 {
		p.Set(ctx, "big:"+strconv.Itoa(i), i, client.SetArgs{})
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	processed := func() int64 {
		info, err := c.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		n, err := testdaemon.ParseInfo(info)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := n.Int("total_commands_processed")
		return v
	}
	base := processed() + 1 // this INFO
	out.Reset()
	interrupt, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newMonitor(&out, 1, 60)
	m.count = 1
	exited := make(chan int, 1)
	go func() { exited <- m.bigKeys(interrupt) }()
	deadline := time.Now().Add(10 * time.Second)
	for processed() < base+101 {
		if time.Now().After(deadline) {
			t.Fatal("--bigkeys did not send DBSIZE and 100 SCANs in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-exited:
		summary := regexp.MustCompile(`\n-------- summary -------\n\n\[\d\d\.\d\d%\] Sampled \d+ keys in the keyspace!\n`)
		if code != 0 || !summary.MatchString(out.String()) {
			t.Errorf("--bigkeys interrupted: exit %d\n%s", code, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--bigkeys did not stop within 10 s of its interruption")
	}
}
