package command

import "github.com/pykv/pykv/command/spec"

// What each command is (name, arity, flags, keys, docs) is package spec's;
// these names let the table's code say Spec and FlagWrite as before.
type (
	// Spec is spec.Command.
	Spec = spec.Command
	// Flags is spec.Flags.
	Flags = spec.Flags
)

// The flags of a command, as in package spec.
const (
	FlagWrite    = spec.FlagWrite
	FlagReadOnly = spec.FlagReadOnly
	FlagFast     = spec.FlagFast
	FlagAdmin    = spec.FlagAdmin
	FlagNoAuth   = spec.FlagNoAuth
	FlagNoMulti  = spec.FlagNoMulti
)

// handler runs a command whose name, arity and authentication were checked.
type handler func(t *Table, s *Session, argv [][]byte) Reply

// Specs returns every command, sorted by name (spec.All).
func Specs() []*Spec { return spec.All() }

// Lookup returns the Spec of the command named name, in any case, without
// allocating (spec.Lookup).
func Lookup(name []byte) (*Spec, bool) { return spec.Lookup(name) }
