package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/kvjson"
	"github.com/pykv/pykv/storage"
)

// TestExport: GET /v1/export streams every key as export lines, binary
// keys and values in base64 and expiries absolute, leaving out keys
// expired by then, with the seq in a header and the line count in a
// trailer; it needs the password like every key endpoint.
func TestExport(t *testing.T) {
	e := newEnv(t, withPassword("pw"))
	e.token = "pw"
	exp := e.now.Load() + 60_000
	for _, w := range []struct {
		key, value string
		at         int64
	}{
		{"text", "hello\nworld", 0},
		{"bin\xff", "\x00\x80", 0},
		{"ttl", "v", exp},
		{"soon", "v", e.now.Load() + 10},
	} {
		if _, err := e.db.Set([]byte(w.key), []byte(w.value), storage.SetOptions{ExpireAt: w.at}); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("x", 1000)
	for i := range 600 { // several chunks
		if _, err := e.db.Set([]byte(fmt.Sprintf("k%03d", i)), []byte(big), storage.SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.now.Add(10) // "soon" has expired, not yet merged away
	req, _ := http.NewRequest("GET", e.ts.URL+"/v1/export", nil)
	req.Header.Set("Authorization", "Bearer pw")
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" ||
		resp.Header.Get("X-Pykv-Seq") != "604" || resp.Trailer.Get("X-Pykv-Lines") != "603" {
		t.Fatalf("GET /v1/export: %d, headers %v, trailers %v", resp.StatusCode, resp.Header, resp.Trailer)
	}
	var got []string
	for _, line := range bytes.SplitAfter(bytes.TrimSuffix(body.Bytes(), []byte("\n")), []byte("\n")) {
		l, err := kvjson.DecodeLine(line)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if !bytes.HasPrefix(l.Key, []byte("k")) || len(l.Key) != 4 {
			got = append(got, fmt.Sprintf("%q=%q@%d", l.Key, l.Value, l.ExpireAtMs))
		}
	}
	sort.Strings(got)
	want := []string{`"bin\xff"="\x00\x80"@0`, `"text"="hello\nworld"@0`, `"ttl"="v"@` + strconv.FormatInt(exp, 10)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("exported %v, want %v and the 600 k keys", got, want)
	}
	if !bytes.Contains(body.Bytes(), []byte(`{"key_base64":"Ymlu/w==","value_base64":"AIA="}`)) {
		t.Fatalf("the binary key's line is not in base64:\n%.300s", body.Bytes())
	}

	e.token = ""
	status, _, b := e.do("GET", "/v1/export", "", nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("GET /v1/export without the password: %d %s", status, b)
	}
}

// TestExportOfClosedEngine: the engine closed, the export is a 503 with
// the JSON error body, as the key endpoints answer.
func TestExportOfClosedEngine(t *testing.T) {
	e := newEnv(t)
	e.db.Close()
	status, _, body := e.do("GET", "/v1/export", "", nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("export of a closed engine: %d %s", status, body)
	}
	wantError(t, body, "ERR", "closed")
}
