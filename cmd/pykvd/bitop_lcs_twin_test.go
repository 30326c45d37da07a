package main

import (
	"math/rand"
	"strconv"
	"testing"
	"time"
)

// twinBytes returns n pseudo-random bytes from the alphabet, the same for
// the same seed: the twins get the same values.
func twinBytes(seed int64, n int, alphabet string) string {
	rng := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(b)
}

// bitopLCSScript is every reply and error case of BITOP and LCS, on keys
// under prefix p: the operations, zero-filling, missing and empty
// sources, the destination's expiry and deletion, binary values, the
// value-size limit, BITOP inside MULTI, LCS's options in every order and
// its table's memory limit at the boundary (with both servers' limit at
// twinLimit, Redis's proto-max-bulk-len, a table of (len1+1)*(len2+1)
// 4-byte cells may not exceed it).
func bitopLCSScript(p string, _ time.Time) [][]string {
	k := func(name string) string { return p + name }
	const maxInt = "9223372036854775807"
	binary := twinBytes(1, 300, "\x00\x01\x7f\x80\xfe\xff\r\nab")
	s := [][]string{
		{"SET", k("o1"), "foobar"}, {"SET", k("o2"), "abcdef"}, {"SET", k("o3"), "\x00\xff\x0f"}, {"SET", k("oe"), ""},
		{"SET", k("bin1"), binary}, {"SET", k("bin2"), binary[7:] + "\xff\xff"},
	}
	for _, op := range []string{"AND", "OR", "XOR", "and", "Or", "xOR"} {
		s = append(s,
			[]string{"BITOP", op, k("d"), k("o1"), k("o2")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("o1"), k("o3")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("o3"), k("o1"), k("o2")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("o1"), k("none")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("none"), k("o3")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("o1")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("bin1"), k("bin2")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("bin1"), k("bin2"), k("o1")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("oe"), k("o3")}, []string{"GET", k("d")},
			[]string{"BITOP", op, k("d"), k("none"), k("none2")}, []string{"EXISTS", k("d")},
		)
	}
	// Redis's word-at-a-time path: at least 32 bytes in every source and
	// at most 16 sources; then 17 sources, which take the byte path.
	many := []string{"BITOP", "XOR", k("dm")}
	for i := range 17 {
		key := k("w" + strconv.Itoa(i))
		s = append(s, []string{"SET", key, twinBytes(int64(10+i), 40+i, "\x00\x0f\xf0\xffxyz")})
		many = append(many, key)
	}
	for _, op := range []string{"AND", "OR", "XOR"} {
		s = append(s, append([]string{"BITOP", op, k("dm")}, many[3:19]...), []string{"GET", k("dm")},
			append([]string{"BITOP", op, k("dm")}, many[3:]...), []string{"GET", k("dm")})
	}
	s = append(s, [][]string{
		{"BITOP", "NOT", k("d"), k("o1")}, {"GET", k("d")}, {"BITOP", "not", k("d"), k("bin1")}, {"GET", k("d")},
		{"BITOP", "NOT", k("d"), k("w16")}, {"GET", k("d")},
		{"BITOP", "NOT", k("d"), k("none")}, {"EXISTS", k("d")}, {"BITOP", "NOT", k("d"), k("oe")}, {"EXISTS", k("d")},
		{"BITOP", "NOT", k("d"), k("o1"), k("o2")}, {"BITOP", "NOT", k("d"), k("none"), k("none")},
		{"BITOP", "FOO", k("d"), k("o1")}, {"BITOP", "ANDX", k("d"), k("o1")}, {"BITOP", "", k("d"), k("o1")},
		{"BITOP", "FOO", k("d")}, {"BITOP", "NOT", k("d")}, {"BITOP", "AND"}, {"BITOP"},
		// The destination: its expiry goes, an empty result deletes it,
		// and it may be a source.
		{"SET", k("dt"), "x", "EX", "100"}, {"BITOP", "OR", k("dt"), k("o1")}, {"TTL", k("dt")}, {"GET", k("dt")},
		{"SET", k("dt"), "x", "EX", "100"}, {"BITOP", "OR", k("dt"), k("none")}, {"EXISTS", k("dt")},
		{"SET", k("dt"), "x", "EX", "100"}, {"BITOP", "OR", k("dt"), k("oe")}, {"EXISTS", k("dt")},
		{"SET", k("ds"), "ab"}, {"BITOP", "XOR", k("ds"), k("ds"), k("o1")}, {"GET", k("ds")},
		{"BITOP", "XOR", k("ds"), k("ds"), k("ds")}, {"GET", k("ds")}, {"BITOP", "AND", k("ds"), k("ds")}, {"GET", k("ds")},
		{"SET", k("n1"), "12"}, {"BITOP", "AND", k("n2"), k("n1")}, {"INCR", k("n2")},
		// The largest value there may be.
		{"SETRANGE", k("big"), strconv.Itoa(twinLimit - 1), "x"}, {"BITOP", "NOT", k("dbig"), k("big")},
		{"STRLEN", k("dbig")}, {"GETRANGE", k("dbig"), "-2", "-1"}, {"BITOP", "OR", k("dbig"), k("o1"), k("big")},
		{"GETRANGE", k("dbig"), "0", "7"}, {"DEL", k("big"), k("dbig")},
		// Inside a transaction, seeing the writes before it.
		{"MULTI"}, {"SET", k("tx"), "abc"}, {"BITOP", "NOT", k("txd"), k("tx")}, {"GET", k("txd")},
		{"BITOP", "NOT", k("txd"), k("tx"), k("tx")}, {"BITOP", "AND", k("txd"), k("none")}, {"EXISTS", k("txd")}, {"EXEC"},
	}...)

	// LCS.
	a511, b511 := twinBytes(2, 511, "ACGT"), twinBytes(3, 511, "ACGT")
	s = append(s, [][]string{
		{"SET", k("l1"), "ohmytext"}, {"SET", k("l2"), "mynewtext"}, {"SET", k("le"), ""},
		{"SET", k("lb1"), "\x00\xff\r\nab\x00c\x00"}, {"SET", k("lb2"), "\r\n\x00\x00c\xffab"},
		{"SET", k("la"), a511}, {"SET", k("lb"), b511}, {"SET", k("lc"), a511 + "G"},
		{"SET", k("ld"), "GTTTACCCAGGGTAAAA"}, {"SET", k("lf"), "TTAGGGCCCATTTGAGGA"},
	}...)
	opts := [][]string{
		{}, {"LEN"}, {"IDX"}, {"idx"}, {"IDX", "WITHMATCHLEN"}, {"WITHMATCHLEN", "IDX"}, {"IDX", "MINMATCHLEN", "4"},
		{"IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"}, {"MINMATCHLEN", "-5", "IDX", "WITHMATCHLEN"},
		{"IDX", "MINMATCHLEN", "1"}, {"IDX", "MINMATCHLEN", maxInt}, {"LEN", "LEN"}, {"IDX", "IDX"},
		{"LEN", "MINMATCHLEN", "3"}, {"WITHMATCHLEN"}, {"MINMATCHLEN", "3"}, {"LEN", "WITHMATCHLEN"},
	}
	pairs := [][2]string{
		{"l1", "l2"}, {"l2", "l1"}, {"l1", "l1"}, {"l1", "none"}, {"none", "l1"}, {"none", "none2"}, {"le", "l1"},
		{"lb1", "lb2"}, {"lb2", "lb1"}, {"ld", "lf"}, {"lf", "ld"}, {"la", "lb"}, {"lb", "la"},
	}
	for _, pr := range pairs {
		for _, o := range opts {
			s = append(s, append([]string{"LCS", k(pr[0]), k(pr[1])}, o...))
		}
	}
	s = append(s, [][]string{
		// Errors, in Redis's order: the options from left to right, then
		// LEN with IDX, then the table's size.
		{"LCS", k("l1"), k("l2"), "LEN", "IDX"}, {"LCS", k("l1"), k("l2"), "IDX", "LEN", "WITHMATCHLEN"},
		{"LCS", k("none"), k("none"), "IDX", "LEN"}, {"LCS", k("l1"), k("l2"), "FOO"}, {"LCS", k("l1"), k("l2"), "IDX", "FOO"},
		{"LCS", k("l1"), k("l2"), "MINMATCHLEN"}, {"LCS", k("l1"), k("l2"), "IDX", "MINMATCHLEN"},
		{"LCS", k("l1"), k("l2"), "MINMATCHLEN", "x"}, {"LCS", k("l1"), k("l2"), "MINMATCHLEN", "1.5"},
		{"LCS", k("l1"), k("l2"), "MINMATCHLEN", "9223372036854775808"}, {"LCS", k("l1"), k("l2"), "MINMATCHLEN", "x", "FOO"},
		{"LCS", k("l1"), k("l2"), "FOO", "MINMATCHLEN", "x"}, {"LCS", k("l1"), k("l2"), "LEN", "IDX", "MINMATCHLEN", "x"},
		{"LCS", k("l1"), k("l2"), "LEN", "IDX", "FOO"}, {"LCS", k("l1"), k("l2"), ""},
		{"LCS", k("l1")}, {"LCS"},
		// 512 x 512 cells of 4 bytes are 1 MiB, the limit; one more row
		// is over it, whatever the options.
		{"LCS", k("la"), k("lc"), "LEN"}, {"LCS", k("lc"), k("la")}, {"LCS", k("lc"), k("la"), "IDX"},
		{"LCS", k("lc"), k("lc"), "LEN", "IDX"}, {"LCS", k("lc"), k("le")},
		// In a transaction, seeing the writes before it.
		{"MULTI"}, {"SET", k("lt"), "mynewtext"}, {"LCS", k("l1"), k("lt"), "IDX", "WITHMATCHLEN"}, {"LCS", k("lt"), k("none"), "LEN"}, {"EXEC"},
	}...)
	return s
}

// TestBitopLCSLikeRedis (twin): every reply and error of BITOP and LCS,
// from pykvd over RESP2, RESP3 and the native protocol, is byte for byte
// what redis-server answers (the memory error of LCS naming pykv's
// max_value_size, see asPykv).
func TestBitopLCSLikeRedis(t *testing.T) {
	t.Parallel()
	runTwinLegs(t, startTwins(t), bitopLCSScript)
}
