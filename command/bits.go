package command

import (
	"crypto/subtle"
	"errors"
	"math/bits"

	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/storage"
)

// Errors of the bit commands, in Redis 7's words.
var (
	errBitOffset = Err("bit offset is not an integer or out of range")
	errBitValue  = Err("bit is not an integer or out of range")
	errBitArg    = Err("The bit argument must be 1 or 0.")
)

// bitOffset parses a bit offset as Redis's getBitOffsetFromArgument: an
// integer from 0 to just under the value-size limit in bytes, times 8.
func bitOffset(arg []byte, limit int) (int64, bool) {
	n, ok := redisfmt.ParseInt(arg)
	if !ok || n < 0 || n>>3 >= int64(limit) {
		return 0, false
	}
	return n, true
}

// getValue returns key's value, or nil for a missing key, and whether it
// exists.
func (t *Table) getValue(s *Session, key []byte) ([]byte, bool, Reply) {
	v, err := t.storeFor(s).Get(key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, false, Reply{}
	case err != nil:
		return nil, false, storeError(err)
	}
	return v, true, Reply{}
}

// GETBIT key offset
func (t *Table) getbit(s *Session, argv [][]byte) Reply {
	off, ok := bitOffset(argv[2], t.storeFor(s).MaxValueSize())
	if !ok {
		return errBitOffset
	}
	v, _, rep := t.getValue(s, argv[1])
	if rep.Kind == KindError {
		return rep
	}
	return Int(int64(bitAt(v, off)))
}

// bitAt is bit off of v, counted from the most significant bit of the
// first byte; 0 past the end.
func bitAt(v []byte, off int64) int {
	if off>>3 >= int64(len(v)) {
		return 0
	}
	return int(v[off>>3]>>(7-off&7)) & 1
}

// SETBIT key offset value: the value grows with zero bytes to reach the
// offset, keeping its expiry; the reply is the bit's old value.
func (t *Table) setbit(s *Session, argv [][]byte) Reply {
	store := t.storeFor(s)
	off, ok := bitOffset(argv[2], store.MaxValueSize())
	if !ok {
		return errBitOffset
	}
	on, ok := redisfmt.ParseInt(argv[3])
	if !ok || on&^1 != 0 {
		return errBitValue
	}
	var old int
	err := store.Update(argv[1], func(cur storage.Current) (storage.Change, error) {
		old = bitAt(cur.Value, off)
		need := int(off>>3) + 1
		if cur.Exists && old == int(on) && need <= len(cur.Value) {
			// The value stays and, as in Redis, no change is counted
			// (a WATCH holds), but Redis has unshared it as raw.
			return storage.Change{Retag: true, Build: storage.BuiltRaw}, nil
		}
		v := make([]byte, max(len(cur.Value), need))
		copy(v, cur.Value)
		mask := byte(1) << (7 - off&7)
		v[off>>3] &^= mask
		if on == 1 {
			v[off>>3] |= mask
		}
		return storage.Change{Write: true, Value: v, ExpireAt: cur.ExpireAt, Build: storage.BuiltRaw}, nil
	})
	if err != nil {
		return storeError(err)
	}
	return Int(int64(old))
}

// bitRange turns BITCOUNT's and BITPOS's start and end (in bytes, or with
// inBits in bits) into a range of bits [lo, hi] of a value of n bytes, by
// Redis's rules: negative ones count from the end and both are clamped to
// the value. It reports false for an empty range.
func bitRange(start, end int64, n int64, inBits bool) (lo, hi int64, ok bool) {
	total := n
	if inBits {
		total <<= 3
	}
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	if end >= total {
		end = total - 1
	}
	if start > end {
		return 0, 0, false
	}
	if inBits {
		return start, end, true
	}
	return start << 3, end<<3 + 7, true
}

// parseBitUnit parses BITCOUNT's and BITPOS's BYTE or BIT; false is a
// syntax error.
func parseBitUnit(arg []byte) (inBits, ok bool) {
	switch {
	case is(arg, "BIT"):
		return true, true
	case is(arg, "BYTE"):
		return false, true
	}
	return false, false
}

