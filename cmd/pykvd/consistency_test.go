package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// readRESPReply reads one whole RESP2 or RESP3 reply of r, nested
// aggregates included, and returns its bytes.
func readRESPReply(r *respRaw) string {
	r.t.Helper()
	r.c.SetDeadline(time.Now().Add(ioTimeout))
	var b strings.Builder
	var one func(depth int)
	one = func(depth int) {
		line, err := r.r.ReadString('\n')
		if err != nil {
			r.t.Fatalf("read reply: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		items := 0
		switch line[0] {
		case '$', '=', '!': // bulk, verbatim and blob error: a body of n bytes
			if n >= 0 {
				body := make([]byte, n+2)
				if _, err := io.ReadFull(r.r, body); err != nil {
					r.t.Fatalf("read bulk: %v", err)
				}
				b.Write(body)
			}
		case '*', '~', '>': // array, set, push: n replies
			items = max(n, 0)
		case '%': // map: n pairs
			items = 2 * max(n, 0)
		case '|': // attributes: n pairs, then the reply they describe
			items = 2*max(n, 0) + 1
		}
		if items > 0 && depth > 16 { // COMMAND DOCS of BITPOS nests 11 deep
			r.t.Fatal("reply nested too deep")
		}
		for range items {
			one(depth + 1)
		}
	}
	one(0)
	return b.String()
}

func (r *respRaw) call(args ...string) string {
	r.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	r.write(b.String())
	return readRESPReply(r)
}

// TestExpireInThePastLikeRedis (twin): EXPIREAT, PEXPIREAT, EXPIRE and
// PEXPIRE with a time at or before now, and SET with a past EXAT or PXAT,
// delete the key, with byte-identical replies from pykvd and redis-server.
func TestExpireInThePastLikeRedis(t *testing.T) {
	t.Parallel()
	server := needTool(t, "redis-server")
	d := testdaemon.Start(t, testdaemon.Options{})
	pykv := dialRESPRaw(t, d.RESPAddr())
	real := dialRESPRaw(t, "127.0.0.1:"+strconv.Itoa(startRedis(t, server)))
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	pastMs := strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10)
	script := [][]string{
		{"SET", "k", "v"}, {"EXPIREAT", "k", "0"}, {"EXISTS", "k"}, {"TTL", "k"},
		{"SET", "k", "v", "EX", "100"}, {"EXPIREAT", "k", "0"}, {"GET", "k"},
		{"SET", "k", "v"}, {"PEXPIREAT", "k", "1"}, {"GET", "k"},
		{"SET", "k", "v"}, {"EXPIREAT", "k", past}, {"EXISTS", "k"},
		{"SET", "k", "v"}, {"PEXPIREAT", "k", pastMs}, {"EXISTS", "k"},
		{"SET", "k", "v"}, {"EXPIRE", "k", "-5"}, {"EXISTS", "k"},
		{"SET", "k", "v"}, {"PEXPIRE", "k", "0"}, {"EXISTS", "k"},
		{"SET", "k", "v"}, {"EXPIREAT", "k", "-1"}, {"EXISTS", "k"},
		{"EXPIREAT", "missing", "0"}, {"PEXPIRE", "missing", "-1"},
		{"SET", "k", "v", "EXAT", past}, {"EXISTS", "k"},
		{"SET", "k", "v", "PXAT", pastMs}, {"EXISTS", "k"},
		{"SET", "k", "v", "PXAT", "1"}, {"GET", "k"}, {"DBSIZE"},
	}
	for _, cmd := range script {
		got, want := pykv.call(cmd...), real.call(cmd...)
		if got != want {
			t.Errorf("%q: pykvd %q, redis-server %q", cmd, got, want)
		}
	}
}

// TestMultiKeyWritesAreAtomicToReaders: a reader running MGET (and EXISTS)
// in a loop over RESP never sees part of an MSET or of a multi-key DEL that
// another connection runs meanwhile.
func TestMultiKeyWritesAreAtomicToReaders(t *testing.T) {
	t.Parallel()
	d := testdaemon.Start(t, testdaemon.Options{})
	const nkeys = 64
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "atomic:" + strconv.Itoa(i)
	}
	const rounds = 400
	var wg sync.WaitGroup
	wg.Add(1)
	stop := make(chan struct{}) // the writer is done
	quit := make(chan struct{}) // the reader failed: the writer stops
	w := dialRESPRaw(t, d.RESPAddr())
	go func() {
		defer wg.Done()
		defer close(stop)
		for i := range rounds {
			select {
			case <-quit:
				return
			default:
			}
			args := []string{"MSET"}
			for _, k := range keys {
				args = append(args, k, strconv.Itoa(i))
			}
			if got := w.call(args...); got != "+OK\r\n" {
				t.Errorf("MSET: %q", got)
				return
			}
			if i%4 == 3 {
				if got := w.call(append([]string{"DEL"}, keys...)...); got != ":"+strconv.Itoa(nkeys)+"\r\n" {
					t.Errorf("DEL: %q", got)
					return
				}
			}
		}
	}()
	r := dialRESPRaw(t, d.RESPAddr())
	reads := 0
	failure := ""
	for done := false; !done && failure == "" && reads < 100*rounds; reads++ {
		select {
		case <-stop:
			done = true
		default:
		}
		failure = torn(r.call(append([]string{"MGET"}, keys...)...))
		if ex := r.call(append([]string{"EXISTS"}, keys...)...); failure == "" &&
			ex != ":0\r\n" && ex != ":"+strconv.Itoa(nkeys)+"\r\n" {
			failure = "EXISTS saw part of a multi-key write: " + strconv.Quote(ex)
		}
	}
	close(quit)
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	t.Logf("%d MGET+EXISTS reads across %d MSETs", reads, rounds)
}

