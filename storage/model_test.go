package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
	"pgregory.net/rapid"
)

// fakeClock is a settable clock shared by a DB and its model.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) Now() time.Time   { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Advance(ms int64) { c.ms.Add(ms) }

type modelEntry struct {
	val      []byte
	expireAt int64
}

// model is the plain-map twin of a DB.
type model struct {
	m     map[string]modelEntry
	clock *fakeClock
}

func (m *model) live(k string) (modelEntry, bool) {
	e, ok := m.m[k]
	if ok && e.expireAt != 0 && e.expireAt <= m.clock.ms.Load() {
		delete(m.m, k)
		return e, false
	}
	return e, ok
}

type modelTest struct {
	fs    *vfs.Mem
	clock *fakeClock
	db    *DB
	model *model
	keys  []string
	opts  Options
}

func (mt *modelTest) open(t *rapid.T) {
	db, err := Open("/data", mt.opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	mt.db = db
}

// TestModel drives random sequences of every command, clean reopens and
// simulated power losses against a plain map, and compares after each step.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clock := &fakeClock{}
		clock.ms.Store(1_700_000_000_000)
		mt := &modelTest{
			fs:    vfs.NewMem(),
			clock: clock,
			model: &model{m: map[string]modelEntry{}, clock: clock},
			keys:  []string{"a", "b", "c", "d", "e", "f", "counter", "user:1", "user:2", "user:10"},
		}
		mt.opts = Options{
			FS:             mt.fs,
			Sync:           segment.SyncAlways,
			SegmentSize:    int64(rapid.IntRange(200, 4096).Draw(t, "segmentSize")),
			CacheBytes:     int64(rapid.IntRange(-1, 2048).Draw(t, "cacheBytes")),
			ExpiryInterval: -1, // cycles are steps of their own
			// Background merges run too, racing the steps.
			MergeSealedSegments: rapid.IntRange(2, 6).Draw(t, "mergeSealed"),
			MergeDeadBytes:      rapid.Int64Range(1, 4096).Draw(t, "mergeDeadBytes"),
			MergeDeadRatio:      rapid.Float64Range(0.1, 0.9).Draw(t, "mergeDeadRatio"),
			MergeMaxSpaceAmp:    rapid.Float64Range(1.1, 4).Draw(t, "mergeMaxSpaceAmp"),
			MergeMinInterval:    -1,
			Clock:               clock.Now,
			Logger:              slog.New(slog.DiscardHandler),
		}
		mt.open(t)
		defer func() { mt.db.Close() }()
		t.Repeat(map[string]func(*rapid.T){
			"set":     mt.set,
			"get":     mt.get,
			"del":     mt.del,
			"exists":  mt.exists,
			"incr":    mt.incr,
			"expire":  mt.expire,
			"persist": mt.persist,
			"pttl":    mt.pttl,
			"mget":    mt.mget,
			"mset":    mt.mset,
			"msetnx":  mt.msetnx,
			"update":  mt.update,
			"scan":    mt.scan,
			"flushall": func(t *rapid.T) {
				if err := mt.db.FlushAll(); err != nil {
					t.Fatalf("flushall: %v", err)
				}
				clear(mt.model.m)
			},
			"txflush": mt.txFlush,
			"tick": func(t *rapid.T) {
				mt.clock.Advance(rapid.Int64Range(1, 3000).Draw(t, "ms"))
			},
			"expireCycle": func(t *rapid.T) { mt.db.ExpireCycle() },
			"merge": func(t *rapid.T) {
				if _, err := mt.db.Merge(); err != nil && !errors.Is(err, ErrMergeRunning) {
					t.Fatalf("merge: %v", err)
				}
			},
			// A merge by the policy (the housekeeper's), which leaves
			// files alone and writes tombstones.
			"partialMerge": func(t *rapid.T) {
				if err := mt.db.rotateForMerge(); err != nil {
					t.Fatalf("rotate: %v", err)
				}
				if !mt.db.merges.mu.TryLock() {
					return // a background merge runs
				}
				defer mt.db.merges.mu.Unlock()
				if _, err := mt.db.mergeSealed(false); err != nil {
					t.Fatalf("partial merge: %v", err)
				}
			},
			"reopen": func(t *rapid.T) {
				if err := mt.db.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				mt.open(t)
			},
			"crash": func(t *rapid.T) {
				// Power loss: every acknowledged write was fsynced under
				// SyncAlways, so nothing the model holds may be lost.
				mt.db.abandon()
				mt.fs.Crash()
				mt.open(t)
			},
			"": mt.check,
		})
	})
}

