package kvjson

import (
	"bytes"
	"testing"
)

// FuzzDecodeLine: DecodeLine never panics, whatever the line; a line it
// accepts encodes back to a line that decodes to the same key, value and
// expiry; and any bytes, taken as a key and a value, survive a round trip.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range []string{
		`{"key":"greeting","value":"hello"}`,
		`{"key":"s","value":"v","expire_at_ms":1767225600000}`,
		`{"key_base64":"/wA=","value_base64":"AAEC"}`,
		`{"key":"a\"b\\c\u0000","value":"\ud83d\ude00"}`,
		`{"key":"k","value":"v","expire_at_ms":0}`,
		`{"key":"k","value":"v","expire_at_ms":1e3}`,
		`{"key":"k","key_base64":"aw==","value":"v"}`,
		`{"KEY":"k","Value":"v"}`,
		"{\"key\":\"\xff\",\"value\":\"v\"}",
		"",
		"[]",
		"null",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := DecodeLine(b); err == nil {
			again, err := DecodeLine(AppendLine(nil, l.Key, l.Value, l.ExpireAtMs))
			if err != nil || !bytes.Equal(again.Key, l.Key) || !bytes.Equal(again.Value, l.Value) || again.ExpireAtMs != l.ExpireAtMs {
				t.Fatalf("%q decoded to %+v, which encodes to a line decoding to %+v, %v", b, l, again, err)
			}
		}
		half := len(b) / 2
		key, value := b[:half], b[half:]
		l, err := DecodeLine(AppendLine(nil, key, value, int64(len(b))))
		if err != nil || !bytes.Equal(l.Key, key) || !bytes.Equal(l.Value, value) || l.ExpireAtMs != int64(len(b)) {
			t.Fatalf("key %q value %q: round trip gave %+v, %v", key, value, l, err)
		}
	})
}
