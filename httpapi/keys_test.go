package httpapi

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pykv/pykv/command"
)

func TestPutGetDelete(t *testing.T) {
	e := newEnv(t)
	status, body := e.putJSON(map[string]any{"key": "greeting", "value": "hello"})
	if status != 200 || string(body) != "{\"ok\":true}\n" {
		t.Fatalf("put: %d %s", status, body)
	}
	status, h, body := e.do("GET", "/get/greeting", "", nil)
	if status != 200 || string(body) != "hello" {
		t.Fatalf("get: %d %q", status, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("get: Content-Type %q", ct)
	}
	status, _, body = e.do("DELETE", "/delete/greeting", "", nil)
	if status != 200 || string(body) != "{\"deleted\":1}\n" {
		t.Fatalf("delete: %d %s", status, body)
	}
	status, _, body = e.do("DELETE", "/delete/greeting", "", nil)
	if status != 200 || string(body) != "{\"deleted\":0}\n" {
		t.Fatalf("delete again: %d %s", status, body)
	}
	status, h, body = e.do("GET", "/get/greeting", "", nil)
	if status != 404 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("get deleted: %d %s", status, body)
	}
	wantError(t, body, "NOTFOUND", "no such key")
}

func TestPutForm(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"key": {"k"}, "value": {"v=1&2"}}
	status, _, body := e.do("POST", "/put", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if status != 200 {
		t.Fatalf("urlencoded put: %d %s", status, body)
	}
	if _, _, got := e.do("GET", "/get/k", "", nil); string(got) != "v=1&2" {
		t.Fatalf("got %q", got)
	}

	// multipart, the value as a file part (curl -F value=@file)
	value := []byte{0, 1, 2, 0xff, '\r', '\n', 0xfe}
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	w.WriteField("key", "file")
	w.WriteField("nx", "true")
	fw, _ := w.CreateFormFile("value", "blob.bin")
	fw.Write(value)
	w.Close()
	status, _, body = e.do("POST", "/put", w.FormDataContentType(), &mp)
	if status != 200 {
		t.Fatalf("multipart put: %d %s", status, body)
	}
	if _, _, got := e.do("GET", "/v1/keys/file", "", nil); !bytes.Equal(got, value) {
		t.Fatalf("got %q, want %q", got, value)
	}
}

// TestBinaryKeysAndValues: any bytes are a key in a path, percent-encoded,
// and any bytes are a value, both ways, through every key endpoint.
func TestBinaryKeysAndValues(t *testing.T) {
	e := newEnv(t)
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	keys := []string{"plain", "a/b", "a//b", "/lead", "trail/", ".", "..", "../etc", "sp ace", "100%",
		"q?x=1#f", "\x00\xff\x01", "ключ", "+plus", string(all[1:])}
	for _, k := range keys {
		t.Run(escapeKey(k), func(t *testing.T) {
			p := "/v1/keys/" + escapeKey(k)
			value := append([]byte(k), all...)
			if status, _, body := e.do("PUT", p, "application/octet-stream", bytes.NewReader(value)); status != 200 {
				t.Fatalf("PUT: %d %s", status, body)
			}
			// the table sees exactly these bytes
			if r := e.table.Exec(e.table.NewSession(), [][]byte{[]byte("GET"), []byte(k)}); !bytes.Equal(r.Bytes, value) {
				t.Fatalf("GET through the table: %v", r)
			}
			for _, get := range []string{p, "/get/" + escapeKey(k)} {
				if status, _, got := e.do("GET", get, "", nil); status != 200 || !bytes.Equal(got, value) {
					t.Fatalf("GET %s: %d, %d bytes", get, status, len(got))
				}
			}
			if status, _, _ := e.do("HEAD", p, "", nil); status != 200 {
				t.Fatalf("HEAD: %d", status)
			}
			if status, _, body := e.do("DELETE", "/delete/"+escapeKey(k), "", nil); string(body) != "{\"deleted\":1}\n" {
				t.Fatalf("DELETE: %d %s", status, body)
			}
			if status, _, _ := e.do("HEAD", p, "", nil); status != 404 {
				t.Fatalf("HEAD after DELETE: %d", status)
			}
		})
	}
	// A literal slash needs no escaping: {key} takes the rest of the path.
	e.do("PUT", "/v1/keys/dir/file", "", strings.NewReader("x"))
	if _, _, got := e.do("GET", "/get/dir%2Ffile", "", nil); string(got) != "x" {
		t.Fatalf("key with a literal slash: got %q", got)
	}
}

