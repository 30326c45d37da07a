package storage

import (
	"errors"
	"testing"

	"github.com/pykv/pykv/vfs"
)

// TestIdleTime drives a key's idle time with an injected clock: each step
// moves the clock by some seconds (and ticks the LRU clock, as the
// engine's ticker would within 100 ms), runs something, and checks the
// idle time after. What Redis's lookupKey touches resets it; what it looks
// up with LOOKUP_NOTOUCH (EXISTS, TYPE, TTL, OBJECT, MEMORY USAGE), and
// what never looks the key up (SCAN, KEYS, a merge), does not.
func TestIdleTime(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_700_000_000_000)
	opts := Options{Clock: clock.Now, ExpiryInterval: -1, NoHousekeeper: true}
	db := openMem(t, fs, opts)
	defer func() { db.Close() }()
	k := []byte("k")
	mustSet(t, db, "k", "v")
	mustSet(t, db, "other", "v")
	noErr := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		advance int64 // seconds
		do      func()
		want    int64
	}{
		{"fresh SET", 0, func() {}, 0},
		{"clock moves", 10, func() {}, 10},
		{"IdleTime does not touch", 0, func() { noErr(db.IdleTime(k)) }, 10},
		{"EXISTS does not touch", 1, func() { noErr(db.Exists(k, k)) }, 11},
		{"TTL and EXPIRETIME do not touch", 1, func() { noErr(db.PTTL(k)); noErr(db.ExpireTime(k)) }, 12},
		{"OBJECT ENCODING's Peek does not touch", 1, func() { noErr(db.Peek(k)) }, 13},
		{"MEMORY USAGE does not touch", 1, func() { db.MemoryUsage(k) }, 14},
		{"SCAN and KEYS do not touch", 1, func() { noErr(db.Keys(nil)); _, _, err := db.Scan(0, nil, 10); noErr(nil, err) }, 15},
		{"a write to another key does not touch", 1, func() { mustSet(t, db, "other", "w") }, 16},
		{"a merge does not touch", 1, func() { noErr(db.Merge()) }, 17},
		{"GET touches", 3, func() { noErr(db.Get(k)) }, 0},
		{"MGET touches", 3, func() { noErr(db.MGet(k, []byte("other"))) }, 0},
		{"MGET of one key touches", 3, func() { noErr(db.MGet(k)) }, 0},
		{"TOUCH touches", 3, func() { noErr(db.Touch(k)) }, 0},
		{"TOUCH of two keys touches", 3, func() { noErr(db.Touch(k, []byte("other"))) }, 0},
		{"SET touches", 3, func() { mustSet(t, db, "k", "v2") }, 0},
		{"a SET NX that does not write touches (lookupKeyWrite)", 3, func() { noErr(db.Set(k, []byte("x"), SetOptions{NX: true})) }, 0},
		{"EXPIRE touches", 3, func() { noErr(db.Expire(k, clock.ms.Load()+3_600_000)) }, 0},
		{"PERSIST touches", 3, func() { noErr(db.Persist(k)) }, 0},
		{"EXISTS inside a transaction does not touch", 2, func() {
			noErr(db.Atomic(nil, func(tx *Tx) {
				noErr(tx.Exists(k))
				if s, err := tx.IdleTime(k); err != nil || s != 2 {
					t.Errorf("IdleTime in the transaction = %d, %v; want 2", s, err)
				}
			}))
		}, 2},
		{"GET inside a transaction touches", 2, func() { noErr(db.Atomic(nil, func(tx *Tx) { noErr(tx.Get(k)) })) }, 0},
		{"TOUCH inside a transaction touches", 2, func() { noErr(db.Atomic(nil, func(tx *Tx) { noErr(tx.Touch(k)) })) }, 0},
		{"a write inside a transaction touches", 2, func() {
			noErr(db.Atomic(nil, func(tx *Tx) {
				noErr(tx.Set(k, []byte("v3"), SetOptions{}))
				if s, err := tx.IdleTime(k); err != nil || s != 0 {
					t.Errorf("IdleTime of a key the transaction wrote = %d, %v; want 0", s, err)
				}
			}))
		}, 0},
		{"idle again", 40, func() {}, 40},
		{"a restart loads the key fresh, as Redis loads an RDB", 5, func() {
			db.Close()
			db = openMem(t, fs, opts)
		}, 0},
		{"and its idle time grows from there", 7, func() {}, 7},
	}
	for _, st := range steps {
		clock.Advance(st.advance * 1000)
		db.tickLRU()
		st.do()
		got, err := db.IdleTime(k)
		if err != nil || got != st.want {
			t.Fatalf("%s: IdleTime = %d, %v; want %d", st.name, got, err, st.want)
		}
	}

	if _, err := db.IdleTime([]byte("missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("IdleTime of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := db.Expire(k, clock.ms.Load()+1000); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1000)
	if _, err := db.IdleTime(k); !errors.Is(err, ErrNotFound) {
		t.Errorf("IdleTime of an expired key: %v, want ErrNotFound", err)
	}
}