func (mt *modelTest) key(t *rapid.T) string { return rapid.SampledFrom(mt.keys).Draw(t, "key") }

func (mt *modelTest) value(t *rapid.T) []byte {
	if rapid.Bool().Draw(t, "numeric") {
		return []byte(strconv.Itoa(rapid.IntRange(-100, 100).Draw(t, "n")))
	}
	return rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "value")
}

func (mt *modelTest) set(t *rapid.T) {
	k, v := mt.key(t), mt.value(t)
	now := mt.clock.ms.Load()
	var opt SetOptions
	switch rapid.IntRange(0, 3).Draw(t, "ttlKind") {
	case 1:
		opt.ExpireAt = now + rapid.Int64Range(1, 5000).Draw(t, "ttl")
	case 2:
		opt.ExpireAt = now - rapid.Int64Range(0, 100).Draw(t, "past")
	case 3:
		opt.KeepTTL = true
	}
	switch rapid.IntRange(0, 2).Draw(t, "cond") {
	case 1:
		opt.NX = true
	case 2:
		opt.XX = true
	}
	opt.Get = rapid.Bool().Draw(t, "get")
	res, err := mt.db.Set([]byte(k), v, opt)
	if err != nil {
		t.Fatalf("set %q: %v", k, err)
	}
	old, exists := mt.model.live(k)
	if opt.Get && (res.Existed != exists || (exists && !bytes.Equal(res.Old, old.val))) {
		t.Fatalf("set GET %q: old %q existed %v, model %q %v", k, res.Old, res.Existed, old.val, exists)
	}
	write := !(opt.NX && exists) && !(opt.XX && !exists)
	if res.Written != write {
		t.Fatalf("set %q: written %v, model %v", k, res.Written, write)
	}
	if !write {
		return
	}
	at := opt.ExpireAt
	if opt.KeepTTL && exists {
		at = old.expireAt
	}
	if at != 0 && at <= now {
		delete(mt.model.m, k)
		return
	}
	mt.model.m[k] = modelEntry{val: v, expireAt: at}
}

func (mt *modelTest) get(t *rapid.T) {
	k := mt.key(t)
	v, err := mt.db.Get([]byte(k))
	e, ok := mt.model.live(k)
	if ok != (err == nil) || (ok && !bytes.Equal(v, e.val)) || (!ok && !errors.Is(err, ErrNotFound)) {
		t.Fatalf("get %q: %q, %v; model %q, %v", k, v, err, e.val, ok)
	}
}

func (mt *modelTest) del(t *rapid.T) {
	keys := rapid.SliceOfN(rapid.SampledFrom(mt.keys), 1, 4).Draw(t, "keys")
	want := 0
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := mt.model.live(k); ok && !seen[k] {
			want++
		}
		seen[k] = true
		delete(mt.model.m, k)
	}
	n, err := mt.db.Del(bkeys(keys)...)
	if err != nil || n != want {
		t.Fatalf("del %q: %d, %v; model %d", keys, n, err, want)
	}
}

func (mt *modelTest) exists(t *rapid.T) {
	keys := rapid.SliceOfN(rapid.SampledFrom(mt.keys), 1, 4).Draw(t, "keys")
	want := 0
	for _, k := range keys {
		if _, ok := mt.model.live(k); ok {
			want++
		}
	}
	if n, err := mt.db.Exists(bkeys(keys)...); err != nil || n != want {
		t.Fatalf("exists %q: %d, %v; model %d", keys, n, err, want)
	}
}

