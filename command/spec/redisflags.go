package spec

import (
	"slices"
	"strings"
)

// redisFlagOrder is the order in which Redis 7.0's COMMAND INFO lists a
// command's flags (those it shows: may_replicate, sentinel, only_sentinel
// and protected it keeps to itself).
var redisFlagOrder = []string{"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
	"blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
	"no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy"}

// stateFlagTable is the flags Redis 7.0 gives commands (src/commands/*.json,
// as redis-server 7.0.15's COMMAND INFO answers them) about states of
// Redis that pykv never enters, by the commands that have them, so that
// COMMAND INFO lists every flag Redis's clients expect:
//
//   - denyoom: refused once used memory passes maxmemory; pykv has no
//     maxmemory (CONFIG GET maxmemory is 0), so, as in a Redis without
//     one, nothing is ever refused for it.
//   - loading: allowed while the dataset loads; pykvd recovers its log
//     before it listens, so no command ever meets a loading server.
//   - stale: allowed on a replica that has lost its master when
//     replica-serve-stale-data is no; a pykv follower serves every command
//     then, as a Redis replica does with its default, yes.
//   - noscript, allow_busy: not allowed in a Lua script, allowed while a
//     script runs too long; pykv has no scripts.
//   - no_async_loading, skip_slowlog: refused during a diskless
//     replica's asynchronous load, left out of SLOWLOG; pykv has neither.
//
// pykv acts on the flags of Flags alone. A command that is not here has
// none of these.
var stateFlagTable = []struct {
	flags string
	names []string
}{
	{"denyoom", []string{"set", "setnx", "setex", "psetex", "incr", "incrby", "decr", "decrby", "mset", "msetnx",
		"getset", "incrbyfloat", "append", "setrange", "setbit", "bitop", "copy"}},
	{"loading stale", []string{"echo", "select", "client|help", "object|help", "info", "command", "command|count",
		"command|docs", "command|getkeys", "command|getkeysandflags", "command|info", "command|list", "command|help", "config|help", "time", "lastsave", "memory|help"}},
	{"noscript loading stale", []string{"client|id", "client|getname", "client|setname", "client|list", "client|info",
		"client|kill", "client|reply", "client|no-evict", "config|get", "config|set", "config|resetstat", "role", "monitor",
		// Redis 7.2's, for CLIENT SETINFO
		"client|setinfo"}},
	{"noscript loading stale allow_busy", []string{"auth", "hello", "quit", "multi", "discard", "watch", "unwatch", "shutdown"}},
	{"noscript no_async_loading", []string{"bgrewriteaof", "psync", "save", "bgsave"}},
	{"noscript stale no_async_loading", []string{"replicaof", "slaveof"}},
	{"noscript loading stale skip_slowlog", []string{"exec"}},
	{"noscript", []string{"wait"}},
}

// stateFlags is stateFlagTable by command name.
var stateFlags = func() map[string][]string {
	m := map[string][]string{}
	for _, row := range stateFlagTable {
		for _, name := range row.names {
			if m[name] != nil {
				panic("spec: state flags of " + name + " given twice")
			}
			m[name] = strings.Fields(row.flags)
		}
	}
	return m
}()

// FlagNames returns the names of c's flags as COMMAND INFO reports them,
// in Redis's order: those of its Flags, and those of Redis's flags about
// states pykv never enters that Redis gives the command (stateFlagTable).
func (c *Command) FlagNames() []string {
	names := append(c.Flags.Names(), stateFlags[c.Name]...)
	var out []string
	for _, name := range redisFlagOrder {
		if slices.Contains(names, name) {
			out = append(out, name)
		}
	}
	return out
}
