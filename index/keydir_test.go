package index

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// checkInvariants verifies a Keydir's internal bookkeeping against a full
// walk of its tables and arenas.
func checkInvariants(t interface {
	Helper()
	Fatalf(string, ...any)
}, k *Keydir) {
	t.Helper()
	for si := range k.shards {
		s := &k.shards[si]
		s.mu.RLock()
		var live, free, ttlKeys int
		var liveBytes int64
		for gi := range s.groups {
			g := &s.groups[gi]
			for j := range groupSize {
				switch c := g.ctrl[j]; {
				case c == ctrlEmpty:
					free++
				case c == ctrlDeleted:
				case c&0x80 == 0:
					key, f, ttl := parse(s.rec(g.refs[j]))
					h := s.hash(key)
					if h2(h) != c {
						t.Fatalf("shard %d: key %q has control byte %#x, want %#x", si, key, c, h2(h))
					}
					if uint64(si) != h>>k.shift {
						t.Fatalf("key %q in shard %d, hashes to %d", key, si, h>>k.shift)
					}
					if got, _, ok := s.find(key, h); !ok || got != g {
						t.Fatalf("shard %d: key %q not found by lookup", si, key)
					}
					live++
					liveBytes += int64(recordLen(len(key), ttl))
					if ttl {
						ttlKeys++
						idx := f.ttlIdx()
						if int(idx) >= len(s.ttl) || s.ttl[idx] != g.refs[j] {
							t.Fatalf("shard %d: key %q has ttl index %d, list does not point back", si, key, idx)
						}
						if decode(f, ttl).ExpireAt == 0 {
							t.Fatalf("shard %d: key %q flagged ttl with ExpireAt 0", si, key)
						}
					}
				default:
					t.Fatalf("shard %d: bad control byte %#x", si, c)
				}
			}
		}
		if live != s.live || int64(live) != s.count.Load() {
			t.Fatalf("shard %d: %d keys in table, live=%d count=%d", si, live, s.live, s.count.Load())
		}
		if ttlKeys != len(s.ttl) || int64(ttlKeys) != s.ttlCount.Load() {
			t.Fatalf("shard %d: %d ttl keys, list has %d, count %d", si, ttlKeys, len(s.ttl), s.ttlCount.Load())
		}
		if liveBytes != s.liveBytes {
			t.Fatalf("shard %d: live records take %d bytes, accounted %d", si, liveBytes, s.liveBytes)
		}
		if s.growthLeft < 0 || s.growthLeft > free || live > len(s.groups)*maxLoadPerGroup {
			t.Fatalf("shard %d: growthLeft %d, free %d, live %d, groups %d", si, s.growthLeft, free, live, len(s.groups))
		}
		if s.garbage > s.liveBytes && s.garbage >= compactMinGarbage {
			t.Fatalf("shard %d: garbage %d over live %d not compacted", si, s.garbage, s.liveBytes)
		}
		s.mu.RUnlock()
	}
}

func TestNewKeydirShards(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{0, DefaultShards}, {-3, DefaultShards}, {1, 1}, {2, 2}, {3, 4}, {5, 8}, {256, 256}, {1000, 1024}, {1 << 20, MaxShards},
	} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			k := NewKeydir(tc.in)
			if got := len(k.shards); got != tc.want {
				t.Fatalf("NewKeydir(%d) has %d shards, want %d", tc.in, got, tc.want)
			}
			k.Put([]byte("a"), Entry{Seq: 1})
			if _, ok := k.Get([]byte("a")); !ok {
				t.Fatal("key not found")
			}
			// ShardOf names the shard that holds the key, and every
			// shard is named by some key.
			used := make([]bool, tc.want)
			for i := range min(64*tc.want, 1<<16) {
				key := fmt.Appendf(nil, "key-%d", i)
				n := k.ShardOf(key)
				if n < 0 || n >= tc.want || &k.shards[n] != k.shardFor(k.hash(key)) {
					t.Fatalf("ShardOf(%q) = %d, not the shard of %d that holds it", key, n, tc.want)
				}
				used[n] = true
			}
			if tc.want <= 1024 && slices.Contains(used, false) {
				t.Fatalf("some of %d shards named by no key of %d", tc.want, 64*tc.want)
			}
		})
	}
}

