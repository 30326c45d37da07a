package storage

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// TestAtomicSeesItsOwnWrites: inside a transaction every operation sees
// the writes before it, the rest of the DB as it was, and the clock stands
// still; the writes land once it returns.
func TestAtomicSeesItsOwnWrites(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	db := openMem(t, vfs.NewMem(), Options{Clock: clock.Now, ExpiryInterval: -1})
	defer db.Close()
	mustSet(t, db, "old", "1")
	mustSet(t, db, "gone", "x")
	if _, err := db.Set([]byte("ttl"), []byte("t"), SetOptions{ExpireAt: 1_000_700}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Set([]byte("dead"), []byte("d"), SetOptions{ExpireAt: 1_000_100}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(200) // dead has expired, and is still in the keydir
	steps := []struct {
		name string
		op   func(tx *Tx) (any, error)
		want any
	}{
		{"get old", func(tx *Tx) (any, error) { v, err := tx.Get([]byte("old")); return string(v), err }, "1"},
		{"get expired", func(tx *Tx) (any, error) { _, err := tx.Get([]byte("dead")); return nil, err }, ErrNotFound},
		{"set new", func(tx *Tx) (any, error) {
			r, err := tx.Set([]byte("new"), []byte("a"), SetOptions{})
			return r.Written, err
		}, true},
		{"get new", func(tx *Tx) (any, error) { v, err := tx.Get([]byte("new")); return string(v), err }, "a"},
		{"set nx new", func(tx *Tx) (any, error) {
			r, err := tx.Set([]byte("new"), []byte("b"), SetOptions{NX: true, Get: true})
			return fmt.Sprintf("%v %s", r.Written, r.Old), err
		}, "false a"},
		{"incr old", func(tx *Tx) (any, error) { return tx.IncrBy([]byte("old"), 41) }, int64(42)},
		{"incr text", func(tx *Tx) (any, error) { return tx.IncrBy([]byte("new"), 1) }, ErrNotInteger},
		{"del gone twice", func(tx *Tx) (any, error) { return tx.Del([]byte("gone"), []byte("gone"), []byte("none")) }, 1},
		{"exists", func(tx *Tx) (any, error) {
			return tx.Exists([]byte("gone"), []byte("old"), []byte("old"), []byte("dead"))
		}, 2},
		{"mget", func(tx *Tx) (any, error) {
			vs, err := tx.MGet([]byte("old"), []byte("gone"), []byte("new"))
			return fmt.Sprintf("%q", vs), err
		}, `["42" "" "a"]`},
		{"msetnx refused", func(tx *Tx) (any, error) { return tx.MSetNX([]byte("m"), []byte("1"), []byte("new"), []byte("2")) }, false},
		{"mset", func(tx *Tx) (any, error) { return nil, tx.MSet([]byte("m"), []byte("1"), []byte("m2"), []byte("2")) }, nil},
		{"pttl", func(tx *Tx) (any, error) { return tx.PTTL([]byte("ttl")) }, int64(500)},
		{"persist", func(tx *Tx) (any, error) { return tx.Persist([]byte("ttl")) }, true},
		{"pttl persisted", func(tx *Tx) (any, error) { return tx.PTTL([]byte("ttl")) }, int64(-1)},
		{"expire in the past", func(tx *Tx) (any, error) { return tx.Expire([]byte("m2"), 1) }, true},
		{"pttl deleted", func(tx *Tx) (any, error) { return tx.PTTL([]byte("m2")) }, int64(-2)},
		{"update append", func(tx *Tx) (any, error) {
			return nil, tx.Update([]byte("m"), func(c Current) (Change, error) {
				return Change{Write: true, Value: append(slices.Clone(c.Value), 'z')}, nil
			})
		}, nil},
		{"getdel", func(tx *Tx) (any, error) { v, err := tx.GetDel([]byte("m")); return string(v), err }, "1z"},
		{"dbsize", func(tx *Tx) (any, error) { return tx.DBSize(), nil }, int64(4)}, // old, ttl, dead, new
		{"scan", func(tx *Tx) (any, error) {
			_, keys, err := tx.Scan(0, nil, 100)
			var s []string
			for _, k := range keys {
				s = append(s, string(k))
			}
			slices.Sort(s)
			return fmt.Sprint(s), err
		}, "[new old ttl]"},
		{"clock", func(tx *Tx) (any, error) { clock.Advance(10_000); return tx.Now().UnixMilli(), nil }, int64(1_000_200)},
		{"ttl still frozen", func(tx *Tx) (any, error) { _, err := tx.Get([]byte("ttl")); return nil, err }, nil},
	}
	before := db.Stats().LastSeq
	ran, err := db.Atomic(nil, func(tx *Tx) {
		for _, st := range steps {
			got, err := st.op(tx)
			if want, ok := st.want.(error); ok {
				if !errors.Is(err, want) {
					t.Errorf("%s: error %v, want %v", st.name, err, want)
				}
				continue
			}
			if err != nil || got != st.want {
				t.Errorf("%s: %v (%T), %v; want %v (%T)", st.name, got, got, err, st.want, st.want)
			}
		}
	})
	if !ran || err != nil {
		t.Fatalf("Atomic: ran %v, %v", ran, err)
	}
	// One record per key changed: new, old, gone and ttl; m and m2 were
	// created and deleted inside, and need none.
	if got := db.Stats().LastSeq - before; got != 4 {
		t.Errorf("the transaction logged %d records, want 4", got)
	}
	mustGet(t, db, "old", "42")
	mustGet(t, db, "new", "a")
	mustGet(t, db, "ttl", "t")
	for _, k := range []string{"gone", "m", "m2"} {
		if _, err := db.Get([]byte(k)); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s after the transaction: %v, want not found", k, err)
		}
	}
	if ms, _ := db.PTTL([]byte("ttl")); ms != -1 {
		t.Errorf("PTTL ttl = %d, want -1", ms)
	}
}

// TestAtomicLogsOneBatch: the records of a transaction are one batch in
// the segment (every one but the last has the batch flag), and a
// transaction that writes nothing logs nothing.
func TestAtomicLogsOneBatch(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, Options{})
	mustSet(t, db, "before", "1")
	if _, err := db.Atomic(nil, func(tx *Tx) { tx.Get([]byte("before")) }); err != nil {
		t.Fatal(err)
	}
	seq := db.Stats().LastSeq
	if _, err := db.Atomic(nil, func(tx *Tx) {
		for i := range 5 {
			tx.Set([]byte(fmt.Sprint("k", i)), []byte("v"), SetOptions{})
		}
		tx.Del([]byte("before"))
	}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "after", "1")
	db.Close()
	var more []bool
	for _, path := range segments(t, fs) {
		b, _ := fs.ReadFile(path)
		it, err := segment.NewIterator(path, b, segment.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			if r := it.Record(); r.Seq > seq {
				more = append(more, r.More)
			}
		}
	}
	want := []bool{true, true, true, true, true, false, false}
	if !slices.Equal(more, want) {
		t.Fatalf("batch flags after the empty transaction %v, want %v (6 records in one batch, then SET after)", more, want)
	}
}

