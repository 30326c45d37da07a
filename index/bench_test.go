package index

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/benchcpu"
)

// benchKeyLen is the key size of the benchmarks: "user:" and 11 digits.
const benchKeyLen = 16

// benchKey writes the i-th benchmark key into dst (benchKeyLen bytes).
func benchKey(dst []byte, i int) []byte {
	dst = append(dst[:0], "user:00000000000"...)
	for p := len(dst) - 1; i > 0; p-- {
		dst[p] = byte('0' + i%10)
		i /= 10
	}
	return dst
}

// benchKeys returns n keys in one flat buffer, to keep the key set out of
// the way of the GC and of the measurements.
func benchKeys(n int) []byte {
	flat := make([]byte, 0, n*benchKeyLen)
	var k []byte
	for i := range n {
		k = benchKey(k, i)
		flat = append(flat, k...)
	}
	return flat
}

func keyAt(flat []byte, i int) []byte {
	return flat[i*benchKeyLen : (i+1)*benchKeyLen : (i+1)*benchKeyLen]
}

func benchEntry(i int) Entry {
	return Entry{FileID: uint32(i >> 20), Offset: uint64(i) * 64, Size: 64, Seq: uint64(i + 1)}
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// gcCost times a forced collection with the structure under test live, and
// returns its wall time and the stop-the-world pause it added.
func gcCost() (wall, pause time.Duration) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.PauseTotalNs
	start := time.Now()
	runtime.GC()
	wall = time.Since(start)
	runtime.ReadMemStats(&ms)
	return wall, time.Duration(ms.PauseTotalNs - before)
}

func reportMemory(b *testing.B, n int, heap uint64, wall, pause time.Duration) {
	perKey := float64(heap) / float64(n)
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(perKey-benchKeyLen, "overhead-B/key")
	b.ReportMetric(float64(wall.Microseconds())/1000, "gc-ms")
	b.ReportMetric(float64(pause.Microseconds()), "gc-pause-µs")
}

// BenchmarkKeydirMemory measures what a keydir of 1M or 5M 16-byte keys
// holds on the heap (B/key, overhead-B/key beyond the key bytes) and what a
// full GC costs with it live: gc-ms is the wall time of runtime.GC, mostly
// concurrent marking; gc-pause-µs the stop-the-world part. Each op builds
// one keydir. The 5M case takes a few seconds and about 250 MB of RSS
// (a Go map of the same keys would need over 750 MB); -short skips it.
// Run with -benchtime=1x:
//
//	go test -run '^$' -bench KeydirMemory -benchtime=1x ./index/
func BenchmarkKeydirMemory(b *testing.B) {
	for _, tc := range []struct {
		name    string
		n       int
		ttlEach int // one key in ttlEach has an expiry; 0 = none
	}{
		{"keys=1M", 1_000_000, 0},
		{"keys=5M", 5_000_000, 0},
		{"keys=1M/ttl=10%", 1_000_000, 10},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.n > 1_000_000 && testing.Short() {
				b.Skip("5M keys: skipped with -short")
			}
			var key []byte
			for range b.N {
				base := heapAfterGC()
				k := NewKeydir(0)
				for i := range tc.n {
					key = benchKey(key, i)
					e := benchEntry(i)
					if tc.ttlEach > 0 && i%tc.ttlEach == 0 {
						e.ExpireAt = 1_700_000_000_000 + int64(i)
					}
					k.Put(key, e)
				}
				heap := heapAfterGC() - base
				wall, pause := gcCost()
				reportMemory(b, tc.n, heap, wall, pause)
				b.ReportMetric(float64(k.Bytes())/float64(tc.n), "Bytes()/key")
				runtime.KeepAlive(k)
			}
		})
	}
}

// BenchmarkGoMapMemory is the baseline the keydir is measured against: a
// map[string]Entry holding the same keys.
//
//	go test -run '^$' -bench GoMapMemory -benchtime=1x ./index/
func BenchmarkGoMapMemory(b *testing.B) {
	const n = 1_000_000
	var key []byte
	for range b.N {
		base := heapAfterGC()
		m := make(map[string]Entry)
		for i := range n {
			key = benchKey(key, i)
			m[string(key)] = benchEntry(i)
		}
		heap := heapAfterGC() - base
		wall, pause := gcCost()
		reportMemory(b, n, heap, wall, pause)
		runtime.KeepAlive(m)
	}
}

const benchKeyspace = 1_000_000

func filledKeydir(b *testing.B) (*Keydir, []byte) {
	keys := benchKeys(benchKeyspace)
	k := NewKeydir(0)
	for i := range benchKeyspace {
		k.Put(keyAt(keys, i), benchEntry(i))
	}
	b.ResetTimer()
	return k, keys
}

// BenchmarkKeydirGet looks up random existing keys among 1M from all CPUs.
func BenchmarkKeydirGet(b *testing.B) {
	k, keys := filledKeydir(b)
	defer benchcpu.Report(b, benchcpu.Now(b))
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			if _, ok := k.Get(keyAt(keys, r.IntN(benchKeyspace))); !ok {
				panic("missing key")
			}
		}
	})
}

// BenchmarkKeydirAccess is BenchmarkKeydirGet through Access, the lookup
// of a GET, which also sets the key's LRU clock: a store the first time a
// key is read in a clock second, a load alone after.
func BenchmarkKeydirAccess(b *testing.B) {
	k, keys := filledKeydir(b)
	k.SetClock(k.Clock() + 1) // every key's first access in the run stores
	defer benchcpu.Report(b, benchcpu.Now(b))
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			if _, ok := k.Access(keyAt(keys, r.IntN(benchKeyspace))); !ok {
				panic("missing key")
			}
		}
	})
}

