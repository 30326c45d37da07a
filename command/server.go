package command

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/pykv/pykv/command/spec"
	"github.com/pykv/pykv/internal/glob"
	"github.com/pykv/pykv/storage"
)

// COMMAND: the COMMAND INFO of every command.
func (t *Table) command(_ *Session, _ [][]byte) Reply {
	items := make([]Reply, len(spec.All()))
	for i, sp := range spec.All() {
		items[i] = specInfo(sp)
	}
	return Array(items)
}

// COMMAND COUNT
func (t *Table) commandCount(_ *Session, _ [][]byte) Reply {
	return Int(int64(len(spec.All())))
}

// COMMAND LIST
func (t *Table) commandList(_ *Session, argv [][]byte) Reply {
	if len(argv) > 2 {
		return errSyntax // FILTERBY is not supported
	}
	items := make([]Reply, len(spec.All()))
	for i, sp := range spec.All() {
		items[i] = Bytes([]byte(sp.Name))
	}
	return Array(items)
}

// COMMAND INFO [name ...]: one entry per name, nil for an unknown one;
// every command without names.
func (t *Table) commandInfo(s *Session, argv [][]byte) Reply {
	if len(argv) == 2 {
		return t.command(s, argv)
	}
	items := make([]Reply, len(argv)-2)
	for i, name := range argv[2:] {
		if sp, ok := findSpec(name); ok {
			items[i] = specInfo(sp)
		} else {
			items[i] = Nil
		}
	}
	return Array(items)
}

// COMMAND DOCS [name ...]: a map of name to docs; unknown names are left
// out, and no names means every command.
func (t *Table) commandDocs(_ *Session, argv [][]byte) Reply {
	var kv []Reply
	add := func(sp *Spec) { kv = append(kv, Bytes([]byte(sp.Name)), specDocs(sp)) }
	if len(argv) == 2 {
		for _, sp := range spec.All() {
			add(sp)
		}
	}
	for _, name := range argv[min(2, len(argv)):] {
		if sp, ok := findSpec(name); ok {
			add(sp)
		}
	}
	return Reply{Kind: KindMap, Array: kv}
}

// COMMAND GETKEYS command [arg ...]: the key arguments of the call, as
// COMMAND GETKEYSANDFLAGS without the flags.
func (t *Table) commandGetKeys(_ *Session, argv [][]byte) Reply {
	return getKeys(argv[2:], false)
}

// COMMAND GETKEYSANDFLAGS command [arg ...]: each key argument of the
// call with its key-spec flags, a set of statuses (an array but in RESP3).
func (t *Table) commandGetKeysAndFlags(_ *Session, argv [][]byte) Reply {
	return getKeys(argv[2:], true)
}

// The errors of COMMAND GETKEYS, Redis 7.0's.
var (
	errGetKeysUnknown = Err("Invalid command specified")
	errGetKeysNoKeys  = Err("The command has no key arguments")
	errGetKeysArity   = Err("Invalid number of arguments specified for command")
	errGetKeysInvalid = Err("Invalid arguments specified for command")
)

// getKeys is Redis 7.0's getKeysSubcommandImpl: the command of call is
// looked up as Redis's lookupCommand does (a container's subcommand when
// the call names one), then it must have keys and the call its arity, in
// that order, before its keys are found (spec.Command.Keys).
func getKeys(call [][]byte, withFlags bool) Reply {
	sp, ok := Lookup(call[0])
	if ok && len(call) > 1 && len(sp.Subcommands) > 0 {
		sp, ok = sp.Sub(call[1])
	}
	switch {
	case !ok:
		return errGetKeysUnknown
	case !sp.HasKeys():
		return errGetKeysNoKeys
	case !sp.ArityOK(len(call)):
		return errGetKeysArity
	}
	keys, ok := sp.Keys(call)
	if !ok {
		return errGetKeysInvalid
	}
	items := make([]Reply, len(keys))
	for i, k := range keys {
		items[i] = Bytes(clone(call[k.Pos]))
		if withFlags {
			items[i] = Array([]Reply{items[i], statusSet(k.Flags)})
		}
	}
	return Array(items)
}

// findSpec finds a command or, as "container|sub", a subcommand.
func findSpec(name []byte) (*Spec, bool) {
	container, sub, isSub := bytes.Cut(name, []byte("|"))
	sp, ok := Lookup(container)
	if !ok || !isSub {
		return sp, ok
	}
	return sp.Sub(sub)
}

