package command

import "github.com/pykv/pykv/command/spec"

// handlers says what each command of package spec does: one line per
// command or subcommand with a handler (a container such as CLIENT has
// none of its own). Adding a command is an entry in spec's table, its
// handler in the file of its group, and a line here.
func handlers() []struct {
	name string
	run  handler
} {
	return []struct {
		name string
		run  handler
	}{
		{"ping", (*Table).ping},
		{"echo", (*Table).echo},
		{"auth", (*Table).auth},
		{"hello", (*Table).hello},
		{"quit", (*Table).quit},
		{"select", (*Table).selectDB},
		{"client|id", (*Table).clientID},
		{"client|getname", (*Table).clientGetName},
		{"client|setname", (*Table).clientSetName},
		{"client|setinfo", (*Table).clientSetInfo},
		{"client|help", helpFor("client")},
		{"client|list", (*Table).clientList},
		{"client|info", (*Table).clientInfo},
		{"client|kill", (*Table).clientKill},
		{"client|reply", (*Table).clientReply},
		{"client|no-evict", (*Table).clientNoEvict},
		{"get", (*Table).get},
		{"set", (*Table).set},
		{"setnx", (*Table).setnx},
		{"setex", (*Table).setex},
		{"psetex", (*Table).psetex},
		{"getdel", (*Table).getdel},
		{"incr", (*Table).incr},
		{"incrby", (*Table).incrby},
		{"decr", (*Table).decr},
		{"decrby", (*Table).decrby},
		{"mget", (*Table).mget},
		{"mset", (*Table).mset},
		{"msetnx", (*Table).msetnx},
		{"getset", (*Table).getset},
		{"getex", (*Table).getex},
		{"incrbyfloat", (*Table).incrbyfloat},
		{"append", (*Table).appendCmd},
		{"strlen", (*Table).strlen},
		{"getrange", (*Table).getrange},
		{"substr", (*Table).getrange},
		{"setrange", (*Table).setrange},
		{"lcs", (*Table).lcs},
		{"getbit", (*Table).getbit},
		{"setbit", (*Table).setbit},
		{"bitcount", (*Table).bitcount},
		{"bitpos", (*Table).bitpos},
		{"bitop", (*Table).bitop},
		{"del", (*Table).del},
		{"unlink", (*Table).del},
		{"exists", (*Table).exists},
		{"expire", (*Table).expire},
		{"pexpire", (*Table).pexpire},
		{"expireat", (*Table).expireat},
		{"pexpireat", (*Table).pexpireat},
		{"persist", (*Table).persist},
		{"ttl", (*Table).ttl},
		{"pttl", (*Table).pttl},
		{"scan", (*Table).scan},
		// the keyspace commands of issue 16
		{"expiretime", (*Table).expiretime},
		{"pexpiretime", (*Table).pexpiretime},
		{"rename", (*Table).rename},
		{"renamenx", (*Table).renamenx},
		{"copy", (*Table).copy},
		{"type", (*Table).typeCmd},
		{"keys", (*Table).keys},
		{"randomkey", (*Table).randomkey},
		{"touch", (*Table).touchKeys},
		{"object|encoding", (*Table).objectEncoding},
		{"object|freq", (*Table).objectFreq},
		{"object|idletime", (*Table).objectIdletime},
		{"object|refcount", (*Table).objectRefcount},
		{"object|help", (*Table).objectHelp},
		{"multi", (*Table).multi},
		{"exec", (*Table).exec},
		{"discard", (*Table).discard},
		{"watch", (*Table).watch},
		{"unwatch", (*Table).unwatch},
		{"dbsize", (*Table).dbsize},
		{"info", (*Table).infoCmd},
		{"command", (*Table).command},
		{"command|count", (*Table).commandCount},
		{"command|docs", (*Table).commandDocs},
		{"command|getkeys", (*Table).commandGetKeys},
		{"command|getkeysandflags", (*Table).commandGetKeysAndFlags},
		{"command|info", (*Table).commandInfo},
		{"command|list", (*Table).commandList},
		{"command|help", helpFor("command")},
		{"config|get", (*Table).configGet},
		{"config|set", (*Table).configSet},
		{"config|help", helpFor("config")},
		{"config|resetstat", (*Table).configResetStat},
		{"bgrewriteaof", (*Table).bgrewriteaof},
		{"compact", (*Table).compact},
		{"flushall", (*Table).flushall},
		{"flushdb", (*Table).flushdb},
		{"export", (*Table).export},
		{"backup", (*Table).backup},
		{"replicaof", (*Table).replicaof},
		{"slaveof", (*Table).replicaof},
		{"role", (*Table).role},
		{"wait", (*Table).wait},
		{"psync", (*Table).psync},
		// the server commands of issue 16
		{"time", (*Table).timeCmd},
		{"lastsave", (*Table).lastsave},
		{"save", (*Table).save},
		{"bgsave", (*Table).bgsave},
		{"shutdown", (*Table).shutdown},
		{"monitor", (*Table).monitorCmd},
		{"memory|usage", (*Table).memoryUsage},
		{"memory|doctor", (*Table).memoryDoctor},
		{"memory|stats", (*Table).memoryStats},
		{"memory|malloc-stats", (*Table).memoryMallocStats},
		{"memory|purge", (*Table).memoryPurge},
		{"memory|help", (*Table).memoryHelpCmd},
	}
}

// byID holds the handler of every command by its spec.Command.ID; nil
// for a container without a handler of its own.
var byID []handler

func init() {
	byID = make([]handler, spec.Count())
	names := map[string]*Spec{}
	var walk func([]*Spec)
	walk = func(cmds []*Spec) {
		for _, c := range cmds {
			names[c.Name] = c
			walk(c.Subcommands)
		}
	}
	walk(spec.All())
	for _, h := range handlers() {
		c, ok := names[h.name]
		if !ok {
			panic("command: handler for unknown command " + h.name)
		}
		byID[c.ID()] = h.run
	}
	for name, c := range names {
		if byID[c.ID()] == nil && len(c.Subcommands) == 0 {
			panic("command: no handler for " + name)
		}
	}
}
