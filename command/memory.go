package command

import (
	"math"
	"runtime/debug"

	"github.com/pykv/pykv/internal/redisfmt"
)

// MemoryUser is a Store that can estimate a key's memory. *storage.DB
// implements it; with a Store that does not, MEMORY USAGE is an error.
type MemoryUser interface {
	// MemoryUsage estimates the bytes key takes in memory; ok is false
	// for a missing key.
	MemoryUsage(key []byte) (n int64, ok bool)
}

// MEMORY USAGE key [SAMPLES count]: Redis's parse (SAMPLES must be a
// non-negative integer; it samples nested values, of which pykv has none,
// so it changes nothing). The estimate is the engine's
// (storage.DB.MemoryUsage): the key's keydir record, and its cached
// value if it is cached; a value only on disk takes no memory.
func (t *Table) memoryUsage(s *Session, argv [][]byte) Reply {
	for j := 3; j < len(argv); j++ {
		if !is(argv[j], "SAMPLES") || j+1 >= len(argv) {
			return errSyntax
		}
		n, ok := redisfmt.ParseInt(argv[j+1])
		if !ok {
			return errNotInteger
		}
		if n < 0 {
			return errSyntax
		}
		j++
	}
	m, ok := t.store.(MemoryUser)
	if !ok {
		return Err("MEMORY USAGE is not supported by this storage engine")
	}
	n, ok := m.MemoryUsage(argv[2])
	if !ok {
		return Nil
	}
	return Int(n)
}

// memoryHelp is Redis 7.0's MEMORY HELP, line for line: pykv has each of
// these subcommands.
var memoryHelp = []string{
	"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
	"HELP",
	"    Prints this help.",
}

// MEMORY HELP
func (t *Table) memoryHelpCmd(_ *Session, _ [][]byte) Reply {
	lines := make([]Reply, len(memoryHelp))
	for i, l := range memoryHelp {
		lines[i] = Status(l)
	}
	return Array(lines)
}

// MEMORY DOCTOR: Redis's report for an instance under 5 MB of heap, or
// that it found nothing; pykv checks none of Redis's fragmentation
// conditions, which are the allocator's.
func (t *Table) memoryDoctor(_ *Session, _ [][]byte) Reply {
	heap, _ := goHeap()
	if heap < 5<<20 {
		return Text([]byte("Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."))
	}
	return Text([]byte("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."))
}

// MEMORY MALLOC-STATS: Redis's answer for an allocator without a report.
func (t *Table) memoryMallocStats(_ *Session, _ [][]byte) Reply {
	return Bytes([]byte("Stats not supported for the current allocator")) // a bulk string, as Redis without jemalloc
}

// MEMORY PURGE returns freed heap to the operating system.
func (t *Table) memoryPurge(_ *Session, _ [][]byte) Reply {
	debug.FreeOSMemory()
	return OK
}

// MEMORY STATS: the subset of Redis's map pykv can fill, with Redis's
// names: the Go heap as peak.allocated and total.allocated, the keydir
// and cache as dataset, the keys.
func (t *Table) memoryStats(s *Session, _ [][]byte) Reply {
	heap, sys := goHeap()
	st := t.storeFor(s).Stats()
	perKey := int64(0)
	if st.Keys > 0 {
		perKey = int64(math.Round(float64(heap) / float64(st.Keys)))
	}
	return mapReply(
		"total.allocated", Int(int64(heap)),
		"keys.count", Int(st.Keys),
		"keys.bytes-per-key", Int(perKey),
		"dataset.bytes", Int(st.CacheBytes),
		"pykv.sys", Int(int64(sys)),
		"pykv.cache-budget", Int(st.CacheBudget),
	)
}
