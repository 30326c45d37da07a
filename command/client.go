package command

import (
	"bytes"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/command/spec"
	"github.com/pykv/pykv/internal/redisfmt"
)

// clientEntry is what the registry knows of one connection: what CLIENT
// LIST shows and CLIENT KILL needs. Other connections read it while its
// own goroutine runs commands, so what changes is atomic: the last
// command with its arguments' bytes and when it began on every command
// (two stores to the session's own cache line, and a third as it returns,
// for argv-mem), MULTI's queue as it grows, the rest (name, library,
// protocol, flags) republished as a fresh clientMeta when a command
// changes it.
type clientEntry struct {
	id      uint64
	addr    string
	laddr   string
	fd      int
	created time.Time
	kill    func()

	// lastCmd is the last command (cmdWord): its spec ID + 1, 0 before
	// any, and while it runs its arguments' bytes, in one store.
	lastCmd atomic.Uint64
	lastNs  atomic.Int64 // when it began, in ns since Table.epoch
	multi   atomic.Int32 // commands queued in MULTI, -1 outside
	monitor atomic.Bool
	meta    atomic.Pointer[clientMeta]

	// CLIENT LIST's memory fields (clientmem.go).
	bufs     *ConnBuffers // nil when the front end gave none
	multiMem atomic.Int64 // bytes of MULTI's queue
}

// clientMeta is the part of CLIENT LIST a session changes rarely.
type clientMeta struct {
	name, libName, libVer string
	proto                 int
	noEvict               bool
}

// clientRegistry is every connection a front end registered with
// Table.Connect, by ID.
type clientRegistry struct {
	mu      sync.Mutex
	byID    map[uint64]*clientEntry
	ticking bool // under mu: tick runs
}

// Connect registers s, with what the front end set in it (RemoteAddr,
// LocalAddr, FD, Kill and Buffers), for CLIENT LIST, CLIENT KILL and MONITOR's
// lines. A front end calls it once per connection, before the first
// Exec; EndSession unregisters it.
func (t *Table) Connect(s *Session) {
	e := &clientEntry{id: s.ID, addr: s.RemoteAddr, laddr: s.LocalAddr, fd: s.FD,
		created: time.Now(), kill: s.Kill, bufs: s.Buffers}
	e.multi.Store(-1)
	t.coarse.Store(int64(time.Since(t.epoch)))
	e.lastNs.Store(t.coarse.Load())
	s.conn = e
	s.publish()
	t.clients.mu.Lock()
	if t.clients.byID == nil {
		t.clients.byID = map[uint64]*clientEntry{}
	}
	t.clients.byID[s.ID] = e
	if !t.clients.ticking {
		t.clients.ticking = true
		go t.tick()
	}
	t.clients.mu.Unlock()
}

// coarseTick is how often the coarse clock of CLIENT LIST's idle times
// moves: Redis's cached clock moves ten times a second too.
const coarseTick = 100 * time.Millisecond

// tick keeps Table.coarse while connections are registered, so that a
// command stamps its session with one atomic load, not a clock read.
func (t *Table) tick() {
	tk := time.NewTicker(coarseTick)
	defer tk.Stop()
	for range tk.C {
		t.coarse.Store(int64(time.Since(t.epoch)))
		t.clients.mu.Lock()
		if len(t.clients.byID) == 0 {
			t.clients.ticking = false
			t.clients.mu.Unlock()
			return
		}
		t.clients.mu.Unlock()
	}
}

// disconnect unregisters s (EndSession).
func (t *Table) disconnect(s *Session) {
	t.stopMonitor(s)
	e := s.conn
	if e == nil {
		return
	}
	t.clients.mu.Lock()
	delete(t.clients.byID, e.id)
	t.clients.mu.Unlock()
}

// publish republishes what CLIENT LIST shows of s that its commands
// change rarely.
func (s *Session) publish() {
	e := s.conn
	if e == nil {
		return
	}
	e.meta.Store(&clientMeta{name: s.Name, libName: s.LibName, libVer: s.LibVer,
		proto: s.proto(), noEvict: s.noEvict})
	s.publishTx()
}

// publishes marks, by spec ID, the commands after which a session
// republishes its clientMeta: those that change a name, the protocol,
// a flag or the transaction.
var publishes []bool

func init() {
	publishes = make([]bool, spec.Count())
	for _, name := range []string{"hello", "client|setname", "client|setinfo", "client|no-evict",
		"multi", "exec", "discard", "auth"} {
		sp, ok := findSpec([]byte(name))
		if !ok {
			panic("command: publishes names unknown command " + name)
		}
		publishes[sp.ID()] = true
	}
}