// specInfo is one command's entry in COMMAND INFO, in Redis 7's shape:
// name, arity, flags, first key, last key, key step, ACL categories, tips,
// key specifications, subcommands. Flags, categories, tips and key
// specifications are sets, as Redis 7.0 sends them (RESP3's ~; an array in
// RESP2 and the native protocol), and so are the subcommands of a command
// that has none; a container's subcommands are an array, as in Redis.
func specInfo(sp *Spec) Reply {
	subs := make([]Reply, len(sp.Subcommands))
	for i, sub := range sp.Subcommands {
		subs[i] = specInfo(sub)
	}
	subReply := Array(subs)
	if len(subs) == 0 {
		subReply = Set(subs)
	}
	return Array([]Reply{
		Bytes([]byte(sp.Name)),
		Int(int64(sp.Arity)),
		statusSet(sp.FlagNames()),
		Int(int64(sp.FirstKey)),
		Int(int64(sp.LastKey)),
		Int(int64(sp.KeyStep)),
		statusSet(sp.ACLCategories()),
		Set(bulks(sp.Tips())),
		Set(keySpecs(sp.KeySpecs())),
		subReply,
	})
}

// keySpecs is COMMAND INFO's key specifications, a map each in Redis
// 7.0's shape and order: notes (only when there are any), flags (a set of
// statuses), begin_search {type, spec} and find_keys {type, spec}, each
// spec a map of its type's fields.
func keySpecs(specs []spec.KeySpec) []Reply {
	items := make([]Reply, len(specs))
	for i, ks := range specs {
		kv := appendField(nil, "notes", ks.Notes)
		kv = append(kv, Bytes([]byte("flags")), statusSet(ks.Flags))
		bs := ks.BeginSearch
		var begin Reply
		switch bs.Type {
		case "index":
			begin = mapReply("index", Int(int64(bs.Index)))
		case "keyword":
			begin = mapReply("keyword", bs.Keyword, "startfrom", Int(int64(bs.StartFrom)))
		}
		fk := ks.FindKeys
		var find Reply
		switch fk.Type {
		case "range":
			find = mapReply("lastkey", Int(int64(fk.LastKey)), "keystep", Int(int64(fk.KeyStep)), "limit", Int(int64(fk.Limit)))
		case "keynum":
			find = mapReply("keynumidx", Int(int64(fk.KeyNumIdx)), "firstkey", Int(int64(fk.FirstKey)), "keystep", Int(int64(fk.KeyStep)))
		}
		kv = append(kv,
			Bytes([]byte("begin_search")), mapReply("type", bs.Type, "spec", begin),
			Bytes([]byte("find_keys")), mapReply("type", fk.Type, "spec", find))
		items[i] = Reply{Kind: KindMap, Array: kv}
	}
	return items
}

// bulks is strings as bulk strings, as Redis sends COMMAND INFO's tips.
func bulks(strs []string) []Reply {
	items := make([]Reply, len(strs))
	for i, s := range strs {
		items[i] = Bytes([]byte(s))
	}
	return items
}

// specDocs is one command's entry in COMMAND DOCS, in Redis 7's order:
// summary, since, group, complexity, doc_flags, deprecated_since,
// replaced_by, history, the structured arguments (spec.Arg) and the
// subcommands', each of the optional ones only when it applies. As in
// Redis, RESP3 gets doc_flags and history as sets.
func specDocs(sp *Spec) Reply {
	doc := sp.Doc()
	kv := []Reply{Bytes([]byte("summary")), Bytes([]byte(sp.Summary))}
	kv = appendField(kv, "since", doc.Since)
	kv = append(kv, Bytes([]byte("group")), Bytes([]byte(sp.Group)))
	kv = appendField(kv, "complexity", doc.Complexity)
	if flags := doc.DocFlags(); len(flags) > 0 {
		kv = append(kv, Bytes([]byte("doc_flags")), statusSet(flags))
	}
	kv = appendField(kv, "deprecated_since", doc.DeprecatedSince)
	kv = appendField(kv, "replaced_by", doc.ReplacedBy)
	if len(doc.History) > 0 {
		changes := make([]Reply, len(doc.History))
		for i, h := range doc.History {
			changes[i] = Array([]Reply{Bytes([]byte(h.Version)), Bytes([]byte(h.Text))})
		}
		kv = append(kv, Bytes([]byte("history")), Set(changes))
	}
	if args := sp.Arguments(); len(args) > 0 {
		kv = append(kv, Bytes([]byte("arguments")), argDocs(args))
	}
	if len(sp.Subcommands) > 0 {
		var subs []Reply
		for _, sub := range sp.Subcommands {
			subs = append(subs, Bytes([]byte(sub.Name)), specDocs(sub))
		}
		kv = append(kv, Bytes([]byte("subcommands")), Reply{Kind: KindMap, Array: subs})
	}
	return Reply{Kind: KindMap, Array: kv}
}

