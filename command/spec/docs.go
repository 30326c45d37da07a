package spec

// History is one change to a command, as COMMAND DOCS's "history" lists
// them: the Redis version and what it changed.
type History struct {
	Version, Text string
}

// Doc is what COMMAND DOCS tells of a command beside its summary, group
// and arguments: Redis 7.0's facts (Redis 7.2's for CLIENT SETINFO), byte
// for byte, since clients show them. Empty strings are left out of the
// reply, as Redis leaves them out.
type Doc struct {
	// Since is the Redis version that added the command; empty for pykv's
	// own (BACKUP, COMPACT, EXPORT).
	Since string
	// Complexity is the time complexity in Redis's words, or for pykv's
	// own commands in pykv's; empty where Redis gives none (MONITOR,
	// PSYNC).
	Complexity string
	// DeprecatedSince is the Redis version that deprecated the command and
	// ReplacedBy what to use instead; both empty for a current command.
	DeprecatedSince, ReplacedBy string
	// History is the command's changes, oldest first.
	History []History
}

// DocFlags returns the names of COMMAND DOCS's "doc_flags": ["deprecated"]
// for a deprecated command, none for another.
func (d *Doc) DocFlags() []string {
	if d.DeprecatedSince != "" {
		return []string{"deprecated"}
	}
	return nil
}

// Doc returns c's documentation. It is shared and must not be modified.
func (c *Command) Doc() *Doc { return c.doc }

// Complexities and histories that several commands share.
const (
	o1            = "O(1)"
	bySubcommand  = "Depends on subcommand."
	allKeysInAll  = "O(N) where N is the total number of keys in all databases"
	substring     = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings."
	keysToSet     = "O(N) where N is the number of keys to set."
	connections   = "O(N) where N is the number of client connections"
	allCommands   = "O(N) where N is the total number of Redis commands"
	lookedUp      = "O(N) where N is the number of commands to look up"
	perArgument   = "O(N) where N is the number of arguments to the command"
	parameters    = "O(N) when N is the number of configuration parameters provided"
	mallocBound   = "Depends on how much memory is allocated, could be slow"
	expireOptions = "Added options: `NX`, `XX`, `GT` and `LT`."
	minus2        = "Added the -2 reply."
	byteBit       = "Added the `BYTE|BIT` option."
)

// flushHistory is FLUSHALL's and FLUSHDB's.
var flushHistory = h("4.0.0", "Added the `ASYNC` flushing mode modifier.", "6.2.0", "Added the `SYNC` flushing mode modifier.")

// h builds a history from version, text, version, text...
func h(pairs ...string) []History {
	hs := make([]History, len(pairs)/2)
	for i := range hs {
		hs[i] = History{pairs[2*i], pairs[2*i+1]}
	}
	return hs
}