func TestPutBase64(t *testing.T) {
	e := newEnv(t)
	k, v := []byte{0xff, 0, 'k'}, []byte{0x80, 0x81, 0}
	status, body := e.putJSON(map[string]any{
		"key_base64": base64.StdEncoding.EncodeToString(k), "value_base64": base64.StdEncoding.EncodeToString(v)})
	if status != 200 {
		t.Fatalf("put: %d %s", status, body)
	}
	if _, _, got := e.do("GET", "/get/"+escapeKey(string(k)), "", nil); !bytes.Equal(got, v) {
		t.Fatalf("got %q, want %q", got, v)
	}
}

func TestPutTTL(t *testing.T) {
	e := newEnv(t)
	pttl := func(k string) int64 {
		t.Helper()
		r := e.table.Exec(e.table.NewSession(), [][]byte{[]byte("PTTL"), []byte(k)})
		return r.Int
	}
	if status, body := e.putJSON(map[string]any{"key": "a", "value": "1", "ttl_ms": 1500}); status != 200 {
		t.Fatalf("put: %d %s", status, body)
	}
	if status, _, body := e.do("PUT", "/v1/keys/b?ttl_ms=2500", "", strings.NewReader("2")); status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	form := url.Values{"key": {"c"}, "value": {"3"}, "ttl_ms": {"3500"}}
	if status, _, body := e.do("POST", "/put", "application/x-www-form-urlencoded", strings.NewReader(form.Encode())); status != 200 {
		t.Fatalf("form put: %d %s", status, body)
	}
	if a, b, c := pttl("a"), pttl("b"), pttl("c"); a != 1500 || b != 2500 || c != 3500 {
		t.Fatalf("PTTL a %d b %d c %d, want 1500 2500 3500", a, b, c)
	}
	e.now.Add(2000)
	if status, _, _ := e.do("GET", "/get/a", "", nil); status != 404 {
		t.Fatalf("a after its TTL: %d", status)
	}
	if status, _, got := e.do("GET", "/get/b", "", nil); status != 200 || string(got) != "2" {
		t.Fatalf("b before its TTL: %d %q", status, got)
	}
	// A write without ttl_ms clears the TTL, as SET does.
	e.do("PUT", "/v1/keys/b", "", strings.NewReader("2"))
	if got := pttl("b"); got != -1 {
		t.Fatalf("PTTL after a PUT without ttl_ms: %d", got)
	}
}