// TestWatchSeesEveryChange: Atomic refuses to run when a watched key was
// written since Watch, however: by a write, a delete, a write then a
// delete of a missing key, an expiry, another transaction; and runs when
// nothing touched it (a merge, writes to other keys, the removal of a key
// that had already expired when watched).
func TestWatchSeesEveryChange(t *testing.T) {
	set := func(db *DB, k, v string, at int64) {
		if _, err := db.Set([]byte(k), []byte(v), SetOptions{ExpireAt: at}); err != nil {
			panic(err)
		}
	}
	del := func(db *DB, k string) {
		if _, err := db.Del([]byte(k)); err != nil {
			panic(err)
		}
	}
	cases := []struct {
		name    string
		before  func(db *DB, c *fakeClock) // before WATCH
		between func(db *DB, c *fakeClock) // between WATCH and Atomic
		ran     bool
	}{
		{"untouched", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, func(*DB, *fakeClock) {}, true},
		{"missing, untouched", func(*DB, *fakeClock) {}, func(*DB, *fakeClock) {}, true},
		{"other key written", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, func(db *DB, _ *fakeClock) { set(db, "other", "x", 0) }, true},
		{"merged", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, func(db *DB, _ *fakeClock) {
			if _, err := db.Merge(); err != nil {
				panic(err)
			}
		}, true},
		{"overwritten with the same value", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, false},
		{"deleted", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, func(db *DB, _ *fakeClock) { del(db, "k") }, false},
		{"created", func(*DB, *fakeClock) {}, func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, false},
		{"created and deleted", func(*DB, *fakeClock) {}, func(db *DB, _ *fakeClock) { set(db, "k", "v", 0); del(db, "k") }, false},
		{"deleted, recreated, deleted", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0); del(db, "k") },
			func(db *DB, _ *fakeClock) { set(db, "k", "v", 0); del(db, "k") }, false},
		{"written by a transaction", func(db *DB, _ *fakeClock) { set(db, "k", "v", 0) }, func(db *DB, _ *fakeClock) {
			db.Atomic(nil, func(tx *Tx) { tx.IncrBy([]byte("n"), 1); tx.Set([]byte("k"), []byte("w"), SetOptions{}) })
		}, false},
		{"created and deleted by a transaction", func(*DB, *fakeClock) {}, func(db *DB, _ *fakeClock) {
			db.Atomic(nil, func(tx *Tx) { tx.Set([]byte("k"), []byte("w"), SetOptions{}); tx.Del([]byte("k")) })
		}, false},
		{"expired after watch", func(db *DB, c *fakeClock) { set(db, "k", "v", c.ms.Load()+100) },
			func(_ *DB, c *fakeClock) { c.Advance(100) }, false},
		{"expired after watch and removed", func(db *DB, c *fakeClock) { set(db, "k", "v", c.ms.Load()+100) },
			func(db *DB, c *fakeClock) { c.Advance(100); db.ExpireCycle() }, false},
		{"expired before watch, removed by expiry", func(db *DB, c *fakeClock) { set(db, "k", "v", c.ms.Load()+100); c.Advance(100) },
			func(db *DB, _ *fakeClock) {
				if db.ExpireCycle() != 1 {
					panic("nothing expired")
				}
			}, true},
		{"expired before watch, deleted", func(db *DB, c *fakeClock) { set(db, "k", "v", c.ms.Load()+100); c.Advance(100) },
			func(db *DB, _ *fakeClock) { del(db, "k") }, true},
		{"expired before watch, written", func(db *DB, c *fakeClock) { set(db, "k", "v", c.ms.Load()+100); c.Advance(100) },
			func(db *DB, _ *fakeClock) { set(db, "k", "w", 0) }, false},
		{"expired before watch, removed, then written and deleted", func(db *DB, c *fakeClock) { set(db, "k", "v", c.ms.Load()+100); c.Advance(100) },
			func(db *DB, _ *fakeClock) { db.ExpireCycle(); set(db, "k", "w", 0); del(db, "k") }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &fakeClock{}
			clock.ms.Store(1_000_000)
			db := openMem(t, vfs.NewMem(), Options{Clock: clock.Now, ExpiryInterval: -1, NoHousekeeper: true})
			defer db.Close()
			c.before(db, clock)
			vs, err := db.Watch([]byte("k"), []byte("unrelated"))
			if err != nil {
				t.Fatal(err)
			}
			c.between(db, clock)
			ran, err := db.Atomic(vs, func(tx *Tx) { tx.Set([]byte("out"), []byte("1"), SetOptions{}) })
			if err != nil {
				t.Fatal(err)
			}
			if ran != c.ran {
				t.Fatalf("Atomic ran %v, want %v", ran, c.ran)
			}
			if _, err := db.Get([]byte("out")); (err == nil) != c.ran {
				t.Fatalf("the transaction's write present %v, want %v", err == nil, c.ran)
			}
			db.Unwatch(vs)
			if n := len(db.watched); n != 0 {
				t.Fatalf("%d keys still registered after Unwatch", n)
			}
		})
	}
}

