package storage

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pykv/pykv/vfs"
)

// emptyKeyHolds fails t unless db holds the empty key with value and
// expireAt (0: none), and finds it by every read: Get, Exists, ExpireTime,
// Keys and a whole Scan.
func emptyKeyHolds(t *testing.T, db *DB, when, value string, expireAt int64) {
	t.Helper()
	v, err := db.Get([]byte{})
	if err != nil || string(v) != value {
		t.Fatalf("%s: get \"\" = %q, %v; want %q", when, v, err, value)
	}
	if n, err := db.Exists([]byte{}); err != nil || n != 1 {
		t.Fatalf("%s: exists \"\" = %d, %v", when, n, err)
	}
	want := expireAt
	if want == 0 {
		want = -1
	}
	if at, err := db.ExpireTime(nil); err != nil || at != want {
		t.Fatalf("%s: expire time of \"\" = %d, %v; want %d", when, at, err, want)
	}
	keys, err := db.Keys(nil)
	if err != nil || !slices.ContainsFunc(keys, func(k []byte) bool { return len(k) == 0 }) {
		t.Fatalf("%s: keys (%d, %v) do not hold \"\"", when, len(keys), err)
	}
	found := 0
	for cursor := uint64(0); ; {
		next, keys, err := db.Scan(cursor, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if len(k) == 0 {
				found++
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if found == 0 {
		t.Fatalf("%s: a scan does not find \"\"", when)
	}
}

// TestEmptyKeyThroughTheStorageLife: the empty key is a key like any
// other (Redis allows it), at every stage of its storage: logged and
// replayed after a restart, merged into a snapshot by Merge and reloaded
// from it, rewritten and taken by a partial merge (MergeByPolicy) into a
// file of its own that overrides the older one, deleted (a tombstone of
// the empty key in a version 2 file) and still gone after a restart, and
// the directory is sound to Check throughout. Its value and expiry are
// found after each.
func TestEmptyKeyThroughTheStorageLife(t *testing.T) {
	mem := vfs.NewMem()
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	opts := Options{Clock: clock.Now, ExpiryInterval: -1, SegmentSize: 4096, NoHousekeeper: true}
	db := openMem(t, mem, opts)
	restart := func(when string) {
		t.Helper()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if rep := Check("/data", Options{FS: mem}, nil); len(rep.Problems) > 0 {
			t.Fatalf("%s: check: %v", when, rep.Problems)
		}
		db = openMem(t, mem, opts)
	}
	defer func() { db.Close() }()
	others := map[string]string{}
	for i := range 100 {
		k := fmt.Sprintf("k%03d", i)
		mustSet(t, db, k, "other")
		others[k] = "other"
	}
	if _, err := db.Set([]byte{}, []byte("first"), SetOptions{ExpireAt: 9_000_000}); err != nil {
		t.Fatal(err)
	}
	emptyKeyHolds(t, db, "written", "first", 9_000_000)
	restart("after a restart from the log")
	emptyKeyHolds(t, db, "after a restart from the log", "first", 9_000_000)

	if st, err := db.Merge(); err != nil || st.Keys != 101 {
		t.Fatalf("merge: %+v, %v; want 101 keys", st, err)
	}
	emptyKeyHolds(t, db, "after Merge", "first", 9_000_000)
	restart("after Merge")
	emptyKeyHolds(t, db, "reloaded from the snapshot", "first", 9_000_000)
	base := liveSet(db)

	// Rewritten in the log, with an expiry of its own; a partial merge
	// takes the log into a new file and leaves the base alone.
	if _, err := db.Set([]byte{}, []byte("second"), SetOptions{ExpireAt: 8_000_000}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		mustSet(t, db, fmt.Sprintf("n%03d", i), "fresh")
		others[fmt.Sprintf("n%03d", i)] = "fresh"
	}
	partialMerge(t, db)
	if files := liveSet(db); len(files) != len(base)+1 {
		t.Fatalf("live files %v after a partial merge, were %v", files, base)
	}
	emptyKeyHolds(t, db, "after MergeByPolicy", "second", 8_000_000)
	restart("after MergeByPolicy")
	emptyKeyHolds(t, db, "reloaded from two snapshot files", "second", 8_000_000)
	checkLiveCounts(t, db, "reloaded from two snapshot files")

	// KEEPTTL keeps it across a rewrite and a restart.
	if _, err := db.Set([]byte{}, []byte("third"), SetOptions{KeepTTL: true}); err != nil {
		t.Fatal(err)
	}
	restart("after a KEEPTTL rewrite")
	emptyKeyHolds(t, db, "after a KEEPTTL rewrite", "third", 8_000_000)

	// Deleted: a partial merge that leaves the base alone writes a
	// tombstone of the empty key, which hides the base's version.
	if n, err := db.Del([]byte{}); err != nil || n != 1 {
		t.Fatalf("del \"\" = %d, %v", n, err)
	}
	mustSet(t, db, "n000", "again") // something live for the new file
	others["n000"] = "again"
	partialMerge(t, db)
	tombs := uint32(0)
	for _, n := range liveSet(db) {
		tombs += n
	}
	if tombs == 0 {
		t.Fatalf("no tombstone in the live files %v after deleting a key the base holds", liveSet(db))
	}
	restart("after deleting it")
	if _, err := db.Get([]byte{}); err == nil {
		t.Fatal("the deleted empty key came back after a restart")
	}
	checkKeys(t, db, others)

	// And back once more, expiring: gone when its time comes, for good.
	if _, err := db.Set([]byte{}, []byte("brief"), SetOptions{ExpireAt: clock.Now().UnixMilli() + 1000}); err != nil {
		t.Fatal(err)
	}
	emptyKeyHolds(t, db, "written again", "brief", clock.Now().UnixMilli()+1000)
	clock.Advance(1000)
	if n, err := db.Exists([]byte{}); err != nil || n != 0 {
		t.Fatalf("exists \"\" after its expiry = %d, %v", n, err)
	}
	restart("after its expiry")
	if n, err := db.Exists([]byte{}); err != nil || n != 0 {
		t.Fatalf("exists \"\" after its expiry and a restart = %d, %v", n, err)
	}
	checkKeys(t, db, others)
}
