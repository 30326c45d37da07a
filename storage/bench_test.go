package storage

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/benchcpu"

	"github.com/pykv/pykv/segment"
)

// benchKeys is the key count of the restart benchmarks: 1M by default,
// PYKV_BENCH_KEYS=5000000 for the 5M figure.
func benchKeys() int {
	if n, err := strconv.Atoi(os.Getenv("PYKV_BENCH_KEYS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func benchKey(i int) []byte { return []byte(fmt.Sprintf("key:%012d", i)) }

// loadDir writes n keys of 100-byte values with fsync off, optionally
// merged into a snapshot, and returns the directory.
func loadDir(b *testing.B, n int, merge bool) string {
	b.Helper()
	dir := b.TempDir()
	db, err := Open(dir, Options{Logger: quiet(), Sync: segment.SyncNo, NoHousekeeper: true, CacheBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 100)
	const batch = 1000
	pairs := make([][]byte, 0, 2*batch)
	for i := 0; i < n; i += batch {
		pairs = pairs[:0]
		for j := i; j < i+batch && j < n; j++ {
			pairs = append(pairs, benchKey(j), val)
		}
		if err := db.MSet(pairs...); err != nil {
			b.Fatal(err)
		}
	}
	if merge {
		if _, err := db.Merge(); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkOpen measures start-up (recovery) for benchKeys() keys of 100
// bytes: from the log alone, and from a snapshot.
func BenchmarkOpen(b *testing.B) {
	n := benchKeys()
	for _, merged := range []bool{false, true} {
		name := fmt.Sprintf("log/keys=%d", n)
		if merged {
			name = fmt.Sprintf("snapshot/keys=%d", n)
		}
		b.Run(name, func(b *testing.B) {
			dir := loadDir(b, n, merged)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				db, err := Open(dir, Options{Logger: quiet(), NoHousekeeper: true, ExpiryInterval: -1})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/open")
				b.StopTimer()
				if db.DBSize() != int64(n) {
					b.Fatalf("%d keys after open, want %d", db.DBSize(), n)
				}
				db.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkOpenDir opens the data directory PYKV_BENCH_DIR as it is (a
// copy of a real one, say the 5M-key directory of docs/performance.md's
// start-up figures) and closes it again, b.N times: start-up without the
// minutes BenchmarkOpen spends writing its directory, and the way to
// profile it (-cpuprofile). Skipped when the variable is unset. Each open
// replays what the last one's close left in the log, which for a merged
// directory is nothing.
func BenchmarkOpenDir(b *testing.B) {
	dir := os.Getenv("PYKV_BENCH_DIR")
	if dir == "" {
		b.Skip("PYKV_BENCH_DIR not set")
	}
	var wall, cpu time.Duration
	for range b.N {
		start, cpu0 := time.Now(), benchcpu.Now(b)
		db, err := Open(dir, Options{Logger: quiet(), NoHousekeeper: true, ExpiryInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		cpu += benchcpu.Now(b) - cpu0
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/open")
}

// BenchmarkSet: Set at each fsync policy with 1, 8 and 64 writers.
func BenchmarkSet(b *testing.B) {
	for _, p := range []segment.SyncPolicy{segment.SyncNo, segment.SyncEverySec, segment.SyncAlways} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", p, writers), func(b *testing.B) {
				db, err := Open(b.TempDir(), Options{Logger: quiet(), Sync: p, NoHousekeeper: true})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				val := make([]byte, 100)
				var n atomic.Int64
				b.SetParallelism((writers + 1) / 2) // GOMAXPROCS is 2 here
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					key := make([]byte, 16)
					for pb.Next() {
						binary.BigEndian.PutUint64(key, uint64(n.Add(1)%100_000))
						if _, err := db.Set(key, val, SetOptions{}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(db.Stats().Fsyncs)/float64(b.N), "fsyncs/op")
			})
		}
	}
}

// BenchmarkGet: hot (every value cached) and cold (cache off: every Get
// reads the record from the snapshot's mapping or a segment).
func BenchmarkGet(b *testing.B) {
	const n = 100_000
	for _, mode := range []string{"hot", "cold-segment", "cold-snapshot"} {
		b.Run(mode, func(b *testing.B) {
			dir := loadDir(b, n, mode == "cold-snapshot")
			cache := int64(64 << 20)
			if mode != "hot" {
				cache = -1
			}
			db, err := Open(dir, Options{Logger: quiet(), CacheBytes: cache, NoHousekeeper: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if mode == "hot" {
				for i := 0; i < n; i++ {
					db.Get(benchKey(i))
				}
			}
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = benchKey(i)
			}
			var i atomic.Int64
			b.ResetTimer()
			defer benchcpu.Report(b, benchcpu.Now(b))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.Get(keys[i.Add(7919)%n]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMerge: merge throughput over benchKeys()/4 keys with every key
// written twice.
func BenchmarkMerge(b *testing.B) {
	n := benchKeys() / 4
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := loadDir(b, n, false)
		db, err := Open(dir, Options{Logger: quiet(), Sync: segment.SyncNo, NoHousekeeper: true, CacheBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		val := make([]byte, 100)
		for j := 0; j < n; j++ {
			db.Set(benchKey(j), val, SetOptions{})
		}
		b.StartTimer()
		st, err := db.Merge()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.BytesRead)/st.Duration.Seconds()/1e6, "MB/s-read")
		b.ReportMetric(float64(st.Keys)/st.Duration.Seconds(), "keys/s")
		db.Close()
	}
}

// BenchmarkMergeSnapshotFile: a full merge of one snapshot file of
// benchKeys() keys (16-byte keys, 100-byte values) of which every other
// key was overwritten since, in a segment: the merge reads the file's
// live half and the segment. A file of version 3 is read through its
// index, in hash order, and only its live records are read.
func BenchmarkMergeSnapshotFile(b *testing.B) {
	n := benchKeys()
	val := make([]byte, 100)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := loadDir(b, n, true)
		db, err := Open(dir, Options{Logger: quiet(), Sync: segment.SyncNo, NoHousekeeper: true, CacheBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < n; j += 2 {
			db.Set(benchKey(j), val, SetOptions{})
		}
		b.StartTimer()
		cpu := benchcpu.Now(b)
		st, err := db.Merge()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(benchcpu.Now(b)-cpu)/1e6, "cpu-ms/merge")
		b.ReportMetric(float64(st.Duration.Milliseconds()), "ms/merge")
		db.Close()
	}
}