// BITCOUNT key [start end [BYTE|BIT]]
//
// As in Redis 7.0, a missing key is 0 before the arguments are looked at.
func (t *Table) bitcount(s *Session, argv [][]byte) Reply {
	v, exists, rep := t.getValue(s, argv[1])
	switch {
	case rep.Kind == KindError:
		return rep
	case !exists:
		return Int(0)
	}
	n := int64(len(v))
	lo, hi := int64(0), n*8-1
	switch len(argv) {
	case 2:
	case 4, 5:
		start, ok := redisfmt.ParseInt(argv[2])
		if !ok {
			return errNotInteger
		}
		end, ok := redisfmt.ParseInt(argv[3])
		if !ok {
			return errNotInteger
		}
		inBits := false
		if len(argv) == 5 {
			if inBits, ok = parseBitUnit(argv[4]); !ok {
				return errSyntax
			}
		}
		if start < 0 && end < 0 && start > end {
			return Int(0)
		}
		if lo, hi, ok = bitRange(start, end, n, inBits); !ok {
			return Int(0)
		}
	default:
		return errSyntax
	}
	return Int(countBits(v, lo, hi))
}

// countBits counts the set bits of v from bit lo to bit hi, inclusive.
func countBits(v []byte, lo, hi int64) int64 {
	var c int64
	for i := lo; i <= hi; {
		if i&7 == 0 && i+7 <= hi {
			c += int64(bits.OnesCount8(v[i>>3]))
			i += 8
			continue
		}
		c += int64(bitAt(v, i))
		i++
	}
	return c
}

// BITPOS key bit [start [end [BYTE|BIT]]]
//
// The position of the first bit set to bit in the range, or -1. A missing
// key is all zeros (0 for a clear bit, -1 for a set one); without an end,
// the bits after the value count as clear, so a value of ones answers its
// length in bits for a clear bit; with an end they do not.
func (t *Table) bitpos(s *Session, argv [][]byte) Reply {
	bit, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return errNotInteger
	}
	if bit != 0 && bit != 1 {
		return errBitArg
	}
	v, exists, rep := t.getValue(s, argv[1])
	switch {
	case rep.Kind == KindError:
		return rep
	case !exists:
		return Int(-(bit))
	}
	n := int64(len(v))
	lo, hi, nonEmpty := int64(0), n*8-1, n > 0
	endGiven := false
	switch len(argv) {
	case 3:
	case 4, 5, 6:
		start, ok := redisfmt.ParseInt(argv[3])
		if !ok {
			return errNotInteger
		}
		inBits := false
		if len(argv) == 6 {
			if inBits, ok = parseBitUnit(argv[5]); !ok {
				return errSyntax
			}
		}
		end := n - 1
		if inBits {
			end = n<<3 + 7
		}
		if len(argv) >= 5 {
			if end, ok = redisfmt.ParseInt(argv[4]); !ok {
				return errNotInteger
			}
			endGiven = true
		}
		lo, hi, nonEmpty = bitRange(start, end, n, inBits)
	default:
		return errSyntax
	}
	if !nonEmpty {
		return Int(-1)
	}
	for i := lo; i <= hi; i++ {
		if int64(bitAt(v, i)) == bit {
			return Int(i)
		}
	}
	if bit == 1 || endGiven {
		return Int(-1)
	}
	return Int(hi + 1)
}

// The operations of BITOP.
type bitOp int

const (
	bitAnd bitOp = iota
	bitOr
	bitXor
	bitNot
)

// Errors of BITOP, in Redis 7's words but the last, which is pykv's, as
// MULTI's for a Store without transactions.
var (
	errBitopNot  = Err("BITOP NOT must be called with a single source key.")
	errBitopNoTx = Err("BITOP is not supported by this storage engine")
)

// parseBitOp parses BITOP's operation, in any case.
func parseBitOp(arg []byte) (bitOp, bool) {
	switch {
	case is(arg, "AND"):
		return bitAnd, true
	case is(arg, "OR"):
		return bitOr, true
	case is(arg, "XOR"):
		return bitXor, true
	case is(arg, "NOT"):
		return bitNot, true
	}
	return 0, false
}

