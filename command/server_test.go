package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/command/spec"
	"github.com/pykv/pykv/storage"
)

func TestCommand(t *testing.T) {
	n := strconv.Itoa(len(Specs()))
	f := runSteps(t, []step{
		{cmd: "COMMAND COUNT", want: "(integer) " + n},
		{cmd: "COMMAND INFO get", want: `[["get" (integer) 2 [readonly fast] (integer) 1 (integer) 1 (integer) 1 [@read @string @fast] [] ` +
			`[["flags" [RO access] "begin_search" ["type" "index" "spec" ["index" (integer) 1]] "find_keys" ["type" "range" "spec" ["lastkey" (integer) 0 "keystep" (integer) 1 "limit" (integer) 0]]]] []]]`},
		{cmd: "COMMAND INFO MSET nosuch", want: `[["mset" (integer) -3 [write denyoom] (integer) 1 (integer) -1 (integer) 2 [@write @string @slow] ` +
			`["request_policy:multi_shard" "response_policy:all_succeeded"] ` +
			`[["flags" [OW update] "begin_search" ["type" "index" "spec" ["index" (integer) 1]] "find_keys" ["type" "range" "spec" ["lastkey" (integer) -1 "keystep" (integer) 2 "limit" (integer) 0]]]] []] (nil)]`},
		{cmd: "COMMAND INFO client|id", want: `[["client|id" (integer) 2 [noscript loading stale] (integer) 0 (integer) 0 (integer) 0 [@slow @connection] [] [] []]]`},
		{cmd: "COMMAND INFO config", want: `[["config" (integer) -2 [] (integer) 0 (integer) 0 (integer) 0 [@slow] [] [] [` +
			`["config|get" (integer) -3 [admin noscript loading stale] (integer) 0 (integer) 0 (integer) 0 [@admin @slow @dangerous] [] [] []] ` +
			`["config|help" (integer) 2 [loading stale] (integer) 0 (integer) 0 (integer) 0 [@slow] [] [] []] ` +
			`["config|resetstat" (integer) 2 [admin noscript loading stale] (integer) 0 (integer) 0 (integer) 0 [@admin @slow @dangerous] [] [] []] ` +
			`["config|set" (integer) -4 [admin noscript loading stale] (integer) 0 (integer) 0 (integer) 0 [@admin @slow @dangerous] ` +
			`["request_policy:all_nodes" "response_policy:all_succeeded"] [] []]]]]`},
		{cmd: "COMMAND DOCS get", want: `["get" ["summary" "Return the value of a key, or nil when the key does not exist." "since" "1.0.0" "group" "string" "complexity" "O(1)" "arguments" [["name" "key" "type" "key" "key_spec_index" (integer) 0]]]]`},
		{cmd: "COMMAND DOCS slaveof", want: `["slaveof" ["summary" "REPLICAOF's old name." "since" "1.0.0" "group" "server" "complexity" "O(1)" "doc_flags" [deprecated] ` +
			`"deprecated_since" "5.0.0" "replaced_by" "` + "`REPLICAOF`" + `" "arguments" [["name" "args" "type" "oneof" "arguments" [["name" "host-port" "type" "block" ` +
			`"arguments" [["name" "host" "type" "string"] ["name" "port" "type" "integer"]]] ["name" "no-one" "type" "block" "arguments" [["name" "no" "type" "pure-token" "token" "NO"] ["name" "one" "type" "pure-token" "token" "ONE"]]]]]]]]`},
		{cmd: "COMMAND DOCS ttl", want: `["ttl" ["summary" "Return a key's time to live in seconds: -1 without expiry, -2 if missing." "since" "1.0.0" "group" "generic" "complexity" "O(1)" ` +
			`"history" [["2.8.0" "Added the -2 reply."]] "arguments" [["name" "key" "type" "key" "key_spec_index" (integer) 0]]]]`},
		{cmd: "COMMAND DOCS nosuch", want: `[]`},
		{cmd: "COMMAND FOO", want: "(error) ERR unknown subcommand 'FOO'. Try COMMAND HELP."},
		{cmd: "COMMAND COUNT x", want: "(error) ERR wrong number of arguments for 'command|count' command"},
		{cmd: "COMMAND LIST FILTERBY PATTERN x", want: errSyntaxText},
		{cmd: "COMMAND GETKEYS SET k v", want: `["k"]`},
		{cmd: "COMMAND GETKEYSANDFLAGS SET k v GET", want: `[["k" [RW access update]]]`},
		{cmd: "COMMAND GETKEYSANDFLAGS BITOP OR d a b", want: `[["d" [OW update]] ["a" [RO access]] ["b" [RO access]]]`},
		{cmd: "COMMAND GETKEYS MSET a 1 b 2", want: `["a" "b"]`},
		{cmd: "COMMAND GETKEYS OBJECT ENCODING k", want: `["k"]`},
		{cmd: "COMMAND GETKEYS NOSUCH k", want: "(error) ERR Invalid command specified"},
		{cmd: "COMMAND GETKEYS OBJECT NOSUCH k", want: "(error) ERR Invalid command specified"},
		{cmd: "COMMAND GETKEYS PING x", want: "(error) ERR The command has no key arguments"},
		{cmd: "COMMAND GETKEYS GET k x", want: "(error) ERR Invalid number of arguments specified for command"},
		{cmd: "COMMAND GETKEYS GET", want: "(error) ERR wrong number of arguments for 'command|getkeys' command"},
	})

	all := f.exec("COMMAND")
	if all.Kind != KindArray || len(all.Array) != len(Specs()) {
		t.Fatalf("COMMAND returned %d entries, want %d", len(all.Array), len(Specs()))
	}
	if got := f.exec("COMMAND", "INFO"); len(got.Array) != len(all.Array) {
		t.Errorf("COMMAND INFO returned %d entries", len(got.Array))
	}
	docs := f.exec("COMMAND", "DOCS")
	if docs.Kind != KindMap || len(docs.Array) != 2*len(Specs()) {
		t.Errorf("COMMAND DOCS: kind %d, %d items", docs.Kind, len(docs.Array))
	}
	list := f.exec("COMMAND", "LIST").String()
	for _, name := range []string{`"get"`, `"set"`, `"client"`, `"info"`} {
		if !strings.Contains(list, name) {
			t.Errorf("COMMAND LIST lacks %s", name)
		}
	}
	if help := f.exec("COMMAND", "HELP").String(); !strings.Contains(help, "COUNT") || !strings.Contains(help, "DOCS [command-name") {
		t.Errorf("COMMAND HELP: %s", help)
	}
}