// snapshotClients returns the registered connections sorted by ID, the
// order Redis lists them in (creation).
func (t *Table) snapshotClients() []*clientEntry {
	t.clients.mu.Lock()
	list := make([]*clientEntry, 0, len(t.clients.byID))
	for _, e := range t.clients.byID {
		list = append(list, e)
	}
	t.clients.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	return list
}

// clientLine appends e's line of CLIENT LIST, with Redis 7.0's fields in
// its order and then 7.2's lib-name and lib-ver; qbuf to tot-mem are
// what the connection holds (clientmem.go). pykv has no pub/sub, one
// user and one database.
func (t *Table) clientLine(b []byte, e *clientEntry, now time.Time) []byte {
	m := e.meta.Load()
	if m == nil {
		m = &clientMeta{proto: 2}
	}
	idle := time.Duration(int64(time.Since(t.epoch)) - e.lastNs.Load())
	// The coarse clock may lag by a tick: an idle time under it is 0.
	cmd := "NULL"
	if id := uint32(e.lastCmd.Load()); id > 0 {
		cmd = specByID[id-1].Name
	}
	multi := e.multi.Load()
	flags := ""
	if e.monitor.Load() {
		flags += "O"
	}
	if multi >= 0 {
		flags += "x"
	}
	if m.noEvict {
		flags += "e"
	}
	if flags == "" {
		flags = "N"
	}
	num := func(name string, v int64) {
		b = append(b, name...)
		b = append(b, '=')
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ' ')
	}
	str := func(name, v string) {
		b = append(b, name...)
		b = append(b, '=')
		b = append(b, v...)
		b = append(b, ' ')
	}
	num("id", int64(e.id))
	str("addr", e.addr)
	str("laddr", e.laddr)
	num("fd", int64(e.fd))
	str("name", m.name)
	num("age", int64(now.Sub(e.created)/time.Second))
	num("idle", int64(max(idle, 0)/time.Second))
	str("flags", flags)
	num("db", 0)
	num("sub", 0)
	num("psub", 0)
	num("ssub", 0)
	num("multi", int64(multi))
	mem := e.mem()
	num("qbuf", mem.qbuf)
	num("qbuf-free", mem.qbufFree)
	num("argv-mem", mem.argvMem)
	num("multi-mem", mem.multiMem)
	num("rbs", mem.rbs)
	num("rbp", mem.rbp)
	num("obl", mem.obl)
	num("oll", mem.oll)
	num("omem", mem.omem)
	num("tot-mem", mem.totMem)
	str("events", "r")
	str("cmd", cmd)
	str("user", defaultUser)
	num("redir", -1)
	num("resp", int64(m.proto))
	str("lib-name", m.libName)
	b = append(b, "lib-ver="...)
	b = append(b, m.libVer...)
	return b
}

// specByID is every command and subcommand by its spec ID.
var specByID []*Spec

func init() {
	specByID = make([]*Spec, spec.Count())
	var walk func([]*Spec)
	walk = func(cmds []*Spec) {
		for _, c := range cmds {
			specByID[c.ID()] = c
			walk(c.Subcommands)
		}
	}
	walk(spec.All())
}

// clientType is a client type name of CLIENT LIST TYPE and CLIENT KILL
// TYPE, as Redis's getClientTypeByName reads it; ok false for an unknown
// one. Every pykv connection is "normal": followers are not listed.
func clientType(b []byte) (normal, ok bool) {
	switch {
	case is(b, "NORMAL"):
		return true, true
	case is(b, "SLAVE"), is(b, "REPLICA"), is(b, "PUBSUB"), is(b, "MASTER"):
		return false, true
	}
	return false, false
}

func errUnknownClientType(b []byte) Reply {
	return errorf("Unknown client type '" + cString(b) + "'")
}

// CLIENT LIST [TYPE type] [ID id [id ...]]: the reply is text (a bulk
// string in RESP2, a verbatim string in RESP3, as Redis's), one line per
// connection, each ended by "\n".
func (t *Table) clientList(s *Session, argv [][]byte) Reply {
	var list []*clientEntry
	switch {
	case len(argv) == 4 && is(argv[2], "TYPE"):
		normal, ok := clientType(argv[3])
		if !ok {
			return errUnknownClientType(argv[3])
		}
		if normal {
			list = t.snapshotClients()
		}
	case len(argv) > 3 && is(argv[2], "ID"):
		all := t.snapshotClients()
		for _, a := range argv[3:] {
			id, ok := redisfmt.ParseInt(a)
			if !ok {
				return Err("Invalid client ID")
			}
			for _, e := range all {
				if int64(e.id) == id {
					list = append(list, e)
				}
			}
		}
	case len(argv) != 2:
		return errSyntax
	default:
		list = t.snapshotClients()
	}
	now := time.Now()
	var b []byte
	for _, e := range list {
		b = t.clientLine(b, e, now)
		b = append(b, '\n')
	}
	if b == nil {
		b = []byte{}
	}
	return Text(b)
}

