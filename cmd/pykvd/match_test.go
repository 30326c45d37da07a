package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
)

// matchKeys are keys that tell the corners of Redis's glob apart: the
// bytes that mean something in a pattern, ranges' ends, bytes above 0x7f,
// which Redis compares as signed char, and the empty key, which only the
// empty pattern and "*" alone match.
var matchKeys = []string{
	"", "a", "b", "x", "ab", "abc", "[", "[abc", "]", "]a]", "^", "_", "`", "-", `\`, `a\`,
	"*", "?", "h*llo", "hello", "hallo", "user:1", "user:42", "users:42", "user:",
	"a:b:c", "aaaaaaaaaaaaab", "aaaaaaaaaaaaaa", "0", "\x80", "\x85", "\xff", "\xffzz", "b]",
}

// matchPatterns are the tricky patterns: the empty one, unterminated and
// empty classes, ']' as a range end, escapes in and out of classes, signed
// ranges, star runs, and a few hostile ones.
var matchPatterns = []string{
	"", "*", "**", "***", "?", "??", "*?*?", "[", "[abc", "x[abc", "[^", "[^abc", "*[ab", "[a-", "[]", "[]a]",
	"[^]", "[^]a", "[a-]x]", "[a-]", `[\]]`, `[\-a]`, `[a\`, `[\`, `[\^]`, "[*]", "[?]",
	"[a-\xff]", "[\x80-\x90]", "[\x00-\x7f]", "\xff*", `h\*llo`, `a\`, `\`, `\\`, "h[^e]llo",
	"h[b-a]llo", "user:*", "user:**", "*:*:*", "*a*a*a*b", strings.Repeat("*a", 40) + "b",
	strings.Repeat("[", 50), strings.Repeat("*[", 30), "*" + strings.Repeat("[a-]", 20),
}

// TestMatchLikeRedis stores the same keys in pykvd and in a real
// redis-server, and asks both SCAN MATCH and KEYS with each tricky
// pattern: the answers must be the same sets.
func TestMatchLikeRedis(t *testing.T) {
	t.Parallel()
	server := needTool(t, "redis-server")
	d := testdaemon.Start(t, testdaemon.Options{})
	ctx := testCtx(t)
	pykv := newRedis(t, d.RESPAddr(), 2, nil)
	real := newRedis(t, "127.0.0.1:"+strconv.Itoa(startRedis(t, server)), 2, nil)
	for _, c := range []*redis.Client{pykv, real} {
		for _, k := range matchKeys {
			if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatalf("SET %q: %v", k, err)
			}
		}
	}
	scan := func(c *redis.Client, pattern string) []string {
		var all []string
		var cursor uint64
		for range 10000 { // bounded: far more rounds than keys
			// Not c.Scan, which sends no MATCH for the empty pattern.
			cmd := redis.NewScanCmd(ctx, nil, "SCAN", cursor, "MATCH", pattern, "COUNT", 7)
			c.Process(ctx, cmd) // its error is cmd's
			keys, next, err := cmd.Result()
			if err != nil {
				t.Fatalf("SCAN MATCH %q: %v", pattern, err)
			}
			all = append(all, keys...)
			if cursor = next; cursor == 0 {
				slices.Sort(all)
				return slices.Compact(all)
			}
		}
		t.Fatalf("SCAN MATCH %q did not end", pattern)
		return nil
	}
	keys := func(c *redis.Client, pattern string) []string {
		all, err := c.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatalf("KEYS %q: %v", pattern, err)
		}
		slices.Sort(all)
		return all
	}
	for _, p := range matchPatterns {
		if got, want := scan(pykv, p), scan(real, p); !slices.Equal(got, want) {
			t.Errorf("SCAN MATCH %q: pykvd %q, redis-server %q", p, got, want)
		}
		if got, want := keys(pykv, p), keys(real, p); !slices.Equal(got, want) {
			t.Errorf("KEYS %q: pykvd %q, redis-server %q", p, got, want)
		}
	}
}
