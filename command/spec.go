package command

import (
	"sort"
	"strings"
)

// Flags describe a command, as Redis's COMMAND reports them.
type Flags uint32

// The flags of a command.
const (
	// FlagWrite marks a command that may change the dataset; a follower
	// refuses it (the Store returns storage.ErrReadOnly).
	FlagWrite Flags = 1 << iota
	// FlagReadOnly marks a command that reads the dataset and never changes it.
	FlagReadOnly
	// FlagFast marks a command that runs in constant or logarithmic time.
	FlagFast
	// FlagAdmin marks a command meant for operators rather than applications.
	FlagAdmin
	// FlagNoAuth marks a command allowed before authentication.
	FlagNoAuth
)

// flagNames are the names COMMAND uses for each flag, in bit order.
var flagNames = [...]string{"write", "readonly", "fast", "admin", "no_auth"}

// Names returns the flags' names as COMMAND reports them, such as
// ["write", "fast"].
func (f Flags) Names() []string {
	var names []string
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return names
}

// Spec describes one command or subcommand: what COMMAND, the docs and a
// CLI's help and hints show, and what Exec checks before running it. A
// Spec returned by this package is shared and must not be modified.
type Spec struct {
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
	// All zero for a command without keys.
	FirstKey, LastKey, KeyStep int
	// Group is the Redis documentation group: "string", "generic",
	// "connection" or "server".
	Group string
	// Summary is one line saying what the command does.
	Summary string
	// Args hints the arguments after the name, in Redis's notation:
	// "key value [NX|XX] ...". Empty for a command without arguments.
	Args string
	// Subcommands are a container's subcommands (CLIENT SETNAME ...),
	// sorted by name.
	Subcommands []*Spec

	run      handler
	subs     map[string]*Spec // upper-case subcommand name -> spec
	arityErr Reply
}

// handler runs a command whose name, arity and authentication were checked.
type handler func(t *Table, s *Session, argv [][]byte) Reply

// arityOK reports whether argc arguments (the name included) suit sp.
func (sp *Spec) arityOK(argc int) bool {
	if sp.Arity >= 0 {
		return argc == sp.Arity
	}
	return argc >= -sp.Arity
}

// maxNameLen bounds a command name; a longer one is unknown without being
// looked at further.
const maxNameLen = 32

var (
	// registry is every top-level command, sorted by name.
	registry []*Spec
	// byName maps an upper-case command name to its Spec.
	byName map[string]*Spec
)

// init indexes the table of commands.go. It is an init function rather
// than a variable initializer because handlers such as COMMAND read the
// index, which would make the initialization a cycle.
func init() {
	registry = commandSpecs()
	sort.Slice(registry, func(i, j int) bool { return registry[i].Name < registry[j].Name })
	byName = index(registry, "")
}

// index checks and prepares specs and returns them keyed by upper-case name.
// parent is the container's name for subcommands, empty at the top level.
func index(specs []*Spec, parent string) map[string]*Spec {
	m := make(map[string]*Spec, len(specs))
	for _, sp := range specs {
		short := sp.Name
		if parent != "" {
			sp.Name = parent + "|" + short
		}
		if len(short) > maxNameLen || sp.Arity == 0 || sp.Summary == "" {
			panic("command: malformed spec " + sp.Name)
		}
		if sp.run == nil && len(sp.Subcommands) == 0 {
			panic("command: spec without handler " + sp.Name)
		}
		sp.arityErr = Err("wrong number of arguments for '" + sp.Name + "' command")
		if len(sp.Subcommands) > 0 {
			sort.Slice(sp.Subcommands, func(i, j int) bool {
				return sp.Subcommands[i].Name < sp.Subcommands[j].Name
			})
			sp.subs = index(sp.Subcommands, sp.Name)
		}
		key := strings.ToUpper(short)
		if _, dup := m[key]; dup {
			panic("command: duplicate spec " + sp.Name)
		}
		m[key] = sp
	}
	return m
}

// Specs returns every command, sorted by name, for COMMAND, documentation
// and a CLI's help. The slice is the caller's; the Specs are shared.
func Specs() []*Spec {
	return append([]*Spec(nil), registry...)
}

// Lookup returns the Spec of the command named name, in any case, without
// allocating.
func Lookup(name []byte) (*Spec, bool) { return lookup(byName, name) }

// lookup finds name in m, whose keys are upper case. The name is upper-cased
// into a stack buffer; indexing a map with string(bytes) does not allocate.
func lookup(m map[string]*Spec, name []byte) (*Spec, bool) {
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
	sp, ok := m[string(buf[:len(name)])]
	return sp, ok
}
