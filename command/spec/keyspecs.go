package spec

import "strings"

// KeySpec is one key specification of a command, as Redis 7's COMMAND
// INFO reports them (its 10th field): where a run of key arguments begins
// (BeginSearch), how far it goes (FindKeys) and what the command does
// with those keys (Flags). Cluster-aware clients route a command by them.
// A KeySpec returned by this package is shared and must not be modified.
type KeySpec struct {
	// Notes explain the flags where Redis does ("RW and UPDATE because it
	// changes the TTL"); empty for most, and then left out of the reply.
	Notes string
	// Flags are Redis's key-spec flags in its order: one of RO, RW, OW, RM
	// (read only, read-write, overwrite, remove), then what is done with
	// the key (access, update, insert, delete) and not_key, incomplete,
	// variable_flags.
	Flags []string
	// BeginSearch is where the first key is.
	BeginSearch BeginSearch
	// FindKeys is where the keys after the first are.
	FindKeys FindKeys
}

// BeginSearch is where a key specification's first key is: argv[Index]
// (Redis's type "index"), or the argument after Keyword, looked for from
// argv[StartFrom] on (a negative StartFrom counts from the end, searching
// backwards: Redis's type "keyword").
type BeginSearch struct {
	// Type is "index" or "keyword".
	Type string
	// Index is the first key's position, for "index".
	Index int
	// Keyword and StartFrom are for "keyword".
	Keyword   string
	StartFrom int
}

// FindKeys is how far a key specification's keys go from the first one.
// Type "range": to LastKey (relative to the first key; -1 is the last
// argument, -2 the one before), every KeyStep-th argument, and when Limit
// is more than 1 only up to 1/Limit of the remaining arguments. Type
// "keynum": argv[first+KeyNumIdx] says how many keys there are, the first
// at first+FirstKey, every KeyStep-th.
type FindKeys struct {
	// Type is "range" or "keynum".
	Type string
	// LastKey, KeyStep and Limit are for "range"; KeyStep is for both.
	LastKey, KeyStep, Limit int
	// KeyNumIdx and FirstKey are for "keynum".
	KeyNumIdx, FirstKey int
}

// byIndex is a BeginSearch of type "index".
func byIndex(i int) BeginSearch { return BeginSearch{Type: "index", Index: i} }

// byKeyword is a BeginSearch of type "keyword". No command of pykv's
// begins its keys after a keyword yet (Redis's XREAD ... STREAMS does);
// TestLegacyRange, and in package command TestKeySpecReplyShapes, cover
// the type.
func byKeyword(keyword string, startFrom int) BeginSearch {
	return BeginSearch{Type: "keyword", Keyword: keyword, StartFrom: startFrom}
}

// keyRange is a FindKeys of type "range".
func keyRange(lastKey, keyStep, limit int) FindKeys {
	return FindKeys{Type: "range", LastKey: lastKey, KeyStep: keyStep, Limit: limit}
}

// keyNum is a FindKeys of type "keynum" (Redis's ZUNIONSTORE numkeys key
// ...; none of pykv's yet), covered as byKeyword is.
func keyNum(keyNumIdx, firstKey, keyStep int) FindKeys {
	return FindKeys{Type: "keynum", KeyNumIdx: keyNumIdx, FirstKey: firstKey, KeyStep: keyStep}
}

// kf splits key-spec flags written "RW access update".
func kf(flags string) []string { return strings.Fields(flags) }

// KeySpecs returns c's key specifications, none for a command without
// keys. The slice is shared and must not be modified.
func (c *Command) KeySpecs() []KeySpec { return c.keySpecs }

// Tips returns c's command tips, as COMMAND INFO's 9th field reports
// them: how a cluster client sends the command to shards and merges their
// replies ("request_policy:all_shards", "response_policy:agg_sum") and
// whether its output is deterministic ("nondeterministic_output"). None
// for most commands. The slice is shared and must not be modified.
func (c *Command) Tips() []string { return c.tips }

