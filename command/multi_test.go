package command

import (
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/storage"
)

// txClock is the engine's clock in the transaction tests, moved by the
// steps.
type txClock struct{ ms atomic.Int64 }

func (c *txClock) now() time.Time { return time.UnixMilli(c.ms.Load()) }

// txFixture is a Table over the real engine (transactions need its
// Atomic and Watch) with two sessions, as two connections.
type txFixture struct {
	t     *testing.T
	db    *storage.DB
	clock *txClock
	tab   *Table
	s     [2]*Session
}

func newTxFixture(t *testing.T, cfg Config) *txFixture {
	t.Helper()
	clock := &txClock{}
	clock.ms.Store(testEpoch.UnixMilli())
	db, err := storage.Open(t.TempDir(), storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true,
		ExpiryInterval: -1, Clock: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tab := New(db, cfg)
	f := &txFixture{t: t, db: db, clock: clock, tab: tab}
	for i := range f.s {
		f.s[i] = tab.NewSession()
		f.s[i].Store = db.Deferred() // as a server's connection has
	}
	return f
}

// txStep is a command of one of the fixture's two sessions and its exact
// reply (Reply.String); "nil array" is NilArray, which String shows as a
// Nil. advance moves the engine's clock first.
type txStep struct {
	who     int
	cmd     string
	want    string
	advance time.Duration
}

func (f *txFixture) run(steps []txStep) {
	f.t.Helper()
	for i, st := range steps {
		f.clock.ms.Add(st.advance.Milliseconds())
		args := strings.Fields(st.cmd)
		argv := make([][]byte, len(args))
		for j, a := range args {
			argv[j] = []byte(a)
		}
		s := f.s[st.who]
		r := f.tab.Exec(s, argv)
		for _, b := range argv { // a queued command must have its own copy
			for j := range b {
				b[j] = '#'
			}
		}
		if d, ok := s.Store.(*storage.Deferred); ok {
			if err := d.Wait(); err != nil {
				f.t.Fatalf("step %d %q: wait: %v", i, st.cmd, err)
			}
		}
		got := r.String()
		if r.IsNilArray() {
			got = "nil array"
		}
		if got != st.want {
			f.t.Errorf("step %d (session %d) %q:\n got %s\nwant %s", i, st.who, st.cmd, got, st.want)
		}
	}
}

// TestTransactions: MULTI, EXEC, DISCARD with Redis 7.0's replies and
// errors: queued replies, EXEC's array with a run-time error among them,
// refusals at queue time that make EXEC abort, and what runs at once.
func TestTransactions(t *testing.T) {
	cases := []struct {
		name  string
		steps []txStep
	}{
		{"without MULTI", []txStep{
			{cmd: "EXEC", want: "(error) ERR EXEC without MULTI"},
			{cmd: "DISCARD", want: "(error) ERR DISCARD without MULTI"},
			{cmd: "exec x", want: "(error) EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"},
			{cmd: "DISCARD x", want: "(error) ERR wrong number of arguments for 'discard' command"},
			{cmd: "MULTI x", want: "(error) ERR wrong number of arguments for 'multi' command"},
		}},
		{"queue and exec", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET a 1", want: "QUEUED"},
			{cmd: "INCR a", want: "QUEUED"},
			{cmd: "GET a", want: "QUEUED"},
			{who: 1, cmd: "GET a", want: "(nil)"}, // nothing ran yet
			{cmd: "MSET b 1 c 2", want: "QUEUED"},
			{cmd: "DEL b", want: "QUEUED"},
			{cmd: "MGET a b c", want: "QUEUED"},
			{cmd: "EXEC", want: `[OK (integer) 2 "2" OK (integer) 1 ["2" (nil) "2"]]`},
			{who: 1, cmd: "MGET a b c", want: `["2" (nil) "2"]`},
			{cmd: "EXEC", want: "(error) ERR EXEC without MULTI"},
		}},
		{"empty", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"run-time errors take only their command", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET a x", want: "QUEUED"},
			{cmd: "INCR a", want: "QUEUED"},
			{cmd: "SET b 1", want: "QUEUED"},
			{cmd: "SET c 1 EX 0", want: "QUEUED"},
			{cmd: "GET a", want: "QUEUED"},
			{cmd: "EXEC", want: `[OK (error) ERR value is not an integer or out of range OK (error) ERR invalid expire time in 'set' command "x"]`},
			{cmd: "GET b", want: `"1"`},
		}},
		{"nested MULTI is refused without aborting", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "MULTI", want: "(error) ERR MULTI calls can not be nested"},
			{cmd: "SET a 1", want: "QUEUED"},
			{cmd: "EXEC", want: "[OK]"},
		}},
		{"WATCH inside MULTI is refused without aborting", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "WATCH a", want: "(error) ERR WATCH inside MULTI is not allowed"},
			{cmd: "SET a 1", want: "QUEUED"},
			{cmd: "EXEC", want: "[OK]"},
		}},
		{"wrong arity aborts", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET b 1", want: "QUEUED"},
			{cmd: "GET", want: "(error) ERR wrong number of arguments for 'get' command"},
			{cmd: "SET c 1", want: "QUEUED"},
			{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of previous errors."},
			{cmd: "MGET b c", want: "[(nil) (nil)]"},
			{cmd: "EXEC", want: "(error) ERR EXEC without MULTI"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET b 1", want: "QUEUED"},
			{cmd: "EXEC x", want: "(error) EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"},
			{cmd: "EXEC", want: "(error) ERR EXEC without MULTI"},
			{cmd: "GET b", want: "(nil)"},
		}},
		{"unknown command aborts", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "FOO a", want: "(error) ERR unknown command 'FOO', with args beginning with: 'a' "},
			{cmd: "CLIENT FOO", want: "(error) ERR unknown subcommand 'FOO'. Try CLIENT HELP."},
			{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of previous errors."},
		}},
		{"commands not allowed inside", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "COMPACT", want: "(error) ERR Command not allowed inside a transaction"},
			{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of previous errors."},
			{cmd: "MULTI", want: "OK"},
			{cmd: "REPLICAOF NO ONE", want: "(error) ERR Command not allowed inside a transaction"},
			{cmd: "PSYNC a 1 2", want: "(error) ERR Command not allowed inside a transaction"},
			{cmd: "DISCARD", want: "OK"},
		}},
		{"discard", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET a 1", want: "QUEUED"},
			{cmd: "DISCARD", want: "OK"},
			{cmd: "GET a", want: "(nil)"},
			{cmd: "DISCARD", want: "(error) ERR DISCARD without MULTI"},
		}},
		{"other commands run inside", []txStep{
			{cmd: "SET k v", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "PING", want: "QUEUED"},
			{cmd: "ECHO hi", want: "QUEUED"},
			{cmd: "SET n 1", want: "QUEUED"},
			{cmd: "DBSIZE", want: "QUEUED"},
			{cmd: "DEL k", want: "QUEUED"},
			{cmd: "DBSIZE", want: "QUEUED"},
			{cmd: "EXISTS k n", want: "QUEUED"},
			{cmd: "SCAN 0 MATCH n", want: "QUEUED"},
			{cmd: "ROLE", want: "QUEUED"},
			{cmd: "WAIT 0 0", want: "QUEUED"},
			{cmd: "SELECT 0", want: "QUEUED"},
			{cmd: "CLIENT SETNAME tx", want: "QUEUED"},
			{cmd: "CLIENT GETNAME", want: "QUEUED"},
			{cmd: "UNWATCH", want: "QUEUED"},
			{cmd: "EXEC", want: `[PONG "hi" OK (integer) 2 (integer) 1 (integer) 1 (integer) 1 ["0" ["n"]] ["master" (integer) 1 []] (integer) 0 OK OK "tx" OK]`},
		}},
		{"expiry and TTLs inside", []txStep{
			{cmd: "SET e v PX 100", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "PTTL e", want: "QUEUED"},
			{cmd: "PERSIST e", want: "QUEUED"},
			{cmd: "TTL e", want: "QUEUED"},
			{cmd: "EXPIRE e 0", want: "QUEUED"},
			{cmd: "GET e", want: "QUEUED"},
			{cmd: "SETEX s 10 v", want: "QUEUED"},
			{cmd: "TTL s", want: "QUEUED"},
			{cmd: "EXEC", want: `[(integer) 100 (integer) 1 (integer) -1 (integer) 1 (nil) OK (integer) 10]`},
			{cmd: "EXISTS e", want: "(integer) 0"},
			{cmd: "TTL s", want: "(integer) 10"},
		}},
		{"string commands inside", []txStep{
			{cmd: "MULTI", want: "OK"},
			{cmd: "APPEND s ab", want: "QUEUED"},
			{cmd: "SETRANGE s 3 c", want: "QUEUED"},
			{cmd: "GETRANGE s 0 -1", want: "QUEUED"},
			{cmd: "SETBIT b 7 1", want: "QUEUED"},
			{cmd: "BITCOUNT b", want: "QUEUED"},
			{cmd: "INCRBYFLOAT f 1.5", want: "QUEUED"},
			{cmd: "GETSET f x", want: "QUEUED"},
			{cmd: "GETDEL f", want: "QUEUED"},
			{cmd: "MSETNX f 1 s 2", want: "QUEUED"},
			{cmd: "SETNX f 1", want: "QUEUED"},
			{cmd: "GETEX f EX 5", want: "QUEUED"},
			{cmd: "STRLEN s", want: "QUEUED"},
			{cmd: "EXEC", want: `[(integer) 2 (integer) 4 "ab\x00c" (integer) 0 (integer) 1 "1.5" "1.5" "x" (integer) 0 (integer) 1 "1" (integer) 4]`},
			{cmd: "TTL f", want: "(integer) 5"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { newTxFixture(t, Config{}).run(c.steps) })
	}
}

