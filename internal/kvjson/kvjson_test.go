package kvjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAppendLine(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key, value string
		exp        int64
		want       string
	}{
		{"text", "greeting", "hello", 0, `{"key":"greeting","value":"hello"}`},
		{"expiry", "s", "v", 1767225600000, `{"key":"s","value":"v","expire_at_ms":1767225600000}`},
		{"escapes", "a\"b\\c", "l1\nl2\r\t\x00\x1f<>&\u2028é", 0,
			`{"key":"a\"b\\c","value":"l1\nl2\r\t\u0000\u001f<>&` + "\u2028é" + `"}`},
		{"empty", "", "", 0, `{"key":"","value":""}`},
		{"binary key", "\xff\x00", "ok", 0, `{"key_base64":"/wA=","value":"ok"}`},
		{"binary value", "k", "\x80\x81\x82", 5, `{"key":"k","value_base64":"gIGC","expire_at_ms":5}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendLine([]byte("prefix"), []byte(tc.key), []byte(tc.value), tc.exp))
			if got != "prefix"+tc.want+"\n" {
				t.Fatalf("got  %s\nwant prefix%s", got, tc.want)
			}
			if !json.Valid([]byte(tc.want)) {
				t.Fatalf("%s is not valid JSON", tc.want)
			}
			l, err := DecodeLine([]byte(tc.want))
			if err != nil || string(l.Key) != tc.key || string(l.Value) != tc.value || l.ExpireAtMs != tc.exp {
				t.Fatalf("decoded %+v, %v", l, err)
			}
		})
	}
}

func TestDecodeLineRefuses(t *testing.T) {
	for _, tc := range []struct{ line, wantErr string }{
		{`{"key":"k"}`, "no value"},
		{`{"value":"v"}`, "no key"},
		{`{"key":"k","key_base64":"aw==","value":"v"}`, "both key and key_base64"},
		{`{"key":"k","value":"v","value_base64":"dg=="}`, "both value and value_base64"},
		{`{"key_base64":"not base64!","value":"v"}`, "key_base64 is not standard base64"},
		{`{"key_base64":"aw","value":"v"}`, "key_base64 is not standard base64"}, // padding missing
		{`{"key":"k","value":"v","expire_at_ms":-1}`, "expire_at_ms is -1"},
		{`{"key":"k","value":"v","expire_at_ms":1.5}`, "expire_at_ms is 1.5"},
		{`{"key":"k","value":"v","expire_at_ms":"5"}`, "expire_at_ms"},
		{`{"key":"k","value":"v","expires_at_ms":5}`, `unknown field "expires_at_ms": a line has key or key_base64`},
		{`{"key":"k","value":"v"} {"key":"k2","value":"v"}`, "one object per line"},
		{`{"key":"k","value":"v"`, "not a JSON object"},
		{`["k","v"]`, "not a JSON object"},
		{`{"key":5,"value":"v"}`, "not a JSON object"},
		{"{\"key\":\"\xff\",\"value\":\"v\"}", "not valid UTF-8"},
	} {
		_, err := DecodeLine([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("DecodeLine(%s) = %v, want an error with %q", tc.line, err, tc.wantErr)
		}
	}
	for _, blank := range []string{"", "\n", " \t\r\n"} {
		if _, err := DecodeLine([]byte(blank)); !errors.Is(err, ErrBlank) {
			t.Errorf("DecodeLine(%q) = %v, want ErrBlank", blank, err)
		}
	}
}

// TestRoundTripRandomBytes: any key and value, UTF-8 or not, and any
// expiry come back from their line as they went in.
func TestRoundTripRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\"\\\n\x00\x7f\xc3\xa9\xe2\x80\xa8\xff\x80")
	for range 5000 {
		k, v := make([]byte, r.IntN(20)), make([]byte, r.IntN(40))
		for _, b := range [][]byte{k, v} {
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		exp := int64(0)
		if r.IntN(2) == 0 {
			exp = r.Int64()
		}
		line := AppendLine(nil, k, v, exp)
		if bytes.Count(line, []byte("\n")) != 1 || !json.Valid(line) {
			t.Fatalf("line %q is not one line of valid JSON", line)
		}
		l, err := DecodeLine(line)
		if err != nil || !bytes.Equal(l.Key, k) || !bytes.Equal(l.Value, v) || l.ExpireAtMs != exp {
			t.Fatalf("%q %q %d -> %s -> %+v, %v", k, v, exp, line, l, err)
		}
	}
}
