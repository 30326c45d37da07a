package index

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func idle(t *testing.T, k *Keydir, key string) int64 {
	t.Helper()
	s, ok := k.IdleTime([]byte(key))
	if !ok {
		t.Fatalf("IdleTime(%q): key missing", key)
	}
	return s
}

// TestKeydirIdleTime walks one key through what sets its LRU clock and
// what must not: a step is an action, then the clock moved, then the idle
// time expected.
func TestKeydirIdleTime(t *testing.T) {
	const t0 = 1000
	k := NewKeydir(1)
	k.SetClock(t0)
	key := []byte("k")
	k.Put(key, Entry{Seq: 1, Size: 10})
	steps := []struct {
		name    string
		do      func()
		advance uint32
		want    int64
	}{
		{"fresh Put", func() {}, 0, 0},
		{"clock moves", func() {}, 5, 5},
		{"Get does not touch", func() { k.Get(key) }, 0, 5},
		{"IdleTime does not touch", func() { k.IdleTime(key) }, 0, 5},
		{"Range and Scan do not touch", func() {
			k.Range(func([]byte, Entry) bool { return true })
			k.Scan(0, 10, func([]byte, Entry) {})
		}, 0, 5},
		{"Access touches", func() { k.Access(key) }, 0, 0},
		{"moves on", func() {}, 7, 7},
		{"CompareAndSwap keeps the clock", func() { k.CompareAndSwap(key, 1, Entry{Seq: 1, FileID: 9, Size: 10}) }, 0, 7},
		{"CompareAndSwap keeps it when the record moves", func() { k.CompareAndSwap(key, 1, Entry{Seq: 1, ExpireAt: 99, Size: 10}) }, 3, 10},
		{"Put touches", func() { k.Put(key, Entry{Seq: 2, Size: 10}) }, 0, 0},
		{"Put that gains an expiry touches", func() { k.SetClock(k.Clock() + 4); k.Put(key, Entry{Seq: 3, ExpireAt: 5}) }, 2, 2},
		{"Loader touches", func() {
			l := k.NewLoader()
			l.Put(key, Entry{Seq: 4})
			l.Close()
		}, 0, 0},
		{"a Loader's older version does not", func() {
			k.SetClock(k.Clock() + 6)
			l := k.NewLoader()
			l.Put(key, Entry{Seq: 1})
			l.Close()
		}, 0, 6},
	}
	for _, st := range steps {
		st.do()
		k.SetClock(k.Clock() + st.advance)
		if got := idle(t, k, "k"); got != st.want {
			t.Fatalf("%s: IdleTime = %d, want %d", st.name, got, st.want)
		}
	}
	if _, ok := k.IdleTime([]byte("missing")); ok {
		t.Fatal("IdleTime of a missing key reported ok")
	}
}

// TestKeydirIdleTimeWraps checks Redis's arithmetic across the 24-bit wrap:
// estimateObjectIdleTime counts now + (LRU_CLOCK_MAX - lru) there.
func TestKeydirIdleTimeWraps(t *testing.T) {
	for _, tc := range []struct {
		at, now uint32
		want    int64
	}{
		{0, 0, 0},
		{100, 160, 60},
		{LRUClockMax, LRUClockMax, 0},
		{LRUClockMax - 10, 5, 15},
		{LRUClockMax, 0, 0}, // one short of modular, as in Redis
		{1 << 23, 1<<23 - 1, LRUClockMax - 1},
	} {
		k := NewKeydir(1)
		k.SetClock(tc.at)
		k.Put([]byte("k"), Entry{})
		k.SetClock(tc.now)
		if got := idle(t, k, "k"); got != tc.want {
			t.Errorf("stamped %d, now %d: IdleTime = %d, want %d", tc.at, tc.now, got, tc.want)
		}
	}
	if c := LRUClock(time.UnixMilli(int64(LRUClockMax+1)*1000 + 2999)); c != 2 {
		t.Errorf("LRUClock wraps at 2^24 s and drops the ms: got %d, want 2", c)
	}
}

