package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// openAPIDoc is the part of an OpenAPI 3.0 document the tests read.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Info    struct{ Title, Version string }       `json:"info"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// operation is an OpenAPI operation object, in part.
type operation struct {
	Summary   string                     `json:"summary"`
	Responses map[string]json.RawMessage `json:"responses"`
}

// httpMethods are the keys of an OpenAPI path item that are operations.
var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true}

// TestOpenAPIMatchesRoutes: every route the mux serves is in openapi.json,
// and every operation there is served, by the pattern it names.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") || doc.Info.Title == "" || doc.Info.Version == "" {
		t.Fatalf("not an OpenAPI 3.0 document: openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	e := newEnv(t)

	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !httpMethods[method] {
				continue // parameters, summary...
			}
			op := strings.ToUpper(method) + " " + path
			documented[op] = true
			var o operation
			if err := json.Unmarshal(raw, &o); err != nil || o.Summary == "" || len(o.Responses) == 0 {
				t.Errorf("%s: an operation needs a summary and responses (%v)", op, err)
			}
			// The mux serves it, under the route of the same path.
			req := httptest.NewRequest(strings.ToUpper(method), strings.Replace(path, "{key}", "some%2Fkey", 1), nil)
			_, pattern := e.srv.mux.Handler(req)
			if strings.Replace(pattern, "{key...}", "{key}", 1) != op {
				t.Errorf("%s is served by %q", op, pattern)
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range e.srv.routes() {
		op := rt.method + " " + strings.Replace(rt.path, "{key...}", "{key}", 1)
		served[op] = true
		if !documented[op] {
			t.Errorf("route %s is not in openapi.json", rt.pattern())
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which no route serves", op)
		}
	}
	if len(served) != len(e.srv.routes()) {
		t.Errorf("two routes share a pattern: %v", sortedKeys(served))
	}
}

// TestOpenAPIRefsResolve: every $ref names a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if ref, ok := c.(string); ok && k == "$ref" {
					var node any = doc
					for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
						m, _ := node.(map[string]any)
						node = m[part]
					}
					if node == nil {
						t.Errorf("$ref %s resolves to nothing", ref)
					}
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	status, h, body := e.do("GET", "/openapi.json", "", nil)
	if status != 200 || h.Get("Content-Type") != "application/json" || string(body) != string(openAPI) {
		t.Fatalf("openapi.json: %d %v, %d bytes", status, h, len(body))
	}
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