func TestConfigGet(t *testing.T) {
	f := newFixture(t, Config{Info: func() ServerInfo { return ServerInfo{TCPPort: 7379, MaxClients: 100} }})
	f.run([]step{
		{cmd: "CONFIG GET save", want: `["save" ""]`},
		{cmd: "CONFIG GET appendonly", want: `["appendonly" "yes"]`},
		{cmd: "config get SAVE APPENDONLY", want: `["APPENDONLY" "yes" "SAVE" ""]`}, // named exactly: as spelled, as redis-server answers
		{cmd: "CONFIG GET save sav?", want: `["save" ""]`},
		{cmd: "CONFIG GET port", want: `["port" "7379"]`},
		{cmd: "CONFIG GET max*", want: `["maxclients" "100" "maxmemory" "0" "maxmemory-policy" "noeviction"]`},
		{cmd: "CONFIG GET nosuch", want: `[]`},
		{cmd: "CONFIG GET [", want: `[]`},
		// Redis's glob, not path.Match: an unterminated class takes the
		// rest of the pattern, a range's ends come in either order and
		// fold case, '!' is no negation.
		{cmd: "CONFIG GET sav[e", want: `["save" ""]`},
		{cmd: "CONFIG GET [t-r]ave", want: `["save" ""]`},
		{cmd: "CONFIG GET [!a]ave", want: `[]`},
		{cmd: "CONFIG GET [^a]ave", want: `["save" ""]`},
		{cmd: "CONFIG GET [O-Q]ORT", want: `["port" "7379"]`},
		{cmd: "CONFIG GET max*-p?LICY", want: `["maxmemory-policy" "noeviction"]`},
		// With none of "[*?", a name is looked up as it is: '\' escapes nothing.
		{cmd: `CONFIG GET sa\ve`, want: `[]`},
		{cmd: `CONFIG GET sa\ve*`, want: `["save" ""]`},
		{cmd: "CONFIG", want: "(error) ERR wrong number of arguments for 'config' command"},
		{cmd: "CONFIG GET", want: "(error) ERR wrong number of arguments for 'config|get' command"},
		{cmd: "CONFIG SET save x", want: "(error) ERR CONFIG SET failed (possibly related to argument 'save') - can't set immutable config"},
		{cmd: "CONFIG SET nosuch x", want: "(error) ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{cmd: "CONFIG SET save x y", want: "(error) ERR syntax error"},
		{cmd: "CONFIG SET save", want: "(error) ERR wrong number of arguments for 'config|set' command"},
		{cmd: "CONFIG REWRITE", want: "(error) ERR unknown subcommand 'REWRITE'. Try CONFIG HELP."},
	})
	if r := f.exec("CONFIG", "GET", "save"); r.Kind != KindMap {
		t.Errorf("CONFIG GET kind %d, want a map", r.Kind)
	}
	if r := f.exec("CONFIG", "GET", "*"); len(r.Array) != 14 {
		t.Errorf("CONFIG GET * = %s", r)
	}
	if help := f.exec("CONFIG", "HELP").String(); !strings.Contains(help, "GET parameter [parameter ...]") {
		t.Errorf("CONFIG HELP: %s", help)
	}
}

// TestFlush: FLUSHALL and FLUSHDB over the engine, every mode and
// spelling, their syntax errors, FLUSHALL queued in MULTI (the writes
// queued before it are gone, those after it stay, and a syntax error is
// reported in EXEC's array), and WATCH across another session's flush.
func TestFlush(t *testing.T) {
	f := newTxFixture(t, Config{})
	f.run([]txStep{
		{cmd: "SET k v", want: "OK"},
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "FLUSHALL", want: "OK"},
		{cmd: "DBSIZE", want: "(integer) 0"},
		{cmd: "GET k", want: "(nil)"},
		{cmd: "TTL t", want: "(integer) -2"},
		{who: 1, cmd: "EXISTS k t", want: "(integer) 0"},
		{cmd: "SET k v2", want: "OK"},
		{cmd: "flushall async", want: "OK"},
		{cmd: "EXISTS k", want: "(integer) 0"},
		{cmd: "SET k v3", want: "OK"},
		{cmd: "FLUSHALL sync", want: "OK"},
		{cmd: "FLUSHDB", want: "OK"},
		{cmd: "FLUSHDB ASYNC", want: "OK"},
		{cmd: "FLUSHDB SYNC", want: "OK"},
		{cmd: "SET k v4", want: "OK"},
		{cmd: "FLUSHALL NOW", want: "(error) ERR syntax error"},
		{cmd: "FLUSHALL ASYNC SYNC", want: "(error) ERR syntax error"},
		{cmd: "FLUSHDB SYNC SYNC", want: "(error) ERR syntax error"},
		{cmd: "FLUSHDB x", want: "(error) ERR syntax error"},
		{cmd: "DBSIZE", want: "(integer) 1"},
		{cmd: "MULTI", want: "OK"},
		{cmd: "SET a 1", want: "QUEUED"},
		{cmd: "FLUSHALL", want: "QUEUED"},
		{cmd: "GET k", want: "QUEUED"},
		{cmd: "SET b 2", want: "QUEUED"},
		{cmd: "DBSIZE", want: "QUEUED"},
		{cmd: "EXEC", want: `[OK OK (nil) OK (integer) 1]`},
		{cmd: "KEYS *", want: `["b"]`},
		{cmd: "MULTI", want: "OK"},
		{cmd: "FLUSHALL BAD", want: "QUEUED"},
		{cmd: "EXEC", want: `[(error) ERR syntax error]`},
		{cmd: "DBSIZE", want: "(integer) 1"},
		{cmd: "WATCH b", want: "OK"},
		{who: 1, cmd: "FLUSHALL", want: "OK"},
		{cmd: "MULTI", want: "OK"},
		{cmd: "SET c 1", want: "QUEUED"},
		{cmd: "EXEC", want: "nil array"},
		{cmd: "GET c", want: "(nil)"},
	})
}

