package command

import (
	"bytes"
	"testing"
	"time"

	"github.com/pykv/pykv/storage"
)

// fixedStore answers GET and SET without allocating, so that what
// allocation tests and benchmarks measure is the table alone.
type fixedStore struct {
	Store // the other methods are never called
	value []byte
	now   time.Time
}

func (f *fixedStore) Now() time.Time { return f.now }

func (f *fixedStore) Get([]byte) ([]byte, error) { return f.value, nil }

func (f *fixedStore) Set(_, _ []byte, _ storage.SetOptions) (storage.SetResult, error) {
	return storage.SetResult{Written: true}, nil
}

func hotPathArgv() (get, set, setEX [][]byte) {
	get = [][]byte{[]byte("get"), []byte("user:1000")}
	set = [][]byte{[]byte("SET"), []byte("user:1000"), []byte("some value of a few bytes")}
	setEX = append(append([][]byte{}, set...), []byte("ex"), []byte("3600"), []byte("nx"))
	return get, set, setEX
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tab := New(&fixedStore{value: []byte("v"), now: testEpoch}, Config{Password: "pw"})
	s := tab.NewSession()
	s.Authed = true
	get, set, setEX := hotPathArgv()
	for name, argv := range map[string][][]byte{"GET": get, "SET": set, "SET EX NX": setEX} {
		if n := testing.AllocsPerRun(1000, func() { tab.Exec(s, argv) }); n != 0 {
			t.Errorf("%s allocates %.1f times per call", name, n)
		}
	}
}

func BenchmarkExecGet(b *testing.B) {
	tab := New(&fixedStore{value: []byte("v"), now: testEpoch}, Config{})
	s := tab.NewSession()
	get, _, _ := hotPathArgv()
	b.ReportAllocs()
	for b.Loop() {
		tab.Exec(s, get)
	}
}

func BenchmarkExecSet(b *testing.B) {
	tab := New(&fixedStore{now: testEpoch}, Config{})
	s := tab.NewSession()
	_, set, setEX := hotPathArgv()
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tab.Exec(s, set)
		}
	})
	b.Run("EX-NX", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tab.Exec(s, setEX)
		}
	})
}

// BenchmarkExecParallel runs GET from many sessions at once: it shows
// whether anything shared (the command counter) becomes a point of
// contention.
func BenchmarkExecParallel(b *testing.B) {
	tab := New(&fixedStore{value: []byte("v"), now: testEpoch}, Config{})
	get, _, _ := hotPathArgv()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := tab.NewSession()
		for pb.Next() {
			tab.Exec(s, get)
		}
	})
}

// BenchmarkExecTwin is GET and SET through the in-memory twin, closer to a
// real Store's costs.
func BenchmarkExecTwin(b *testing.B) {
	tab := New(newMemStore(), Config{})
	s := tab.NewSession()
	get, set, _ := hotPathArgv()
	b.ReportAllocs()
	for b.Loop() {
		tab.Exec(s, set)
		tab.Exec(s, get)
	}
}

// BenchmarkLCSAtTheLimit is LCS of two 4095-byte values, whose table of
// 4096 x 4096 cells is max_value_size's default of 64 MiB: the longest an
// LCS can take there (the default reply and IDX), and LEN's two rows.
func BenchmarkLCSAtTheLimit(b *testing.B) {
	store := newMemStore()
	tab := New(store, Config{})
	s := tab.NewSession()
	const n = 4095
	x, y := make([]byte, n), make([]byte, n)
	for i := range x {
		x[i], y[i] = "ACGT"[i*7%4], "ACGT"[i*5%3]
	}
	store.m["x"], store.m["y"] = memEntry{v: x}, memEntry{v: y}
	for _, opt := range []string{"", "IDX", "LEN"} {
		argv := [][]byte{[]byte("LCS"), []byte("x"), []byte("y")}
		if opt != "" {
			argv = append(argv, []byte(opt))
		}
		b.Run("opt="+opt, func(b *testing.B) {
			for b.Loop() {
				if r := tab.Exec(s, argv); r.Kind == KindError {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkExecGetConnected is BenchmarkExecGet for a session a front end
// registered (Table.Connect): each command also publishes what CLIENT
// LIST shows of it.
func BenchmarkExecGetConnected(b *testing.B) {
	tab := New(&fixedStore{value: []byte("v"), now: testEpoch}, Config{})
	s := tab.NewSession()
	s.RemoteAddr, s.LocalAddr, s.FD = "127.0.0.1:1", "127.0.0.1:2", -1
	tab.Connect(s)
	defer tab.EndSession(s)
	get, _, _ := hotPathArgv()
	b.ReportAllocs()
	for b.Loop() {
		tab.Exec(s, get)
	}
}

// BenchmarkSetMonitored is SET's cost with no monitor, and with one
// whose lines are drained every 1024 commands as a front end drains them
// (MonitorStream.Drain): "path" times the command's own path only (the
// drain is not timed), "all" the drain's formatting too, which the
// monitor's goroutine pays on the same cores (docs/performance.md, "What a
// MONITOR costs").
func BenchmarkSetMonitored(b *testing.B) {
	_, set, _ := hotPathArgv()
	set = append(set[:2:2], bytes.Repeat([]byte{'x'}, 100)) // bench/monitor.sh's 100-byte values
	for _, mode := range []string{"none", "path", "all"} {
		b.Run("monitor="+mode, func(b *testing.B) {
			tab := New(&fixedStore{value: []byte("v"), now: testEpoch}, Config{})
			s := tab.NewSession()
			s.RemoteAddr = "127.0.0.1:50000"
			var m *MonitorStream
			if mode != "none" {
				ms := tab.NewSession()
				tab.Exec(ms, [][]byte{[]byte("MONITOR")})
				m = ms.Monitor
			}
			lines := 0
			drain := func() {
				if mode == "path" {
					b.StopTimer()
					defer b.StartTimer()
				}
				m.Drain(func(Reply) error { lines++; return nil })
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				tab.Exec(s, set)
				if n++; m != nil && n%1024 == 0 {
					drain()
				}
			}
			if m != nil {
				drain()
				if lines != n {
					b.Fatalf("%d lines for %d commands", lines, n)
				}
			}
		})
	}
}
