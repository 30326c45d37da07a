package main

import (
	"bufio"
	"bytes"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/command/spec"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/reply"
)

// comparableDocs is one command's COMMAND DOCS entry (a map, or over
// RESP2 its flat array) without its summary, which is pykv's own words
// (docs/protocol.md, Differences), and with only the subcommands pykv has
// (Redis's CLIENT and CONFIG have many more), as a map. Everything else
// must be redis-server's, RESP3's sets (doc_flags, history, an
// argument's flags) included: the reader keeps a set a set.
func comparableDocs(r reply.Reply, both func(sub string) bool) reply.Reply {
	var kv []reply.Reply
	for i := 0; i+1 < len(r.Array); i += 2 {
		k, v := string(r.Array[i].Bytes), r.Array[i+1]
		switch {
		case k == "summary":
			continue
		case k == "arguments":
			args := make([]reply.Reply, len(v.Array))
			for j, a := range v.Array {
				args[j] = comparableDocs(a, nil)
			}
			v = reply.Reply{Kind: reply.KindArray, Array: args}
		case k == "subcommands":
			// In name order: Redis's follows its hash table.
			var names []string
			byName := map[string]reply.Reply{}
			for j := 0; j+1 < len(v.Array); j += 2 {
				if name := string(v.Array[j].Bytes); both(name) {
					names = append(names, name)
					byName[name] = comparableDocs(v.Array[j+1], both)
				}
			}
			sort.Strings(names)
			var subs []reply.Reply
			for _, name := range names {
				subs = append(subs, reply.Reply{Kind: reply.KindBytes, Bytes: []byte(name)}, byName[name])
			}
			v = reply.Reply{Kind: reply.KindMap, Array: subs}
		}
		kv = append(kv, r.Array[i], v)
	}
	return reply.Reply{Kind: reply.KindMap, Array: kv}
}

// findSub finds the subcommand of sp named "container|sub".
func findSub(sp *spec.Command, name string) (*spec.Command, bool) {
	for _, sub := range sp.Subcommands {
		if sub.Name == name {
			return sub, true
		}
	}
	return nil, false
}

// encodeAs writes r in RESP proto (2 or 3).
func encodeAs(t *testing.T, r reply.Reply, proto int) string {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := resp.NewWriter(bw)
	w.SetProto(proto)
	if err := w.WriteReply(r); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	return buf.String()
}

// TestCommandDocsLikeRedis (twin): COMMAND DOCS of every command both
// servers have, over RESP2 and RESP3, is redis-server's but for the
// summary: since, complexity, doc_flags, deprecated_since, replaced_by and
// history, and the arguments above all, which redis-cli's hints and HELP
// are made of. The native protocol's answer is the RESP2 one.
func TestCommandDocsLikeRedis(t *testing.T) {
	t.Parallel()
	server := needTool(t, "redis-server")
	d := testdaemon.Start(t, testdaemon.Options{})
	redisAddr := "127.0.0.1:" + strconv.Itoa(startRedis(t, server))
	native := dialNative(t, d.Addr())
	for _, proto := range []int{2, 3} {
		pykv, real := dialRESPRaw(t, d.RESPAddr()), dialRESPRaw(t, redisAddr)
		if proto == 3 {
			hello3(t, pykv, "pykvd")
			hello3(t, real, "redis-server")
		}
		compared := 0
		for _, sp := range spec.All() {
			want := parseReply(t, real.call("COMMAND", "DOCS", sp.Name))
			if len(want.Array) != 2 {
				continue // a command of pykv's own
			}
			compared++
			raw := pykv.call("COMMAND", "DOCS", sp.Name)
			if proto == 2 {
				// The native protocol carries the same reply.
				if n := nativeAsRESP2(t, native, []string{"COMMAND", "DOCS", sp.Name}); n != raw {
					t.Errorf("COMMAND DOCS %s: native %q, RESP2 %q", sp.Name, n, raw)
				}
			}
			got := parseReply(t, raw)
			if len(got.Array) != 2 {
				t.Errorf("RESP%d COMMAND DOCS %s: %d items from pykvd", proto, sp.Name, len(got.Array))
				continue
			}
			// Only the subcommands both have: Redis's CLIENT and CONFIG
			// have many more, pykv's CLIENT has SETINFO of Redis 7.2.
			redisSubs := map[string]bool{}
			for i := 0; i+1 < len(want.Array[1].Array); i += 2 {
				if string(want.Array[1].Array[i].Bytes) == "subcommands" {
					for j, sub := range want.Array[1].Array[i+1].Array {
						if j%2 == 0 {
							redisSubs[string(sub.Bytes)] = true
						}
					}
				}
			}
			both := func(name string) bool {
				_, ok := findSub(sp, name)
				return ok && redisSubs[name]
			}
			g := encodeAs(t, comparableDocs(got.Array[1], both), proto)
			w := encodeAs(t, comparableDocs(want.Array[1], both), proto)
			if g != w {
				t.Errorf("RESP%d COMMAND DOCS %s:\npykvd:        %q\nredis-server: %q", proto, sp.Name, g, w)
			}
		}
		if compared < 50 {
			t.Errorf("only %d commands compared", compared)
		}
	}
}

// TestRedisCLIHelpLikeRedis: redis-cli builds its HELP from COMMAND DOCS,
// so "redis-cli help CMD" shows the same usage line (the arguments),
// since and group against pykvd as against redis-server; only the summary
// line, pykv's own words, may differ.
func TestRedisCLIHelpLikeRedis(t *testing.T) {
	t.Parallel()
	server, cli := needTool(t, "redis-server"), needTool(t, "redis-cli")
	d := testdaemon.Start(t, testdaemon.Options{})
	redisPort := startRedis(t, server)
	usage := func(out string) string {
		var keep []string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "summary:") {
				continue
			}
			keep = append(keep, line)
		}
		return strings.Join(keep, "\n")
	}
	for _, name := range []string{"SET", "GET", "GETEX", "BITPOS", "BITCOUNT", "MSET", "SCAN", "COPY", "EXPIRE", "HELLO", "FLUSHALL", "REPLICAOF", "OBJECT ENCODING", "COMMAND DOCS"} {
		args := append([]string{"help"}, strings.Fields(name)...)
		want := runTool(t, cli, "", append([]string{"-p", strconv.Itoa(redisPort)}, args...)...)
		got := runTool(t, cli, "", append([]string{"-p", strconv.Itoa(d.RESPPort())}, args...)...)
		if usage(got) != usage(want) {
			t.Errorf("redis-cli help %s:\npykvd:\n%s\nredis-server:\n%s", name, got, want)
		}
		if !strings.Contains(want, "group:") {
			t.Errorf("redis-cli help %s against redis-server shows no help: %q", name, want)
		}
	}
}