// TestFlushOnAFollower: a follower refuses FLUSHALL like any write.
func TestFlushOnAFollower(t *testing.T) {
	repl := &followerRepl{}
	repl.follow.Store(true)
	f := newTxFixture(t, Config{Repl: repl})
	f.run([]txStep{
		{cmd: "FLUSHALL", want: "(error) READONLY You can't write against a read only replica."},
		{cmd: "FLUSHDB ASYNC", want: "(error) READONLY You can't write against a read only replica."},
	})
}

// TestFlushNeedsAFlusher: over a Store that cannot flush (the in-memory
// twin), FLUSHALL says so and removes nothing.
func TestFlushNeedsAFlusher(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET k v", want: "OK"},
		{cmd: "FLUSHALL", want: "(error) ERR FLUSHALL is not supported by this storage engine"},
		{cmd: "flushdb", want: "(error) ERR FLUSHDB is not supported by this storage engine"},
		{cmd: "FLUSHALL BAD", want: "(error) ERR syntax error"},
		{cmd: "DBSIZE", want: "(integer) 1"},
	})
}

func TestStoreErrors(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{storage.ErrNotInteger, "(error) ERR value is not an integer or out of range"},
		{storage.ErrOverflow, "(error) ERR increment or decrement would overflow"},
		{storage.ErrReadOnly, "(error) READONLY You can't write against a read only replica."},
		{fmt.Errorf("%w (leader 10.0.0.1:7379)", storage.ErrReadOnly), "(error) READONLY You can't write against a read only replica."},
		{storage.ErrKeyTooLarge, "(error) ERR key exceeds maximum allowed size"},
		{storage.ErrValueTooLarge, "(error) ERR string exceeds maximum allowed size (max_value_size)"},
		{storage.ErrClosed, "(error) ERR pykv/storage: database closed"},
		{fmt.Errorf("%w: fsync: EIO", storage.ErrLogFailed), "(error) MISCONF pykv/storage: log failed: fsync: EIO"},
		{errors.New("disk on fire\r\nagain"), "(error) ERR disk on fire  again"},
	}
	for _, c := range cases {
		if got := storeError(c.err).String(); got != c.want {
			t.Errorf("storeError(%v) = %s, want %s", c.err, got, c.want)
		}
	}

	// Every command that reaches the Store passes its error through storeError.
	f := newFixture(t, Config{})
	f.store.err = storage.ErrReadOnly
	const readOnly = "(error) READONLY You can't write against a read only replica."
	for _, cmd := range []string{
		"GET k", "SET k v", "SET k v GET", "SETNX k v", "SETEX k 10 v", "PSETEX k 10 v", "GETDEL k",
		"INCR k", "INCRBY k 2", "DECR k", "DECRBY k 2", "MGET a b", "MSET a 1",
		"DEL k", "UNLINK k", "EXISTS k", "EXPIRE k 10", "PEXPIRE k 10", "EXPIREAT k 10",
		"PEXPIREAT k 10", "PERSIST k", "TTL k", "PTTL k", "SCAN 0",
	} {
		f.run([]step{{cmd: cmd, want: readOnly}})
	}
}