// TestKeydirClockLayout stores keys of every length modulo 4, with and
// without an expiry, so that the clock falls at every position within the
// fields, gives each its own clock, and checks that no field and no other
// key's clock is disturbed, before and after compaction moves the records
// to other offsets.
func TestKeydirClockLayout(t *testing.T) {
	k := NewKeydir(1)
	const n = 400
	key := func(i int) []byte { return []byte(fmt.Sprintf("%0*d", i%13, i)[:i%13]) }
	entry := func(i int) Entry {
		e := Entry{Seq: uint64(i) * 0x0102030405, FileID: 0xA0B0C0D0 + uint32(i), Size: 0xF1E2D3C4 - uint32(i),
			Offset: MaxOffset - uint64(i), Tag: uint8(i % (MaxTag + 1))}
		if i%3 == 0 {
			e.ExpireAt = 1_700_000_000_000 + int64(i)
		}
		return e
	}
	distinct := map[string]int{}
	for i := range n {
		if _, dup := distinct[string(key(i))]; dup {
			continue
		}
		distinct[string(key(i))] = i
		k.SetClock(LRUClockMax - uint32(i)) // every clock bit set, beside the tag's
		k.Put(key(i), entry(i))
	}
	k.SetClock(LRUClockMax)
	check := func(when string) {
		t.Helper()
		for ks, i := range distinct {
			if e, ok := k.Get([]byte(ks)); !ok || e != entry(i) {
				t.Fatalf("%s: key %q: got %+v, %v, want %+v", when, ks, e, ok, entry(i))
			}
			if got := idle(t, k, ks); got != int64(i) {
				t.Fatalf("%s: key %q: IdleTime %d, want %d", when, ks, got, i)
			}
		}
		checkInvariants(t, k)
	}
	check("after Put")
	// Garbage past the live bytes (and 4 KiB) compacts the shard.
	for i := range 2000 {
		g := fmt.Appendf(nil, "garbage-%05d", i)
		k.Put(g, Entry{})
		k.Delete(g)
	}
	k.SetClock(LRUClockMax) // the garbage's Puts did not move the clock, but be plain
	check("after compaction")
}

// TestKeydirAccessConcurrent has readers stamp the same keys at once, under
// the read lock, while a writer rewrites neighbours in the same arena
// chunks: run with -race, it checks that the clock's atomics never meet a
// plain access of the bytes around them, and that no reader's store of
// the clock loses the tag beside it (each key keeps one tag throughout).
func TestKeydirAccessConcurrent(t *testing.T) {
	k := NewKeydir(1)
	const n = 64
	key := func(i int) []byte { return fmt.Appendf(nil, "%0*d", 1+i%7, i) }
	for i := range n {
		k.Put(key(i), Entry{Seq: uint64(i), Size: uint32(i), Tag: uint8(i % (MaxTag + 1))})
	}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for round := range 2000 {
				i := (round*7 + r) % n
				e, ok := k.Access(key(i))
				if !ok || e.Size != uint32(i) || e.Tag != uint8(i%(MaxTag+1)) {
					t.Errorf("Access(%q) = %+v, %v", key(i), e, ok)
					return
				}
				if r == 0 && round%100 == 0 {
					k.SetClock(uint32(round))
				}
			}
		})
	}
	wg.Go(func() {
		for round := range 2000 {
			i := round % n // keeps each key's size, which the readers check
			k.Put(key(i), Entry{Seq: uint64(round), Size: uint32(i), ExpireAt: int64(round % 2), Tag: uint8(i % (MaxTag + 1))})
			k.IdleTime(key(i))
		}
	})
	wg.Wait()
	checkInvariants(t, k)
}

