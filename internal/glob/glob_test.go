package glob

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"user:*", "user:42", true},
		{"user:*", "users:42", false},
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
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*:*:*", "a:b:c", true},
		{"[", "[", true},
		{"[abc", "[abc", true},
		{"a/*", "a/b/c", true},
	}
	for _, tt := range tests {
		if got := Match([]byte(tt.pattern), []byte(tt.key)); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

// TestHostilePatternIsPolynomial: a pattern that is exponential for naive
// recursive matchers finishes (the test would time out otherwise).
func TestHostilePatternIsPolynomial(t *testing.T) {
	pattern := strings.Repeat("*a", 40) + "b"
	key := strings.Repeat("a", 5000)
	if Match([]byte(pattern), []byte(key)) {
		t.Fatal("matched a key without 'b'")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b?[c-d]", "axbyc")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		Match([]byte(pattern), []byte(key))
		if !Match([]byte("*"), []byte(key)) {
			t.Fatal("* must match everything")
		}
	})
}