// appendField appends the field name and its value to kv, unless the
// value is empty: Redis leaves out what a command or argument lacks.
func appendField(kv []Reply, name, value string) []Reply {
	if value == "" {
		return kv
	}
	return append(kv, Bytes([]byte(name)), Bytes([]byte(value)))
}

// argDocs is the "arguments" of COMMAND DOCS: a map per argument with
// Redis 7.0's fields in its order (name, type, key_spec_index, token,
// since, deprecated_since, flags, arguments), each only when it applies;
// flags are a set in RESP3, as Redis sends them.
func argDocs(args []spec.Arg) Reply {
	items := make([]Reply, len(args))
	for i, a := range args {
		kv := []Reply{Bytes([]byte("name")), Bytes([]byte(a.Name)), Bytes([]byte("type")), Bytes([]byte(a.Type))}
		if a.KeySpec >= 0 {
			kv = append(kv, Bytes([]byte("key_spec_index")), Int(int64(a.KeySpec)))
		}
		kv = appendField(kv, "token", a.Token)
		kv = appendField(kv, "since", a.Since)
		kv = appendField(kv, "deprecated_since", a.DeprecatedSince)
		if a.Flags != 0 {
			kv = append(kv, Bytes([]byte("flags")), statusSet(a.Flags.Names()))
		}
		if len(a.Args) > 0 {
			kv = append(kv, Bytes([]byte("arguments")), argDocs(a.Args))
		}
		items[i] = Reply{Kind: KindMap, Array: kv}
	}
	return Array(items)
}

// statusSet is names as a set of statuses: an array but in RESP3.
func statusSet(names []string) Reply {
	return Set(statuses(names).Array)
}

func statuses(names []string) Reply {
	items := make([]Reply, len(names))
	for i, n := range names {
		items[i] = Status(n)
	}
	return Array(items)
}

