package command

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fixture is a Table over a memStore, with one Session.
type fixture struct {
	t     *testing.T
	store *memStore
	tab   *Table
	s     *Session
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	store := newMemStore()
	tab := New(store, cfg)
	return &fixture{t: t, store: store, tab: tab, s: tab.NewSession()}
}

// exec runs argv and then overwrites argv's bytes, as a front end reusing
// its buffers would: a reply that kept a reference to argv shows it.
func (f *fixture) exec(argv ...string) Reply {
	bufs := make([][]byte, len(argv))
	for i, a := range argv {
		bufs[i] = []byte(a)
	}
	r := f.tab.Exec(f.s, bufs)
	for _, b := range bufs {
		for i := range b {
			b[i] = '#'
		}
	}
	return r
}

// step is one command and the exact reply it must get, as Reply.String
// renders it. cmd is split on spaces; args, when set, is the argv instead
// (for arguments that hold spaces or are empty). advance moves the store's
// clock first.
type step struct {
	cmd     string
	want    string
	args    []string
	advance time.Duration
}

func (f *fixture) run(steps []step) {
	f.t.Helper()
	for i, st := range steps {
		if st.advance != 0 {
			f.store.advance(st.advance)
		}
		argv := st.args
		if argv == nil {
			argv = strings.Fields(st.cmd)
		}
		if got := f.exec(argv...).String(); got != st.want {
			f.t.Errorf("step %d %q:\n got %s\nwant %s", i, argv, got, st.want)
		}
	}
}

// runSteps runs steps on a fresh fixture without a password.
func runSteps(t *testing.T, steps []step) *fixture {
	t.Helper()
	f := newFixture(t, Config{})
	f.run(steps)
	return f
}

func TestUnknownCommand(t *testing.T) {
	long := strings.Repeat("x", 200)
	runSteps(t, []step{
		{cmd: "FOO a b", want: "(error) ERR unknown command 'FOO', with args beginning with: 'a' 'b' "},
		{cmd: "foo", want: "(error) ERR unknown command 'foo', with args beginning with: "},
		{args: []string{"FOO", long, "next"},
			want: "(error) ERR unknown command 'FOO', with args beginning with: '" + strings.Repeat("x", 128) + "' "},
		{args: []string{"FOO", strings.Repeat("y", 100), long},
			want: "(error) ERR unknown command 'FOO', with args beginning with: '" +
				strings.Repeat("y", 100) + "' '" + strings.Repeat("x", 25) + "' "},
		{args: []string{strings.Repeat("z", 200)},
			want: "(error) ERR unknown command '" + strings.Repeat("z", 128) + "', with args beginning with: "},
		{args: []string{"BAD\r\nCMD", "a\nb"},
			want: "(error) ERR unknown command 'BAD  CMD', with args beginning with: 'a b' "},
		{args: []string{""}, want: "(error) ERR unknown command '', with args beginning with: "},
	})
}

func TestEmptyArgv(t *testing.T) {
	f := newFixture(t, Config{})
	if got := f.tab.Exec(f.s, nil).String(); got != "(error) ERR empty command" {
		t.Fatalf("Exec(nil) = %s", got)
	}
}

func TestWrongArity(t *testing.T) {
	runSteps(t, []step{
		{cmd: "GET", want: "(error) ERR wrong number of arguments for 'get' command"},
		{cmd: "get a b", want: "(error) ERR wrong number of arguments for 'get' command"},
		{cmd: "SET k", want: "(error) ERR wrong number of arguments for 'set' command"},
		{cmd: "DEL", want: "(error) ERR wrong number of arguments for 'del' command"},
		{cmd: "PING a b", want: "(error) ERR wrong number of arguments for 'ping' command"},
		{cmd: "DBSIZE x", want: "(error) ERR wrong number of arguments for 'dbsize' command"},
		{cmd: "CLIENT", want: "(error) ERR wrong number of arguments for 'client' command"},
		{cmd: "CLIENT SETNAME", want: "(error) ERR wrong number of arguments for 'client|setname' command"},
		{cmd: "client foo", want: "(error) ERR unknown subcommand 'foo'. Try CLIENT HELP."},
	})
}