// TestKeydirTag walks one key's tag through what must keep it and what
// sets it, checking after each step the tag and the LRU clock beside it
// (each step's checks end with an Access, from which the next step's
// idle time counts).
func TestKeydirTag(t *testing.T) {
	k := NewKeydir(1)
	k.SetClock(LRUClockMax - 100) // clock bits next to the tag's are set
	key := []byte("k")
	k.Put(key, Entry{Seq: 1, Size: 10, Tag: 2})
	steps := []struct {
		name     string
		do       func()
		advance  uint32
		tag      uint8
		idleTime int64
	}{
		{"Put stores the tag", func() {}, 0, 2, 0},
		{"clock moves", func() {}, 2, 2, 2},
		{"Access keeps it", func() { k.Access(key) }, 0, 2, 0},
		{"Access within the same second keeps it", func() { k.Access(key) }, 1, 2, 1},
		{"CompareAndSwap keeps it, ignoring its entry's, and the clock", func() {
			k.SetClock(k.Clock() + 4)
			k.CompareAndSwap(key, 1, Entry{Seq: 1, FileID: 9, Size: 10, Tag: 1})
		}, 0, 2, 4},
		{"CompareAndSwap keeps them when the record moves", func() {
			k.SetClock(k.Clock() + 4)
			k.CompareAndSwap(key, 1, Entry{Seq: 1, ExpireAt: 99, Size: 10})
		}, 0, 2, 4},
		{"Access after the clock wrapped keeps it", func() { k.SetClock(5); k.Access(key) }, 1, 2, 1},
		{"Put sets another", func() { k.Put(key, Entry{Seq: 2, Size: 10, Tag: MaxTag}) }, 0, MaxTag, 0},
		{"Put that loses the expiry sets it", func() { k.Put(key, Entry{Seq: 3, Size: 10, Tag: 1}) }, 0, 1, 0},
		{"Put of tag 0 clears it", func() { k.Put(key, Entry{Seq: 4}) }, 0, 0, 0},
		{"a Loader stores its entry's", func() {
			l := k.NewLoader()
			l.Put(key, Entry{Seq: 5, Tag: 3})
			l.Close()
		}, 0, 3, 0},
		{"compaction keeps it", func() {
			for i := range 2000 {
				g := fmt.Appendf(nil, "garbage-%05d", i)
				k.Put(g, Entry{Tag: 1})
				k.Delete(g)
			}
		}, 3, 3, 3},
	}
	for _, st := range steps {
		st.do()
		k.SetClock(k.Clock() + st.advance)
		if got := idle(t, k, "k"); got != st.idleTime {
			t.Fatalf("%s: IdleTime = %d, want %d", st.name, got, st.idleTime)
		}
		e, ok := k.Get(key)
		if !ok || e.Tag != st.tag {
			t.Fatalf("%s: Get = %+v, %v, want tag %d", st.name, e, ok, st.tag)
		}
		if e, _ := k.Access(key); e.Tag != st.tag {
			t.Fatalf("%s: Access = %+v, want tag %d", st.name, e, st.tag)
		}
		k.Range(func(_ []byte, e Entry) bool {
			if e.Tag != st.tag {
				t.Fatalf("%s: Range = %+v, want tag %d", st.name, e, st.tag)
			}
			return true
		})
		if got := idle(t, k, "k"); got != 0 { // the Access above set the clock
			t.Fatalf("%s: IdleTime after Access = %d", st.name, got)
		}
	}
	if old, _ := k.Put(key, Entry{Seq: 6}); old.Tag != 3 {
		t.Fatalf("Put returned the old entry %+v, want its tag 3", old)
	}
	k.SetClock(k.Clock() + 9)
	if k.SetTag(key, 5, 2) || k.SetTag([]byte("missing"), 0, 2) {
		t.Fatal("SetTag of another version, or of a missing key, reported true")
	}
	if !k.SetTag(key, 6, 2) {
		t.Fatal("SetTag of the current version reported false")
	}
	if e, _ := k.Get(key); e != (Entry{Seq: 6, Tag: 2}) {
		t.Fatalf("after SetTag, Get = %+v, want seq 6 and tag 2 alone", e)
	}
	if got := idle(t, k, "k"); got != 9 {
		t.Fatalf("SetTag moved the clock: IdleTime %d, want 9", got)
	}
	if old, _ := k.Delete(key); old.Tag != 2 {
		t.Fatalf("Delete returned %+v, want tag 2", old)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Put of a tag above MaxTag did not panic")
		}
	}()
	k.Put(key, Entry{Tag: MaxTag + 1})
}