func TestKeydirAPI(t *testing.T) {
	e1 := Entry{FileID: 1, Offset: 100, Size: 40, Seq: 1}
	e2 := Entry{FileID: 2, Offset: MaxOffset, Size: 1 << 31, ExpireAt: 1700000000000, Seq: 2}
	e3 := Entry{FileID: 3, Offset: 7, Size: 9, Seq: 3}
	type step struct {
		op      string // get put del cas delif
		key     string
		e       Entry
		seq     uint64
		wantOK  bool
		wantOld Entry
	}
	for _, tc := range []struct {
		name  string
		steps []step
		len   int64
		ttl   int64
	}{
		{"get missing", []step{{op: "get", key: "a"}}, 0, 0},
		{"put then get", []step{{op: "put", key: "a", e: e1}, {op: "get", key: "a", wantOK: true, wantOld: e1}}, 1, 0},
		{"put replaces", []step{{op: "put", key: "a", e: e1}, {op: "put", key: "a", e: e3, wantOK: true, wantOld: e1}, {op: "get", key: "a", wantOK: true, wantOld: e3}}, 1, 0},
		{"gain expiry", []step{{op: "put", key: "a", e: e1}, {op: "put", key: "a", e: e2, wantOK: true, wantOld: e1}, {op: "get", key: "a", wantOK: true, wantOld: e2}}, 1, 1},
		{"lose expiry", []step{{op: "put", key: "a", e: e2}, {op: "put", key: "a", e: e3, wantOK: true, wantOld: e2}, {op: "get", key: "a", wantOK: true, wantOld: e3}}, 1, 0},
		{"delete", []step{{op: "put", key: "a", e: e2}, {op: "del", key: "a", wantOK: true, wantOld: e2}, {op: "get", key: "a"}, {op: "del", key: "a"}}, 0, 0},
		{"empty key", []step{{op: "put", key: "", e: e1}, {op: "get", key: "", wantOK: true, wantOld: e1}}, 1, 0},
		{"cas matching seq", []step{{op: "put", key: "a", e: e1}, {op: "cas", key: "a", seq: 1, e: e2, wantOK: true}, {op: "get", key: "a", wantOK: true, wantOld: e2}}, 1, 1},
		{"cas stale seq", []step{{op: "put", key: "a", e: e3}, {op: "cas", key: "a", seq: 1, e: e2}, {op: "get", key: "a", wantOK: true, wantOld: e3}}, 1, 0},
		{"cas missing", []step{{op: "cas", key: "a", seq: 0, e: e2}, {op: "get", key: "a"}}, 0, 0},
		{"deleteif matching", []step{{op: "put", key: "a", e: e2}, {op: "delif", key: "a", seq: 2, wantOK: true}, {op: "get", key: "a"}}, 0, 0},
		{"deleteif stale", []step{{op: "put", key: "a", e: e2}, {op: "delif", key: "a", seq: 1}, {op: "get", key: "a", wantOK: true, wantOld: e2}}, 1, 1},
		{"deleteif missing", []step{{op: "delif", key: "a", seq: 0}}, 0, 0},
		{"long key", []step{{op: "put", key: string(bytes.Repeat([]byte("k"), 20000)), e: e2}, {op: "get", key: string(bytes.Repeat([]byte("k"), 20000)), wantOK: true, wantOld: e2}, {op: "get", key: string(bytes.Repeat([]byte("k"), 19999))}}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := NewKeydir(4)
			for i, st := range tc.steps {
				var ok bool
				var got Entry
				switch st.op {
				case "get":
					got, ok = k.Get([]byte(st.key))
				case "put":
					got, ok = k.Put([]byte(st.key), st.e)
				case "del":
					got, ok = k.Delete([]byte(st.key))
				case "cas":
					ok = k.CompareAndSwap([]byte(st.key), st.seq, st.e)
				case "delif":
					ok = k.DeleteIf([]byte(st.key), st.seq)
				}
				if ok != st.wantOK || got != st.wantOld {
					t.Fatalf("step %d %s(%.10q): got %+v, %v; want %+v, %v", i, st.op, st.key, got, ok, st.wantOld, st.wantOK)
				}
			}
			if k.Len() != tc.len || k.LenWithTTL() != tc.ttl {
				t.Fatalf("Len %d LenWithTTL %d, want %d %d", k.Len(), k.LenWithTTL(), tc.len, tc.ttl)
			}
			checkInvariants(t, k)
		})
	}
}

func TestKeydirCopiesKey(t *testing.T) {
	k := NewKeydir(1)
	buf := []byte("hello")
	k.Put(buf, Entry{Seq: 1})
	copy(buf, "world")
	if _, ok := k.Get([]byte("hello")); !ok {
		t.Fatal("key changed with the caller's buffer")
	}
	if _, ok := k.Get([]byte("world")); ok {
		t.Fatal("found a key that was never put")
	}
}