func TestAuthGating(t *testing.T) {
	f := newFixture(t, Config{Password: "s3cret"})
	f.run([]step{
		// Unknown commands and wrong arity are reported before NOAUTH, as in Redis.
		{cmd: "FOO", want: "(error) ERR unknown command 'FOO', with args beginning with: "},
		{cmd: "GET", want: "(error) ERR wrong number of arguments for 'get' command"},
		{cmd: "GET k", want: "(error) NOAUTH Authentication required."},
		{cmd: "PING", want: "(error) NOAUTH Authentication required."},
		{cmd: "CLIENT ID", want: "(error) NOAUTH Authentication required."},
		{cmd: "SELECT 0", want: "(error) NOAUTH Authentication required."},
		{cmd: "HELLO 3", want: "(error) NOAUTH HELLO must be called with the client already authenticated, " +
			"otherwise the HELLO AUTH <user> <pass> option can be used to authenticate " +
			"the client and select the RESP protocol version at the same time"},
		{cmd: "AUTH wrong", want: "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd: "AUTH s3cre", want: "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd: "AUTH bob s3cret", want: "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd: "AUTH default s3cret x", want: "(error) ERR syntax error"},
		{cmd: "AUTH", want: "(error) ERR wrong number of arguments for 'auth' command"},
		{cmd: "GET k", want: "(error) NOAUTH Authentication required."},
		{cmd: "AUTH s3cret", want: "OK"},
		{cmd: "GET k", want: "(nil)"},
		{cmd: "PING", want: "PONG"},
		// A failed AUTH does not undo an earlier success, as in Redis.
		{cmd: "AUTH wrong", want: "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd: "GET k", want: "(nil)"},
	})
	if f.s.Proto != 2 {
		t.Errorf("Proto = %d after failed HELLO, want 2", f.s.Proto)
	}

	f.s = f.tab.NewSession()
	if f.s.Authed {
		t.Fatal("new session authenticated with a password configured")
	}
	f.run([]step{
		{cmd: "AUTH default s3cret", want: "OK"},
		{cmd: "DBSIZE", want: "(integer) 0"},
	})

	f.s = f.tab.NewSession()
	f.run([]step{
		{cmd: "HELLO 3 AUTH default nope", want: "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd: "HELLO 3 AUTH default s3cret", want: `["server" "pykv" "version" "7.0.0" "proto" (integer) 3 "id" (integer) 3 "mode" "standalone" "role" "master" "modules" []]`},
		{cmd: "GET k", want: "(nil)"},
	})
	if !f.s.Authed || f.s.Proto != 3 {
		t.Errorf("after HELLO 3 AUTH: Authed=%v Proto=%d", f.s.Authed, f.s.Proto)
	}

	f.s = f.tab.NewSession()
	f.run([]step{{cmd: "QUIT", want: "OK"}})
	if !f.s.Quit {
		t.Error("QUIT before AUTH did not set Quit")
	}
}

func TestAuthWithoutPassword(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "AUTH x", want: "(error) ERR AUTH <password> called without any password configured " +
			"for the default user. Are you sure your configuration is correct?"},
		{cmd: "AUTH default anything", want: "OK"},
		{cmd: "AUTH bob x", want: "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd: "HELLO 2 AUTH default x", want: `["server" "pykv" "version" "7.0.0" "proto" (integer) 2 "id" (integer) 1 "mode" "standalone" "role" "master" "modules" []]`},
	})
	if !f.s.Authed {
		t.Error("session without password is not authenticated")
	}
}

// A Session a front end builds itself, without NewSession, works too:
// Proto zero is RESP2.
func TestZeroSession(t *testing.T) {
	f := newFixture(t, Config{})
	f.s = &Session{ID: 42}
	f.run([]step{
		{cmd: "GET k", want: "(nil)"},
		{cmd: "HELLO", want: `["server" "pykv" "version" "7.0.0" "proto" (integer) 2 "id" (integer) 42 "mode" "standalone" "role" "master" "modules" []]`},
	})
}

func TestSpecs(t *testing.T) {
	groups := map[string]bool{"string": true, "bitmap": true, "generic": true, "transactions": true, "connection": true, "server": true}
	specs := Specs()
	if len(specs) == 0 {
		t.Fatal("no specs")
	}
	var check func(sp *Spec, parent string)
	check = func(sp *Spec, parent string) {
		if sp.Summary == "" || strings.Contains(sp.Summary, "\n") {
			t.Errorf("%s: summary %q", sp.Name, sp.Summary)
		}
		if sp.Arity == 0 {
			t.Errorf("%s: arity 0", sp.Name)
		}
		if !groups[sp.Group] {
			t.Errorf("%s: group %q", sp.Name, sp.Group)
		}
		if sp.Name != strings.ToLower(sp.Name) {
			t.Errorf("%s: name not lower case", sp.Name)
		}
		if parent != "" && !strings.HasPrefix(sp.Name, parent+"|") {
			t.Errorf("%s: subcommand name without %q|", sp.Name, parent)
		}
		if sp.Flags&FlagWrite != 0 && sp.Flags&FlagReadOnly != 0 {
			t.Errorf("%s: both write and readonly", sp.Name)
		}
		if sp.FirstKey < 0 || (sp.FirstKey == 0) != (sp.KeyStep == 0) {
			t.Errorf("%s: key positions %d %d %d", sp.Name, sp.FirstKey, sp.LastKey, sp.KeyStep)
		}
		for _, sub := range sp.Subcommands {
			check(sub, sp.Name)
		}
	}
	for i, sp := range specs {
		check(sp, "")
		if i > 0 && specs[i-1].Name >= sp.Name {
			t.Errorf("specs not sorted: %s before %s", specs[i-1].Name, sp.Name)
		}
		for _, name := range []string{sp.Name, strings.ToUpper(sp.Name), mixedCase(sp.Name)} {
			got, ok := Lookup([]byte(name))
			if !ok || got != sp {
				t.Errorf("Lookup(%q) = %v, %v", name, got, ok)
			}
		}
	}
	for _, name := range []string{"", "nosuch", "GETX", "GE", strings.Repeat("A", 100), "client|id"} {
		if sp, ok := Lookup([]byte(name)); ok {
			t.Errorf("Lookup(%q) found %s", name, sp.Name)
		}
	}
	set, _ := Lookup([]byte("set"))
	if want := "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"; set.Args != want {
		t.Errorf("SET args %q", set.Args)
	}
	if got := strings.Join(set.Flags.Names(), ","); got != "write" {
		t.Errorf("SET flags %s", got)
	}
	if got := strings.Join((FlagNoAuth | FlagFast | FlagWrite).Names(), ","); got != "write,fast,no_auth" {
		t.Errorf("Names() = %s", got)
	}
	// Specs returns a copy: changing it leaves the table alone.
	specs[0] = nil
	if Specs()[0] == nil {
		t.Error("Specs shares its slice")
	}
	tab := New(newMemStore(), Config{})
	if sp, ok := tab.Lookup([]byte("Get")); !ok || sp.Name != "get" {
		t.Errorf("Table.Lookup(Get) = %v, %v", sp, ok)
	}
}

func mixedCase(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i += 2 {
		b[i] = bytes.ToUpper(b[i : i+1])[0]
	}
	return string(b)
}

func TestNewSessionIDs(t *testing.T) {
	tab := New(newMemStore(), Config{})
	a, b := tab.NewSession(), tab.NewSession()
	if a.ID == 0 || a.ID == b.ID || !a.Authed || a.Proto != 2 {
		t.Errorf("sessions %+v %+v", a, b)
	}
}

func TestNewNilStore(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	New(nil, Config{})
}