// CLIENT INFO: this connection's line, ended by "\n".
func (t *Table) clientInfo(s *Session, _ [][]byte) Reply {
	e := s.conn
	if e == nil { // a session no front end registered (HTTP)
		e = &clientEntry{id: s.ID, fd: -1, created: time.Now()}
		e.multi.Store(-1)
		e.lastNs.Store(int64(time.Since(t.epoch)))
		e.meta.Store(&clientMeta{name: s.Name, libName: s.LibName, libVer: s.LibVer, proto: s.proto()})
	}
	return Text(append(t.clientLine(nil, e, time.Now()), '\n'))
}

// killFilter is CLIENT KILL's filters.
type killFilter struct {
	id          uint64
	addr, laddr []byte
	hasAddr     bool
	hasLaddr    bool
	none        bool // TYPE or USER matches no connection of pykv
	skipMe      bool
}

// CLIENT KILL ip:port | CLIENT KILL <filter> <value> ...: Redis 7.0's
// parse and replies. The old form answers OK or "No such client" and may
// kill the caller; the new one counts, and skips the caller unless SKIPME
// no. The caller's own connection closes after the reply (Quit); another
// is closed through the Kill its front end registered.
func (t *Table) clientKill(s *Session, argv [][]byte) Reply {
	f := killFilter{skipMe: true}
	old := len(argv) == 3
	if old {
		f.addr, f.hasAddr, f.skipMe = argv[2], true, false
	} else {
		for i := 2; i < len(argv); i += 2 {
			if i+1 >= len(argv) {
				return errSyntax
			}
			opt, val := argv[i], argv[i+1]
			switch {
			case is(opt, "ID"):
				id, ok := redisfmt.ParseInt(val)
				if !ok || id < 1 {
					return Err("client-id should be greater than 0")
				}
				f.id = uint64(id)
			case is(opt, "TYPE"):
				normal, ok := clientType(val)
				if !ok {
					return errUnknownClientType(val)
				}
				f.none = f.none || !normal
			case is(opt, "ADDR"):
				f.addr, f.hasAddr = val, true
			case is(opt, "LADDR"):
				f.laddr, f.hasLaddr = val, true
			case is(opt, "USER"):
				if string(val) != defaultUser {
					return errorf("No such user '" + cString(val) + "'")
				}
			case is(opt, "SKIPME"):
				switch {
				case is(val, "YES"):
					f.skipMe = true
				case is(val, "NO"):
					f.skipMe = false
				default:
					return errSyntax
				}
			default:
				return errSyntax
			}
		}
	}
	killed := 0
	if !f.none {
		for _, e := range t.snapshotClients() {
			if f.hasAddr && !bytes.Equal(f.addr, []byte(e.addr)) ||
				f.hasLaddr && !bytes.Equal(f.laddr, []byte(e.laddr)) ||
				f.id != 0 && e.id != f.id {
				continue
			}
			if e.id == s.ID {
				if f.skipMe {
					continue
				}
				s.Quit = true // after the reply, as Redis's CLOSE_AFTER_REPLY
			} else if e.kill != nil {
				e.kill()
			}
			killed++
		}
	}
	if old {
		if killed == 0 {
			return Err("No such client")
		}
		return OK
	}
	return Int(int64(killed))
}

// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP are answered by no reply (the
// front end sends none while Session.Mute is set), as in Redis.
func (t *Table) clientReply(s *Session, argv [][]byte) Reply {
	s.replyCtl = true
	switch {
	case is(argv[2], "ON"):
		s.replyOff, s.skipThis, s.skipNext = false, false, false
		return OK
	case is(argv[2], "OFF"):
		s.replyOff = true
	case is(argv[2], "SKIP"):
		if !s.replyOff {
			s.skipNext = true
		}
		s.muteOne = true
	default:
		return errSyntax
	}
	return OK
}

// replyControl sets Session.Mute for the reply of the command that just
// ran, and moves CLIENT REPLY SKIP on to the command after it.
func (s *Session) replyControl() {
	s.Mute = s.replyOff || s.skipThis || s.muteOne
	s.skipThis, s.skipNext, s.muteOne = s.skipNext, false, false
	s.replyCtl = s.replyOff || s.skipThis || s.Mute
}

// CLIENT NO-EVICT ON|OFF: pykv never evicts clients; the flag is kept
// and shown ("e" in CLIENT LIST's flags), as Redis does.
func (t *Table) clientNoEvict(s *Session, argv [][]byte) Reply {
	switch {
	case is(argv[2], "ON"):
		s.noEvict = true
	case is(argv[2], "OFF"):
		s.noEvict = false
	default:
		return errSyntax
	}
	return OK
}
