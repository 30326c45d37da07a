package storage

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// TestRenameCopyLogTheResult: Rename and Copy move or copy the value with
// its absolute expiry; a rename is one batch of DEL and SET; what is
// logged is what a restart, later by the clock, finds.
func TestRenameCopyLogTheResult(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	opts := Options{Clock: clock.Now, ExpiryInterval: -1, MaxKeySize: 8}
	db := openMem(t, fs, opts)
	if _, err := db.Set([]byte("a"), []byte("va"), SetOptions{ExpireAt: 1_009_000}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "b", "vb")
	mustSet(t, db, "c", "vc")
	if _, err := db.Set([]byte("gone"), []byte("x"), SetOptions{ExpireAt: 1_000_500}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(500) // "gone" expires

	tests := []struct {
		op       string // rename, renamenx, copy, copyreplace
		src, dst string
		want     bool
		err      error
	}{
		{"rename", "nope", "x", false, ErrNotFound},
		{"rename", "gone", "x", false, ErrNotFound},
		{"renamenx", "nope", "nope", false, ErrNotFound},
		{"rename", "b", "b", true, nil},
		{"renamenx", "b", "b", false, nil},
		{"renamenx", "b", "c", false, nil},
		{"rename", "b", "toolongkey", false, ErrKeyTooLarge},
		{"rename", "a", "c", true, nil},      // c takes a's value and expiry
		{"renamenx", "b", "d", true, nil},    // d without expiry
		{"renamenx", "d", "gone", true, nil}, // an expired key does not count
		{"copy", "nope", "x", false, nil},
		{"copy", "c", "gone", false, nil}, // gone holds d's value now
		{"copy", "c", "e", true, nil},
		{"copy", "gone", "c", false, nil},
		{"copyreplace", "gone", "c", true, nil}, // c without expiry now
		{"copy", "c", "c", false, errSameKey},
		{"copy", "c", "toolongkey", false, ErrKeyTooLarge},
	}
	for _, tt := range tests {
		var got bool
		var err error
		switch tt.op {
		case "rename", "renamenx":
			got, err = db.Rename([]byte(tt.src), []byte(tt.dst), tt.op == "renamenx")
		default:
			got, err = db.Copy([]byte(tt.src), []byte(tt.dst), tt.op == "copyreplace")
		}
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s %s %s = %v, %v; want %v, %v", tt.op, tt.src, tt.dst, got, err, tt.want, tt.err)
		}
	}
	db.Close()

	type rec struct {
		typ      segment.Type
		key, val string
		expireAt int64
	}
	var got []rec
	for _, r := range logRecords(t, fs)[4:] { // after the four SETs
		got = append(got, rec{r.Type, string(r.Key), string(r.Value), r.ExpireAt})
	}
	want := []rec{
		{segment.TypeDel, "a", "", 0}, {segment.TypeSet, "c", "va", 1_009_000},
		{segment.TypeDel, "b", "", 0}, {segment.TypeSet, "d", "vb", 0},
		{segment.TypeDel, "d", "", 0}, {segment.TypeSet, "gone", "vb", 0},
		{segment.TypeSet, "e", "va", 1_009_000},
		{segment.TypeSet, "c", "vb", 0},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("logged %+v\nwant %+v", got, want)
	}

	clock.Advance(4000)
	db = openMem(t, fs, opts)
	defer db.Close()
	for k, v := range map[string]string{"c": "vb", "e": "va", "gone": "vb"} {
		mustGet(t, db, k, v)
	}
	for _, k := range []string{"a", "b", "d"} {
		if _, err := db.Get([]byte(k)); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s after the restart: %v, want not found", k, err)
		}
	}
	for _, c := range []struct {
		key  string
		want int64
	}{{"e", 1_009_000}, {"c", -1}, {"a", -2}} {
		if at, err := db.ExpireTime([]byte(c.key)); at != c.want || err != nil {
			t.Errorf("ExpireTime %s after the restart = %d, %v; want %d", c.key, at, err, c.want)
		}
	}
	if ttl, _ := db.PTTL([]byte("e")); ttl != 4500 {
		t.Errorf("PTTL e after the restart = %d, want 4500", ttl)
	}
}