// TestKeySpecReplyShapes: the key-spec types no command of pykv's uses,
// Redis's "keyword" begin_search and "keynum" find_keys, answer in Redis
// 7.0's shape: XREAD's and ZUNIONSTORE's key specifications as
// redis-server 7.0.15's COMMAND INFO gives them. (Every command's own are
// compared with redis-server's by TestCommandInfoLikeRedis, in cmd/pykvd.)
func TestKeySpecReplyShapes(t *testing.T) {
	tests := []struct {
		name  string
		specs []spec.KeySpec
		want  string
	}{
		{"xread", []spec.KeySpec{{Flags: []string{"RO", "access"},
			BeginSearch: spec.BeginSearch{Type: "keyword", Keyword: "STREAMS", StartFrom: 1},
			FindKeys:    spec.FindKeys{Type: "range", LastKey: -1, KeyStep: 1, Limit: 2}}},
			`[["flags" [RO access] "begin_search" ["type" "keyword" "spec" ["keyword" "STREAMS" "startfrom" (integer) 1]] ` +
				`"find_keys" ["type" "range" "spec" ["lastkey" (integer) -1 "keystep" (integer) 1 "limit" (integer) 2]]]]`},
		{"zunionstore", []spec.KeySpec{
			{Flags: []string{"OW", "update"}, BeginSearch: spec.BeginSearch{Type: "index", Index: 1},
				FindKeys: spec.FindKeys{Type: "range", KeyStep: 1}},
			{Notes: "a note", Flags: []string{"RO", "access"}, BeginSearch: spec.BeginSearch{Type: "index", Index: 2},
				FindKeys: spec.FindKeys{Type: "keynum", KeyNumIdx: 0, FirstKey: 1, KeyStep: 1}}},
			`[["flags" [OW update] "begin_search" ["type" "index" "spec" ["index" (integer) 1]] ` +
				`"find_keys" ["type" "range" "spec" ["lastkey" (integer) 0 "keystep" (integer) 1 "limit" (integer) 0]]] ` +
				`["notes" "a note" "flags" [RO access] "begin_search" ["type" "index" "spec" ["index" (integer) 2]] ` +
				`"find_keys" ["type" "keynum" "spec" ["keynumidx" (integer) 0 "firstkey" (integer) 1 "keystep" (integer) 1]]]]`},
	}
	for _, tt := range tests {
		got := Set(keySpecs(tt.specs))
		if got.String() != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		// Each key spec and its begin_search, find_keys and their specs are
		// maps (RESP3's %), the flags a set, as Redis sends them.
		for _, ks := range got.Array {
			if ks.Kind != KindMap || !ks.Array[len(ks.Array)-5].IsSet() {
				t.Errorf("%s: key spec %v is not a map with a set of flags", tt.name, ks)
			}
			for _, part := range []Reply{ks.Array[len(ks.Array)-3], ks.Array[len(ks.Array)-1]} {
				if part.Kind != KindMap || part.Array[3].Kind != KindMap {
					t.Errorf("%s: %v is not a map of a type and a map", tt.name, part)
				}
			}
		}
	}
}