// BITOP AND|OR|XOR|NOT destkey key [key ...]
//
// As Redis: a missing source is an empty string, shorter sources are
// zero-filled to the longest, and the result is one SET of destkey (which
// clears its expiry), or a DEL of it when the result is empty; the reply
// is the result's length. The result is of one instant and is logged as
// one write before the reply (bitopAtomic); inside EXEC it is the
// transaction's. The sources are folded one at a time, so memory is the
// result and one source, whatever the number of keys.
func (t *Table) bitop(s *Session, argv [][]byte) Reply {
	op, ok := parseBitOp(argv[1])
	if !ok {
		return errSyntax
	}
	if op == bitNot && len(argv) != 4 {
		return errBitopNot
	}
	dest, srcs := argv[2], argv[3:]
	var n int
	var err error
	if s.tx.running != nil {
		n, err = bitopIn(s.tx.running, op, dest, srcs) // inside EXEC, already atomic
	} else {
		tr, ok := t.transactor(s)
		if !ok {
			return errBitopNoTx
		}
		n, err = bitopAtomic(t.storeFor(s), tr, op, dest, srcs)
	}
	if err != nil {
		return storeError(err)
	}
	return Int(int64(n))
}

// bitopTries is how many times BITOP reads its sources outside the
// engine's write lock before it reads them under it.
const bitopTries = 3

// bitopAtomic runs BITOP as one atomic step without holding the engine's
// write lock while it reads the sources, which may be many and large (a
// read from disk each): it watches them, reads and folds them as any
// reader does, then writes destkey in an Atomic that runs only if no
// source changed since the watch, so that the values read are the
// sources' at that moment. When writers keep changing a source,
// bitopTries times, it reads them inside the Atomic instead, holding the
// lock for as long.
func bitopAtomic(st Store, tr Transactor, op bitOp, dest []byte, srcs [][]byte) (int, error) {
	var keys [][]byte
	for _, k := range srcs {
		if !containsKey(keys, k) {
			keys = append(keys, k)
		}
	}
	for range bitopTries {
		vs, err := tr.Watch(keys...)
		if err != nil {
			return 0, err
		}
		res, err := foldBits(st, op, srcs)
		if err != nil {
			tr.Unwatch(vs)
			return 0, err
		}
		var werr error
		ran, err := tr.Atomic(vs, func(tx *storage.Tx) { werr = writeBits(tx, dest, res) })
		tr.Unwatch(vs)
		switch {
		case err != nil:
			return 0, err
		case ran:
			return len(res), werr
		}
	}
	var n int
	var rerr error
	_, err := tr.Atomic(nil, func(tx *storage.Tx) { n, rerr = bitopIn(tx, op, dest, srcs) })
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// bitopIn reads, folds and writes in st, which is atomic (a Tx).
func bitopIn(st Store, op bitOp, dest []byte, srcs [][]byte) (int, error) {
	res, err := foldBits(st, op, srcs)
	if err != nil {
		return 0, err
	}
	return len(res), writeBits(st, dest, res)
}

// writeBits stores BITOP's result: a SET of dest, or a DEL of it for an
// empty result.
func writeBits(st Store, dest, res []byte) error {
	if len(res) == 0 {
		_, err := st.Del(dest)
		return err
	}
	_, err := st.Set(dest, res, storage.SetOptions{Build: storage.BuiltRaw}) // Redis never encodes BITOP's result
	return err
}

// foldBits reads the sources from st one at a time and folds them with op
// into the result. A source longer than the value-size limit (written
// under a larger one) is ErrValueTooLarge, before it is copied.
func foldBits(st Store, op bitOp, srcs [][]byte) ([]byte, error) {
	limit := st.MaxValueSize()
	var res []byte
	for i, key := range srcs {
		v, err := st.Get(key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			v = nil
		case err != nil:
			return nil, err
		case len(v) > limit:
			return nil, storage.ErrValueTooLarge
		}
		if i == 0 {
			res = append([]byte(nil), v...)
			if op == bitNot {
				for j := range res {
					res[j] = ^res[j]
				}
			}
			continue
		}
		// The zero bytes res grows by are what the sources before had
		// there: AND with them is 0, OR and XOR are v's bytes. It grows
		// to the exact length, not append's next size.
		if len(v) > len(res) {
			grown := make([]byte, len(v))
			copy(grown, res)
			res = grown
		}
		switch op {
		case bitAnd:
			for j, c := range v {
				res[j] &= c
			}
			clear(res[len(v):])
		case bitOr:
			for j, c := range v {
				res[j] |= c
			}
		case bitXor:
			subtle.XORBytes(res, res, v)
		}
	}
	return res, nil
}
