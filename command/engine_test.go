package command

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/pykv/pykv/storage"
)

// TestWithEngine runs the commands that need more than the Store interface
// (GETDEL, COMPACT, BGREWRITEAOF) against the real engine, and those built
// on its Update and MSetNX.
func TestWithEngine(t *testing.T) {
	db, err := storage.Open(t.TempDir(), storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tab := New(db, Config{})
	s := tab.NewSession()
	run := func(args ...string) Reply {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		return tab.Exec(s, argv)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"SET", "a", "1"}, "OK"},
		{[]string{"SET", "a", "2"}, "OK"},
		{[]string{"SET", "b", "x"}, "OK"},
		{[]string{"GETDEL", "b"}, `"x"`},
		{[]string{"GETDEL", "b"}, "(nil)"},
		{[]string{"COMPACT"}, `"keys" (integer) 1`},
		{[]string{"GET", "a"}, `"2"`},
		{[]string{"BGREWRITEAOF"}, "Background append only file rewriting started"},
		{[]string{"INFO", "persistence"}, "pykv_snapshots:1"},
		{[]string{"APPEND", "a", "bc"}, "(integer) 3"},
		{[]string{"SETRANGE", "a", "4", "z"}, "(integer) 5"},
		{[]string{"GETRANGE", "a", "0", "-1"}, `"2bc\x00z"`},
		{[]string{"INCRBYFLOAT", "f", "0.1"}, `"0.1"`},
		{[]string{"INCRBYFLOAT", "f", "0.2"}, `"0.3"`},
		{[]string{"GETEX", "f", "EX", "100"}, `"0.3"`},
		{[]string{"TTL", "f"}, "(integer) 100"},
		{[]string{"GETEX", "f", "PERSIST"}, `"0.3"`},
		{[]string{"TTL", "f"}, "(integer) -1"},
		{[]string{"MSETNX", "m1", "1", "a", "2"}, "(integer) 0"},
		{[]string{"MSETNX", "m1", "1", "m2", "2"}, "(integer) 1"},
		{[]string{"GETSET", "m1", "x"}, `"1"`},
		{[]string{"STRLEN", "a"}, "(integer) 5"},
	}
	for _, st := range steps {
		got := run(st.args...).String()
		if !strings.Contains(got, st.want) {
			t.Fatalf("%v: %s, want %s", st.args, got, st.want)
		}
	}
}
