package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/vfs"
)

// eventTimeout bounds a test's wait for an event of background work.
const eventTimeout = 10 * time.Second

// logCapture is a slog.Handler that keeps every line and tells waiters when
// a message is logged.
type logCapture struct {
	mu    sync.Mutex
	lines []string
	subs  []logSub
}

type logSub struct {
	msg string
	ch  chan string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *logCapture) WithGroup(string) slog.Handler            { return c }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "level=%s msg=%q", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	})
	line := b.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line)
	for _, s := range c.subs {
		if strings.Contains(r.Message, s.msg) {
			select {
			case s.ch <- line:
			default:
			}
		}
	}
	return nil
}

// on returns a channel that receives each line whose message contains msg
// (lines are dropped while it is full).
func (c *logCapture) on(msg string) <-chan string {
	ch := make(chan string, 16)
	c.mu.Lock()
	c.subs = append(c.subs, logSub{msg, ch})
	c.mu.Unlock()
	return ch
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// wait returns the next line from ch or fails t after eventTimeout.
func wait(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case line := <-ch:
		return line
	case <-time.After(eventTimeout):
		t.Fatalf("no %s within %v", what, eventTimeout)
		return ""
	}
}

// tmpFiles lists the temporary files in the Mem's /data.
func tmpFiles(t *testing.T, fs vfs.FS) []string {
	t.Helper()
	names, err := fs.List("/data")
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			tmp = append(tmp, n)
		}
	}
	return tmp
}