// helpFor returns the handler of a container's HELP subcommand: Redis's
// layout, an introduction and then each subcommand with its arguments
// and, indented, its summary.
func helpFor(container string) handler {
	return func(_ *Table, _ *Session, _ [][]byte) Reply {
		sp, _ := Lookup([]byte(container))
		upper := strings.ToUpper(sp.Name)
		lines := []Reply{Status(upper + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")}
		for _, sub := range sp.Subcommands {
			_, short, _ := strings.Cut(sub.Name, "|")
			lines = append(lines,
				Status(strings.TrimSpace(strings.ToUpper(short)+" "+sub.Args)),
				Status("    "+sub.Summary))
		}
		return Array(lines)
	}
}

// configParam is one parameter CONFIG GET answers.
type configParam struct{ name, value string }

// configParams are the parameters CONFIG GET knows, sorted by name. They
// are the ones tools ask about: redis-benchmark prints "save" and
// "appendonly". pykv's log is always on, so appendonly is "yes"; there are
// no RDB snapshots on a schedule, so save is empty; keys are never evicted.
func (t *Table) configParams() []configParam {
	return []configParam{
		{"appendonly", "yes"},
		{"databases", "1"},
		{"maxclients", strconv.Itoa(t.info().MaxClients)},
		{"maxmemory", "0"},
		{"maxmemory-policy", "noeviction"},
		{"port", strconv.Itoa(t.info().TCPPort)},
		{"save", ""},
	}
}

// CONFIG GET parameter [parameter ...]: each a glob (Redis's, as KEYS
// reads it), matched without regard to ASCII case, or, with none of
// "[*?" in it, a name looked up as it is, so a '\' there is no escape; a
// parameter matched by several is reported once (under the name as the
// client spelled it when it was named exactly), and an unknown one is left
// out, as in Redis 7 (TestConfigGetMatchesLikeRedis checks it against
// redis-server).
func (t *Table) configGet(_ *Session, argv [][]byte) Reply {
	params := t.configParams()
	params = append(params, t.settingsParams(params)...)
	var kv []Reply
	for _, p := range params {
		for _, pattern := range argv[2:] {
			if configMatch(pattern, p.name) {
				name := p.name
				if !bytes.ContainsAny(pattern, "[*?") {
					name = string(pattern) // Redis answers a name as the client spelled it
				}
				kv = append(kv, Bytes([]byte(name)), Bytes([]byte(p.value)))
				break
			}
		}
	}
	return Reply{Kind: KindMap, Array: kv}
}

// configMatch is Redis's stringmatch(pattern, name, nocase) for a
// lower-case name: lowering the pattern's ASCII letters (as C's tolower
// does, no other byte) compares as nocase does, class ranges included.
func configMatch(pattern []byte, name string) bool {
	if !bytes.ContainsAny(pattern, "[*?") {
		return is(pattern, strings.ToUpper(name))
	}
	lower := make([]byte, len(pattern))
	for i, c := range pattern {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return glob.Match(lower, []byte(name))
}

// Flusher is a Store that can remove every key in one atomic, durable
// step. *storage.DB, its Deferred and its transaction view implement it;
// with a Store that does not, FLUSHALL and FLUSHDB reply with an error.
type Flusher interface {
	// FlushAll removes every key: one logged record, so that recovery,
	// merges and followers find all of the keys or none.
	FlushAll() error
}

// FLUSHALL [ASYNC|SYNC] and FLUSHDB [ASYNC|SYNC] (one database, so they
// are the same): both modes empty the keyspace at once and reply once
// the flush is durable under the fsync policy. ASYNC is accepted for
// Redis's clients and means nothing more: the flush is one record and
// the keyspace is emptied in place, and the memory and the dead files are
// given back as they are in either mode (the dead files by the next
// merge, or at the next start).
func (t *Table) flushall(s *Session, argv [][]byte) Reply {
	switch {
	case len(argv) == 1:
	case len(argv) == 2 && (is(argv[1], "ASYNC") || is(argv[1], "SYNC")):
	default:
		return errSyntax
	}
	f, ok := t.storeFor(s).(Flusher)
	if !ok {
		return Err(strings.ToUpper(string(argv[0])) + " is not supported by this storage engine")
	}
	if err := f.FlushAll(); err != nil {
		return storeError(err)
	}
	return OK
}

func (t *Table) flushdb(s *Session, argv [][]byte) Reply { return t.flushall(s, argv) }

// Merger is a Store that can compact its log into a snapshot. *storage.DB
// implements it; with a Store that does not, BGREWRITEAOF and COMPACT reply
// with an error.
type Merger interface {
	// StartMerge starts a merge in the background and reports whether it
	// started (false: one is already running).
	StartMerge() bool
	// Merge merges now and returns what it did.
	Merge() (storage.MergeStats, error)
}

// BGREWRITEAOF: Redis's name for rewriting the log, which redis-cli users
// and tools know; in pykv it starts a merge.
func (t *Table) bgrewriteaof(_ *Session, _ [][]byte) Reply {
	m, ok := t.store.(Merger)
	if !ok {
		return Err("BGREWRITEAOF is not supported by this storage engine")
	}
	if !m.StartMerge() {
		return Err("Background append only file rewriting already in progress")
	}
	return Status("Background append only file rewriting started")
}

// COMPACT merges and replies with what the merge did, as a map.
func (t *Table) compact(_ *Session, _ [][]byte) Reply {
	m, ok := t.store.(Merger)
	if !ok {
		return Err("COMPACT is not supported by this storage engine")
	}
	st, err := m.Merge()
	if err != nil {
		return storeError(err)
	}
	return mapReply("snapshot", Bytes([]byte(st.Snapshot)), "files", Int(int64(st.Files)),
		"keys", Int(int64(st.Keys)), "expired", Int(int64(st.Expired)),
		"bytes_read", Int(st.BytesRead), "bytes_written", Int(st.BytesWritten),
		"reclaimed", Int(st.Reclaimed), "duration_ms", Int(st.Duration.Milliseconds()))
}