func (mt *modelTest) incr(t *rapid.T) {
	k := mt.key(t)
	delta := rapid.OneOf(rapid.Int64Range(-10, 10), rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64})).Draw(t, "delta")
	got, err := mt.db.IncrBy([]byte(k), delta)
	e, ok := mt.model.live(k)
	var cur int64
	if ok {
		n, perr := strconv.ParseInt(string(e.val), 10, 64)
		if perr != nil || strconv.FormatInt(n, 10) != string(e.val) {
			if !errors.Is(err, ErrNotInteger) {
				t.Fatalf("incr %q on %q: %v, want ErrNotInteger", k, e.val, err)
			}
			return
		}
		cur = n
	}
	if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
		if !errors.Is(err, ErrOverflow) {
			t.Fatalf("incr %q %d+%d: %v, want ErrOverflow", k, cur, delta, err)
		}
		return
	}
	if err != nil || got != cur+delta {
		t.Fatalf("incr %q: %d, %v; model %d", k, got, err, cur+delta)
	}
	mt.model.m[k] = modelEntry{val: []byte(strconv.FormatInt(got, 10)), expireAt: e.expireAt}
}

func (mt *modelTest) expire(t *rapid.T) {
	k := mt.key(t)
	at := mt.clock.ms.Load() + rapid.Int64Range(-100, 5000).Draw(t, "in")
	ok, err := mt.db.Expire([]byte(k), at)
	e, exists := mt.model.live(k)
	if err != nil || ok != exists {
		t.Fatalf("expire %q: %v, %v; model %v", k, ok, err, exists)
	}
	if exists {
		e.expireAt = at
		mt.model.m[k] = e
		mt.model.live(k)
	}
}

func (mt *modelTest) persist(t *rapid.T) {
	k := mt.key(t)
	ok, err := mt.db.Persist([]byte(k))
	e, exists := mt.model.live(k)
	want := exists && e.expireAt != 0
	if err != nil || ok != want {
		t.Fatalf("persist %q: %v, %v; model %v", k, ok, err, want)
	}
	if want {
		e.expireAt = 0
		mt.model.m[k] = e
	}
}

func (mt *modelTest) pttl(t *rapid.T) {
	k := mt.key(t)
	got, err := mt.db.PTTL([]byte(k))
	e, ok := mt.model.live(k)
	want := int64(-2)
	if ok {
		want = -1
		if e.expireAt != 0 {
			want = e.expireAt - mt.clock.ms.Load()
		}
	}
	if err != nil || got != want {
		t.Fatalf("pttl %q: %d, %v; model %d", k, got, err, want)
	}
}

func (mt *modelTest) mget(t *rapid.T) {
	keys := rapid.SliceOfN(rapid.SampledFrom(mt.keys), 1, 5).Draw(t, "keys")
	vals, err := mt.db.MGet(bkeys(keys)...)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		e, ok := mt.model.live(k)
		if ok != (vals[i] != nil) || (ok && !bytes.Equal(vals[i], e.val)) {
			t.Fatalf("mget %q: %q; model %q %v", k, vals[i], e.val, ok)
		}
	}
}

func (mt *modelTest) mset(t *rapid.T) {
	n := rapid.IntRange(1, 4).Draw(t, "pairs")
	var pairs [][]byte
	for i := 0; i < n; i++ {
		k, v := mt.key(t), mt.value(t)
		pairs = append(pairs, []byte(k), v)
		mt.model.m[k] = modelEntry{val: v}
	}
	if err := mt.db.MSet(pairs...); err != nil {
		t.Fatal(err)
	}
}

func (mt *modelTest) msetnx(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "pairs")
	var pairs [][]byte
	free := true
	for i := 0; i < n; i++ {
		k, v := mt.key(t), mt.value(t)
		pairs = append(pairs, []byte(k), v)
		if _, ok := mt.model.live(k); ok {
			free = false
		}
	}
	wrote, err := mt.db.MSetNX(pairs...)
	if err != nil || wrote != free {
		t.Fatalf("msetnx %q: %v, %v; model %v", pairs, wrote, err, free)
	}
	if free {
		for i := 0; i < len(pairs); i += 2 {
			mt.model.m[string(pairs[i])] = modelEntry{val: pairs[i+1]}
		}
	}
}

