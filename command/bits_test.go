package command

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/storage"
)

// The expected replies are redis-server 7.0's for the same commands.
func TestBitCommands(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "SET b foobar", want: "OK"},
		{cmd: "BITCOUNT b", want: "(integer) 26"},
		{cmd: "BITCOUNT b 0 0", want: "(integer) 4"},
		{cmd: "BITCOUNT b 1 1", want: "(integer) 6"},
		{cmd: "BITCOUNT b 1 1 bit", want: "(integer) 1"},
		{cmd: "BITCOUNT b 5 30 BIT", want: "(integer) 17"},
		{cmd: "BITCOUNT b -2 -1", want: "(integer) 7"},
		{cmd: "BITCOUNT b -1 -2", want: "(integer) 0"},
		{cmd: "BITCOUNT b 0", want: errSyntaxText},
		{cmd: "BITCOUNT b 0 1 foo", want: errSyntaxText},
		{cmd: "BITCOUNT b a 1", want: errNotIntText},
		{cmd: "BITCOUNT nokey 0", want: "(integer) 0"}, // a missing key first
		{cmd: "BITCOUNT nokey a b c d", want: "(integer) 0"},

		{cmd: "BITPOS b 1", want: "(integer) 1"},
		{cmd: "BITPOS b 0", want: "(integer) 0"},
		{cmd: "BITPOS b 1 2", want: "(integer) 17"},
		{cmd: "BITPOS b 1 2 -1 byte", want: "(integer) 17"},
		{cmd: "BITPOS b 1 7 15 bit", want: "(integer) 9"},
		{cmd: "BITPOS b 0 0 -1 bit", want: "(integer) 0"},
		{cmd: "BITPOS nokey 0", want: "(integer) 0"},
		{cmd: "BITPOS nokey 1", want: "(integer) -1"},
		{cmd: "BITPOS nokey 1 a b c d e", want: "(integer) -1"},
		{cmd: "BITPOS b 2", want: "(error) ERR The bit argument must be 1 or 0."},
		{cmd: "BITPOS b x", want: errNotIntText},
		{cmd: "BITPOS b 1 0 1 2 3", want: errSyntaxText},
		{cmd: "BITPOS b 1 0 bit", want: errNotIntText},

		{cmd: "GETBIT b 7", want: "(integer) 0"},
		{cmd: "GETBIT b 1", want: "(integer) 1"},
		{cmd: "GETBIT b 100000", want: "(integer) 0"},
		{cmd: "GETBIT b -1", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "GETBIT nokey 3", want: "(integer) 0"},

		{cmd: "SETBIT s 7 1", want: "(integer) 0"},
		{cmd: "GET s", want: `"\x01"`},
		{cmd: "SETBIT s 7 0", want: "(integer) 1"},
		{cmd: "SETBIT s 17 1", want: "(integer) 0"},
		{cmd: "GET s", want: `"\x00\x00@"`},
		{cmd: "SETBIT s 7 2", want: "(error) ERR bit is not an integer or out of range"},
		{cmd: "SETBIT s 8 -1", want: "(error) ERR bit is not an integer or out of range"},
		{cmd: "SETBIT s x 1", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "SET t v EX 100", want: "OK"},
		{cmd: "SETBIT t 0 1", want: "(integer) 0"},
		{cmd: "TTL t", want: "(integer) 100"},
		{cmd: "SET ones \xff\xff", want: "OK"},
		{cmd: "BITPOS ones 0", want: "(integer) 16"}, // the bits past the end are clear
		{cmd: "BITPOS ones 0 0", want: "(integer) 16"},
		{cmd: "BITPOS ones 0 0 -1", want: "(integer) -1"}, // but not past a given end
		{cmd: "BITPOS ones 0 0 -1 bit", want: "(integer) -1"},
	})
	// Offsets are bounded by the value-size limit, as Redis bounds them by
	// proto-max-bulk-len, whether or not the key exists.
	f.store.maxValue = 4
	f.run([]step{
		{cmd: "GETBIT nokey 31", want: "(integer) 0"},
		{cmd: "GETBIT nokey 32", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "SETBIT n 32 1", want: "(error) ERR bit offset is not an integer or out of range"},
		{cmd: "SETBIT n 32 5", want: "(error) ERR bit offset is not an integer or out of range"}, // the offset first
		{cmd: "SETBIT n 31 1", want: "(integer) 0"},
		{cmd: "STRLEN n", want: "(integer) 4"},
	})
}

