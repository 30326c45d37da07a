package storage

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// appendFn is an Update function that appends suffix and keeps the expiry,
// as APPEND does.
func appendFn(suffix string) func(Current) (Change, error) {
	return func(cur Current) (Change, error) {
		v := append(append(make([]byte, 0, len(cur.Value)+len(suffix)), cur.Value...), suffix...)
		return Change{Write: true, Value: v, ExpireAt: cur.ExpireAt}, nil
	}
}

// logRecords returns every record of the log files of /data in fs.
func logRecords(t *testing.T, fs vfs.FS) []segment.Record {
	t.Helper()
	var recs []segment.Record
	names, _ := fs.List("/data")
	for _, name := range names {
		if _, ok := segment.ParseFileName(name); !ok {
			continue
		}
		it, err := segment.ReadFile(fs, "/data/"+name, segment.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			recs = append(recs, it.Record())
		}
	}
	return recs
}

// TestUpdateLogsTheResult: Update's function sees the key's value, expiry
// and the engine's clock; what it returns is logged as one SET of the
// result with the absolute expiry, so a restart, later by the clock, finds
// exactly that; a past expiry is logged as a DEL; an error or Write false
// logs nothing.
func TestUpdateLogsTheResult(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	opts := Options{Clock: clock.Now, ExpiryInterval: -1, MaxValueSize: 16}
	db := openMem(t, fs, opts)
	if _, err := db.Set([]byte("k"), []byte("ab"), SetOptions{ExpireAt: 1_009_000}); err != nil {
		t.Fatal(err)
	}
	var seen Current
	err := db.Update([]byte("k"), func(cur Current) (Change, error) {
		seen = cur
		return appendFn("cd")(cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(seen.Value) != "ab" || !seen.Exists || seen.ExpireAt != 1_009_000 || seen.Now != 1_000_000 {
		t.Fatalf("Update's function saw %+v", seen)
	}
	if n := db.MaxValueSize(); n != 16 {
		t.Fatalf("MaxValueSize %d, want 16", n)
	}
	if err := db.Update([]byte("new"), func(cur Current) (Change, error) {
		if cur.Exists || cur.Value != nil || cur.ExpireAt != 0 {
			t.Errorf("a missing key seen as %+v", cur)
		}
		return appendFn("x")(cur)
	}); err != nil {
		t.Fatal(err)
	}

	// Nothing is written for an error, for Write false, for a value over
	// the limit; a past expiry deletes.
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(Current) (Change, error)
		want error
	}{
		{"error", func(Current) (Change, error) { return Change{Write: true, Value: []byte("no")}, boom }, boom},
		{"write false", func(Current) (Change, error) { return Change{Value: []byte("no")}, nil }, nil},
		{"too large", appendFn(strings.Repeat("z", 13)), ErrValueTooLarge},
	}
	for _, tt := range tests {
		if err := db.Update([]byte("k"), tt.fn); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		mustGet(t, db, "k", "abcd")
	}
	// The empty key is a key like any other, as in Redis.
	if err := db.Update([]byte(""), appendFn("x")); err != nil {
		t.Errorf("empty key: %v", err)
	}
	if err := db.Update([]byte(""), appendFn("y")); err != nil {
		t.Errorf("empty key: %v", err)
	}
	mustGet(t, db, "", "xy")
	if err := db.Update([]byte("gone"), appendFn("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Update([]byte("gone"), func(cur Current) (Change, error) {
		return Change{Write: true, Value: cur.Value, ExpireAt: cur.Now}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get([]byte("gone")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a key updated with a past expiry: %v", err)
	}
	db.Close()

	recs := logRecords(t, fs)
	type rec struct {
		typ      segment.Type
		key, val string
		expireAt int64
	}
	want := []rec{
		{segment.TypeSet, "k", "ab", 1_009_000},
		{segment.TypeSet, "k", "abcd", 1_009_000},
		{segment.TypeSet, "new", "x", 0},
		{segment.TypeSet, "", "x", 0},
		{segment.TypeSet, "", "xy", 0},
		{segment.TypeSet, "gone", "v", 0},
		{segment.TypeDel, "gone", "", 0},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, r := range recs {
		got := rec{r.Type, string(r.Key), string(r.Value), r.ExpireAt}
		if got != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got, want[i])
		}
	}

	clock.Advance(4000)
	db = openMem(t, fs, opts)
	defer db.Close()
	mustGet(t, db, "k", "abcd")
	mustGet(t, db, "new", "x")
	mustGet(t, db, "", "xy")
	if ttl, _ := db.PTTL([]byte("k")); ttl != 5000 {
		t.Fatalf("pttl after replay %d, want 5000", ttl)
	}
}

// TestMSetNXAllOrNothing: MSetNX writes every pair when no key exists, and
// nothing when one does (an expired key does not count); a restart finds
// the same.
func TestMSetNXAllOrNothing(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	opts := Options{Clock: clock.Now, ExpiryInterval: -1, MaxValueSize: 8}
	db := openMem(t, fs, opts)
	if _, err := db.Set([]byte("old"), []byte("o"), SetOptions{ExpireAt: 1_000_500}); err != nil {
		t.Fatal(err)
	}
	bs := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, x := range s {
			out[i] = []byte(x)
		}
		return out
	}
	steps := []struct {
		pairs []string
		wrote bool
		err   error
	}{
		{[]string{"a", "1", "old", "2"}, false, nil},
		{[]string{"a", "1", "b", "2", "a", "3"}, true, nil},
		{[]string{"c", "1", "b", "2"}, false, nil},
		{[]string{"c", "123456789"}, false, ErrValueTooLarge},
		{[]string{"c"}, false, nil}, // an error of its own, checked below
	}
	for i, st := range steps {
		if i == 1 {
			clock.Advance(500) // "old" expires
		}
		wrote, err := db.MSetNX(bs(st.pairs...)...)
		if len(st.pairs)%2 != 0 {
			if err == nil || !strings.Contains(err.Error(), "pairs") {
				t.Errorf("MSetNX %q: %v, want an error about pairs", st.pairs, err)
			}
			continue
		}
		if wrote != st.wrote || !errors.Is(err, st.err) || (st.err == nil && err != nil) {
			t.Errorf("MSetNX %q = %v, %v; want %v, %v", st.pairs, wrote, err, st.wrote, st.err)
		}
	}
	db.Close()
	db = openMem(t, fs, opts)
	defer db.Close()
	vals, err := db.MGet(bs("a", "b", "c", "old")...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vals[0], []byte("3")) || !bytes.Equal(vals[1], []byte("2")) || vals[2] != nil || vals[3] != nil {
		t.Fatalf("after restart: %q", vals)
	}
}
