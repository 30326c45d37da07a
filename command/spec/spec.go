// Package spec says what each command of pykv is, apart from what it does:
// its name, arity, flags, key positions and key specifications, ACL
// categories, tips, group, one-line summary, argument hints and
// documentation, as Redis's COMMAND reports them. The command table
// (package command) runs what this package describes; the CLI reads it for
// its help and hints. It imports nothing of the engine, so a client
// program that shows help never compiles it.
package spec

import (
	"sort"
	"strings"

	"github.com/pykv/pykv/reply"
)

// Flags describe a command, as Redis's COMMAND reports them.
type Flags uint32

// The flags of a command.
const (
	// FlagWrite marks a command that may change the dataset; a follower
	// refuses it.
	FlagWrite Flags = 1 << iota
	// FlagReadOnly marks a command that reads the dataset and never changes it.
	FlagReadOnly
	// FlagFast marks a command that runs in constant or logarithmic time.
	FlagFast
	// FlagAdmin marks a command meant for operators rather than applications.
	FlagAdmin
	// FlagNoAuth marks a command allowed before authentication.
	FlagNoAuth
	// FlagNoMulti marks a command that cannot be queued in a transaction
	// (MULTI): it is refused there, and the transaction with it.
	FlagNoMulti
)

// flagNames are the names COMMAND uses for each flag, in bit order.
var flagNames = [...]string{"write", "readonly", "fast", "admin", "no_auth", "no_multi"}

// Names returns the flags' names, such as ["write", "fast"];
// COMMAND INFO reports them with Redis's others (Command.FlagNames).
func (f Flags) Names() []string {
	var names []string
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return names
}

// Command describes one command or subcommand: what COMMAND, the docs and
// a CLI's help and hints show, and what the command table checks before
// running it. A Command returned by this package is shared and must not be
// modified.
type Command struct {
	// Name is the lower-case name ("get"); a subcommand's is its container's
	// and its own joined by '|' ("client|setname"), as in Redis.
	Name string
	// Arity counts the arguments including the name (and, for a
	// subcommand, the container's name): N means exactly N, -N at least N.
	Arity int
	// Flags are the command's flags.
	Flags Flags
	// FirstKey, LastKey and KeyStep locate the key arguments, as in COMMAND
	// INFO: 1, -1, 2 means every other argument from argv[1] to the end.
	// All zero for a command without keys. They are what Redis derives
	// from the key specifications (KeySpecs), a test checks.
	FirstKey, LastKey, KeyStep int
	// Group is the Redis documentation group: "string", "bitmap",
	// "generic", "transactions", "connection" or "server".
	Group string
	// Summary is one line saying what the command does.
	Summary string
	// Args hints the arguments after the name, in Redis's notation:
	// "key value [NX|XX] ...". Empty for a command without arguments.
	Args string
	// Subcommands are a container's subcommands (CLIENT SETNAME ...),
	// sorted by name.
	Subcommands []*Command

	id       int
	subs     map[string]*Command // upper-case subcommand name -> command
	arityErr reply.Reply
	doc      *Doc
	keySpecs []KeySpec
	tips     []string
}

// ID is the command's index among every command and subcommand, from 0 to
// Count()-1: the command table keeps its handlers in a slice by it.
func (c *Command) ID() int { return c.id }

// ArityOK reports whether argc arguments (the name included) suit c.
func (c *Command) ArityOK(argc int) bool {
	if c.Arity >= 0 {
		return argc == c.Arity
	}
	return argc >= -c.Arity
}

// ArityError is Redis's reply to a call with the wrong number of
// arguments.
func (c *Command) ArityError() reply.Reply { return c.arityErr }

// Sub returns c's subcommand named name, in any case, without allocating.
func (c *Command) Sub(name []byte) (*Command, bool) { return lookup(c.subs, name) }

// maxNameLen bounds a command name; a longer one is unknown without being
// looked at further.
const maxNameLen = 32

var (
	// registry is every top-level command, sorted by name.
	registry []*Command
	// byName maps an upper-case command name to its Command.
	byName map[string]*Command
	// count is how many commands and subcommands there are.
	count int
)

func init() {
	registry = table()
	sort.Slice(registry, func(i, j int) bool { return registry[i].Name < registry[j].Name })
	byName = index(registry, "")
}

// index checks and prepares commands and returns them keyed by upper-case
// name. parent is the container's name for subcommands, empty at the top
// level.
func index(cmds []*Command, parent string) map[string]*Command {
	m := make(map[string]*Command, len(cmds))
	for _, c := range cmds {
		short := c.Name
		if parent != "" {
			c.Name = parent + "|" + short
		}
		if len(short) > maxNameLen || c.Arity == 0 || c.Summary == "" {
			panic("spec: malformed command " + c.Name)
		}
		if c.doc = docsByName[c.Name]; c.doc == nil {
			panic("spec: no docs (docTable) for " + c.Name)
		}
		if i, ok := keySpecsByName[c.Name]; ok {
			c.tips, c.keySpecs = keySpecTable[i].tips, keySpecTable[i].specs
		}
		c.id = count
		count++
		c.arityErr = reply.Err("wrong number of arguments for '" + c.Name + "' command")
		if len(c.Subcommands) > 0 {
			sort.Slice(c.Subcommands, func(i, j int) bool {
				return c.Subcommands[i].Name < c.Subcommands[j].Name
			})
			c.subs = index(c.Subcommands, c.Name)
		}
		key := strings.ToUpper(short)
		if _, dup := m[key]; dup {
			panic("spec: duplicate command " + c.Name)
		}
		m[key] = c
	}
	return m
}

// All returns every top-level command, sorted by name, for COMMAND,
// documentation and a CLI's help. The slice is the caller's; the Commands
// are shared.
func All() []*Command {
	return append([]*Command(nil), registry...)
}

// Count returns how many commands and subcommands there are: one more than
// the highest ID.
func Count() int { return count }

// Lookup returns the command named name, in any case, without allocating.
func Lookup(name []byte) (*Command, bool) { return lookup(byName, name) }

// lookup finds name in m, whose keys are upper case. The name is upper-cased
// into a stack buffer; indexing a map with string(bytes) does not allocate.
func lookup(m map[string]*Command, name []byte) (*Command, bool) {
	var buf [maxNameLen]byte
	if len(name) > len(buf) {
		return nil, false
	}
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	c, ok := m[string(buf[:len(name)])]
	return c, ok
}