func TestNXAndXX(t *testing.T) {
	e := newEnv(t)
	if status, body := e.putJSON(map[string]any{"key": "k", "value": "first", "nx": true}); status != 200 {
		t.Fatalf("nx on a new key: %d %s", status, body)
	}
	status, body := e.putJSON(map[string]any{"key": "k", "value": "second", "nx": true})
	if status != http.StatusConflict {
		t.Fatalf("nx on an existing key: %d %s", status, body)
	}
	wantError(t, body, "CONFLICT", "exists")
	status, body = e.putJSON(map[string]any{"key": "new", "value": "v", "xx": true})
	if status != http.StatusConflict {
		t.Fatalf("xx on a missing key: %d %s", status, body)
	}
	wantError(t, body, "CONFLICT", "does not exist")
	status, _, body = e.do("PUT", "/v1/keys/k?nx=1", "", strings.NewReader("third"))
	if status != http.StatusConflict {
		t.Fatalf("PUT ?nx on an existing key: %d %s", status, body)
	}
	if _, _, got := e.do("GET", "/get/k", "", nil); string(got) != "first" {
		t.Fatalf("value %q after refused writes", got)
	}
	if status, _, body := e.do("PUT", "/v1/keys/k?xx=true", "", strings.NewReader("fourth")); status != 200 {
		t.Fatalf("PUT ?xx on an existing key: %d %s", status, body)
	}
	status, body = e.putJSON(map[string]any{"key": "k", "value": "v", "nx": true, "xx": true})
	if status != 400 {
		t.Fatalf("nx with xx: %d %s", status, body)
	}
	wantError(t, body, "ERR", "nx and xx exclude each other")
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		msg                             string
	}{
		{"ttl not a number", "PUT", "/v1/keys/k?ttl_ms=soon", "", "v", 400, `ttl_ms must be a positive integer (milliseconds), not "soon"`},
		{"ttl zero", "PUT", "/v1/keys/k?ttl_ms=0", "", "v", 400, `ttl_ms must be a positive integer (milliseconds), not "0"`},
		{"ttl zero in a form", "POST", "/put", "application/x-www-form-urlencoded", "key=k&value=v&ttl_ms=0", 400, `ttl_ms must be a positive integer (milliseconds), not "0"`},
		{"ttl negative", "POST", "/put", "application/json", `{"key":"k","value":"v","ttl_ms":-5}`, 400, `ttl_ms must be a positive integer (milliseconds), not "-5"`},
		{"nx and xx", "PUT", "/v1/keys/k?nx=true&xx=true", "", "v", 400, "nx and xx exclude each other"},
		{"ttl fraction", "POST", "/put", "application/json", `{"key":"k","value":"v","ttl_ms":1.5}`, 400, "ttl_ms"},
		{"nx not a bool", "PUT", "/v1/keys/k?nx=maybe", "", "v", 400, "nx"},
		{"unknown field", "POST", "/put", "application/json", `{"key":"k","value":"v","ex":5}`, 400, "unknown field"},
		{"malformed json", "POST", "/put", "application/json", `{"key":`, 400, "JSON body"},
		{"two objects", "POST", "/put", "application/json", `{"key":"k","value":"v"}{}`, 400, "more than one"},
		{"missing value", "POST", "/put", "application/json", `{"key":"k"}`, 400, "missing field value"},
		{"missing key", "POST", "/put", "application/x-www-form-urlencoded", "value=v", 400, "missing field key"},
		{"json as form", "POST", "/put", "application/x-www-form-urlencoded", `{"key":"k","value":"v"}`, 400, "Content-Type: application/json"},
		{"key and key_base64", "POST", "/put", "application/json", `{"key":"k","key_base64":"aw==","value":"v"}`, 400, "exclude"},
		{"bad base64", "POST", "/put", "application/json", `{"key":"k","value_base64":"!!"}`, 400, "value_base64"},
		{"text body", "POST", "/put", "text/plain", "k=v", 415, "not supported"},
		{"key too long", "PUT", "/v1/keys/" + strings.Repeat("k", 64<<10+1), "", "v", 400, "key exceeds maximum allowed size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do(tt.method, tt.path, tt.ctype, strings.NewReader(tt.body))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			wantError(t, body, "ERR", tt.msg)
		})
	}
}

