// Package glob matches keys against Redis-style glob patterns, as SCAN's
// MATCH and KEYS use them: '*' any run of bytes, '?' one byte, '[abc]',
// '[^abc]' and '[a-z]' classes, and '\' escaping the next byte. Matching is
// iterative with one backtracking point per star, so a hostile pattern costs
// at most O(len(pattern) * len(key)), never exponential time.
package glob

// Match reports whether key matches pattern.
func Match(pattern, key []byte) bool {
	p, k := 0, 0
	starP, starK := -1, 0
	for k < len(key) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true
				}
				starP, starK = p, k
				continue
			case '?':
				p++
				k++
				continue
			case '[':
				if n, ok := matchClass(pattern[p:], key[k]); n > 0 {
					if ok {
						p += n
						k++
						continue
					}
				} else if key[k] == '[' { // an unterminated class is a literal '['
					p++
					k++
					continue
				}
			case '\\':
				if p+1 < len(pattern) && pattern[p+1] == key[k] {
					p += 2
					k++
					continue
				}
				if p+1 == len(pattern) && key[k] == '\\' {
					p++
					k++
					continue
				}
			default:
				if pattern[p] == key[k] {
					p++
					k++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starK++
		p, k = starP, starK
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches c against the class at the start of pat ("[...]"). It
// returns the class's length in the pattern (0 when it is not terminated)
// and whether c is in it.
func matchClass(pat []byte, c byte) (int, bool) {
	i := 1
	negate := false
	if i < len(pat) && pat[i] == '^' {
		negate = true
		i++
	}
	found := false
	for first := true; i < len(pat); first = false {
		if pat[i] == ']' && !first {
			return i + 1, found != negate
		}
		lo := pat[i]
		if lo == '\\' && i+1 < len(pat) {
			i++
			lo = pat[i]
		}
		if i+2 < len(pat) && pat[i+1] == '-' && pat[i+2] != ']' {
			hi := pat[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				found = true
			}
			i += 3
			continue
		}
		if c == lo {
			found = true
		}
		i++
	}
	return 0, false
}