// TestWatch: WATCH makes EXEC answer a nil array, running nothing, when
// a watched key was written since by any session, deleted, or expired;
// EXEC, DISCARD and UNWATCH forget the keys.
func TestWatch(t *testing.T) {
	cases := []struct {
		name  string
		steps []txStep
	}{
		{"untouched", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET w 1", want: "QUEUED"},
			{cmd: "EXEC", want: "[OK]"},
		}},
		{"written by another session", []txStep{
			{cmd: "WATCH w x", want: "OK"},
			{who: 1, cmd: "SET w 1", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET out 1", want: "QUEUED"},
			{cmd: "EXEC", want: "nil array"},
			{cmd: "GET out", want: "(nil)"},
			{cmd: "MULTI", want: "OK"}, // EXEC forgot the watch
			{cmd: "SET out 1", want: "QUEUED"},
			{cmd: "EXEC", want: "[OK]"},
		}},
		{"written by its own session before MULTI", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{cmd: "SET w 1", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "nil array"},
		}},
		{"created and deleted by another session", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "SET w 1", want: "OK"},
			{who: 1, cmd: "DEL w", want: "(integer) 1"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "nil array"},
		}},
		{"written in another transaction", []txStep{
			{cmd: "SET w 1", want: "OK"},
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "MULTI", want: "OK"},
			{who: 1, cmd: "INCR w", want: "QUEUED"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "INCR w", want: "QUEUED"},
			{who: 1, cmd: "EXEC", want: "[(integer) 2]"},
			{cmd: "EXEC", want: "nil array"},
			{cmd: "GET w", want: `"2"`},
		}},
		{"read by another session", []txStep{
			{cmd: "SET w 1", want: "OK"},
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "GET w", want: `"1"`},
			{who: 1, cmd: "SET other 1", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"expired after WATCH", []txStep{
			{cmd: "SET w 1 PX 100", want: "OK"},
			{cmd: "WATCH w", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "SET out 1", want: "QUEUED"},
			{cmd: "EXEC", want: "nil array", advance: 100 * time.Millisecond},
		}},
		{"expired before WATCH", []txStep{
			{cmd: "SET w 1 PX 100", want: "OK"},
			{cmd: "WATCH w", want: "OK", advance: 100 * time.Millisecond},
			{who: 1, cmd: "GET w", want: "(nil)"}, // removes it: no change
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"UNWATCH", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{cmd: "UNWATCH", want: "OK"},
			{who: 1, cmd: "SET w 1", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"DISCARD forgets", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "SET w 1", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "DISCARD", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"an aborted EXEC forgets", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "SET w 1", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "GET", want: "(error) ERR wrong number of arguments for 'get' command"},
			{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of previous errors."},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"watched twice keeps the first version", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "SET w 1", want: "OK"},
			{cmd: "WATCH w w", want: "OK"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "nil array"},
		}},
		{"a write of another key", []txStep{
			{cmd: "WATCH w", want: "OK"},
			{who: 1, cmd: "SET v 1", want: "OK"},
			{who: 1, cmd: "DEL w", want: "(integer) 0"},
			{cmd: "MULTI", want: "OK"},
			{cmd: "EXEC", want: "[]"},
		}},
		{"WATCH arity", []txStep{
			{cmd: "WATCH", want: "(error) ERR wrong number of arguments for 'watch' command"},
			{cmd: "UNWATCH x", want: "(error) ERR wrong number of arguments for 'unwatch' command"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { newTxFixture(t, Config{}).run(c.steps) })
	}
}

// TestEndSessionReleasesWatches: a connection that ends while watching
// keys leaves no registration behind: a key it watched, then written and
// deleted, is not remembered for it (another session's WATCH of it then
// starts clean and its transaction runs).
func TestEndSessionReleasesWatches(t *testing.T) {
	f := newTxFixture(t, Config{})
	f.run([]txStep{{cmd: "WATCH w", want: "OK"}})
	f.tab.EndSession(f.s[0])
	if f.s[0].tx.watched != nil || f.s[0].tx.keys != nil {
		t.Fatalf("the session still holds %d watched keys", len(f.s[0].tx.watched))
	}
	f.run([]txStep{
		{who: 1, cmd: "SET w 1", want: "OK"},
		{who: 1, cmd: "DEL w", want: "(integer) 1"},
		{who: 1, cmd: "WATCH w", want: "OK"},
		{who: 1, cmd: "MULTI", want: "OK"},
		{who: 1, cmd: "EXEC", want: "[]"},
	})
}

// followerRepl is a Replication whose daemon follows a leader from when
// follow is set.
type followerRepl struct{ follow atomic.Bool }

func (r *followerRepl) Leader() string {
	if r.follow.Load() {
		return "127.0.0.1:1"
	}
	return ""
}

func (r *followerRepl) PSync(string, uint64, int, string) (string, func(net.Conn, []byte, <-chan struct{}), error) {
	return "", nil, nil
}
func (r *followerRepl) ReplicaOf(string) (bool, error)  { return false, nil }
func (r *followerRepl) Role() Reply                     { return Array(nil) }
func (r *followerRepl) Wait(n int, _ time.Duration) int { return n }
func (r *followerRepl) EnoughFollowers() bool           { return true }

// TestTransactionOnAFollower: a write is refused while queuing on a
// follower (and the transaction with it), and a transaction whose writes
// were queued on a leader that became a follower is discarded at EXEC,
// with the reason, as in Redis.
func TestTransactionOnAFollower(t *testing.T) {
	repl := &followerRepl{}
	f := newTxFixture(t, Config{Repl: repl})
	f.run([]txStep{
		{cmd: "MULTI", want: "OK"},
		{cmd: "SET a 1", want: "QUEUED"},
		{cmd: "GET a", want: "QUEUED"},
	})
	repl.follow.Store(true)
	f.run([]txStep{
		{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of: READONLY You can't write against a read only replica."},
		{cmd: "MULTI", want: "OK"},
		{cmd: "GET a", want: "QUEUED"},
		{cmd: "EXEC", want: "[(nil)]"}, // reads run on a follower
		{cmd: "MULTI", want: "OK"},
		{cmd: "SET a 1", want: "(error) READONLY You can't write against a read only replica."},
		{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of previous errors."},
	})
}

// TestTransactionsNeedAuth: before AUTH, MULTI is refused like any
// command; a refusal inside a transaction aborts it.
func TestTransactionsNeedAuth(t *testing.T) {
	f := newTxFixture(t, Config{Password: "pw"})
	f.run([]txStep{
		{cmd: "MULTI", want: "(error) NOAUTH Authentication required."},
		{cmd: "WATCH a", want: "(error) NOAUTH Authentication required."},
		{cmd: "EXEC", want: "(error) EXECABORT Transaction discarded because of: NOAUTH Authentication required."},
		{cmd: "AUTH pw", want: "OK"},
		{cmd: "MULTI", want: "OK"},
		{cmd: "SET a 1", want: "QUEUED"},
		{cmd: "EXEC", want: "[OK]"},
	})
}

// TestTransactionNeedsATransactor: over a Store without transactions
// (the in-memory twin), MULTI and WATCH say so instead of queuing
// commands EXEC could not run.
func TestTransactionNeedsATransactor(t *testing.T) {
	runSteps(t, []step{
		{cmd: "MULTI", want: "(error) ERR transactions are not supported by this storage engine"},
		{cmd: "SET a 1", want: "OK"},
		{cmd: "WATCH a", want: "(error) ERR transactions are not supported by this storage engine"},
		{cmd: "EXEC", want: "(error) ERR EXEC without MULTI"},
	})
}

// TestExecOneClock: inside EXEC a relative expiry is taken from the
// transaction's clock, read once, as the expiry checks of the same EXEC
// are. The engine's clock here moves 1 ms at every reading, as a loaded
// machine's does between commands: had EXPIRE k 0 read it again, k would
// outlive its own EXEC's EXISTS, and PX 5 would show more than 5 ms left.
func TestExecOneClock(t *testing.T) {
	var ms atomic.Int64
	ms.Store(testEpoch.UnixMilli())
	ticking := func() time.Time { return time.UnixMilli(ms.Add(1)) }
	db, err := storage.Open(t.TempDir(), storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true,
		ExpiryInterval: -1, Clock: ticking})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tab := New(db, Config{})
	s := tab.NewSession()
	run := func(args ...string) string {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		return tab.Exec(s, argv).String()
	}
	run("SET", "k", "v")
	for _, cmd := range [][]string{{"MULTI"}, {"EXPIRE", "k", "0"}, {"EXISTS", "k"}, {"SET", "u", "v", "PX", "5"}, {"PTTL", "u"},
		{"SET", "w", "v"}, {"PEXPIRE", "w", "7"}, {"PTTL", "w"}, {"GETEX", "w", "PX", "9"}, {"PTTL", "w"}} {
		run(cmd...)
	}
	const want = `[(integer) 1 (integer) 0 OK (integer) 5 OK (integer) 1 (integer) 7 "v" (integer) 9]`
	if got := run("EXEC"); got != want {
		t.Fatalf("EXEC answered\n%s\nwant\n%s", got, want)
	}
}