// update appends a drawn suffix to the value, keeping the expiry, or
// declines to write, as APPEND and its kin do through Update.
func (mt *modelTest) update(t *rapid.T) {
	k, suffix := mt.key(t), mt.value(t)
	write := rapid.Bool().Draw(t, "write")
	e, existed := mt.model.live(k)
	err := mt.db.Update([]byte(k), func(cur Current) (Change, error) {
		if cur.Exists != existed || !bytes.Equal(cur.Value, e.val) || cur.ExpireAt != e.expireAt {
			t.Fatalf("update %q sees %q %v %d; model %q %v %d", k, cur.Value, cur.Exists, cur.ExpireAt,
				e.val, existed, e.expireAt)
		}
		v := append(append([]byte{}, cur.Value...), suffix...)
		return Change{Write: write, Value: v, ExpireAt: cur.ExpireAt}, nil
	})
	if err != nil {
		t.Fatalf("update %q: %v", k, err)
	}
	if write {
		mt.model.m[k] = modelEntry{val: append(append([]byte{}, e.val...), suffix...), expireAt: e.expireAt}
	}
}

// txFlush runs a transaction that writes, flushes, and writes again: what
// it wrote before the flush is gone with the rest.
func (mt *modelTest) txFlush(t *rapid.T) {
	before, after := mt.key(t), mt.key(t)
	v := mt.value(t)
	ran, err := mt.db.Atomic(nil, func(tx *Tx) {
		tx.Set([]byte(before), []byte("x"), SetOptions{})
		tx.FlushAll()
		tx.Set([]byte(after), v, SetOptions{})
	})
	if err != nil || !ran {
		t.Fatalf("transaction with a flush: ran %v, %v", ran, err)
	}
	clear(mt.model.m)
	mt.model.m[after] = modelEntry{val: v}
}

func (mt *modelTest) scan(t *rapid.T) {
	pattern := rapid.SampledFrom([]string{"", "*", "user:*", "user:?", "[a-c]"}).Draw(t, "match")
	count := rapid.IntRange(1, 20).Draw(t, "count")
	got := map[string]bool{}
	cursor := uint64(0)
	for i := 0; ; i++ {
		next, keys, err := mt.db.Scan(cursor, []byte(pattern), count)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			got[string(k)] = true
		}
		if next == 0 {
			break
		}
		if i > 10000 {
			t.Fatal("scan does not terminate")
		}
		cursor = next
	}
	var want []string
	for _, k := range mt.keys {
		if _, ok := mt.model.live(k); ok && matches(pattern, k) {
			want = append(want, k)
		}
	}
	sort.Strings(want)
	var have []string
	for k := range got {
		have = append(have, k)
	}
	sort.Strings(have)
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Fatalf("scan %q: %q, model %q", pattern, have, want)
	}
}

func matches(pattern, k string) bool {
	switch pattern {
	case "", "*":
		return true
	case "user:*":
		return len(k) >= 5 && k[:5] == "user:"
	case "user:?":
		return len(k) == 6 && k[:5] == "user:"
	case "[a-c]":
		return len(k) == 1 && k[0] >= 'a' && k[0] <= 'c'
	}
	panic(pattern)
}

// check compares every key with the model.
func (mt *modelTest) check(t *rapid.T) {
	for _, k := range mt.keys {
		v, err := mt.db.Get([]byte(k))
		e, ok := mt.model.live(k)
		if ok != (err == nil) || (ok && !bytes.Equal(v, e.val)) {
			t.Fatalf("key %q: %q, %v; model %q, %v", k, v, err, e.val, ok)
		}
		if ok {
			ttl, _ := mt.db.PTTL([]byte(k))
			if (e.expireAt == 0) != (ttl == -1) {
				t.Fatalf("key %q: pttl %d, model expires at %d", k, ttl, e.expireAt)
			}
		}
	}
}

func bkeys(keys []string) [][]byte {
	b := make([][]byte, len(keys))
	for i, k := range keys {
		b[i] = []byte(k)
	}
	return b
}
