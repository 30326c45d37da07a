package command

import (
	"strings"
	"testing"
)

// The expected replies are redis-server 7.0's for the same commands
// (Redis's documentation example among them).
func TestLCS(t *testing.T) {
	f := runSteps(t, []step{
		{cmd: "SET a ohmytext", want: "OK"},
		{cmd: "SET b mynewtext", want: "OK"},
		{cmd: "LCS a b", want: `"mytext"`},
		{cmd: "LCS b a", want: `"mytext"`},
		{cmd: "LCS a b LEN", want: "(integer) 6"},
		{cmd: "LCS a b IDX", want: `["matches" [[[(integer) 4 (integer) 7] [(integer) 5 (integer) 8]] [[(integer) 2 (integer) 3] [(integer) 0 (integer) 1]]] "len" (integer) 6]`},
		{cmd: "LCS a b idx minmatchlen 4 withmatchlen", want: `["matches" [[[(integer) 4 (integer) 7] [(integer) 5 (integer) 8] (integer) 4]] "len" (integer) 6]`},
		{cmd: "LCS a b IDX MINMATCHLEN -3 MINMATCHLEN 5", want: `["matches" [] "len" (integer) 6]`},
		{cmd: "LCS a b LEN MINMATCHLEN 5 WITHMATCHLEN", want: "(integer) 6"},
		{cmd: "LCS a a", want: `"ohmytext"`},
		{cmd: "LCS a a IDX WITHMATCHLEN", want: `["matches" [[[(integer) 0 (integer) 7] [(integer) 0 (integer) 7] (integer) 8]] "len" (integer) 8]`},
		{cmd: "LCS a none", want: `""`},
		{cmd: "LCS none none2 LEN", want: "(integer) 0"},
		{cmd: "LCS none a IDX", want: `["matches" [] "len" (integer) 0]`},
		{args: []string{"SET", "x", "\x00\xffab\r\n"}, want: "OK"},
		{args: []string{"SET", "y", "\xff\r\n\x00a"}, want: "OK"},
		{cmd: "LCS x y", want: `"\xff\r\n"`},
		// Errors: the options from left to right, then LEN with IDX.
		{cmd: "LCS a b LEN IDX", want: "(error) ERR If you want both the length and indexes, please just use IDX."},
		{cmd: "LCS a b FOO", want: errSyntaxText},
		{cmd: "LCS a b MINMATCHLEN", want: errSyntaxText},
		{cmd: "LCS a b MINMATCHLEN x", want: errNotIntText},
		{cmd: "LCS a b LEN IDX MINMATCHLEN x", want: errNotIntText},
		{cmd: "LCS a b FOO MINMATCHLEN x", want: errSyntaxText},
		{cmd: "LCS a", want: "(error) ERR wrong number of arguments for 'lcs' command"},
	})
	// The table, (len(a)+1) x (len(b)+1) cells of 4 bytes, may not exceed
	// max_value_size, whatever the options.
	f.store.maxValue = 10 * 9 * 4
	f.run([]step{
		{cmd: "LCS a b LEN", want: "(integer) 6"},
		{cmd: "SET c ohmytextx", want: "OK"},
		{cmd: "LCS c b", want: "(error) ERR Insufficient memory, transient memory for LCS exceeds max_value_size"},
		{cmd: "LCS b c LEN", want: "(error) ERR Insufficient memory, transient memory for LCS exceeds max_value_size"},
		{cmd: "LCS b c LEN IDX", want: "(error) ERR If you want both the length and indexes, please just use IDX."},
	})
}

// TestLCSTables: the table and its walk agree with lcsLength on strings
// with many equal choices, and a large table waits for a slot while a
// small one does not.
func TestLCSTables(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"", ""}, {"a", ""}, {"abc", "abc"}, {"abab", "baba"}, {"aaaa", "aa"}, {"GTTTACCCAGGG", "TTAGGGCCCATT"},
		{strings.Repeat("ab", 50), strings.Repeat("ba", 40)},
	} {
		tab := lcsTable([]byte(c.a), []byte(c.b))
		n := lcsLength([]byte(c.a), []byte(c.b))
		if tab[len(tab)-1] != n {
			t.Errorf("%q %q: table %d, lcsLength %d", c.a, c.b, tab[len(tab)-1], n)
		}
		seq := lcsWalk([]byte(c.a), []byte(c.b), tab, lcsOptions{})
		if len(seq.Bytes) != int(n) || !isSubsequence(seq.Bytes, c.a) || !isSubsequence(seq.Bytes, c.b) {
			t.Errorf("%q %q: %q is not a common subsequence of length %d", c.a, c.b, seq.Bytes, n)
		}
	}

	f := newFixture(t, Config{})
	for range cap(f.tab.lcsSlots) {
		f.tab.lcsSlots <- struct{}{} // every slot taken
	}
	f.run([]step{
		{cmd: "SET a " + strings.Repeat("x", 100), want: "OK"},
		{cmd: "LCS a a LEN", want: "(integer) 100"}, // small: no slot needed
		{cmd: "SET b " + strings.Repeat("y", 600), want: "OK"},
		{cmd: "LCS b b LEN", want: "(integer) 600"}, // LEN builds no table
	})
	done := make(chan string)
	go func() { done <- f.exec("LCS", "b", "b", "IDX").String() }()
	<-f.tab.lcsSlots // free one: the large table may go on
	want := `["matches" [[[(integer) 0 (integer) 599] [(integer) 0 (integer) 599]]] "len" (integer) 600]`
	if got := <-done; got != want {
		t.Fatalf("LCS b b IDX: %s", got)
	}
	if n := len(f.tab.lcsSlots); n != cap(f.tab.lcsSlots)-1 {
		t.Fatalf("%d slots taken after the LCS, want %d", n, cap(f.tab.lcsSlots)-1)
	}
}

func isSubsequence(sub []byte, s string) bool {
	i := 0
	for j := 0; j < len(s) && i < len(sub); j++ {
		if s[j] == sub[i] {
			i++
		}
	}
	return i == len(sub)
}
