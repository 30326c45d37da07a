package command

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/command/spec"
)

// Config is what a Table needs beyond its Store.
type Config struct {
	// Password, when not empty, must be given with AUTH (or HELLO ... AUTH)
	// before any command but AUTH, HELLO and QUIT. It is the password of
	// the single user "default", as with Redis's requirepass.
	Password string

	// Info reports what the daemon knows and the table does not (its
	// version, ports, clients, role), for INFO, HELLO and CONFIG GET. It is
	// called once per such command, from any goroutine. Nil reports zero
	// values: a leader with no listeners and no clients.
	Info func() ServerInfo

	// Repl, when set, is the daemon's replication: PSYNC, REPLICAOF,
	// ROLE and WAIT use it, and a follower refuses writes.
	Repl Replication

	// Settings, when set, is the daemon's configuration: CONFIG GET shows
	// its parameters and CONFIG SET changes them (config.go).
	Settings Settings

	// Shutdown, when set, starts the daemon's graceful stop, the one
	// SIGTERM starts, and returns without waiting for it (the connection
	// that asked is one it waits for); an error means it will not stop.
	// SHUTDOWN calls it; without it SHUTDOWN is an error.
	Shutdown func() error
}

// Table is the command table: it parses a command's arguments, calls the
// Store and builds the Reply. One Table serves every connection of every
// front end; it is safe for concurrent use. Per-connection state lives in
// Session.
type Table struct {
	store Store
	cfg   Config

	// password is the password in force: SetPassword replaces it while
	// commands run.
	password atomic.Pointer[authState]

	started time.Time
	runID   string

	lastID atomic.Uint64

	// lcsSlots bounds how many large LCS tables exist at once (lcs.go).
	lcsSlots chan struct{}

	// epoch is the monotonic base of CLIENT LIST's idle times, and
	// coarse the time since it, kept by a ticker while connections are
	// registered (client.go), as Redis's cached clock.
	epoch    time.Time
	coarse   atomic.Int64
	cmds     *cmdStats  // INFO commandstats (stats.go)
	lat      *latency   // INFO latencystats (latency.go)
	errs     errorStats // INFO errorstats
	baseMu   sync.Mutex
	base     statBase // what CONFIG RESETSTAT set aside
	clients  clientRegistry
	monitors monitorSet
}

// New returns a Table that runs commands against store.
func New(store Store, cfg Config) *Table {
	if store == nil {
		panic("command: New with a nil Store")
	}
	t := &Table{store: store, cfg: cfg, started: store.Now(), runID: newRunID(),
		lcsSlots: make(chan struct{}, lcsTables), epoch: time.Now(), cmds: newCmdStats(), lat: newLatency()}
	t.SetPassword(cfg.Password)
	return t
}

// authState is a password in force: whether one is set, and its SHA-256.
type authState struct {
	need bool
	hash [sha256.Size]byte
}

// SetPassword replaces the password of the user "default" while the table
// serves, as Redis's CONFIG SET requirepass: connections that have
// authenticated stay so, later AUTHs check the new password, and with ""
// no AUTH is needed any more, by connections that had not authenticated
// either.
func (t *Table) SetPassword(password string) {
	a := &authState{}
	if password != "" {
		a.need = true
		a.hash = sha256.Sum256([]byte(password))
	}
	t.password.Store(a)
}

// needAuth reports whether a password is set.
func (t *Table) needAuth() bool { return t.password.Load().need }

