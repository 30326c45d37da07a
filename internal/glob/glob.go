// Package glob matches keys against Redis-style glob patterns, as SCAN's
// MATCH and KEYS use them. It must give exactly the answers of Redis's
// stringmatchlen (util.c) and never take more than O(len(key) *
// len(pattern)) steps, whatever the pattern: a KEYS or SCAN pattern comes
// from the client, so a hostile one must not stall a connection.
//
// The syntax, as Redis reads it:
//
//   - '*' matches any run of bytes, '?' any one byte;
//   - '\x' matches x literally; a '\' that ends the pattern matches '\';
//   - '[...]' matches one byte in the class, '[^...]' one byte not in it.
//     Inside, 'a-z' is a range (its ends in either order), '\x' is x, and
//     the class ends at the first ']' that is not an end of a range or
//     escaped, so "[]" is empty and "[a-]x]" holds a to ']' and 'x'. A class
//     that never ends takes the rest of the pattern: "[abc" matches one of
//     a, b or c, and "[" matches nothing.
//   - Range ends and the byte are compared as C's signed char on x86-64
//     (bytes 0x80 to 0xff are below 0x00), as Redis built there compares
//     them.
//
// Where Redis differs from a plain glob, this package follows Redis: the
// empty key matches only the empty pattern (KEYS and SCAN skip matching
// for the pattern "*" alone, so Match("*", "") is true, as those commands
// see it). Redis 7.2 and later also refuse any match to a pattern with more
// than 1000 star groups, a guard for their recursion; this matcher does
// not recurse and has no such limit, as Redis 7.0 has none.
//
// The matcher is the classic two-pointer walk with one checkpoint: the
// position after the last star seen, and the key position it was tried
// at. Every byte matcher ('?', a literal, a class) takes exactly one key
// byte, so when the rest fails, only the last star needs to take one more
// byte (an earlier star taking more would only start the same rest
// later). Each retry moves the checkpoint one key byte on and reads at
// most the whole pattern once, a class included, so the total is bounded
// by (len(key)+1) passes of at most 2*len(pattern)+1 steps.
package glob

// Match reports whether key matches pattern, as Redis's KEYS and SCAN
// MATCH decide it.
func Match(pattern, key []byte) bool {
	ok, _ := match(pattern, key)
	return ok
}

// match is Match that also counts its steps: one per pattern token tried
// and one per byte of a class or of a star run read, so that a test can
// check the bound of the package comment without timing anything.
func match(pattern, key []byte) (matched bool, steps int) {
	if len(pattern) == 1 && pattern[0] == '*' {
		return true, 1 // KEYS * and SCAN MATCH * match without matching
	}
	if len(key) == 0 {
		// stringmatchlen never enters its loop: no star is skipped.
		return len(pattern) == 0, 1
	}
	p, k := 0, 0
	starP, starK := -1, 0 // after the last star run, and where its rest was tried
	for k < len(key) {
		steps++
		if p < len(pattern) {
			n, ok := 1, false // the token's length in the pattern; whether it takes key[k]
			switch c := pattern[p]; c {
			case '*':
				for p < len(pattern) && pattern[p] == '*' {
					p++
					steps++
				}
				if p == len(pattern) {
					return true, steps
				}
				starP, starK = p, k
				continue
			case '?':
				ok = true
			case '[':
				var s int
				n, ok, s = class(pattern[p:], key[k])
				steps += s
			case '\\':
				if p+1 < len(pattern) {
					n = 2
				}
				ok = pattern[p+n-1] == key[k]
			default:
				ok = c == key[k]
			}
			if ok {
				p += n
				k++
				continue
			}
		}
		if starP < 0 {
			return false, steps
		}
		starK++
		p, k = starP, starK
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
		steps++
	}
	return p == len(pattern), steps
}

// class matches c against the class that starts pat (pat[0] is '['), read
// as Redis reads it. It returns the class's length in pat, all of pat when
// the class is not terminated, whether c is in it, and the bytes it read.
func class(pat []byte, c byte) (n int, in bool, steps int) {
	i := 1
	negate := i < len(pat) && pat[i] == '^'
	if negate {
		i++
	}
	for {
		steps++
		switch {
		case len(pat)-i >= 2 && pat[i] == '\\':
			i++
			in = in || pat[i] == c
		case i < len(pat) && pat[i] == ']':
			return i + 1, in != negate, steps
		case i >= len(pat):
			return len(pat), in != negate, steps
		case len(pat)-i >= 3 && pat[i+1] == '-':
			lo, hi := int8(pat[i]), int8(pat[i+2])
			if lo > hi {
				lo, hi = hi, lo
			}
			in = in || (int8(c) >= lo && int8(c) <= hi)
			i += 2
		default:
			in = in || pat[i] == c
		}
		i++
	}
}