// TestMergePanicIsContained makes a merge panic at each of two points
// (after merging a file; after publishing its snapshot, before repointing
// keys), run each of the three ways a merge runs: Merge (COMPACT),
// StartMerge (BGREWRITEAOF's goroutine) and the housekeeper. The process
// survives, the panic is logged with its stack and counted, the merge's
// temporary files are removed, every key stays readable, writes go on,
// merges are refused until a restart, and the restart completes the work.
func TestMergePanicIsContained(t *testing.T) {
	for _, point := range []string{"merge: file merged", "merge: snapshot published"} {
		for _, how := range []string{"Merge", "StartMerge", "housekeeper"} {
			t.Run(point+"/"+how, func(t *testing.T) {
				mem := vfs.NewMem()
				logs := &logCapture{}
				var armed atomic.Bool
				opts := Options{FS: mem, Logger: slog.New(logs), SegmentSize: 1024, NoHousekeeper: how != "housekeeper",
					MergeSealedSegments: 1, MergeDeadBytes: -1, MergeMinInterval: -1, CacheBytes: -1,
					testHook: func(p string) {
						if p == point && armed.CompareAndSwap(true, false) {
							panic("injected panic at " + p)
						}
					}}
				panicked := logs.on("background work panicked")
				if how == "housekeeper" {
					armed.Store(true) // the first background merge, during fill, panics
				}
				db, err := Open("/data", opts)
				if err != nil {
					t.Fatal(err)
				}
				want := fill(t, db)
				switch how {
				case "Merge":
					armed.Store(true)
					if _, err := db.Merge(); err == nil || !strings.Contains(err.Error(), "panicked") {
						t.Fatalf("Merge: %v; want the panic as an error", err)
					}
				case "StartMerge":
					armed.Store(true)
					if !db.StartMerge() {
						t.Fatal("StartMerge did not start")
					}
				}
				line := wait(t, panicked, "log line of the contained panic")
				if !strings.Contains(line, "injected panic") || !strings.Contains(line, "stack=") ||
					!strings.Contains(line, "mergeSealedOnce") {
					t.Fatalf("the panic's log line lacks the panic or its stack: %s", line)
				}
				if !strings.Contains(line, "task=\"merge\"") {
					t.Fatalf("panic not contained by the merge: %s", line)
				}
				// The merge logs the panic while it still holds the merge
				// lock; taking the lock waits for the rest of its unwinding.
				db.merges.mu.Lock()
				st := db.Stats()
				db.merges.mu.Unlock()
				if st.BgPanics != 1 || st.MergeFailures < 1 {
					t.Fatalf("stats: %d panics, %d merge failures; want 1 and at least 1", st.BgPanics, st.MergeFailures)
				}
				checkData(t, db, want)
				mustSet(t, db, "after-panic", "v")
				want["after-panic"] = "v"
				if err := db.Healthy(); err != nil {
					t.Fatalf("Healthy after a merge panic: %v", err)
				}
				if _, err := db.Merge(); err == nil || !strings.Contains(err.Error(), "restart") {
					t.Fatalf("Merge after a merge panic: %v; want a refusal until restart", err)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if tmp := tmpFiles(t, mem); len(tmp) > 0 {
					t.Fatalf("temporary files left by the panicked merge: %v", tmp)
				}
				opts.testHook, opts.NoHousekeeper = nil, true
				db2, err := Open("/data", opts)
				if err != nil {
					t.Fatal(err)
				}
				defer db2.Close()
				checkData(t, db2, want)
				if _, err := db2.Merge(); err != nil {
					t.Fatalf("merge after restart: %v", err)
				}
				checkData(t, db2, want)
			})
		}
	}
}

// TestHousekeeperPanicIsContained: a panic in the housekeeper's loop
// outside a merge stops background merges, is logged with its stack, and
// leaves reads, writes, Merge and Close working.
func TestHousekeeperPanicIsContained(t *testing.T) {
	logs := &logCapture{}
	var armed atomic.Bool
	armed.Store(true)
	db, err := Open("/data", Options{FS: vfs.NewMem(), Logger: slog.New(logs), SegmentSize: 1024,
		testHook: func(p string) {
			if p == "housekeeper" && armed.CompareAndSwap(true, false) {
				panic("injected housekeeper panic")
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stopped := logs.on("background merges stopped")
	want := fill(t, db) // seals segments: the housekeeper looks
	if line := wait(t, stopped, "log line of the stopped housekeeper"); !strings.Contains(line, "injected housekeeper panic") {
		t.Fatalf("log line: %s", line)
	}
	if !strings.Contains(logs.String(), "stack=") {
		t.Fatalf("no stack in the log:\n%s", logs)
	}
	checkData(t, db, want)
	mustSet(t, db, "k", "v")
	want["k"] = "v"
	if _, err := db.Merge(); err != nil {
		t.Fatalf("Merge after the housekeeper stopped: %v", err)
	}
	checkData(t, db, want)
}

// TestExpiryPanicIsContained: a panic in the active expiry cycle, raised
// while the cycle holds the write lock, is logged with its stack and
// counted; the write lock is released (writes go on), active expiry stops,
// and lazy expiry still hides expired keys.
func TestExpiryPanicIsContained(t *testing.T) {
	logs := &logCapture{}
	var now atomic.Int64
	now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	var armed atomic.Bool
	armed.Store(true)
	db, err := Open("/data", Options{FS: vfs.NewMem(), Logger: slog.New(logs), NoHousekeeper: true,
		ExpiryInterval: time.Millisecond,
		Clock:          func() time.Time { return time.UnixMilli(now.Load()) },
		testHook: func(p string) {
			if p == "expiry: delete appended" && armed.CompareAndSwap(true, false) {
				panic("injected expiry panic")
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stopped := logs.on("active expiry stopped")
	for _, k := range []string{"a", "b", "c"} {
		if _, err := db.Set([]byte(k), []byte("v"), SetOptions{ExpireAt: now.Load() + 1000}); err != nil {
			t.Fatal(err)
		}
	}
	now.Add(2000) // all three expire; the cycle's first delete panics
	if line := wait(t, stopped, "log line of the stopped expiry"); !strings.Contains(line, "injected expiry panic") {
		t.Fatalf("log line: %s", line)
	}
	if !strings.Contains(logs.String(), "stack=") || !strings.Contains(logs.String(), "expireKey") {
		t.Fatalf("no stack in the log:\n%s", logs)
	}
	if !db.guard.expiryStopped.Load() || db.Stats().BgPanics != 1 {
		t.Fatalf("expiry stopped %v, %d panics", db.guard.expiryStopped.Load(), db.Stats().BgPanics)
	}
	mustSet(t, db, "k", "v") // would hang if the panic had kept the write lock
	mustGet(t, db, "k", "v")
	left := 0
	for _, k := range []string{"a", "b", "c"} {
		if _, ok := db.keydir.Get([]byte(k)); ok {
			left++
		}
		if _, err := db.Get([]byte(k)); err == nil {
			t.Fatalf("expired key %s readable", k)
		}
	}
	if left == 0 {
		t.Fatal("every expired key was removed before the lazy reads: did active expiry go on?")
	}
}
