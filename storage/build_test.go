package storage

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pykv/pykv/vfs"
)

// peekBuild returns key's build, failing the test if the key is missing.
func peekBuild(t *testing.T, db interface {
	PeekBuilt([]byte) ([]byte, Build, error)
}, key string) Build {
	t.Helper()
	_, b, err := db.PeekBuilt([]byte(key))
	if err != nil {
		t.Fatalf("PeekBuilt(%q): %v", key, err)
	}
	return b
}

// TestBuildKeptByWrites walks keys through the operations that set a
// value's build and those that must keep it (a new expiry, RENAME), COPY's
// rule, a transaction's writes, and a merge that moves every version;
// then a restart, after which every key is BuiltByValue, as Redis
// re-encodes what it loads.
func TestBuildKeptByWrites(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	opts := Options{Clock: clock.Now, ExpiryInterval: -1, SegmentSize: 1024, NoHousekeeper: true}
	db := openMem(t, fs, opts)
	withBuild := func(b Build) func(Current) (Change, error) {
		return func(cur Current) (Change, error) {
			return Change{Write: true, Value: append(cur.Value, 'x'), ExpireAt: cur.ExpireAt, Build: b}, nil
		}
	}
	keepBuild := func(at int64) func(Current) (Change, error) {
		return func(cur Current) (Change, error) {
			return Change{Write: true, Value: cur.Value, ExpireAt: at, Build: cur.Build}, nil
		}
	}
	steps := []struct {
		name string
		do   func() error
		key  string
		want Build
	}{
		{"SET", func() error { _, err := db.Set([]byte("a"), []byte("1"), SetOptions{}); return err }, "a", BuiltByValue},
		{"Update sets its Change's", func() error { return db.Update([]byte("a"), withBuild(BuiltRaw)) }, "a", BuiltRaw},
		{"Expire keeps", func() error { _, err := db.Expire([]byte("a"), 9_000_000); return err }, "a", BuiltRaw},
		{"Persist keeps", func() error { _, err := db.Persist([]byte("a")); return err }, "a", BuiltRaw},
		{"Update of the expiry keeps", func() error { return db.Update([]byte("a"), keepBuild(8_000_000)) }, "a", BuiltRaw},
		{"Rename keeps", func() error { _, err := db.Rename([]byte("a"), []byte("b"), false); return err }, "b", BuiltRaw},
		{"Copy of raw is raw", func() error { _, err := db.Copy([]byte("b"), []byte("c"), false); return err }, "c", BuiltRaw},
		{"Set with a build", func() error {
			_, err := db.Set([]byte("d"), []byte("7"), SetOptions{Build: BuiltString})
			return err
		}, "d", BuiltString},
		{"Copy of a string keeps it", func() error { _, err := db.Copy([]byte("d"), []byte("e"), false); return err }, "e", BuiltString},
		{"IncrBy is by value", func() error { _, err := db.IncrBy([]byte("d"), 1); return err }, "d", BuiltByValue},
		{"Copy of by-value is unshared", func() error { _, err := db.Copy([]byte("d"), []byte("f"), false); return err }, "f", BuiltUnshared},
		{"Copy of unshared stays so", func() error { _, err := db.Copy([]byte("f"), []byte("g"), false); return err }, "g", BuiltUnshared},
		{"MSet is by value", func() error { return db.MSet([]byte("c"), []byte("9")) }, "c", BuiltByValue},
		{"Retag sets the build and writes nothing", func() error {
			before := db.Stats().LastSeq
			err := db.Update([]byte("m"), func(Current) (Change, error) {
				return Change{Write: true, Value: []byte("1")}, nil
			})
			if err != nil {
				return err
			}
			vs, err := db.Watch([]byte("m"))
			if err != nil {
				return err
			}
			defer db.Unwatch(vs)
			if err := db.Update([]byte("m"), retag(BuiltRaw)); err != nil {
				return err
			}
			if seq := db.Stats().LastSeq; seq != before+1 {
				t.Errorf("last seq %d after a write and a Retag from %d, want %d", seq, before, before+1)
			}
			ran, err := db.Atomic(vs, func(*Tx) {})
			if !ran {
				t.Error("a Retag failed a WATCH")
			}
			return err
		}, "m", BuiltRaw},
		{"Retag of a missing key is nothing", func() error { return db.Update([]byte("none"), retag(BuiltRaw)) }, "m", BuiltRaw},
		{"a transaction's builds", func() error {
			_, err := db.Atomic(nil, func(tx *Tx) {
				if err := tx.Update([]byte("h"), withBuild(BuiltRaw)); err != nil {
					t.Error(err)
				}
				if b := peekBuild(t, tx, "h"); b != BuiltRaw {
					t.Errorf("inside the transaction, h is %d, want BuiltRaw", b)
				}
				for key, b := range map[string]Build{"m": BuiltString, "h": BuiltString} { // the keydir's, its own
					if err := tx.Update([]byte(key), retag(b)); err != nil {
						t.Error(err)
					}
					if got := peekBuild(t, tx, key); got != b {
						t.Errorf("inside the transaction, %s after Retag is %d, want %d", key, got, b)
					}
				}
				if err := tx.Update([]byte("h"), retag(BuiltRaw)); err != nil {
					t.Error(err)
				}
				for _, err := range []error{
					func() error { _, err := tx.Copy([]byte("h"), []byte("i"), false); return err }(),
					func() error { _, err := tx.Copy([]byte("c"), []byte("j"), false); return err }(),
					func() error { _, err := tx.Expire([]byte("h"), 9_000_000); return err }(),
					func() error { _, err := tx.Rename([]byte("h"), []byte("k"), false); return err }(),
					func() error {
						_, err := tx.Set([]byte("l"), []byte("1"), SetOptions{Build: BuiltString})
						return err
					}(),
				} {
					if err != nil {
						t.Error(err)
					}
				}
			})
			return err
		}, "k", BuiltRaw},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if b := peekBuild(t, db, st.key); b != st.want {
			t.Fatalf("%s: %q is %d, want %d", st.name, st.key, b, st.want)
		}
	}
	if _, _, err := db.PeekBuilt([]byte("none")); err == nil {
		t.Fatal("a Retag of a missing key made it")
	}
	want := map[string]Build{"m": BuiltString, "b": BuiltRaw, "c": BuiltByValue, "d": BuiltByValue, "e": BuiltString,
		"f": BuiltUnshared, "g": BuiltUnshared, "i": BuiltRaw, "j": BuiltUnshared, "k": BuiltRaw, "l": BuiltString}
	check := func(when string) {
		t.Helper()
		for key, b := range want {
			if got := peekBuild(t, db, key); got != b {
				t.Errorf("%s: %q is %d, want %d", when, key, got, b)
			}
		}
	}
	check("after the writes")
	for i := range 100 { // seal the files holding the keys, for the merge to move them
		mustSet(t, db, fmt.Sprintf("filler%03d", i), strings.Repeat("f", 40))
	}
	st, err := db.Merge()
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys < uint64(len(want)) {
		t.Fatalf("the merge moved %d keys, want all %d of the test's at least", st.Keys, len(want))
	}
	check("after a merge")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openMem(t, fs, opts)
	defer db.Close()
	for key := range want {
		want[key] = BuiltByValue
	}
	check("after a restart")
}

// retag is an Update function that only sets the value's build.
func retag(b Build) func(Current) (Change, error) {
	return func(Current) (Change, error) { return Change{Retag: true, Build: b}, nil }
}

// TestBuildCopied is Build.Copied's table: Redis's dupStringObject.
func TestBuildCopied(t *testing.T) {
	for _, tc := range []struct{ b, want Build }{
		{BuiltByValue, BuiltUnshared}, {BuiltRaw, BuiltRaw}, {BuiltString, BuiltString}, {BuiltUnshared, BuiltUnshared},
	} {
		if got := tc.b.Copied(); got != tc.want {
			t.Errorf("Build(%d).Copied() = %d, want %d", tc.b, got, tc.want)
		}
	}
}