func TestKeydirOffsetLimit(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Put with an offset above MaxOffset did not panic")
		}
	}()
	NewKeydir(1).Put([]byte("a"), Entry{Offset: MaxOffset + 1})
}

// TestKeydirFullHashCollisions puts keys that all share one 64-bit hash:
// only the key comparison can tell them apart.
func TestKeydirFullHashCollisions(t *testing.T) {
	k := newKeydir(4, func([]byte) uint64 { return 0x1234_5678_9abc_def0 })
	const n = 300
	for i := range n {
		k.Put(fmt.Appendf(nil, "key-%d", i), Entry{Seq: uint64(i + 1), ExpireAt: int64(i % 2)})
	}
	for i := range n {
		e, ok := k.Get(fmt.Appendf(nil, "key-%d", i))
		if !ok || e.Seq != uint64(i+1) {
			t.Fatalf("key-%d: got %+v, %v", i, e, ok)
		}
	}
	for i := 0; i < n; i += 2 {
		if _, ok := k.Delete(fmt.Appendf(nil, "key-%d", i)); !ok {
			t.Fatalf("delete key-%d failed", i)
		}
	}
	checkInvariants(t, k)
	if k.Len() != n/2 || k.LenWithTTL() != n/2 {
		t.Fatalf("Len %d LenWithTTL %d, want %d", k.Len(), k.LenWithTTL(), n/2)
	}
	for i := range n {
		_, ok := k.Get(fmt.Appendf(nil, "key-%d", i))
		if ok != (i%2 == 1) {
			t.Fatalf("key-%d: present=%v", i, ok)
		}
	}
}

// TestKeydirGrowShrinkCompact drives one shard through growth, arena
// compaction and shrinking, and checks every key survives each step.
func TestKeydirGrowShrinkCompact(t *testing.T) {
	k := NewKeydir(1)
	s := &k.shards[0]
	const n = 20000
	key := func(i int) []byte { return fmt.Appendf(nil, "key:%012d", i) }
	for i := range n {
		k.Put(key(i), Entry{Seq: uint64(i), ExpireAt: int64(i % 3)})
	}
	checkInvariants(t, k)
	grown := len(s.groups)
	if grown < groupsFor(n) {
		t.Fatalf("%d groups for %d keys", grown, n)
	}
	arena := s.arenaCap
	for i := range n - 100 {
		k.Delete(key(i))
	}
	checkInvariants(t, k)
	if len(s.groups) >= grown {
		t.Fatalf("table did not shrink: %d groups for %d keys", len(s.groups), k.Len())
	}
	if s.arenaCap >= arena/4 {
		t.Fatalf("arena not compacted: %d bytes for %d keys (was %d)", s.arenaCap, k.Len(), arena)
	}
	for i := n - 100; i < n; i++ {
		if e, ok := k.Get(key(i)); !ok || e.Seq != uint64(i) || e.ExpireAt != int64(i%3) {
			t.Fatalf("key %d: %+v %v", i, e, ok)
		}
	}
}

// TestKeydirExpiryFlips makes records move (gaining and losing an expiry
// changes their length) until the arena compacts.
func TestKeydirExpiryFlips(t *testing.T) {
	k := NewKeydir(1)
	for round := range 400 {
		for i := range 50 {
			k.Put(fmt.Appendf(nil, "k%d", i), Entry{Seq: uint64(round), ExpireAt: int64(round % 2 * 1000)})
		}
	}
	checkInvariants(t, k)
	if k.shards[0].arenaCap > 16<<10 {
		t.Fatalf("arena holds %d bytes for 50 keys: garbage not reclaimed", k.shards[0].arenaCap)
	}
}

func TestKeydirRange(t *testing.T) {
	k := NewKeydir(8)
	want := map[string]Entry{}
	for i := range 1000 {
		e := Entry{Seq: uint64(i), ExpireAt: int64(i % 5)}
		want[fmt.Sprint(i)] = e
		k.Put([]byte(fmt.Sprint(i)), e)
	}
	got := map[string]Entry{}
	k.Range(func(key []byte, e Entry) bool {
		if _, dup := got[string(key)]; dup {
			t.Fatalf("Range returned %q twice", key)
		}
		got[string(key)] = e
		return true
	})
	if len(got) != len(want) {
		t.Fatalf("Range returned %d keys, want %d", len(got), len(want))
	}
	for key, e := range want {
		if got[key] != e {
			t.Fatalf("key %s: %+v, want %+v", key, got[key], e)
		}
	}
	calls := 0
	k.Range(func([]byte, Entry) bool { calls++; return calls < 10 })
	if calls != 10 {
		t.Fatalf("Range went on after false: %d calls", calls)
	}
}