// TestBitop runs BITOP against the real engine (it needs its Atomic), in
// two sessions as two connections. The expected replies are redis-server
// 7.0's for the same commands.
func TestBitop(t *testing.T) {
	f := newTxFixture(t, Config{})
	f.run([]txStep{
		{cmd: "SET a foobar", want: "OK"},
		{cmd: "SET b abcdef", want: "OK"},
		{cmd: "SET c xy", want: "OK"},
		{cmd: "BITOP AND d a b", want: "(integer) 6"},
		{cmd: "GET d", want: "\"`bc`ab\""},
		{cmd: "BITOP or d a b", want: "(integer) 6"},
		{cmd: "GET d", want: `"goofev"`},
		{cmd: "BITOP XOR d a b", want: "(integer) 6"},
		{cmd: "GET d", want: `"\a\r\f\x06\x04\x14"`},
		{cmd: "BITOP NOT d c", want: "(integer) 2"},
		{cmd: "GET d", want: `"\x87\x86"`},
		// Zero-filled to the longest, a missing key as an empty string.
		{cmd: "BITOP AND d a c", want: "(integer) 6"},
		{cmd: "GET d", want: `"` + "`" + `i\x00\x00\x00\x00"`},
		{cmd: "BITOP OR d c a", want: "(integer) 6"},
		{cmd: "GET d", want: `"~\x7fobar"`},
		{cmd: "BITOP XOR d c none a", want: "(integer) 6"},
		{cmd: "GET d", want: `"\x1e\x16obar"`},
		{cmd: "BITOP AND d none a", want: "(integer) 6"},
		{cmd: "GET d", want: `"\x00\x00\x00\x00\x00\x00"`},
		// An empty result deletes the destination; its expiry goes.
		{cmd: "BITOP OR d none none", want: "(integer) 0"},
		{cmd: "EXISTS d", want: "(integer) 0"},
		{cmd: "SET d x EX 100", want: "OK"},
		{cmd: "BITOP NOT d none", want: "(integer) 0"},
		{cmd: "EXISTS d", want: "(integer) 0"},
		{cmd: "SET d x EX 100", want: "OK"},
		{cmd: "BITOP AND d c", want: "(integer) 2"},
		{cmd: "TTL d", want: "(integer) -1"},
		{cmd: "BITOP XOR c c c", want: "(integer) 2"},
		{cmd: "GET c", want: `"\x00\x00"`},
		// Errors: the operation, then NOT's single source, then the keys.
		{cmd: "BITOP FOO d a", want: errSyntaxText},
		{cmd: "BITOP NOT d a b", want: "(error) ERR BITOP NOT must be called with a single source key."},
		{cmd: "BITOP FOO d", want: "(error) ERR wrong number of arguments for 'bitop' command"},
		{cmd: "BITOP NOT d", want: "(error) ERR wrong number of arguments for 'bitop' command"},
		// In a transaction, over its own writes; a BITOP writes a watched key.
		{cmd: "MULTI", want: "OK"},
		{cmd: "SET t abc", want: "QUEUED"},
		{cmd: "BITOP NOT t2 t", want: "QUEUED"},
		{cmd: "BITOP NOT t2 t t", want: "QUEUED"},
		{cmd: "EXEC", want: `[OK (integer) 3 (error) ERR BITOP NOT must be called with a single source key.]`},
		{cmd: "GET t2", want: `"\x9e\x9d\x9c"`},
		{cmd: "WATCH t2", want: "OK"},
		{who: 1, cmd: "BITOP AND t2 t", want: "(integer) 3"},
		{cmd: "MULTI", want: "OK"},
		{cmd: "GET t2", want: "QUEUED"},
		{cmd: "EXEC", want: "nil array"},
	})
}

// TestBitopLogged: BITOP's SET and DEL are in the log when it answers,
// and a source written under a larger value-size limit than the engine
// has now is refused with the size error, writing nothing.
func TestBitopLogged(t *testing.T) {
	dir := t.TempDir()
	open := func(limit int) *storage.DB {
		db, err := storage.Open(dir, storage.Options{Logger: slog.New(slog.DiscardHandler), NoHousekeeper: true, MaxValueSize: limit})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	exec := func(db *storage.DB, want string, args ...string) {
		t.Helper()
		tab := New(db, Config{})
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		if got := tab.Exec(tab.NewSession(), argv).String(); got != want {
			t.Fatalf("%q: %s, want %s", args, got, want)
		}
	}
	db := open(100)
	exec(db, "OK", "SET", "big", strings.Repeat("\x0f", 60))
	exec(db, "OK", "SET", "gone", "x")
	exec(db, "(integer) 60", "BITOP", "NOT", "dest", "big")
	exec(db, "(integer) 0", "BITOP", "OR", "gone", "none")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(50)
	defer db.Close()
	exec(db, strconv.Quote(strings.Repeat("\xf0", 60)), "GET", "dest")
	exec(db, "(integer) 0", "EXISTS", "gone")
	exec(db, "(error) ERR string exceeds maximum allowed size (max_value_size)", "BITOP", "AND", "d2", "none", "big")
	exec(db, "(integer) 0", "EXISTS", "d2")
}

// TestBitopNeedsTransactions: over a Store without Atomic, BITOP says so.
func TestBitopNeedsTransactions(t *testing.T) {
	runSteps(t, []step{
		{cmd: "SET a x", want: "OK"},
		{cmd: "BITOP NOT d a", want: "(error) ERR BITOP is not supported by this storage engine"},
		{cmd: "BITOP FOO d a", want: errSyntaxText}, // the arguments first
	})
}

// busyStore is a connection's Deferred whose Atomic finds, every time, that
// a watched key changed: writers that never let up.
type busyStore struct {
	*storage.Deferred
	refused int
}

func (b *busyStore) Atomic(watched []storage.Version, fn func(tx *storage.Tx)) (bool, error) {
	if len(watched) > 0 {
		b.refused++
		return false, nil
	}
	return b.Deferred.Atomic(nil, fn)
}

// TestBitopUnderWrites: when a source changes between BITOP's read and
// its write every time, BITOP tries bitopTries times, then reads and
// writes under the write lock, and answers as ever.
func TestBitopUnderWrites(t *testing.T) {
	f := newTxFixture(t, Config{})
	busy := &busyStore{Deferred: f.db.Deferred()}
	f.s[0].Store = busy
	f.run([]txStep{
		{who: 1, cmd: "SET a foobar", want: "OK"},
		{cmd: "BITOP NOT d a a", want: "(error) ERR BITOP NOT must be called with a single source key."},
		{cmd: "BITOP OR d a none a", want: "(integer) 6"},
		{who: 1, cmd: "GET d", want: `"foobar"`},
		{cmd: "BITOP AND d none", want: "(integer) 0"},
		{who: 1, cmd: "EXISTS d", want: "(integer) 0"},
	})
	if busy.refused != 2*bitopTries {
		t.Fatalf("%d refused Atomics, want %d", busy.refused, 2*bitopTries)
	}
}
