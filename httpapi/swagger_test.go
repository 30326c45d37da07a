package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestSwaggerUIPage: /docs is Swagger UI over /openapi.json; every file
// the page loads is served from the binary under /docs/, with the type a
// browser needs; the Content-Security-Policy admits exactly the page's
// own inline scripts and nothing from another origin.
func TestSwaggerUIPage(t *testing.T) {
	e := newEnv(t)
	status, h, body := e.do("GET", "/docs", "", nil)
	if status != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("/docs: %d %v", status, h)
	}
	page := string(body)
	if !strings.Contains(page, `"swaggerJsonUrl":"/openapi.json"`) {
		t.Errorf("the page does not load /openapi.json:\n%s", page)
	}

	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	var scriptSrc string
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "script-src "); ok {
			scriptSrc = v
		}
	}
	if !strings.HasPrefix(scriptSrc, "'self' ") || strings.Contains(scriptSrc, "unsafe") {
		t.Errorf("script-src %q: want 'self' and the inline scripts' hashes, nothing unsafe", scriptSrc)
	}
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	if len(inline) == 0 {
		t.Fatal("no inline script: the page cannot start Swagger UI")
	}
	for _, m := range inline {
		sum := sha256.Sum256([]byte(m[1]))
		if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, hash) {
			t.Errorf("the policy does not admit inline script %.60q... (%s)", m[1], hash)
		}
	}

	wantType := map[string]string{".js": "application/javascript", ".css": "text/css; charset=utf-8", ".png": "image/png"}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("the page references %d files, want Swagger UI's scripts, style sheet and icons", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/docs/") {
			t.Errorf("the page loads %q, which is not served from /docs/", ref)
			continue
		}
		status, h, body := e.do("GET", ref, "", nil)
		ext := ref[strings.LastIndex(ref, "."):]
		if status != 200 || h.Get("Content-Type") != wantType[ext] || len(body) < 100 {
			t.Errorf("GET %s: %d %q, %d bytes", ref, status, h.Get("Content-Type"), len(body))
		}
	}

	// The bundle is stored gzipped; a client that takes no gzip gets it
	// unpacked, one that does gets the stored bytes.
	for _, tc := range []struct{ acceptEncoding, wantEncoding string }{
		{"identity", ""},
		{"gzip", "gzip"},
	} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/docs/swagger-ui-bundle.js", nil)
		req.Header.Set("Accept-Encoding", tc.acceptEncoding)
		resp, err := e.ts.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != tc.wantEncoding {
			t.Errorf("Accept-Encoding %s: %d, Content-Encoding %q, want %q", tc.acceptEncoding,
				resp.StatusCode, resp.Header.Get("Content-Encoding"), tc.wantEncoding)
		}
	}

	// A name Swagger UI does not have is the JSON 404 of a path no
	// endpoint serves.
	for _, p := range []string{"/docs/nope.js", "/docs/index.html", "/docs/embed.go"} {
		status, _, body := e.do("GET", p, "", nil)
		if status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, status)
			continue
		}
		wantError(t, body, "NOROUTE", "no endpoint serves "+p)
	}
}

// TestSwaggerUIAuthorize: openapi.json declares the bearer scheme that
// Swagger UI's Authorize offers, requires it of the key operations and
// of nothing else.
func TestSwaggerUIAuthorize(t *testing.T) {
	doc, _, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, s := range doc.Components.SecuritySchemes {
		if s.Value.Type == "http" && s.Value.Scheme == "bearer" {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		t.Fatalf("bearer schemes %v, want one", names)
	}
	if len(doc.Security) != 1 || len(doc.Security[0]) != 1 || doc.Security[0][names[0]] == nil {
		t.Fatalf("the document's security %v does not require %s", doc.Security, names[0])
	}
	e := newEnv(t)
	for _, rt := range e.srv.routes() {
		op := doc.Paths.Find(strings.Replace(rt.path, "{key...}", "{key}", 1)).GetOperation(rt.method)
		public := op.Security != nil && len(*op.Security) == 0
		if public != rt.public {
			b, _ := json.Marshal(op.Security)
			t.Errorf("%s: security %s in openapi.json, but public=%v in the routes", rt.pattern(), b, rt.public)
		}
	}
}

// TestDocsAssetsCountedAsOneHandler: every asset of the page counts in
// pykv_http_requests_total under one handler label, the route's pattern,
// so that the metric's series do not grow with the files asked for.
func TestDocsAssetsCountedAsOneHandler(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/docs", "/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/nope.js", "/openapi.json"} {
		e.do("GET", p, "", nil)
	}
	got := map[string]float64{}
	for _, m := range scrape(t, e)["pykv_http_requests_total"].GetMetric() {
		var handler, code string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "handler":
				handler = l.GetValue()
			case "code":
				code = l.GetValue()
			}
		}
		got[handler+" "+code] += m.GetCounter().GetValue()
	}
	want := map[string]float64{"/docs 200": 1, "/docs/{asset} 200": 2, "/docs/{asset} 404": 1, "/openapi.json 200": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("requests %s: %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