// keySpecTable is each command's tips and key specifications, those of
// Redis 7.0 (redis-server 7.0.15's COMMAND INFO, which answers what
// Redis's src/commands/*.json of the 7.0 branch say; they were read from
// a running redis-server 7.0.15 and written here, and
// TestCommandInfoLikeRedis compares every command's entry with
// redis-server's byte for byte), in docTable's order. A command that is
// not here has neither: pykv's own COMPACT, EXPORT and BACKUP take no
// key, and nor do they give cluster clients a tip; CLIENT SETINFO (Redis
// 7.2's) has neither in Redis 7.2.
var keySpecTable = []struct {
	name  string
	tips  []string
	specs []KeySpec
}{
	{"ping", []string{"request_policy:all_shards", "response_policy:all_succeeded"}, nil},
	{"client|list", []string{"nondeterministic_output"}, nil},
	{"client|info", []string{"nondeterministic_output"}, nil},
	{"get", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"set", nil, []KeySpec{{Notes: "RW and ACCESS due to the optional `GET` argument", Flags: kf("RW access update variable_flags"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"setnx", nil, []KeySpec{{Flags: kf("OW insert"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"setex", nil, []KeySpec{{Flags: kf("OW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"psetex", nil, []KeySpec{{Flags: kf("OW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"getdel", nil, []KeySpec{{Flags: kf("RW access delete"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"incr", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"incrby", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"decr", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"decrby", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"mget", []string{"request_policy:multi_shard"}, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 1, 0)}}},
	{"mset", []string{"request_policy:multi_shard", "response_policy:all_succeeded"}, []KeySpec{{Flags: kf("OW update"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 2, 0)}}},
	{"msetnx", []string{"request_policy:multi_shard", "response_policy:agg_min"}, []KeySpec{{Flags: kf("OW insert"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 2, 0)}}},
	{"getset", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"getex", nil, []KeySpec{{Notes: "RW and UPDATE because it changes the TTL", Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"incrbyfloat", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"append", nil, []KeySpec{{Flags: kf("RW insert"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"strlen", nil, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"getrange", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"substr", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"setrange", nil, []KeySpec{{Flags: kf("RW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"lcs", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(1, 1, 0)}}},
	{"getbit", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"setbit", nil, []KeySpec{{Flags: kf("RW access update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"bitcount", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"bitpos", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"bitop", nil, []KeySpec{{Flags: kf("OW update"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}, {Flags: kf("RO access"), BeginSearch: byIndex(3), FindKeys: keyRange(-1, 1, 0)}}},
	{"del", []string{"request_policy:multi_shard", "response_policy:agg_sum"}, []KeySpec{{Flags: kf("RM delete"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 1, 0)}}},
	{"unlink", []string{"request_policy:multi_shard", "response_policy:agg_sum"}, []KeySpec{{Flags: kf("RM delete"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 1, 0)}}},
	{"exists", []string{"request_policy:multi_shard", "response_policy:agg_sum"}, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 1, 0)}}},
	{"expire", nil, []KeySpec{{Flags: kf("RW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"pexpire", nil, []KeySpec{{Flags: kf("RW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"expireat", nil, []KeySpec{{Flags: kf("RW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"pexpireat", nil, []KeySpec{{Flags: kf("RW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"persist", nil, []KeySpec{{Flags: kf("RW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"ttl", []string{"nondeterministic_output"}, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"pttl", []string{"nondeterministic_output"}, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"scan", []string{"nondeterministic_output", "request_policy:special"}, nil},
	{"expiretime", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"pexpiretime", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"rename", nil, []KeySpec{{Flags: kf("RW access delete"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}, {Flags: kf("OW update"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"renamenx", nil, []KeySpec{{Flags: kf("RW access delete"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}, {Flags: kf("OW insert"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"copy", nil, []KeySpec{{Flags: kf("RO access"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}, {Flags: kf("OW update"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"type", nil, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}},
	{"keys", []string{"request_policy:all_shards", "nondeterministic_output_order"}, nil},
	{"randomkey", []string{"request_policy:all_shards", "nondeterministic_output"}, nil},
	{"touch", []string{"request_policy:multi_shard", "response_policy:agg_sum"}, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 1, 0)}}},
	{"object|encoding", []string{"nondeterministic_output"}, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"object|freq", []string{"nondeterministic_output"}, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"object|idletime", []string{"nondeterministic_output"}, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"object|refcount", []string{"nondeterministic_output"}, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"watch", nil, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(1), FindKeys: keyRange(-1, 1, 0)}}},
	{"dbsize", []string{"request_policy:all_shards", "response_policy:agg_sum"}, nil},
	{"info", []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"}, nil},
	{"command", []string{"nondeterministic_output_order"}, nil},
	{"command|docs", []string{"nondeterministic_output_order"}, nil},
	{"command|info", []string{"nondeterministic_output_order"}, nil},
	{"command|list", []string{"nondeterministic_output_order"}, nil},
	{"config|set", []string{"request_policy:all_nodes", "response_policy:all_succeeded"}, nil},
	{"flushall", []string{"request_policy:all_shards", "response_policy:all_succeeded"}, nil},
	{"flushdb", []string{"request_policy:all_shards", "response_policy:all_succeeded"}, nil},
	{"wait", []string{"request_policy:all_shards", "response_policy:agg_min"}, nil},
	{"time", []string{"nondeterministic_output"}, nil},
	{"lastsave", []string{"nondeterministic_output"}, nil},
	{"memory|usage", nil, []KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(2), FindKeys: keyRange(0, 1, 0)}}},
	{"memory|doctor", []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"}, nil},
	{"memory|stats", []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"}, nil},
	{"memory|malloc-stats", []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"}, nil},
	{"memory|purge", []string{"request_policy:all_shards", "response_policy:all_succeeded"}, nil},
}

// keySpecsByName is keySpecTable by command name; index hands each
// Command its tips and key specifications.
var keySpecsByName = func() map[string]int {
	m := make(map[string]int, len(keySpecTable))
	for i, e := range keySpecTable {
		if _, dup := m[e.name]; dup {
			panic("spec: key specs of " + e.name + " given twice")
		}
		for _, ks := range e.specs {
			if ks.BeginSearch.Type != "index" && ks.BeginSearch.Type != "keyword" ||
				ks.FindKeys.Type != "range" && ks.FindKeys.Type != "keynum" || len(ks.Flags) == 0 {
				panic("spec: malformed key spec of " + e.name)
			}
		}
		m[e.name] = i
	}
	return m
}()