// TestKeysAndRandomKey: Keys lists the live keys matching a glob, and
// RandomKey returns one of the live keys, deleting the expired ones it
// lands on, or ErrNotFound when none is left.
func TestKeysAndRandomKey(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	db := openMem(t, vfs.NewMem(), Options{Clock: clock.Now, ExpiryInterval: -1})
	defer db.Close()
	if _, err := db.RandomKey(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RandomKey of an empty DB: %v", err)
	}
	var live []string
	for i := range 50 {
		k := "user:" + strconv.Itoa(i)
		live = append(live, k)
		mustSet(t, db, k, "v")
	}
	for i := range 200 {
		if _, err := db.Set([]byte("tmp:"+strconv.Itoa(i)), []byte("v"), SetOptions{ExpireAt: 1_000_010}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(10) // every tmp: key expires
	slices.Sort(live)
	for _, c := range []struct {
		match string
		want  []string
	}{
		{"", live},
		{"user:*", live},
		{"tmp:*", nil},
		{"user:4?", []string{"user:40", "user:41", "user:42", "user:43", "user:44", "user:45", "user:46", "user:47", "user:48", "user:49"}},
		{"user:[12]", []string{"user:1", "user:2"}},
		{"nope*", nil},
	} {
		keys, err := db.Keys([]byte(c.match))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(keys))
		for i, k := range keys {
			got[i] = string(k)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("Keys %q = %q, want %q", c.match, got, c.want)
		}
	}
	seen := map[string]bool{}
	for range 500 {
		k, err := db.RandomKey()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(live, string(k)) {
			t.Fatalf("RandomKey = %q, not a live key", k)
		}
		seen[string(k)] = true
	}
	if len(seen) < 10 {
		t.Errorf("500 RandomKey calls gave only %d distinct keys of 50", len(seen))
	}
	if n := db.DBSize(); n >= 250 {
		t.Errorf("DBSize %d: RandomKey deleted none of the expired keys it met", n)
	}
	if _, err := db.Del(bytesOf(live)...); err != nil {
		t.Fatal(err)
	}
	if k, err := db.RandomKey(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RandomKey with only expired keys = %q, %v; want ErrNotFound", k, err)
	}
}

func bytesOf(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, x := range s {
		out[i] = []byte(x)
	}
	return out
}

// TestRenameIsAtomicToReaders: while a key is renamed back and forth
// between a and b, exactly one of them exists for every reader that looks
// at both at once (EXISTS a b, MGET a b, KEYS).
func TestRenameIsAtomicToReaders(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{ExpiryInterval: -1})
	defer db.Close()
	mustSet(t, db, "a", "v")
	const rounds = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		src, dst := []byte("a"), []byte("b")
		for range rounds {
			if _, err := db.Rename(src, dst, false); err != nil {
				t.Error(err)
				return
			}
			src, dst = dst, src
		}
	}()
	ab := bytesOf([]string{"a", "b"})
	for i := 0; i < rounds; i++ {
		if n, err := db.Exists(ab...); n != 1 || err != nil {
			t.Fatalf("EXISTS a b = %d, %v during renames", n, err)
		}
		vals, err := db.MGet(ab...)
		if err != nil || (vals[0] == nil) == (vals[1] == nil) {
			t.Fatalf("MGET a b = %q, %v during renames", vals, err)
		}
		if i%20 == 0 {
			keys, err := db.Keys(nil)
			if err != nil || len(keys) != 1 || !(bytes.Equal(keys[0], ab[0]) || bytes.Equal(keys[0], ab[1])) {
				t.Fatalf("KEYS = %q, %v during renames", keys, err)
			}
		}
	}
	wg.Wait()
}

// TestFailedRenameIsTakenBackWhole: when the log fails under a Rename,
// the rollback takes back both of its records: the old name has its value
// and expiry again and the new name its old value, before and after a
// restart.
func TestFailedRenameIsTakenBackWhole(t *testing.T) {
	db, mem, failSync := failingSyncDB(t)
	if _, err := db.Set([]byte("a"), []byte("va"), SetOptions{ExpireAt: time.Now().Add(time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "b", "vb")
	wantAt, _ := db.ExpireTime([]byte("a"))
	failSync.Store(true)
	if _, err := db.Rename([]byte("a"), []byte("b"), false); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Rename with a failing log: %v, want ErrLogFailed", err)
	}
	check := func(when string, db *DB) {
		t.Helper()
		vals, err := db.MGet(bytesOf([]string{"a", "b"})...)
		if err != nil || string(vals[0]) != "va" || string(vals[1]) != "vb" {
			t.Errorf("%s: MGET a b = %q, %v; want va, vb", when, vals, err)
		}
		if at, _ := db.ExpireTime([]byte("a")); at != wantAt {
			t.Errorf("%s: a's expiry %d, want %d", when, at, wantAt)
		}
	}
	check("after the rollback", db)
	db.abandon()
	mem.Crash()
	db = openMem(t, mem, Options{NoHousekeeper: true})
	defer db.Close()
	check("after a restart", db)
}