// docTable is each command's since, complexity and history, as Redis
// 7.0's COMMAND DOCS gives them (a test compares them with
// redis-server's), in table()'s order.
var docTable = []struct {
	name, since, complexity string
	history                 []History
}{
	{"ping", "1.0.0", o1, nil},
	{"echo", "1.0.0", o1, nil},
	{"auth", "1.0.0", "O(N) where N is the number of passwords defined for the user", h("6.0.0", "Added ACL style (username and password).")},
	{"hello", "6.0.0", o1, h("6.2.0", "`protover` made optional; when called without arguments the command reports the current connection's context.")},
	{"quit", "1.0.0", o1, nil},
	{"select", "1.0.0", o1, nil},
	{"client", "2.4.0", bySubcommand, nil},
	{"client|id", "5.0.0", o1, nil},
	{"client|getname", "2.6.9", o1, nil},
	{"client|setname", "2.6.9", o1, nil},
	{"client|setinfo", "7.2.0", o1, nil},
	{"client|help", "5.0.0", o1, nil},
	{"client|list", "2.4.0", connections, h(
		"2.8.12", "Added unique client `id` field.",
		"5.0.0", "Added optional `TYPE` filter.",
		"6.0.0", "Added `user` field.",
		"6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter.",
		"7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields.",
		"7.0.3", "Added `ssub` field.")},
	{"client|info", "6.2.0", o1, nil},
	{"client|kill", "2.4.0", connections, h(
		"2.8.12", "Added new filter format.",
		"2.8.12", "`ID` option.",
		"3.2.0", "Added `master` type in for `TYPE` option.",
		"5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility.",
		"6.2.0", "`LADDR` option.")},
	{"client|reply", "3.2.0", o1, nil},
	{"client|no-evict", "7.0.0", o1, nil},

	{"get", "1.0.0", o1, nil},
	{"set", "1.0.0", o1, h(
		"2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options.",
		"6.0.0", "Added the `KEEPTTL` option.",
		"6.2.0", "Added the `GET`, `EXAT` and `PXAT` option.",
		"7.0.0", "Allowed the `NX` and `GET` options to be used together.")},
	{"setnx", "1.0.0", o1, nil},
	{"setex", "2.0.0", o1, nil},
	{"psetex", "2.6.0", o1, nil},
	{"getdel", "6.2.0", o1, nil},
	{"incr", "1.0.0", o1, nil},
	{"incrby", "1.0.0", o1, nil},
	{"decr", "1.0.0", o1, nil},
	{"decrby", "1.0.0", o1, nil},
	{"mget", "1.0.0", "O(N) where N is the number of keys to retrieve.", nil},
	{"mset", "1.0.1", keysToSet, nil},
	{"msetnx", "1.0.1", keysToSet, nil},
	{"getset", "1.0.0", o1, nil},
	{"getex", "6.2.0", o1, nil},
	{"incrbyfloat", "2.6.0", o1, nil},
	{"append", "2.0.0", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", nil},
	{"strlen", "2.2.0", o1, nil},
	{"getrange", "2.4.0", substring, nil},
	{"substr", "1.0.0", substring, nil},
	{"setrange", "2.2.0", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", nil},
	{"lcs", "7.0.0", "O(N*M) where N and M are the lengths of s1 and s2, respectively", nil},

	{"getbit", "2.2.0", o1, nil},
	{"setbit", "2.2.0", o1, nil},
	{"bitcount", "2.6.0", "O(N)", h("7.0.0", byteBit)},
	{"bitpos", "2.8.7", "O(N)", h("7.0.0", byteBit)},
	{"bitop", "2.6.0", "O(N)", nil},

	{"del", "1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", nil},
	{"unlink", "4.0.0", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", nil},
	{"exists", "1.0.0", "O(N) where N is the number of keys to check.", h("3.0.3", "Accepts multiple `key` arguments.")},
	{"expire", "1.0.0", o1, h("7.0.0", expireOptions)},
	{"pexpire", "2.6.0", o1, h("7.0.0", expireOptions)},
	{"expireat", "1.2.0", o1, h("7.0.0", expireOptions)},
	{"pexpireat", "2.6.0", o1, h("7.0.0", expireOptions)},
	{"persist", "2.2.0", o1, nil},
	{"ttl", "1.0.0", o1, h("2.8.0", minus2)},
	{"pttl", "2.6.0", o1, h("2.8.0", minus2)},
	{"scan", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", h("6.0.0", "Added the `TYPE` subcommand.")},
	{"expiretime", "7.0.0", o1, nil},
	{"pexpiretime", "7.0.0", o1, nil},
	{"rename", "1.0.0", o1, nil},
	{"renamenx", "1.0.0", o1, h("3.2.0", "The command no longer returns an error when source and destination names are the same.")},
	{"copy", "6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", nil},
	{"type", "1.0.0", o1, nil},
	{"keys", "1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", nil},
	{"randomkey", "1.0.0", o1, nil},
	{"touch", "3.2.1", "O(N) where N is the number of keys that will be touched.", nil},
	{"object", "2.2.3", bySubcommand, nil},
	{"object|encoding", "2.2.3", o1, nil},
	{"object|freq", "4.0.0", o1, nil},
	{"object|idletime", "2.2.3", o1, nil},
	{"object|refcount", "2.2.3", o1, nil},
	{"object|help", "6.2.0", o1, nil},

	{"multi", "1.2.0", o1, nil},
	{"exec", "1.2.0", "Depends on commands in the transaction", nil},
	{"discard", "2.0.0", "O(N), when N is the number of queued commands", nil},
	{"watch", "2.2.0", "O(1) for every key.", nil},
	{"unwatch", "2.2.0", o1, nil},

	{"dbsize", "1.0.0", o1, nil},
	{"info", "1.0.0", o1, h("7.0.0", "Added support for taking multiple section arguments.")},
	{"command", "2.8.13", allCommands, nil},
	{"command|count", "2.8.13", o1, nil},
	{"command|docs", "7.0.0", lookedUp, nil},
	{"command|getkeys", "2.8.13", perArgument, nil},
	{"command|getkeysandflags", "7.0.0", perArgument, nil},
	{"command|info", "2.8.13", lookedUp, h("7.0.0", "Allowed to be called with no argument to get info on all commands.")},
	{"command|list", "7.0.0", allCommands, nil},
	{"command|help", "5.0.0", o1, nil},
	{"config", "2.0.0", bySubcommand, nil},
	{"config|get", "2.0.0", parameters, h("7.0.0", "Added the ability to pass multiple pattern parameters in one call")},
	{"config|set", "2.0.0", parameters, h("7.0.0", "Added the ability to set multiple parameters in one call.")},
	{"config|help", "5.0.0", o1, nil},
	{"config|resetstat", "2.0.0", o1, nil},
	{"bgrewriteaof", "1.0.0", o1, nil},
	{"compact", "", "O(N) where N is the number of records in the log and the snapshot files merged", nil},
	{"flushall", "1.0.0", allKeysInAll, flushHistory},
	{"flushdb", "1.0.0", "O(N) where N is the number of keys in the selected database", flushHistory},
	{"export", "", "O(N) where N is the number of keys, plus COMPACT's merge when the dataset is more than one file", nil},
	{"backup", "", "O(1) to hard-link the snapshot, O(N) to copy its N bytes to another file system, plus COMPACT's merge when the dataset is more than one file", nil},

	{"replicaof", "5.0.0", o1, nil},
	{"slaveof", "1.0.0", o1, nil},
	{"role", "2.8.12", o1, nil},
	{"wait", "3.0.0", o1, nil},
	{"psync", "2.8.0", "", nil},

	{"time", "2.6.0", o1, nil},
	{"lastsave", "1.0.0", o1, nil},
	{"save", "1.0.0", allKeysInAll, nil},
	{"bgsave", "1.0.0", o1, h("3.2.2", "Added the `SCHEDULE` option.")},
	{"shutdown", "1.0.0", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", h("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")},
	{"monitor", "1.0.0", "", nil},
	{"memory", "4.0.0", bySubcommand, nil},
	{"memory|usage", "4.0.0", "O(N) where N is the number of samples.", nil},
	{"memory|doctor", "4.0.0", o1, nil},
	{"memory|stats", "4.0.0", o1, nil},
	{"memory|malloc-stats", "4.0.0", mallocBound, nil},
	{"memory|purge", "4.0.0", mallocBound, nil},
	{"memory|help", "4.0.0", o1, nil},
}

// deprecated are the deprecated commands: since which Redis version, and
// what replaces them.
var deprecated = map[string][2]string{
	"getset":  {"6.2.0", "`SET` with the `!GET` argument"},
	"substr":  {"2.0.0", "`GETRANGE`"},
	"slaveof": {"5.0.0", "`REPLICAOF`"},
}

// docsByName is docTable and deprecated by command name; index hands each
// Command its Doc and checks that none is missing.
var docsByName = func() map[string]*Doc {
	m := make(map[string]*Doc, len(docTable))
	for _, e := range docTable {
		if m[e.name] != nil {
			panic("spec: docs of " + e.name + " given twice")
		}
		m[e.name] = &Doc{Since: e.since, Complexity: e.complexity, History: e.history}
	}
	for name, dep := range deprecated {
		d := m[name]
		if d == nil {
			panic("spec: deprecated " + name + " has no docs")
		}
		d.DeprecatedSince, d.ReplacedBy = dep[0], dep[1]
	}
	return m
}()