// TestEmptyKey: the empty key, a key like any other as in Redis, is the
// path with nothing after the endpoint's prefix (/v1/keys/, /get/,
// /delete/) and "key": "" (or an empty form field) in /put; every
// endpoint reaches the one key.
func TestEmptyKey(t *testing.T) {
	e := newEnv(t)
	expect := func(method, path string, wantStatus int, wantBody string) {
		t.Helper()
		status, _, body := e.do(method, path, "", nil)
		if status != wantStatus || string(body) != wantBody {
			t.Fatalf("%s %s: %d %q; want %d %q", method, path, status, body, wantStatus, wantBody)
		}
	}
	status, _, body := e.do("GET", "/get/", "", nil)
	if status != 404 {
		t.Fatalf("GET /get/ of a missing empty key: %d %s", status, body)
	}
	wantError(t, body, "NOTFOUND", "no such key")
	expect("HEAD", "/v1/keys/", 404, "")
	if status, _, body := e.do("PUT", "/v1/keys/?ttl_ms=60000", "", strings.NewReader("raw")); status != 200 {
		t.Fatalf("PUT /v1/keys/: %d %s", status, body)
	}
	expect("GET", "/v1/keys/", 200, "raw")
	expect("GET", "/get/", 200, "raw")
	expect("HEAD", "/v1/keys/", 200, "")
	if ms, err := e.db.PTTL([]byte{}); err != nil || ms <= 0 || ms > 60000 {
		t.Fatalf("PTTL \"\" after PUT with ttl_ms: %d, %v", ms, err)
	}
	if n := e.db.DBSize(); n != 1 {
		t.Fatalf("%d keys after a PUT of the empty key, want 1", n)
	}
	if status, body := e.putJSON(map[string]any{"key": "", "value": "json", "xx": true}); status != 200 {
		t.Fatalf("POST /put {\"key\": \"\"}: %d %s", status, body)
	}
	expect("GET", "/v1/keys/", 200, "json")
	if status, body := e.putJSON(map[string]any{"key_base64": "", "value": "b64", "nx": true}); status != 409 {
		t.Fatalf("POST /put {\"key_base64\": \"\"} with nx over the existing empty key: %d %s", status, body)
	}
	form := url.Values{"key": {""}, "value": {"form"}}
	if status, _, body := e.do("POST", "/put", "application/x-www-form-urlencoded", strings.NewReader(form.Encode())); status != 200 {
		t.Fatalf("POST /put key=: %d %s", status, body)
	}
	if v, err := e.db.Get(nil); err != nil || string(v) != "form" {
		t.Fatalf("GET \"\" after the form: %q, %v", v, err)
	}
	// The mux redirects a path without the slash, and "//", to the
	// empty key (docs/http.md, "Keys in paths").
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/v1/keys", "/v1/keys//"} {
		resp, err := noFollow.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/v1/keys/" {
			t.Fatalf("GET %s: %s to %q; want 307 to /v1/keys/", path, resp.Status, resp.Header.Get("Location"))
		}
	}
	expect("DELETE", "/delete/", 200, "{\"deleted\":1}\n")
	expect("DELETE", "/v1/keys/", 200, "{\"deleted\":0}\n")
	expect("HEAD", "/v1/keys/", 404, "")
}

// TestRouteErrorsAreJSON: a path no endpoint serves and a method a path
// does not take are answered in the JSON error body, as every other
// error, with the mux's Allow header on a 405.
func TestRouteErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		status             int
		code, msg, allow   string
	}{
		{"unknown path", "GET", "/nope", 404, "NOROUTE", "no endpoint serves /nope", ""},
		{"unknown path, POST", "POST", "/v2/keys/k", 404, "NOROUTE", "no endpoint serves /v2/keys/k", ""},
		{"POST to a GET route", "POST", "/get/k", 405, "NOMETHOD", "/get/k does not take POST; it takes GET, HEAD", "GET, HEAD"},
		{"GET of /put", "GET", "/put", 405, "NOMETHOD", "/put does not take GET; it takes POST", "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := e.do(tt.method, tt.path, "", nil)
			if status != tt.status || h.Get("Content-Type") != "application/json" || h.Get("Allow") != tt.allow {
				t.Fatalf("status %d, Content-Type %q, Allow %q; want %d, application/json, %q: %s",
					status, h.Get("Content-Type"), h.Get("Allow"), tt.status, tt.allow, body)
			}
			wantError(t, body, tt.code, tt.msg)
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		rep  command.Reply
		want int
	}{
		{command.Err("syntax error"), 400},
		{command.Err("string exceeds maximum allowed size"), 413},
		{command.Err("key exceeds maximum allowed size"), 400},
		{command.Errorf("NOAUTH", "Authentication required."), 401},
		{command.Errorf("WRONGPASS", "invalid username-password pair or user is disabled."), 401},
		{command.Errorf("READONLY", "You can't write against a read only replica."), 403},
		{command.Err("pykv/storage: read snapshot: input/output error"), 500},
		{command.Err("pykv/segment: write 000001.seg: no space left on device (the log refuses writes until restart)"), 503},
		{command.Err("pykv/storage: database closed"), 503},
	}
	for _, tt := range tests {
		if got := statusOf(tt.rep); got != tt.want {
			t.Errorf("statusOf(%v) = %d, want %d", tt.rep, got, tt.want)
		}
	}
}