func TestKeydirSampleExpiring(t *testing.T) {
	k := NewKeydir(16)
	k.SampleExpiring(5, func([]byte, Entry) { t.Fatal("sampled from an empty keydir") })
	for i := range 2000 {
		var exp int64
		if i%10 == 0 {
			exp = int64(i + 1)
		}
		k.Put(fmt.Appendf(nil, "%d", i), Entry{Seq: uint64(i), ExpireAt: exp})
	}
	for _, n := range []int{0, 1, 20, 200, 1000} {
		seen := map[string]bool{}
		k.SampleExpiring(n, func(key []byte, e Entry) {
			if e.ExpireAt == 0 {
				t.Fatalf("sampled key %x without expiry", key)
			}
			if seen[string(key)] {
				t.Fatalf("sampled key %x twice", key)
			}
			seen[string(key)] = true
			got, ok := k.Get(key)
			if !ok || got != e {
				t.Fatalf("sampled %+v, keydir has %+v %v", e, got, ok)
			}
		})
		if want := min(n, 200); len(seen) != want {
			t.Fatalf("SampleExpiring(%d) gave %d keys, want %d", n, len(seen), want)
		}
	}
	// Expire everything the way active expiry would: sample, DeleteIf.
	for k.LenWithTTL() > 0 {
		k.SampleExpiring(20, func(key []byte, e Entry) { k.DeleteIf(key, e.Seq) })
	}
	if k.Len() != 1800 {
		t.Fatalf("%d keys left, want the 1800 without expiry", k.Len())
	}
	checkInvariants(t, k)
}

func TestKeydirBytes(t *testing.T) {
	k := NewKeydir(4)
	empty := k.Bytes()
	for i := range 10000 {
		k.Put(fmt.Appendf(nil, "key:%012d", i), Entry{Seq: 1})
	}
	full := k.Bytes()
	if per := (full - empty) / 10000; per < 16 || per > 80 {
		t.Fatalf("Bytes grew by %d per 16-byte key", per)
	}
}

func TestReserveKeepsEntries(t *testing.T) {
	k := NewKeydir(4)
	for i := 0; i < 100; i++ {
		k.Put([]byte(fmt.Sprint("k", i)), Entry{FileID: 1, Seq: uint64(i + 1)})
	}
	k.Reserve(100_000)
	for i := 0; i < 100; i++ {
		if e, ok := k.Get([]byte(fmt.Sprint("k", i))); !ok || e.Seq != uint64(i+1) {
			t.Fatalf("k%d after Reserve: %+v %v", i, e, ok)
		}
	}
	for i := 100; i < 20_000; i++ {
		k.Put([]byte(fmt.Sprint("k", i)), Entry{FileID: 1, Seq: uint64(i + 1)})
	}
	if k.Len() != 20_000 {
		t.Fatalf("len %d", k.Len())
	}
}

// TestClear: a cleared keydir holds nothing, takes keys again, and a
// cleared cache misses what it held.
func TestClear(t *testing.T) {
	k := NewKeydir(4)
	c := NewCache(1<<20, 1)
	for i := range 1000 {
		key := []byte(fmt.Sprintf("k%d", i))
		k.Put(key, Entry{FileID: 1, Seq: uint64(i + 1), ExpireAt: int64(i % 2)})
		c.Put(key, uint64(i+1), []byte("v"))
	}
	k.Clear()
	c.Clear()
	if k.Len() != 0 || k.LenWithTTL() != 0 || k.Bytes() != NewKeydir(4).Bytes() {
		t.Fatalf("after Clear: %d keys, %d with a TTL, %d bytes", k.Len(), k.LenWithTTL(), k.Bytes())
	}
	if _, ok := k.Get([]byte("k1")); ok {
		t.Fatal("k1 still found after Clear")
	}
	if _, ok := c.Get([]byte("k1"), 2); ok {
		t.Fatal("cache still has k1 after Clear")
	}
	k.Put([]byte("k1"), Entry{FileID: 2, Seq: 5})
	c.Put([]byte("k1"), 5, []byte("new"))
	if e, ok := k.Get([]byte("k1")); !ok || e.FileID != 2 || k.Len() != 1 {
		t.Fatalf("Put after Clear: %+v %v, len %d", e, ok, k.Len())
	}
	if v, ok := c.Get([]byte("k1"), 5); !ok || string(v) != "new" {
		t.Fatalf("cache after Clear: %q %v", v, ok)
	}
}
