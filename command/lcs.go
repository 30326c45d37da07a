package command

import "github.com/pykv/pykv/internal/redisfmt"

// LCS's memory: the table of the classic dynamic programme holds one
// uint32 per pair of prefixes, (len(a)+1) x (len(b)+1) of them, and its
// time is as many steps. Redis refuses a table larger than
// proto-max-bulk-len; pykv refuses one larger than storage.max_value_size
// (64 MiB by default: two values of about 4 KiB each, about 0.1 s of one
// core, BenchmarkLCSAtTheLimit; Redis 7.0 takes as long), its limit in
// that place for everything else, in Redis's words with that name. And
// since every connection could ask at once, a table of lcsSmallTable
// bytes or more waits for one of lcsTables slots: at most lcsTables times
// max_value_size bytes of tables exist at any time, and as many cores are
// busy with them. LEN needs two rows of the table, not all of it, and no
// slot. (Inside EXEC the wait holds the engine's write lock; the slots'
// holders need no lock to finish.)
const (
	lcsCell       = 4 // bytes per cell: a uint32, as Redis's
	lcsSmallTable = 1 << 20
	lcsTables     = 4
)

// Errors of LCS: Redis 7's texts, the memory one naming pykv's limit.
var (
	errLCSLenIdx = Err("If you want both the length and indexes, please just use IDX.")
	errLCSMemory = Err("Insufficient memory, transient memory for LCS exceeds max_value_size")
)

// lcsOptions are LCS's options after the two keys.
type lcsOptions struct {
	getLen, getIdx, withMatchLen bool
	minMatchLen                  int64
}

// parseLCSOptions parses LCS's options as Redis 7.0 does: in any order,
// repeated at will, a MINMATCHLEN without a value a syntax error, a
// negative one 0; the first bad option or integer is the reply.
func parseLCSOptions(opts [][]byte) (lcsOptions, Reply, bool) {
	var o lcsOptions
	for j := 0; j < len(opts); j++ {
		switch a := opts[j]; {
		case is(a, "IDX"):
			o.getIdx = true
		case is(a, "LEN"):
			o.getLen = true
		case is(a, "WITHMATCHLEN"):
			o.withMatchLen = true
		case is(a, "MINMATCHLEN") && j+1 < len(opts):
			n, ok := redisfmt.ParseInt(opts[j+1])
			if !ok {
				return o, errNotInteger, false
			}
			o.minMatchLen = max(n, 0)
			j++
		default:
			return o, errSyntax, false
		}
	}
	if o.getLen && o.getIdx {
		return o, errLCSLenIdx, false
	}
	return o, Reply{}, true
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
//
// The longest common subsequence of the two values (a missing key is the
// empty string), read together as MGET reads them, so both are of one
// instant. Without options it is the subsequence itself, with LEN its
// length, with IDX the map {matches: [[[a-start a-end] [b-start b-end]
// (len)] ...], len: n} of its contiguous runs from the end of the strings
// back, those shorter than MINMATCHLEN left out. The options are parsed
// before the keys are read: every value is a string, so Redis's type
// check, which comes first there, never fails here. The choices among equal
// subsequences are Redis's: the same table, walked back the same way.
func (t *Table) lcs(s *Session, argv [][]byte) Reply {
	o, rep, ok := parseLCSOptions(argv[3:])
	if !ok {
		return rep
	}
	store := t.storeFor(s)
	vals, err := store.MGet(argv[1], argv[2])
	if err != nil {
		return storeError(err)
	}
	a, b := vals[0], vals[1]
	cells := uint64(len(a)+1) * uint64(len(b)+1)
	if cells > uint64(store.MaxValueSize())/lcsCell {
		return errLCSMemory
	}
	if o.getLen {
		if len(b) > len(a) {
			a, b = b, a // rows of the shorter
		}
		return Int(int64(lcsLength(a, b)))
	}
	if cells*lcsCell >= lcsSmallTable {
		t.lcsSlots <- struct{}{}
		defer func() { <-t.lcsSlots }()
	}
	return lcsWalk(a, b, lcsTable(a, b), o)
}

// lcsTable fills the table: cell i*(len(b)+1)+j is the length of the LCS
// of a[:i] and b[:j].
func lcsTable(a, b []byte) []uint32 {
	w := len(b) + 1
	tab := make([]uint32, (len(a)+1)*w)
	for i := 1; i <= len(a); i++ {
		prev, row := tab[(i-1)*w:i*w], tab[i*w:(i+1)*w]
		c := a[i-1]
		for j := 1; j < w; j++ {
			if c == b[j-1] {
				row[j] = prev[j-1] + 1
			} else {
				row[j] = max(prev[j], row[j-1])
			}
		}
	}
	return tab
}

// lcsLength is the last cell of lcsTable, computed with two of its rows.
func lcsLength(a, b []byte) uint32 {
	prev, row := make([]uint32, len(b)+1), make([]uint32, len(b)+1)
	for i := 1; i <= len(a); i++ {
		c := a[i-1]
		for j := 1; j <= len(b); j++ {
			if c == b[j-1] {
				row[j] = prev[j-1] + 1
			} else {
				row[j] = max(prev[j], row[j-1])
			}
		}
		prev, row = row, prev
	}
	return prev[len(b)]
}

// lcsWalk walks tab back from its last cell as Redis does: a match is
// taken, else the step goes up when that keeps a strictly longer LCS,
// left otherwise. Matches next to each other make one range; a range ends
// at a step that is not a match, or when it reaches the start of either
// string.
func lcsWalk(a, b []byte, tab []uint32, o lcsOptions) Reply {
	w := len(b) + 1
	n := tab[len(tab)-1]
	var seq []byte // the subsequence, unless IDX
	if !o.getIdx {
		seq = make([]byte, n)
	}
	var matches []Reply
	const unset = -1
	aStart, aEnd, bStart, bEnd := unset, 0, 0, 0
	k := int(n)
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			if seq != nil {
				seq[k-1] = a[i-1]
			}
			switch {
			case aStart == unset:
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			case aStart == i && bStart == j:
				aStart, bStart = aStart-1, bStart-1 // extends the range back
			default:
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			k, i, j = k-1, i-1, j-1
		} else {
			if tab[(i-1)*w+j] > tab[i*w+j-1] {
				i--
			} else {
				j--
			}
			emit = aStart != unset
		}
		if !emit {
			continue
		}
		if runLen := int64(aEnd - aStart + 1); o.getIdx && runLen >= o.minMatchLen {
			m := []Reply{
				Array([]Reply{Int(int64(aStart)), Int(int64(aEnd))}),
				Array([]Reply{Int(int64(bStart)), Int(int64(bEnd))}),
			}
			if o.withMatchLen {
				m = append(m, Int(runLen))
			}
			matches = append(matches, Array(m))
		}
		aStart = unset
	}
	if !o.getIdx {
		return Bytes(seq)
	}
	if matches == nil {
		matches = []Reply{}
	}
	return Reply{Kind: KindMap, Array: []Reply{
		Bytes([]byte("matches")), Array(matches),
		Bytes([]byte("len")), Int(int64(n)),
	}}
}
