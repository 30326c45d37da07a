package index

import "sync/atomic"

// hugePageSize is the size of a transparent huge page on x86-64 and arm64
// with 4 KiB base pages.
const hugePageSize = 2 << 20

// slab is memory set aside for arena chunks by Keydir.ReserveArena, so that
// a bulk load takes its chunks from one large allocation that the kernel can
// back with huge pages (see adviseHuge): filling a fresh 4 KiB page costs a
// page fault of about 10 µs on a virtual machine, which for the 200 MB of
// records of 5M keys was most of the load's time. Chunks are handed out
// front to back, maxChunkSize each, from any shard; the slab is freed by the
// GC once no chunk of it is referenced (compaction never takes chunks from
// it, so a shard that compacts lets go of its part).
type slab struct {
	mem  []byte
	next atomic.Int64 // offset of the next chunk to hand out
}

func newSlab(size int64) *slab {
	size = (size + maxChunkSize - 1) &^ (maxChunkSize - 1)
	return &slab{mem: make([]byte, size)}
}

// chunk returns an empty chunk of capacity maxChunkSize, or nil when the
// slab is used up.
func (sl *slab) chunk() []byte {
	off := sl.next.Add(maxChunkSize) - maxChunkSize
	if off+maxChunkSize > int64(len(sl.mem)) {
		return nil
	}
	return sl.mem[off : off : off+maxChunkSize]
}
