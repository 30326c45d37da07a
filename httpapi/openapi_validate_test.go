package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/pykv/pykv/internal/kvjson"
)

func init() {
	// The docs pages are HTML; kin-openapi decodes only the types it
	// registers, and text/html is not among them.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	// GET /v1/export's lines: a string in the document, and each line an
	// export line here, so that a malformed one fails the validation.
	openapi3filter.RegisterBodyDecoder(kvjson.ContentType, ndjsonDecoder)
}

// ndjsonDecoder reads a body of export lines as one string, refusing it
// when a line is not an export line.
func ndjsonDecoder(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	for i, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if _, err := kvjson.DecodeLine(line); err != nil {
			return nil, fmt.Errorf("line %d is not an export line: %w", i+1, err)
		}
	}
	return string(b), nil
}

// spec is openapi.json as kin-openapi loads it, and a router over its
// paths, shared by every test of the package.
var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadSpec loads and validates openapi.json once.
func loadSpec() (*openapi3.T, routers.Router, error) {
	spec.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(openAPI)
		if err != nil {
			spec.err = fmt.Errorf("openapi.json does not load: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			spec.err = fmt.Errorf("no router over openapi.json: %w", err)
			return
		}
		spec.doc, spec.router = doc, router
	})
	return spec.doc, spec.router, spec.err
}

// TestOpenAPIValid: openapi.json is an OpenAPI 3.0 document by a real
// validator's judgement (kin-openapi), not only JSON of the right shape.
func TestOpenAPIValid(t *testing.T) {
	doc, _, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Fatalf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	// The validator is strict enough to notice a broken document: the
	// same bytes with an operation's responses removed are refused.
	broken := bytes.Replace(openAPI, []byte(`"responses"`), []byte(`"responsez"`), 1)
	bad, err := openapi3.NewLoader().LoadFromData(broken)
	if err == nil {
		err = bad.Validate(context.Background())
	}
	if err == nil {
		t.Fatal("a document with an operation without responses passed validation")
	}
}

// validating is the RoundTripper of every env's client: it checks each
// response of a route that openapi.json describes against the document
// (status, content type, body schema, declared headers), so that every
// test of the package holds the document to what the server does.
type validating struct {
	t    *testing.T
	mux  *http.ServeMux
	base http.RoundTripper
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // the test reading the body sees the short body
	}
	if verr := v.validate(req, resp, body); verr != nil {
		v.t.Errorf("%s %s -> %d %s: the response does not match openapi.json: %v",
			req.Method, req.URL.RequestURI(), resp.StatusCode, resp.Header.Get("Content-Type"), verr)
	}
	return resp, nil
}

// validate checks one response. A request that no route serves (404
// NOROUTE, 405 NOMETHOD) has no operation to be checked against; one that
// a route serves must have an operation in the document.
func (v validating) validate(req *http.Request, resp *http.Response, body []byte) error {
	_, router, err := loadSpec()
	if err != nil {
		return err
	}
	_, pattern := v.mux.Handler(req)
	if pattern == "" {
		return nil
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// {key...} takes the rest of the path, slashes included, which
		// an OpenAPI path template cannot say: look the path up with
		// the key as one segment, as a client that escapes "/" sends it.
		// The empty key matches no template either, whose parameters
		// are never empty: it is looked up with a stand-in, to check
		// the response against the operation's.
		prefix, ok := strings.CutSuffix(pattern[strings.Index(pattern, " ")+1:], "{key...}")
		if !ok {
			return fmt.Errorf("the mux serves it as %q, the document has no operation for it: %w", pattern, err)
		}
		r := req.Clone(req.Context())
		key := strings.ReplaceAll(strings.TrimPrefix(req.URL.EscapedPath(), prefix), "/", "%2F")
		if key == "" {
			key = "empty"
		}
		r.URL.Path, r.URL.RawPath = prefix+key, ""
		if route, params, err = router.FindRoute(r); err != nil {
			return fmt.Errorf("the mux serves it as %q, the document has no operation for it: %w", pattern, err)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
		},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), in)
}

// TestResponseValidationCatchesMismatches: the check every env's client
// makes refuses responses the document does not describe, so a passing
// test run means the responses matched, not that nothing was checked.
func TestResponseValidationCatchesMismatches(t *testing.T) {
	e := newEnv(t)
	v := e.ts.Client().Transport.(validating)
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, body  string
		ok                 bool
	}{
		{"a documented reply", "POST", "/put", 200, "application/json", `{"ok":true}`, true},
		{"a key with slashes", "GET", "/get/a/b/c", 200, "application/octet-stream", "v", true},
		{"no route: nothing to check", "GET", "/nowhere", 404, "application/json", `{}`, true},
		{"a body off its schema", "POST", "/put", 200, "application/json", `{"ok":"yes"}`, false},
		{"an undocumented status", "GET", "/healthz", 418, "text/plain", "teapot\n", false},
		{"an undocumented content type", "GET", "/get/k", 404, "text/plain", "no\n", false},
		{"an error body off its schema", "DELETE", "/v1/keys/k", 400, "application/json", `{"error":"ERR"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.ts.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.contentType}}}
			err = v.validate(req, resp, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