// torn says what is wrong with an MGET reply whose values should all be
// nil or all the same, or "" when nothing is.
func torn(reply string) string {
	items := strings.Split(strings.TrimSuffix(reply, "\r\n"), "\r\n")[1:] // after the *n header
	for j := 0; j < len(items); j++ {
		if items[j] != items[0] {
			return "MGET saw part of a multi-key write: " + strconv.Quote(reply)
		}
		if items[j] != "$-1" {
			j++ // the value after its $n header
			if j >= len(items) || items[j] != items[1] {
				return "MGET saw two writes at once: " + strconv.Quote(reply)
			}
		}
	}
	return ""
}

// TestConfigGetMatchesLikeRedis (twin): for every parameter pykvd's
// CONFIG GET knows and redis-server's knows too, each pattern selects it
// exactly when redis-server's CONFIG GET selects it, and under the same
// name. Redis knows many more parameters, pykvd some of its own (its
// flags' names); only the shared ones are compared, and values (ports,
// limits) differ.
func TestConfigGetMatchesLikeRedis(t *testing.T) {
	t.Parallel()
	server := needTool(t, "redis-server")
	d := testdaemon.Start(t, testdaemon.Options{})
	pykv := dialRESPRaw(t, d.RESPAddr())
	real := dialRESPRaw(t, "127.0.0.1:"+strconv.Itoa(startRedis(t, server)))
	// The parameters both know: pykvd's own names (its flags') that
	// redis-server lacks are left out of the comparison.
	theirs := map[string]bool{}
	for _, n := range configNames(t, real.call("CONFIG", "GET", "*")) {
		theirs[strings.ToLower(n)] = true
	}
	known := map[string]bool{}
	for _, n := range configNames(t, pykv.call("CONFIG", "GET", "*")) {
		if theirs[strings.ToLower(n)] {
			known[strings.ToLower(n)] = true
		}
	}
	if len(known) == 0 {
		t.Fatal("CONFIG GET * names no parameter")
	}
	for _, pattern := range []string{
		"*", "max*", "MAX*", "maxclients", "MAXCLIENTS", "MaxClients", "m?xclients", "maxc[l]ients",
		"maxc[^x]ients", "[a-d]*", "[A-D]*", "sav[e", "sav[e]", "[t-r]ave", "*policy", `max\*`, `\s*`,
		"appendonly", "app*only", "databases", "port", "p[o]r?", "nosuch", "save", "*e",
	} {
		pick := func(reply string) map[string]bool {
			got := map[string]bool{}
			for _, n := range configNames(t, reply) {
				if known[strings.ToLower(n)] {
					got[n] = true
				}
			}
			return got
		}
		got, want := pick(pykv.call("CONFIG", "GET", pattern)), pick(real.call("CONFIG", "GET", pattern))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("CONFIG GET %q selects %v from pykvd, %v from redis-server", pattern, got, want)
		}
	}
}

// configNames returns the parameter names of a RESP2 CONFIG GET reply: an
// array of name, value, name, value... bulk strings.
func configNames(t *testing.T, reply string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(reply, "\r\n"), "\r\n")
	if !strings.HasPrefix(lines[0], "*") {
		t.Fatalf("CONFIG GET reply %q is not an array", reply)
	}
	var names []string
	for i := 1; i+1 < len(lines); i += 4 { // $len, name, $len, value
		names = append(names, lines[i+1])
	}
	return names
}
