package command

import (
	"strings"
	"testing"
)

func TestPingEchoQuit(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "PING", want: "PONG"},
		{cmd: "ping hello", want: `"hello"`},
		{args: []string{"PING", ""}, want: `""`},
		{cmd: "ECHO hi", want: `"hi"`},
		{cmd: "ECHO", want: "(error) ERR wrong number of arguments for 'echo' command"},
		{cmd: "ECHO a b", want: "(error) ERR wrong number of arguments for 'echo' command"},
	})
	if f.s.Quit {
		t.Fatal("Quit set before QUIT")
	}
	f.run([]step{{cmd: "quit", want: "OK"}})
	if !f.s.Quit {
		t.Fatal("QUIT did not set Quit")
	}
	if r := f.exec("PING"); r.Kind != KindStatus {
		t.Errorf("PING kind %d, want a status reply", r.Kind)
	}
	if r := f.exec("PING", "x"); r.Kind != KindBytes {
		t.Errorf("PING x kind %d, want a bulk string", r.Kind)
	}
}

func TestSelect(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SELECT 0", want: "OK"},
		{cmd: "SELECT 1", want: "(error) ERR DB index is out of range"},
		{cmd: "SELECT -1", want: "(error) ERR DB index is out of range"},
		{cmd: "SELECT x", want: "(error) ERR value is not an integer or out of range"},
		{cmd: "SELECT 2147483648", want: "(error) ERR value is out of range, value must between -2147483648 and 2147483647"},
		{cmd: "SELECT", want: "(error) ERR wrong number of arguments for 'select' command"},
	})
}

func helloMap(proto, id, role string) string {
	return `["server" "pykv" "version" "7.0.0" "proto" (integer) ` + proto +
		` "id" (integer) ` + id + ` "mode" "standalone" "role" "` + role + `" "modules" []]`
}

func TestHello(t *testing.T) {
	f := newFixture(t, Config{})
	f.run([]step{
		{cmd: "HELLO", want: helloMap("2", "1", "master")},
		{cmd: "HELLO 3", want: helloMap("3", "1", "master")},
	})
	if f.s.Proto != 3 {
		t.Fatalf("Proto = %d after HELLO 3", f.s.Proto)
	}
	if r := f.exec("HELLO"); r.Kind != KindMap {
		t.Errorf("HELLO kind %d, want a map", r.Kind)
	}
	f.run([]step{
		{cmd: "HELLO", want: helloMap("3", "1", "master")}, // without a version, keeps the current one
		{cmd: "HELLO 4", want: "(error) NOPROTO unsupported protocol version"},
		{cmd: "HELLO 1", want: "(error) NOPROTO unsupported protocol version"},
		{cmd: "HELLO x", want: "(error) ERR Protocol version is not an integer or out of range"},
		{cmd: "HELLO 3 FOO", want: "(error) ERR Syntax error in HELLO option 'FOO'"},
		{cmd: "HELLO 3 AUTH default", want: "(error) ERR Syntax error in HELLO option 'AUTH'"},
		{cmd: "HELLO 3 SETNAME", want: "(error) ERR Syntax error in HELLO option 'SETNAME'"},
		{args: []string{"HELLO", "2", "SETNAME", "bad name"},
			want: "(error) ERR Client names cannot contain spaces, newlines or special characters."},
	})
	if f.s.Proto != 3 || f.s.Name != "" {
		t.Fatalf("a failed HELLO changed the session: Proto=%d Name=%q", f.s.Proto, f.s.Name)
	}
	f.run([]step{
		{cmd: "hello 2 setname app", want: helloMap("2", "1", "master")},
		{cmd: "CLIENT GETNAME", want: `"app"`},
	})
	if f.s.Proto != 2 {
		t.Fatalf("Proto = %d after HELLO 2", f.s.Proto)
	}

	follower := New(newMemStore(), Config{Info: func() ServerInfo { return ServerInfo{Follower: true} }})
	got := follower.Exec(follower.NewSession(), [][]byte{[]byte("HELLO")}).String()
	if want := helloMap("2", "1", "replica"); got != want {
		t.Errorf("HELLO on a follower:\n got %s\nwant %s", got, want)
	}
}

func TestClient(t *testing.T) {
	f := newFixture(t, Config{})
	f.run([]step{
		{cmd: "CLIENT ID", want: "(integer) 1"},
		{cmd: "CLIENT GETNAME", want: "(nil)"},
		{cmd: "CLIENT SETNAME app-1", want: "OK"},
		{cmd: "client getname", want: `"app-1"`},
		{args: []string{"CLIENT", "SETNAME", "a b"},
			want: "(error) ERR Client names cannot contain spaces, newlines or special characters."},
		{args: []string{"CLIENT", "SETNAME", "a\nb"},
			want: "(error) ERR Client names cannot contain spaces, newlines or special characters."},
		{cmd: "CLIENT GETNAME", want: `"app-1"`},
		{args: []string{"CLIENT", "SETNAME", ""}, want: "OK"},
		{cmd: "CLIENT GETNAME", want: "(nil)"},
		{cmd: "CLIENT SETINFO LIB-NAME go-redis", want: "OK"},
		{cmd: "CLIENT SETINFO lib-ver 9.5.1", want: "OK"},
		{cmd: "CLIENT SETINFO foo x", want: "(error) ERR Unrecognized option 'foo'"},
		{args: []string{"CLIENT", "SETINFO", "lib-name", "a b"},
			want: "(error) ERR lib-name cannot contain spaces, newlines or special characters."},
		{cmd: "CLIENT SETINFO LIB-NAME", want: "(error) ERR wrong number of arguments for 'client|setinfo' command"},
		{cmd: "CLIENT ID x", want: "(error) ERR wrong number of arguments for 'client|id' command"},
		{cmd: "CLIENT NOSUCH x", want: "(error) ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."},
	})
	if f.s.LibName != "go-redis" || f.s.LibVer != "9.5.1" {
		t.Errorf("SETINFO: LibName=%q LibVer=%q", f.s.LibName, f.s.LibVer)
	}
	help := f.exec("CLIENT", "HELP").String()
	for _, want := range []string{"CLIENT <subcommand>", "SETNAME connection-name", "    Name the connection"} {
		if !strings.Contains(help, want) {
			t.Errorf("CLIENT HELP lacks %q:\n%s", want, help)
		}
	}
}

// A front end may hand an empty argument over as nil: it is still an
// argument, here an empty name.
func TestNilArgument(t *testing.T) {
	f := newFixture(t, Config{})
	f.s.Name = "old"
	r := f.tab.Exec(f.s, [][]byte{[]byte("HELLO"), []byte("3"), []byte("SETNAME"), nil})
	if r.Kind != KindMap || f.s.Name != "" {
		t.Errorf("HELLO 3 SETNAME nil: %s, Name %q", r, f.s.Name)
	}
	r = f.tab.Exec(f.s, [][]byte{[]byte("SET"), []byte("k"), nil})
	if r.Kind != KindOK {
		t.Fatalf("SET k nil: %s", r)
	}
	if got := f.exec("GET", "k").String(); got != `""` {
		t.Errorf("GET after SET k nil: %s", got)
	}
}
