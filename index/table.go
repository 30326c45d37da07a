package index

import (
	"encoding/binary"
	"math/bits"
)

// The open-addressing table of a shard, in the manner of a Swiss table: slots
// come in groups of eight, each group a word of control bytes followed by the
// eight arena references. A control byte says whether its slot is empty,
// deleted (a tombstone that keeps probe chains intact) or full, and for a full
// slot holds 7 bits of the key's hash (h2), so a probe compares eight slots
// with a few word operations and reads key bytes only for the rare h2 match.

const (
	groupSize = 8

	ctrlEmpty   uint8 = 0b1000_0000
	ctrlDeleted uint8 = 0b1111_1110
	// A full slot's control byte is 0b0hhh_hhhh: the high bit tells it apart.

	// maxLoadPerGroup caps the table at 7/8 full (counting tombstones), as Go's
	// own maps do: with group-wide matching a lookup still touches about one
	// group, and every probe chain is guaranteed to end at an empty slot.
	maxLoadPerGroup = 7

	// h2Mask picks the hash bits kept in the control byte: the lowest seven.
	// The top bits choose the shard and the bits just below them the home
	// group (see shard.home), so the low bits are ones neither has looked at
	// (there are at most 2^16 shards and tables stay below 2^29 groups).
	h2Mask = 0x7f

	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// group is eight slots of the table: 40 bytes, no pointers.
type group struct {
	ctrl [groupSize]uint8
	refs [groupSize]uint32 // arena reference of each full slot's record
}

var emptyCtrl = [groupSize]uint8{ctrlEmpty, ctrlEmpty, ctrlEmpty, ctrlEmpty, ctrlEmpty, ctrlEmpty, ctrlEmpty, ctrlEmpty}

func newGroups(n int) []group {
	gs := make([]group, n)
	for i := range gs {
		gs[i].ctrl = emptyCtrl
	}
	return gs
}

// groupsFor returns the number of groups (a power of two) that holds n keys
// within the load limit.
func groupsFor(n int) int {
	g := 1
	for g*maxLoadPerGroup < n {
		g <<= 1
	}
	return g
}

func (g *group) word() uint64 { return binary.LittleEndian.Uint64(g.ctrl[:]) }

func h2(h uint64) uint8 { return uint8(h & h2Mask) }

// matchH2 marks (high bit of each byte) the slots whose control byte equals
// c. It can report a false positive next to a true match, never on an empty
// or deleted slot; callers compare keys anyway.
func matchH2(w uint64, c uint8) uint64 {
	v := w ^ (lsbs * uint64(c))
	return ((v - lsbs) &^ v) & msbs
}

// matchEmpty marks empty slots: high bit set and bit 6 clear.
func matchEmpty(w uint64) uint64 { return (w &^ (w << 6)) & msbs }

// matchFree marks empty and deleted slots.
func matchFree(w uint64) uint64 { return w & msbs }

// matchFull marks slots holding a key.
func matchFull(w uint64) uint64 { return ^w & msbs }

// slotOf returns the index of the lowest marked slot.
func slotOf(m uint64) int { return bits.TrailingZeros64(m) >> 3 }