// BenchmarkKeydirPut overwrites random keys among 1M from all CPUs, as SETs
// on existing keys do.
func BenchmarkKeydirPut(b *testing.B) {
	k, keys := filledKeydir(b)
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			i := r.IntN(benchKeyspace)
			k.Put(keyAt(keys, i), benchEntry(i))
		}
	})
}

// BenchmarkKeydirInsert adds new keys from all CPUs, growing the tables.
func BenchmarkKeydirInsert(b *testing.B) {
	k := NewKeydir(0)
	var next int64
	var mu = make(chan struct{}, 1)
	b.RunParallel(func(pb *testing.PB) {
		var key []byte
		for pb.Next() {
			mu <- struct{}{}
			i := next
			next++
			<-mu
			key = fmt.Appendf(key[:0], "insert:%d", i)
			k.Put(key, benchEntry(int(i)))
		}
	})
}

// BenchmarkCacheGet reads values of 100 bytes that are all cached, from all
// CPUs.
func BenchmarkCacheGet(b *testing.B) {
	const n = 100_000
	keys := benchKeys(n)
	c := NewCache(1<<30, 0)
	val := make([]byte, 100)
	for i := range n {
		c.Put(keyAt(keys, i), uint64(i), val)
	}
	b.ResetTimer()
	defer benchcpu.Report(b, benchcpu.Now(b))
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			i := r.IntN(n)
			if _, ok := c.Get(keyAt(keys, i), uint64(i)); !ok {
				panic("cache miss")
			}
		}
	})
}

// BenchmarkCachePut inserts values of 100 bytes into a full cache from one
// goroutine: every Put adds a key the cache does not hold (the keys cycle
// through twice as many as fit) and evicts the least recently used one.
func BenchmarkCachePut(b *testing.B) {
	const n = 100_000
	keys := benchKeys(n)
	val := make([]byte, 100)
	c := NewCache(n/2*entryCost(benchKeyLen, len(val)), 1)
	i := 0
	start := benchcpu.Now(b)
	for b.Loop() {
		c.Put(keyAt(keys, i%n), uint64(i), val)
		i++
	}
	benchcpu.Report(b, start)
}

// BenchmarkCacheMemory reports the heap a cache of 100,000 values of 100
// bytes takes per entry beyond the key and value bytes themselves, against
// the cacheEntryOverhead the budget counts.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 100_000
	keys := benchKeys(n)
	val := make([]byte, 100)
	for b.Loop() {
		before := heapAfterGC()
		c := NewCache(1<<30, 0)
		for i := range n {
			c.Put(keyAt(keys, i), uint64(i), val)
		}
		after := heapAfterGC()
		b.ReportMetric(float64(after-before)/n-float64(benchKeyLen+len(val)), "B/entry-overhead")
		runtime.KeepAlive(c)
	}
}

// BenchmarkKeydirLoad loads 5M keys (1M with -short) into a reserved
// keydir from one goroutine, as start-up does from a snapshot index: with a
// Loader in hash order (how merges write the index), the same with the
// arena reserved too (start-up's case, Keydir.ReserveArena), with a Loader
// in insertion order, and with Put in insertion order. ns/key is the
// figure; cpu-ns/key, the process's CPU time (page faults and the GC
// included), is the one to compare on a machine shared with other work.
func BenchmarkKeydirLoad(b *testing.B) {
	n := 5_000_000
	if testing.Short() {
		n = 1_000_000
	}
	keys := benchKeys(n)
	byHash := make([]int, n)
	for i := range byHash {
		byHash[i] = i
	}
	hk := NewKeydir(0)
	hashes := make([]uint64, n)
	for i := range hashes {
		hashes[i] = hk.Hash(keyAt(keys, i))
	}
	slices.SortFunc(byHash, func(a, b int) int { return cmp.Compare(hashes[a], hashes[b]) })
	hashes = nil
	// The keys themselves in hash order, as a snapshot index holds them: the
	// loader reads them front to back either way.
	sorted := make([]byte, 0, len(keys))
	for _, i := range byHash {
		sorted = append(sorted, keyAt(keys, i)...)
	}
	for _, tc := range []struct {
		name   string
		keys   []byte
		loader bool
		arena  bool
	}{
		{"loader/hash-order", sorted, true, false},
		{"loader/hash-order-arena", sorted, true, true},
		{"loader/insertion-order", keys, true, false},
		{"put/insertion-order", keys, false, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				k := NewKeydir(0)
				runtime.GC()
				b.StartTimer()
				start, cpu := time.Now(), benchcpu.Now(b)
				k.Reserve(int64(n))
				if tc.arena {
					k.ReserveArena(RecordBytes(int64(n), int64(n)*benchKeyLen, 0))
				}
				l := k.NewLoader()
				for i := range n {
					if tc.loader {
						l.Put(keyAt(tc.keys, i), benchEntry(i))
					} else {
						k.Put(keyAt(tc.keys, i), benchEntry(i))
					}
				}
				l.Close()
				k.LoadDone()
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/key")
				b.ReportMetric(float64(benchcpu.Now(b)-cpu)/float64(n), "cpu-ns/key")
			}
		})
	}
}
