package spec

import (
	"fmt"
	"strings"
	"testing"
)

// TestKeysBySpecs: the key-spec shapes no command of pykv's has (a
// keyword that begins the keys, a range limited to a share of what
// follows, a key count) find the keys redis-server 7.0.15's COMMAND
// GETKEYSANDFLAGS finds for XREAD, XREADGROUP and ZUNIONSTORE, whose specs
// these are, and fail where the specs fail: Redis then answers "Invalid
// arguments specified for command", or for "02" and "+2" asks the
// command's own function (Redis's zunionInterDiffStoreGetKeys), which
// pykv, without the command, has not. Every command pykv has is compared with redis-server by
// TestCommandGetKeysLikeRedis, in cmd/pykvd.
func TestKeysBySpecs(t *testing.T) {
	ro := kf("RO access")
	xread := []KeySpec{{Flags: ro, BeginSearch: byKeyword("STREAMS", 1), FindKeys: keyRange(-1, 1, 2)}}
	zunionstore := []KeySpec{
		{Flags: kf("OW update"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)},
		{Flags: ro, BeginSearch: byIndex(2), FindKeys: keyNum(0, 1, 1)},
	}
	// A keyword searched for from the end, as Redis's MIGRATE ... KEYS is.
	fromEnd := []KeySpec{{Flags: kf("RW"), BeginSearch: byKeyword("KEYS", -2), FindKeys: keyRange(-1, 1, 0)}}
	tests := []struct {
		specs []KeySpec
		call  string
		want  string // keys as pos:flags, or "invalid"
	}{
		{xread, "XREAD COUNT 2 STREAMS a b 0 0", "4:[RO access] 5:[RO access]"},
		{xread, "XREAD STREAMS a 0", "2:[RO access]"},
		{xread, "XREAD STREAMS a b 0", "2:[RO access]"},
		{xread, "XREADGROUP GROUP g c streams a 0", "5:[RO access]"},
		{xread, "XREAD COUNT 2 a 0", ""}, // no keyword: no keys from this spec
		{xread, "XREAD a b STREAMS", ""}, // the last argument is not searched
		{zunionstore, "ZUNIONSTORE d 2 a b", "1:[OW update] 3:[RO access] 4:[RO access]"},
		{zunionstore, "ZUNIONSTORE d 2 a b WEIGHTS 1 2", "1:[OW update] 3:[RO access] 4:[RO access]"},
		{zunionstore, "ZUNIONSTORE d 0 a", "invalid"},
		{zunionstore, "ZUNIONSTORE d x a", "invalid"},
		{zunionstore, "ZUNIONSTORE d 02 a b", "invalid"},
		{zunionstore, "ZUNIONSTORE d +2 a b", "invalid"},
		{zunionstore, "ZUNIONSTORE d 3 a b", "invalid"},
		{zunionstore, "ZUNIONSTORE d -1 a", "invalid"},
		{zunionstore, "ZUNIONSTORE d 99999999999999999999 a", "invalid"},
		{zunionstore, "ZUNIONSTORE d", "invalid"},
		{fromEnd, "MIGRATE h p \"\" 0 5 KEYS a b", "7:[RW] 8:[RW]"},
		{fromEnd, "MIGRATE h p k 0 5", ""},
		{[]KeySpec{{Flags: kf("RO"), BeginSearch: byIndex(1), FindKeys: keyRange(1, 1, 0)}}, "LCS a", "invalid"},
		{[]KeySpec{{Flags: kf("RO incomplete"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}, "X a", "invalid"},
		{[]KeySpec{{Flags: kf("RO not_key"), BeginSearch: byIndex(1), FindKeys: keyRange(0, 1, 0)}}, "X a", ""},
	}
	for _, tt := range tests {
		var argv [][]byte
		for _, f := range strings.Fields(tt.call) {
			argv = append(argv, []byte(f))
		}
		keys, ok := keysBySpecs(tt.specs, argv)
		got := "invalid"
		if ok {
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%d:%v", k.Pos, k.Flags))
			}
			got = strings.Join(parts, " ")
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.call, got, tt.want)
		}
	}
}

// TestHasKeys: a command has keys when a key spec that is not not_key, or
// a key function, gives them (Redis's doesCommandHaveKeys), and a call of
// one with none found is refused, as Redis refuses it.
func TestHasKeys(t *testing.T) {
	known := byFullName()
	for name, want := range map[string]bool{"get": true, "set": true, "object|encoding": true, "bitop": true,
		"ping": false, "keys": false, "scan": false, "object": false, "command": false, "flushall": false} {
		if got := known[name].HasKeys(); got != want {
			t.Errorf("%s: HasKeys %v", name, got)
		}
	}
	for name, c := range known {
		if keyFuncs[name] == nil {
			for _, ks := range c.KeySpecs() {
				for _, f := range ks.Flags {
					if f == "variable_flags" {
						t.Errorf("%s has variable_flags but no key function", name)
					}
				}
			}
		}
	}
}
