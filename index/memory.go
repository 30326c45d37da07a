package index

import "encoding/binary"

// KeyBytes is what one key's record costs the keydir: its arena record
// (the key's length as a uvarint, the key, the entry's fields with the LRU clock and, with an
// expiry, the TTL tail and its slot in the shard's ttl list) and its
// table slot (a control byte and a reference). The table's empty slots
// and the arena's free tails, shared by every key, are not counted.
func KeyBytes(keyLen int, hasTTL bool) int64 {
	var tmp [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(tmp[:], uint64(keyLen)<<1) + keyLen + fixedSize + 1 + 4
	if hasTTL {
		n += ttlSize + 4
	}
	return int64(n)
}