// TestWatchSharedKey: two watchers of one key each keep its registration:
// the first to unwatch does not make the other miss a delete.
func TestWatchSharedKey(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{})
	defer db.Close()
	a, _ := db.Watch([]byte("k"))
	b, _ := db.Watch([]byte("k"))
	db.Unwatch(a)
	mustSet(t, db, "k", "v")
	db.Del([]byte("k"))
	if ran, err := db.Atomic(b, func(*Tx) {}); ran || err != nil {
		t.Fatalf("Atomic after a write and a delete of a watched missing key: ran %v, %v", ran, err)
	}
	db.Unwatch(b)
	if len(db.watched) != 0 {
		t.Fatalf("registrations left: %v", db.watched)
	}
}

// TestAtomicIsAtomicToReaders: readers running while transactions write
// the same counter to two keys never see one key from a transaction and
// the other from before it: MGET sees them equal, and a GET of one then
// the other never sees the second older than the first.
func TestAtomicIsAtomicToReaders(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{Sync: segment.SyncNo})
	defer db.Close()
	const rounds = 2000
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				vs, err := db.MGet([]byte("a"), []byte("b"))
				if err != nil {
					errs <- err
					return
				}
				if string(vs[0]) != string(vs[1]) {
					errs <- fmt.Errorf("MGET a b = %q %q", vs[0], vs[1])
					return
				}
				a, errA := db.Get([]byte("a"))
				b, errB := db.Get([]byte("b"))
				if errA == nil && errB == nil && len(b) < len(a) {
					errs <- fmt.Errorf("GET a = %q then GET b = %q: b from before a's transaction", a, b)
					return
				}
			}
		}()
	}
	val := []byte{}
	for range rounds {
		val = append(val, 'x') // longer each round: length orders the versions
		if _, err := db.Atomic(nil, func(tx *Tx) {
			tx.Set([]byte("a"), val, SetOptions{})
			tx.Set([]byte("b"), val, SetOptions{})
		}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// txKeys is how many keys the crash tests' transaction writes, each with
// a value long enough that the batch spans several segments' worth.
const txKeys = 20

// runCrashTx writes the transaction of the crash tests: every key's value
// goes from "old-i" to "new-i" and key "del" is deleted.
func runCrashTx(db *DB) (bool, error) {
	return db.Atomic(nil, func(tx *Tx) {
		for i := range txKeys {
			tx.Set(fmt.Appendf(nil, "k%02d", i), fmt.Appendf(nil, "new-%d-%0100d", i, 0), SetOptions{})
		}
		tx.Del([]byte("del"))
	})
}

// checkAllOrNothing reports whether db holds the crash test's keys all as
// before the transaction ("old") or all as after it ("new").
func checkAllOrNothing(t *testing.T, db *DB) string {
	t.Helper()
	state := ""
	for i := range txKeys {
		v, err := db.Get(fmt.Appendf(nil, "k%02d", i))
		if err != nil {
			t.Fatalf("k%02d: %v", i, err)
		}
		s := "old"
		if string(v) == fmt.Sprintf("new-%d-%0100d", i, 0) {
			s = "new"
		}
		if state != "" && s != state {
			t.Fatalf("k%02d is %s, an earlier key %s: half a transaction", i, s, state)
		}
		state = s
	}
	_, err := db.Get([]byte("del"))
	if deleted := errors.Is(err, ErrNotFound); deleted != (state == "new") {
		t.Fatalf("del deleted %v with the keys %s", deleted, state)
	}
	return state
}

// TestCrashDuringTransaction: a power cut at every file operation of a
// transaction's log write (the batch, the segment it rotates to, the
// fsync) leaves, after recovery, all of the transaction or none of it,
// and all of it when Atomic had returned without an error.
func TestCrashDuringTransaction(t *testing.T) {
	setup := func(hook vfs.Hook) (*vfs.Mem, *DB) {
		mem := vfs.NewMem()
		var armed atomic.Bool
		fs := vfs.Inject(mem, func(op vfs.Op, path string) error {
			if !armed.Load() {
				return nil
			}
			return hook(op, path)
		})
		db := openMem(t, fs, Options{SegmentSize: 1024, NoHousekeeper: true, ExpiryInterval: -1})
		for i := range txKeys {
			mustSet(t, db, fmt.Sprintf("k%02d", i), fmt.Sprintf("old-%d", i))
		}
		mustSet(t, db, "del", "x")
		armed.Store(true)
		return mem, db
	}
	var ops atomic.Int64
	_, db := setup(func(vfs.Op, string) error { ops.Add(1); return nil })
	if _, err := runCrashTx(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	total := int(ops.Load())
	if total < 3 {
		t.Fatalf("a transaction took only %d file operations", total)
	}
	seen := map[string]bool{}
	for at := 1; at <= total; at++ {
		var n atomic.Int64
		var mem *vfs.Mem
		var crashed atomic.Bool
		mem, db := setup(func(op vfs.Op, path string) error {
			if crashed.Load() {
				return errors.New("power is off")
			}
			if n.Add(1) == int64(at) {
				crashed.Store(true)
				mem.Crash()
				return fmt.Errorf("power cut at %s of %s", op, path)
			}
			return nil
		})
		ran, err := runCrashTx(db)
		if !ran {
			t.Fatalf("power cut at operation %d: the transaction did not run", at)
		}
		if crashed.Load() {
			db.abandon()
		} else {
			db.Close()
		}
		db2, oerr := Open("/data", Options{FS: mem, Logger: quiet(), NoHousekeeper: true, ExpiryInterval: -1})
		if oerr != nil {
			t.Fatalf("power cut at operation %d of %d: reopen: %v", at, total, oerr)
		}
		state := checkAllOrNothing(t, db2)
		if err == nil && state != "new" {
			t.Fatalf("power cut at operation %d: the transaction was acknowledged, then lost", at)
		}
		seen[state] = true
		db2.Close()
	}
	if !seen["old"] {
		t.Errorf("no power cut lost the transaction: the cuts did not reach its write")
	}
}

// TestTornTransaction: a transaction's batch cut anywhere (a torn tail:
// inside a record, between two of its records) is recovered as none of
// it, and whole as all of it.
func TestTornTransaction(t *testing.T) {
	base := vfs.NewMem()
	db := openMem(t, base, Options{ExpiryInterval: -1})
	for i := range txKeys {
		mustSet(t, db, fmt.Sprintf("k%02d", i), fmt.Sprintf("old-%d", i))
	}
	mustSet(t, db, "del", "x")
	last := db.Stats().LastSeq
	if _, err := runCrashTx(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	segs := segments(t, base)
	if len(segs) != 1 {
		t.Fatalf("%d segments, want 1", len(segs))
	}
	path := segs[0]
	full, _ := base.ReadFile(path)
	it, err := segment.NewIterator(path, full, segment.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	before, end := 0, 0
	var ends []int
	for it.Next() {
		if it.Record().Seq == last {
			before = int(it.End())
		}
		end = int(it.End())
		ends = append(ends, end)
	}
	if before == 0 || end-before < txKeys*100 {
		t.Fatalf("the transaction's batch is bytes %d to %d of the segment", before, end)
	}
	// The cuts: around every record's end (the batch's records' and the
	// one before), and every 11th byte in between; every byte would take
	// half a minute under the race detector for no other case.
	cuts := map[int]bool{}
	for _, e := range ends {
		for _, c := range []int{e - 1, e, e + 1} {
			if c >= before && c <= end {
				cuts[c] = true
			}
		}
	}
	for c := before; c <= end; c += 11 {
		cuts[c] = true
	}
	dataset, _ := base.ReadFile("/data/DATASET")
	for _, cut := range slices.Sorted(maps.Keys(cuts)) {
		fs := vfs.NewMem()
		fs.MkdirAll("/data", 0o755)
		fs.WriteFile("/data/DATASET", dataset)
		fs.WriteFile(path, full[:cut:cut])
		db := openMem(t, fs, Options{ExpiryInterval: -1})
		want := "old"
		if cut == end {
			want = "new"
		}
		if got := checkAllOrNothing(t, db); got != want {
			t.Fatalf("cut at %d of %d (%s): keys %s, want %s", cut, end, filepath.Base(path), got, want)
		}
		db.Close()
	}
}

// TestTxAfterAtomic: a Tx kept past its Atomic refuses every operation
// instead of writing what no batch will log.
func TestTxAfterAtomic(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{})
	defer db.Close()
	var kept *Tx
	db.Atomic(nil, func(tx *Tx) { kept = tx })
	if _, err := kept.Set([]byte("k"), []byte("v"), SetOptions{}); !errors.Is(err, errTxDone) {
		t.Fatalf("Set after Atomic: %v, want %v", err, errTxDone)
	}
	if _, err := kept.Get([]byte("k")); !errors.Is(err, errTxDone) {
		t.Fatalf("Get after Atomic: %v, want %v", err, errTxDone)
	}
}

// TestAtomicKeyspaceOps: RENAME, COPY, KEYS, RANDOMKEY and EXPIRETIME
// inside a transaction see its own writes, and a rename lands as the
// transaction's one batch.
func TestAtomicKeyspaceOps(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	db := openMem(t, vfs.NewMem(), Options{Clock: clock.Now, ExpiryInterval: -1})
	defer db.Close()
	if _, err := db.Set([]byte("a"), []byte("1"), SetOptions{ExpireAt: 2_000_000}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "keep", "k")
	var got []string
	ran, err := db.Atomic(nil, func(tx *Tx) {
		note := func(v any, err error) { got = append(got, fmt.Sprintf("%v %v", v, err)) }
		note(tx.Rename([]byte("a"), []byte("b"), false))
		note(tx.Rename([]byte("a"), []byte("c"), false))
		note(tx.ExpireTime([]byte("b")))
		note(tx.Copy([]byte("b"), []byte("keep"), false))
		note(tx.Copy([]byte("b"), []byte("d"), false))
		keys, err := tx.Keys(nil)
		slices.SortFunc(keys, bytes.Compare)
		note(fmt.Sprintf("%q", keys), err)
		k, err := tx.RandomKey()
		note(slices.Contains([]string{"b", "d", "keep"}, string(k)), err)
	})
	if err != nil || !ran {
		t.Fatalf("Atomic: %v %v", ran, err)
	}
	want := []string{"true <nil>", "false " + ErrNotFound.Error(), "2000000 <nil>", "false <nil>", "true <nil>",
		`["b" "d" "keep"] <nil>`, "true <nil>"}
	if !slices.Equal(got, want) {
		t.Fatalf("inside the transaction:\n got  %q\n want %q", got, want)
	}
	if _, err := db.Get([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a after the renaming transaction: %v", err)
	}
	mustGet(t, db, "b", "1")
	mustGet(t, db, "d", "1")
	if at, _ := db.ExpireTime([]byte("d")); at != 2_000_000 {
		t.Fatalf("d's expiry after COPY: %d", at)
	}
}
