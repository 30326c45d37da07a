package index

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"
)

// Hash functions that make collisions common, so the property test reaches
// the paths a good hash almost never takes.
var testHashes = map[string]func([]byte) uint64{
	"xxhash": xxhash.Sum64,
	// every key has the same 64-bit hash
	"constant": func([]byte) uint64 { return 0xdead_beef_cafe_f00d },
	// four hash values, spread over all bits: full collisions across shards
	"four": func(k []byte) uint64 { return (xxhash.Sum64(k)%4 + 1) * 0x9e37_79b9_7f4a_7c15 },
	// only the low byte varies: one shard, one h2, many home groups
	"lowbyte": func(k []byte) uint64 { return xxhash.Sum64(k) & 0xff },
}

// TestKeydirModel runs random operations against a Keydir and a plain map
// and compares them after every step, with a SCAN running alongside whose
// guarantee is checked when it completes.
func TestKeydirModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hashName := rapid.SampledFrom([]string{"xxhash", "constant", "four", "lowbyte"}).Draw(t, "hash")
		k := newKeydir(rapid.SampledFrom([]int{1, 2, 8}).Draw(t, "shards"), testHashes[hashName])
		model := map[string]Entry{}
		pool := rapid.IntRange(1, 2000).Draw(t, "pool")
		var seq uint64

		keyGen := rapid.Custom(func(t *rapid.T) []byte {
			i := rapid.IntRange(0, pool).Draw(t, "key")
			if i%97 == 96 { // now and then a key too long to share a chunk
				return bytes.Repeat(fmt.Appendf(nil, "%d/", i), 2000)
			}
			return fmt.Appendf(nil, "key-%d", i)
		})
		entryGen := func(t *rapid.T) Entry {
			seq++
			e := Entry{
				FileID: rapid.Uint32().Draw(t, "file"),
				Offset: rapid.Uint64Range(0, MaxOffset).Draw(t, "offset"),
				Size:   rapid.Uint32().Draw(t, "size"),
				Seq:    seq,
			}
			if rapid.Bool().Draw(t, "ttl") {
				e.ExpireAt = rapid.Int64().Filter(func(x int64) bool { return x != 0 }).Draw(t, "expire")
			}
			return e
		}

		// the scan in progress: keys present since it started, keys returned
		var scanning bool
		var cursor uint64
		mustSee, seen := map[string]bool{}, map[string]bool{}
		gone := func(key []byte) { delete(mustSee, string(key)) }

		// First fill, then drain, so tables grow and shrink and arenas compact.
		steps := rapid.IntRange(1, 4000).Draw(t, "steps")
		fill := rapid.IntRange(0, 9).Draw(t, "fill")
		for i := range steps {
			key := keyGen.Draw(t, "k")
			old, had := model[string(key)]
			op := rapid.IntRange(0, 9).Draw(t, "op")
			if i < steps/2 && op < fill {
				op = 0 // put
			} else if i >= steps/2 && op < fill {
				op = 3 // delete
			}
			switch op {
			case 0, 1, 2: // put
				e := entryGen(t)
				got, ok := k.Put(key, e)
				if ok != had || got != old {
					t.Fatalf("Put %q: old %+v %v, model %+v %v", key, got, ok, old, had)
				}
				model[string(key)] = e
			case 3, 4: // delete
				got, ok := k.Delete(key)
				if ok != had || got != old {
					t.Fatalf("Delete %q: old %+v %v, model %+v %v", key, got, ok, old, had)
				}
				delete(model, string(key))
				gone(key)
			case 5: // compare-and-swap, with the right seq or a stale one
				oldSeq := old.Seq
				if rapid.Bool().Draw(t, "stale") {
					oldSeq = rapid.Uint64Range(0, seq).Draw(t, "oldSeq")
				}
				e := entryGen(t)
				want := had && old.Seq == oldSeq
				if got := k.CompareAndSwap(key, oldSeq, e); got != want {
					t.Fatalf("CompareAndSwap %q seq %d: %v, model %v (%+v)", key, oldSeq, got, want, old)
				}
				if want {
					model[string(key)] = e
				}
			case 6: // delete-if
				s := old.Seq
				if rapid.Bool().Draw(t, "stale") {
					s = rapid.Uint64Range(0, seq).Draw(t, "s")
				}
				want := had && old.Seq == s
				if got := k.DeleteIf(key, s); got != want {
					t.Fatalf("DeleteIf %q seq %d: %v, model %v (%+v)", key, s, got, want, old)
				}
				if want {
					delete(model, string(key))
					gone(key)
				}
			case 7, 8: // get
				got, ok := k.Get(key)
				if ok != had || got != old {
					t.Fatalf("Get %q: %+v %v, model %+v %v", key, got, ok, old, had)
				}
			case 9: // a step of the running scan
				if !scanning {
					scanning, cursor = true, 0
					clear(seen)
					clear(mustSee)
					for key := range model {
						mustSee[key] = true
					}
				}
				cursor = k.Scan(cursor, rapid.IntRange(1, 20).Draw(t, "count"), func(key []byte, e Entry) {
					seen[string(key)] = true
					if m, ok := model[string(key)]; !ok || m != e {
						t.Fatalf("Scan returned %q %+v, model %+v %v", key, e, m, ok)
					}
				})
				if cursor == 0 {
					scanning = false
					for key := range mustSee {
						if !seen[key] {
							t.Fatalf("Scan missed %q, present throughout", key)
						}
					}
				}
			}
			if k.Len() != int64(len(model)) {
				t.Fatalf("Len %d, model %d", k.Len(), len(model))
			}
		}
		checkInvariants(t, k)
		var withTTL int64
		for _, e := range model {
			if e.ExpireAt != 0 {
				withTTL++
			}
		}
		if k.LenWithTTL() != withTTL {
			t.Fatalf("LenWithTTL %d, model %d", k.LenWithTTL(), withTTL)
		}
		n := 0
		k.Range(func(key []byte, e Entry) bool {
			n++
			if m, ok := model[string(key)]; !ok || m != e {
				t.Fatalf("Range returned %q %+v, model %+v %v", key, e, m, ok)
			}
			return true
		})
		if n != len(model) {
			t.Fatalf("Range returned %d keys, model has %d", n, len(model))
		}
		// a whole scan in one go returns every key
		all := map[string]bool{}
		for c := k.Scan(0, 7, func(key []byte, _ Entry) { all[string(key)] = true }); c != 0; {
			c = k.Scan(c, 7, func(key []byte, _ Entry) { all[string(key)] = true })
		}
		if len(all) != len(model) {
			t.Fatalf("full Scan returned %d distinct keys, model has %d", len(all), len(model))
		}
	})
}
