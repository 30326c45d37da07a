package glob

import (
	"fmt"
	"strings"
	"testing"
)

// redisMatch is Redis 7.0's stringmatchlen (src/util.c), translated line
// by line with C's signed char and the NUL that ends C strings, as the
// reference the matcher must agree with. It recurses once per star and
// may take exponential time on hostile patterns: tests call it only on
// short inputs.
func redisMatch(pattern, key []byte) bool {
	skip := false
	return redisMatchImpl(pattern, key, &skip)
}

func redisMatchImpl(pattern, str []byte, skipLonger *bool) bool {
	// at reads the pattern as C does: the byte past the end is the NUL.
	at := func(i int) byte {
		if i < len(pattern) {
			return pattern[i]
		}
		return 0
	}
	for len(pattern) > 0 && len(str) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && at(1) == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for len(str) > 0 {
				if redisMatchImpl(pattern[1:], str, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				str = str[1:]
			}
			*skipLonger = true
			return false
		case '?':
			str = str[1:]
		case '[':
			// pos walks the pattern as C's pointer does, so that it may
			// step back by one at the end of an unterminated class.
			pos := 1
			neg := at(pos) == '^'
			if neg {
				pos++
			}
			in := false
			for {
				if at(pos) == '\\' && len(pattern)-pos >= 2 {
					pos++
					if at(pos) == str[0] {
						in = true
					}
				} else if at(pos) == ']' {
					break
				} else if len(pattern)-pos == 0 {
					pos--
					break
				} else if len(pattern)-pos >= 3 && at(pos+1) == '-' {
					lo, hi, c := int(int8(at(pos))), int(int8(at(pos+2))), int(int8(str[0]))
					if lo > hi {
						lo, hi = hi, lo
					}
					pos += 2
					if c >= lo && c <= hi {
						in = true
					}
				} else if at(pos) == str[0] {
					in = true
				}
				pos++
			}
			if neg {
				in = !in
			}
			if !in {
				return false
			}
			str = str[1:]
			pattern = pattern[pos:] // the shared step below moves past ']'
		case '\\':
			if len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			fallthrough
		default:
			if pattern[0] != str[0] {
				return false
			}
			str = str[1:]
		}
		pattern = pattern[1:]
		if len(str) == 0 {
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			break
		}
	}
	return len(pattern) == 0 && len(str) == 0
}