// newRunID returns 40 random hex characters, the shape of Redis's run_id,
// used in INFO when ServerInfo does not name one.
func newRunID() string {
	var b [20]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// NewSession returns the state of a new connection: a fresh ID, RESP2,
// and authenticated only when no password is configured. Front ends call it
// once per connection.
func (t *Table) NewSession() *Session {
	return &Session{
		ID:     t.lastID.Add(1),
		Proto:  2,
		Authed: !t.needAuth(),
	}
}

// Exec runs one command. argv[0] is the command name, in any case; the
// other elements are its arguments. s must not be nil and must not be used
// by two goroutines at once.
//
// Exec keeps no reference to argv: the caller may reuse its buffers once
// Exec returns. The Reply may reference bytes returned by the Store (a GET's
// value), which stay valid as the Store documents; it never references argv.
//
// The checks come in Redis's order: an unknown command or subcommand, then
// the arity, then authentication, then a follower's refusal of writes.
// After MULTI, a command that passes them is queued for EXEC (multi.go).
func (t *Table) Exec(s *Session, argv [][]byte) Reply {
	r := t.run(s, argv)
	if s.replyCtl {
		s.replyControl() // CLIENT REPLY OFF or SKIP (client.go)
	}
	return r
}

// run is Exec but for CLIENT REPLY. Each command that runs is counted
// (INFO commandstats, stats.go) and shown to monitors (monitor.go); one
// refused is counted as rejected, and an unknown one only in errorstats.
func (t *Table) run(s *Session, argv [][]byte) Reply {
	if len(argv) == 0 {
		return errEmptyCommand
	}
	sp, ok := spec.Lookup(argv[0])
	if !ok {
		r := s.refuse(unknownCommand(argv))
		t.errs.add(r.Code)
		t.touch(s, nil)
		return r
	}
	if len(sp.Subcommands) > 0 && len(argv) >= 2 {
		sub, ok := sp.Sub(argv[1])
		if !ok {
			r := s.refuse(unknownSubcommand(sp, argv[1]))
			t.errs.add(r.Code)
			t.touch(s, sp)
			return r
		}
		sp = sub
	}
	if !sp.ArityOK(len(argv)) {
		return t.rejected(s, sp, t.refuse(s, sp, sp.ArityError()))
	}
	if !s.Authed && t.needAuth() && sp.Flags&FlagNoAuth == 0 {
		return t.rejected(s, sp, t.refuse(s, sp, errNoAuth))
	}
	if sp.Flags&FlagWrite != 0 {
		if r, refused := t.readOnly(s); refused {
			return t.rejected(s, sp, t.refuse(s, sp, r))
		}
	}
	if s.tx.multi && !runsInMulti(sp) {
		r := t.enqueue(s, sp, argv) // multi.go
		if r.Kind == KindError {
			return t.rejected(s, sp, r)
		}
		t.touch(s, sp)
		s.publishTx()
		return r
	}
	e := s.conn
	if e != nil {
		e.lastCmd.Store(cmdWord(sp.ID(), argvBytes(argv)))
		e.lastNs.Store(t.coarse.Load())
	}
	start := t.startTiming(s, sp)
	r := byID[sp.ID()](t, s, argv)
	t.account(s, sp, r, start)
	if e != nil {
		e.lastCmd.Store(cmdWord(sp.ID(), 0)) // argv-mem is 0 between commands
	}
	if publishes[sp.ID()] {
		s.publish()
	}
	if ms := t.monitors.list.Load(); ms != nil {
		t.feedMonitors(*ms, s, sp, argv)
	}
	return r
}

// Lookup returns the Spec of the command named name, in any case, without
// allocating. It is the package-level Lookup, offered on the Table for
// front ends that hold only a *Table.
func (t *Table) Lookup(name []byte) (*Spec, bool) { return Lookup(name) }

// nowMs is the clock of the Store s's commands run against, in unix
// milliseconds: the base of every relative expiry. Inside EXEC that is the
// transaction's, read once for the whole EXEC, so that an expiry set
// relative to it agrees with the expiry checks of the same EXEC (EXPIRE k
// 0 then EXISTS k is 0 however long the EXEC has run).
func (t *Table) nowMs(s *Session) int64 { return t.storeFor(s).Now().UnixMilli() }

// info returns the daemon's ServerInfo, or zero values without a provider.
func (t *Table) info() ServerInfo {
	if t.cfg.Info == nil {
		return ServerInfo{}
	}
	return t.cfg.Info()
}

// counterStripes is the number of stripes the per-command counters
// spread their additions over, chosen by session ID, so that cores do not
// contend for one cache line (stats.go).
const counterStripes = 16

// storeFor returns the Store that runs s's commands, reads and writes
// alike: inside EXEC the transaction's, else the session's own (a
// connection's storage.Deferred, whose replies wait for durability) or
// else the Table's.
func (t *Table) storeFor(s *Session) Store {
	if s.tx.running != nil {
		return s.tx.running // inside EXEC: the transaction's view
	}
	if s.Store != nil {
		return s.Store
	}
	return t.store
}
