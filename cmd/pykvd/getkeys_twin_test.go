package main

import (
	"testing"
	"time"
)

// TestCommandGetKeysLikeRedis (twin): COMMAND GETKEYS and COMMAND
// GETKEYSANDFLAGS answer redis-server 7.0.15's bytes over RESP2, RESP3
// (where each key's flags are a set) and the native protocol: the keys
// their key specifications find (one key, a range to the end, every other
// argument, two specs with their own flags), SET's flags with and without
// GET, subcommands' keys, and the errors in Redis's order: an unknown
// command or subcommand, a command without keys, a call of the wrong
// arity, and too few arguments for GETKEYS itself.
func TestCommandGetKeysLikeRedis(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	calls := [][]string{
		{"SET", "k", "v"},
		{"SET", "k", "v", "GET"},
		{"SET", "k", "v", "EX", "10", "get"},
		{"SET", "k", "v", "NX", "GeT", "XX"},
		{"SET", "k", "v", "GET\x00x"},
		{"SET", "k", "v", "GETS"},
		{"SET", "k", "v", "NX"},
		{"SET", "get", "get"},
		{"SET", "k"},
		{"GET", "k"},
		{"get", "k"},
		{"GET", "k", "x"},
		{"MSET", "a", "1", "b", "2"},
		{"MSET", "a", "1", "b"},
		{"MSETNX", "a", "1"},
		{"MGET", "a", "b", "c"},
		{"DEL", "a", "b", "a"},
		{"UNLINK", "a"},
		{"EXISTS", "a", "b"},
		{"TOUCH", "a", "b"},
		{"WATCH", "a", "b"},
		{"RENAME", "a", "b"},
		{"RENAMENX", "a", "b"},
		{"COPY", "a", "b", "REPLACE"},
		{"COPY", "a", "b", "DB", "0"},
		{"BITOP", "AND", "d", "s1", "s2"},
		{"BITOP", "NOT", "d", "s"},
		{"BITOP", "AND", "d"},
		{"LCS", "a", "b", "IDX", "MINMATCHLEN", "2"},
		{"EXPIRE", "k", "10", "NX"},
		{"GETEX", "k", "PERSIST"},
		{"GETDEL", "k"},
		{"INCRBYFLOAT", "k", "1.5"},
		{"SETRANGE", "k", "0", "x"},
		{"OBJECT", "ENCODING", "k"},
		{"object", "freq", "k"},
		{"MEMORY", "USAGE", "k", "SAMPLES", "5"},
		{"MEMORY", "USAGE"},
		{"OBJECT", "NOSUCH", "k"},
		{"MEMORY", "nosuch"},
		{"PING", "x"},
		{"ECHO", "x"},
		{"KEYS", "*"},
		{"SCAN", "0"},
		{"FLUSHALL", "SYNC"},
		{"CONFIG", "GET", "x"},
		{"CLIENT", "LIST"},
		{"COMMAND", "GETKEYS"},
		{"COMMAND", "GETKEYS", "GET", "k"},
		{"NOSUCH", "k"},
		{"NOSUCHATALLANDLONGERTHANANYCOMMANDNAME", "k"},
		{"SET|GET", "k"},
		{"GET"},
		{"PING"},
		{"CONFIG"},
	}
	runTwinLegs(t, tw, func(string, time.Time) [][]string {
		var cmds [][]string
		for _, sub := range []string{"GETKEYS", "GETKEYSANDFLAGS", "getkeysandflags"} {
			for _, call := range calls {
				cmds = append(cmds, append([]string{"COMMAND", sub}, call...))
			}
		}
		return append(cmds, []string{"COMMAND", "GETKEYS"}, []string{"COMMAND", "GETKEYSANDFLAGS"})
	})
}

// TestCommandGetKeysOfRedisOnlyCommands: a command that redis-server has
// and pykv has not (a list's, a sorted set's, SORT) is an unknown command
// to pykvd's COMMAND GETKEYS, as it is when called (docs/protocol.md,
// Differences), while redis-server finds its keys.
func TestCommandGetKeysOfRedisOnlyCommands(t *testing.T) {
	t.Parallel()
	tw := startTwins(t)
	p, r := dialRESPRaw(t, tw.pykv.RESPAddr()), dialRESPRaw(t, tw.redisAddr)
	for _, call := range [][]string{{"SORT", "k"}, {"LPUSH", "k", "v"}, {"ZUNIONSTORE", "d", "2", "a", "b"}} {
		args := append([]string{"COMMAND", "GETKEYS"}, call...)
		if got := p.call(args...); got != "-ERR Invalid command specified\r\n" {
			t.Errorf("pykvd %q: %q", args, got)
		}
		if want := r.call(args...); want[0] != '*' {
			t.Errorf("redis-server %q: %q, not keys", args, want)
		}
	}
}