// matchCases are checked against both the matcher and the reference. The
// "want" is what redis-server 7.0 answers; the twin test in cmd/pykvd
// asks a real one about the tricky ones.
var matchCases = []struct {
	pattern, key string
	want         bool
}{
	{"*", "", true}, // KEYS * skips matching
	{"*", "anything", true},
	{"**", "", false}, // stringmatchlen never matches the empty key to a star
	{"", "", true},
	{"", "a", false},
	{"a", "", false},
	{"user:*", "user:42", true},
	{"user:*", "users:42", false},
	{"user:**", "user:", true},
	{"h?llo", "hello", true},
	{"h?llo", "hllo", false},
	{"h*llo", "heeeello", true},
	{"h[ae]llo", "hallo", true},
	{"h[ae]llo", "hillo", false},
	{"h[^e]llo", "hallo", true},
	{"h[^e]llo", "hello", false},
	{"h[a-b]llo", "hbllo", true},
	{"h[a-b]llo", "hcllo", false},
	{"h[b-a]llo", "hallo", true},
	{`h\*llo`, "h*llo", true},
	{`h\*llo`, "hello", false},
	{`a\`, `a\`, true},
	{`\`, `\`, true},
	{`\\`, `\`, true},
	{"a*b*c", "aXXbYYc", true},
	{"a*b*c", "aXXbYY", false},
	{"*:*:*", "a:b:c", true},
	{"a/*", "a/b/c", true},
	// Unterminated classes take the rest of the pattern.
	{"[", "[", false},
	{"[", "", false},
	{"[abc", "[abc", false},
	{"[abc", "a", true},
	{"[abc", "c", true},
	{"[abc", "ab", false},
	{"x[abc", "xb", true},
	{"[^", "z", true},
	{"[^", "", false},
	{"[^abc", "a", false},
	{"[^abc", "d", true},
	{"*[ab", "xxb", true},
	{"[a-", "a", true},
	{"[a-", "-", true},
	{"[a-", "b", false},
	// Empty classes and ']' as a range end.
	{"[]", "]", false},
	{"[]a]", "a", false},
	{"[]a]", "]a]", false},
	{"[^]", "x", true},
	{"[^]x", "ax", true},
	{"[a-]x]", "b", false}, // a-] is ']' to 'a', swapped
	{"[a-]x]", "_", true},
	{"[a-]x]", "x", true},
	{"[a-]x]", "^", true},
	{"[a-]x]", "b]", false},
	{"[a-]", "`", true},
	{"[a-]", "b]", false},
	// Escapes inside classes.
	{`[\]]`, "]", true},
	{`[\]]`, `\`, false},
	{`[\-a]`, "-", true},
	{`[\-a]`, "b", false},
	{`[a\`, `\`, true},
	{`[\`, `\`, true},
	{`[\^]`, "^", true},
	{"[*]", "*", true},
	{"[*]", "a", false},
	{"[?]", "a", false},
	// Bytes above 0x7f compare as signed char in ranges, as on x86-64.
	{"[a-\xff]", "0", true},
	{"[a-\xff]", "\x80", false},
	{"[\x80-\x90]", "\x85", true},
	{"[\x80-\x90]", "a", false},
	{"[\x00-\x7f]", "\x80", false},
	{"\xff*", "\xffzz", true},
	// Stars.
	{"*a", "a", true},
	{"*a*", "ba", true},
	{"?*", "", false},
	{"?*", "x", true},
	{"*?", "x", true},
	{"*?*?", "x", false},
	{"a*", "a", true},
	{"a**b", "ab", true},
	{"*a*a*a*b", "aaaaaaaaaaaaaa", false},
	{"*a*a*a*b", "aaaaaaaaaaaaab", true},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		if got := Match([]byte(tt.pattern), []byte(tt.key)); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

// TestReferenceAgreesWithTable checks the translation of Redis against
// the table, so that the fuzz target below compares with something right.
func TestReferenceAgreesWithTable(t *testing.T) {
	for _, tt := range matchCases {
		if tt.pattern == "*" {
			continue // KEYS and SCAN answer this one without stringmatchlen
		}
		if got := redisMatch([]byte(tt.pattern), []byte(tt.key)); got != tt.want {
			t.Errorf("redisMatch(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

// TestMatchAgreesWithRedisExhaustively compares with the reference on
// every pattern of up to 4 bytes and every key of up to 4 bytes over an
// alphabet of the bytes that mean something, plus two plain ones.
func TestMatchAgreesWithRedisExhaustively(t *testing.T) {
	alphabet := []byte(`*?[]^-\ab`)
	var all func(n int) [][]byte
	all = func(n int) [][]byte {
		if n == 0 {
			return [][]byte{{}}
		}
		var out [][]byte
		for _, s := range all(n - 1) {
			for _, c := range alphabet {
				out = append(out, append(append([]byte(nil), s...), c))
			}
		}
		return out
	}
	var patterns, keys [][]byte
	for n := 0; n <= 4; n++ {
		patterns = append(patterns, all(n)...)
	}
	for n := 0; n <= 4; n++ {
		for _, k := range all(n) {
			if !strings.ContainsAny(string(k), `*?^\`) { // enough key bytes to tell classes apart
				keys = append(keys, k)
			}
		}
	}
	bad := 0
	for _, p := range patterns {
		for _, k := range keys {
			want := redisMatch(p, k) || string(p) == "*"
			if got := Match(p, k); got != want && bad < 20 {
				bad++
				t.Errorf("Match(%q, %q) = %v, Redis says %v", p, k, got, want)
			}
		}
	}
}

// adversarial are patterns that cost naive or rescanning matchers
// exponential, cubic or quadratic-per-position time.
func adversarial() map[string][]byte {
	return map[string][]byte{
		"stars":              []byte(strings.Repeat("*a", 200) + "b"),
		"unterminated [":     []byte(strings.Repeat("[", 1000)),
		"star unterminated":  []byte(strings.Repeat("*[", 500)),
		"star then class":    []byte("*" + strings.Repeat("[a", 400)),
		"classes after star": []byte(strings.Repeat("*[abcdefgh]", 100) + "z"),
		"long class":         []byte("*a[" + strings.Repeat("bcdefg", 150) + "]z"),
		"ranges":             []byte("*" + strings.Repeat("[a-]", 300)),
		"escapes":            []byte(strings.Repeat(`*\a`, 300) + `\b`),
		"question stars":     []byte(strings.Repeat("?*", 300) + "b"),
		"negated":            []byte(strings.Repeat("*[^b]", 300) + "b"),
		"unterminated range": []byte("*" + strings.Repeat("a-", 500) + "["),
	}
}

// TestMatchStepsAreBounded proves the bound of the package comment on
// adversarial patterns, counting steps instead of timing them: at most
// (len(key)+1) * (2*len(pattern)+2) for any key. A matcher that rescans
// an unterminated class at every position, or recurses per star, passes
// it by orders of magnitude.
func TestMatchStepsAreBounded(t *testing.T) {
	keys := map[string][]byte{
		"a's":   []byte(strings.Repeat("a", 3000)),
		"mixed": []byte(strings.Repeat("a[b-]\\", 500)),
		"one":   []byte("a"),
	}
	for pname, p := range adversarial() {
		for kname, k := range keys {
			t.Run(fmt.Sprintf("%s/%s", pname, kname), func(t *testing.T) {
				_, steps := match(p, k)
				bound := (len(k) + 1) * (2*len(p) + 2)
				if steps > bound {
					t.Fatalf("%d steps for a %d-byte pattern and a %d-byte key, bound %d", steps, len(p), len(k), bound)
				}
			})
		}
	}
}

// TestMatchStepsGrowLinearly: doubling the key at most doubles the steps
// (plus one pass), for a fixed hostile pattern; quadratic growth in the
// key would show here even below the absolute bound.
func TestMatchStepsGrowLinearly(t *testing.T) {
	for pname, p := range adversarial() {
		_, s1 := match(p, []byte(strings.Repeat("a", 1000)))
		_, s2 := match(p, []byte(strings.Repeat("a", 2000)))
		if s2 > 2*s1+2*len(p)+2 {
			t.Errorf("%s: %d steps for 1000 bytes, %d for 2000", pname, s1, s2)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b?[c-d]", "axbyc")
	f.Add("[a-]x]", "]")
	f.Add(`[\`, `\`)
	f.Add("*[ab", "zzb")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		p, k := []byte(pattern), []byte(key)
		got, steps := match(p, k)
		if bound := (len(k) + 1) * (2*len(p) + 2); steps > bound {
			t.Fatalf("Match(%q, %q): %d steps, bound %d", pattern, key, steps, bound)
		}
		if !Match([]byte("*"), k) {
			t.Fatal("* must match everything")
		}
		// The reference may take exponential time: only short inputs.
		if len(p) <= 24 && len(k) <= 24 && strings.Count(pattern, "*") <= 6 {
			if want := redisMatch(p, k) || pattern == "*"; got != want {
				t.Fatalf("Match(%q, %q) = %v, Redis says %v", pattern, key, got, want)
			}
		}
	})
}
