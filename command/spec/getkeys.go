package spec

import (
	"slices"
	"strings"
)

// KeyRef is one key argument of a call: its index in the call's argv and
// the flags of the key specification that found it (Redis's key-spec
// flags, "RW", "access", ...). Flags are shared and must not be modified.
type KeyRef struct {
	Pos   int
	Flags []string
}

// HasKeys reports whether c takes key arguments: whether it has a key
// specification that is not not_key, or a function of its own that finds
// its keys (Redis's doesCommandHaveKeys).
func (c *Command) HasKeys() bool {
	if keyFuncs[c.Name] != nil {
		return true
	}
	for _, ks := range c.keySpecs {
		if !slices.Contains(ks.Flags, "not_key") {
			return true
		}
	}
	return false
}

// Keys returns the key arguments of argv, a call of c (argv[0] is the
// command's name, argv[1] a subcommand's) whose arity has been checked, as
// Redis 7.0's getKeysFromCommandWithSpecs finds them for COMMAND GETKEYS:
// by the key specifications, in their order, or, for a command whose
// specs have variable_flags (SET), by the command's own function, which
// gives the flags of this call. ok is false when the specs do not fit argv
// (a first or last key past the end, a bad key count), where Redis
// answers "Invalid arguments specified for command"; a call with no key
// at all is not ok either, unless c has the no_mandatory_keys flag.
func (c *Command) Keys(argv [][]byte) (keys []KeyRef, ok bool) {
	variable := false
	for _, ks := range c.keySpecs {
		variable = variable || slices.Contains(ks.Flags, "variable_flags")
	}
	if !variable {
		keys, ok = keysBySpecs(c.keySpecs, argv)
	}
	if f := keyFuncs[c.Name]; f != nil && (variable || !ok) {
		keys, ok = f(argv), true // Redis's fallback when the specs fail
	}
	if len(keys) == 0 {
		return nil, slices.Contains(c.FlagNames(), "no_mandatory_keys")
	}
	return keys, ok
}

// keyFuncs are the commands that find their keys with a function of their
// own rather than their key specifications alone (Redis's getkeys_proc),
// by name. Of pykv's commands only SET has one in Redis 7.0: its key's
// flags depend on GET.
var keyFuncs = map[string]func(argv [][]byte) []KeyRef{
	"set": setKeys,
}

// The flags of SET's key, without GET and with it (Redis's setGetKeys).
var (
	setOverwrite = []string{"OW", "update"}
	setReadWrite = []string{"RW", "access", "update"}
)

// setKeys is Redis's setGetKeys: the key is argv[1], read and written
// when an option from argv[3] on is GET. Like Redis, which compares a C
// string, it takes an argument that is "GET" up to a NUL byte for GET.
func setKeys(argv [][]byte) []KeyRef {
	for _, arg := range argv[min(3, len(argv)):] {
		if len(arg) >= 3 && strings.EqualFold(string(arg[:3]), "GET") && (len(arg) == 3 || arg[3] == 0) {
			return []KeyRef{{Pos: 1, Flags: setReadWrite}}
		}
	}
	return []KeyRef{{Pos: 1, Flags: setOverwrite}}
}

// keysBySpecs is Redis 7.0's getKeysUsingKeySpecs: each spec (but not_key
// ones) finds its first key (at an index, or after a keyword looked for
// forwards or backwards) and then its last (a range, limited to a share of
// what is left, or a count read from argv), and contributes every
// keystep-th argument between. A spec whose keys do not fit argv fails
// the whole call; one whose keyword is missing contributes none.
func keysBySpecs(specs []KeySpec, argv [][]byte) (keys []KeyRef, ok bool) {
	argc := len(argv)
	for _, ks := range specs {
		if slices.Contains(ks.Flags, "not_key") {
			continue
		}
		first := 0
		switch bs := ks.BeginSearch; bs.Type {
		case "index":
			first = bs.Index
		case "keyword":
			first = keywordIndex(argv, bs.Keyword, bs.StartFrom)
			if first == 0 {
				continue // keyword not found
			}
		default:
			return nil, false
		}
		var last, step int
		switch fk := ks.FindKeys; fk.Type {
		case "range":
			step = fk.KeyStep
			switch {
			case fk.LastKey >= 0:
				last = first + fk.LastKey
			case fk.Limit == 0:
				last = argc + fk.LastKey
			default:
				last = first + (argc-first)/fk.Limit + fk.LastKey
			}
		case "keynum":
			step = fk.KeyStep
			if first+fk.KeyNumIdx >= argc {
				return nil, false
			}
			n, ok := keyCount(argv[first+fk.KeyNumIdx], argc)
			if !ok {
				return nil, false
			}
			first += fk.FirstKey
			last = first + n - 1
		default:
			return nil, false
		}
		if last >= argc || last < first || first >= argc || step <= 0 {
			return nil, false
		}
		for i := first; i <= last; i += step {
			keys = append(keys, KeyRef{Pos: i, Flags: ks.Flags})
		}
		if slices.Contains(ks.Flags, "incomplete") {
			return nil, false
		}
	}
	return keys, true
}

// keyCount reads a key count as Redis's string2ll does (no sign, space
// or leading zero), and refuses one above argc, which no call could hold:
// Redis's bounds check that follows refuses it too.
func keyCount(b []byte, argc int) (int, bool) {
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + int(c-'0'); n > argc {
			return 0, false
		}
	}
	return n, true
}

// keywordIndex is the index of the argument after keyword (compared
// without regard to case), looked for from argv[startFrom] towards the
// end, or with a negative startFrom from argv[len+startFrom] towards the
// start, as Redis does: neither search looks at the argument where it
// would end (the last one, or argv[0]). 0 when it is not found.
func keywordIndex(argv [][]byte, keyword string, startFrom int) int {
	argc := len(argv)
	start, end := startFrom, argc-1
	if startFrom <= 0 {
		start, end = argc+startFrom, 0
	}
	for i := start; i != end; {
		if i >= argc || i < 1 {
			break
		}
		if strings.EqualFold(string(argv[i]), keyword) {
			return i + 1
		}
		if start <= end {
			i++
		} else {
			i--
		}
	}
	return 0
}
