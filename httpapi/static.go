package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/swaggest/swgui"
	swaggerui "github.com/swaggest/swgui/v5/static"
	"github.com/swaggest/swgui/v5emb"
	"github.com/vearutop/statigz"

	"github.com/pykv/pykv/storage"
)

// openAPI is the OpenAPI 3.0 document of every endpoint; a test holds it
// and the routes together, and validates every response the tests get
// against it.
//
//go:embed openapi.json
var openAPI []byte

// curlPage lists the endpoints with curl examples (/docs/curl). It loads
// nothing from elsewhere, so it works on a machine without internet
// access.
//
//go:embed docs.html
var curlPage []byte

// swaggerBase is where Swagger UI's page is served; its assets are under
// swaggerBase + "/".
const swaggerBase = "/docs"

// swaggerPage is Swagger UI's page over /openapi.json and the
// Content-Security-Policy that keeps it to this server: scripts, styles,
// images and requests ("Try it out") from the same origin only, and the
// page's own inline scripts by their hashes. The page is the same for
// every request, so it is rendered once.
var swaggerPage = sync.OnceValues(func() ([]byte, string) {
	h := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "pykv HTTP API",
		SwaggerJSON: "/openapi.json",
		BasePath:    swaggerBase + "/",
		SettingsUI: map[string]string{
			// The schemas are few and small: show them.
			"defaultModelsExpandDepth": "1",
			"displayRequestDuration":   "true",
			// The password given to Authorize lives in the page's
			// memory only, never in the browser's storage.
			"persistAuthorization": "false",
		},
	})
	req, err := http.NewRequest("GET", swaggerBase, nil)
	if err != nil {
		panic(err)
	}
	var page pageBuffer
	h.ServeHTTP(&page, req)
	if page.status != http.StatusOK {
		panic(fmt.Sprintf("httpapi: Swagger UI's page rendered with status %d: %s", page.status, page.body.Bytes()))
	}
	body := page.body.Bytes()
	csp := []string{"default-src 'none'", "connect-src 'self'", "img-src 'self' data:",
		"style-src 'self' 'unsafe-inline'", "font-src 'self' data:",
		"base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"}
	script := "script-src 'self'"
	for _, m := range inlineScript.FindAllSubmatch(body, -1) {
		sum := sha256.Sum256(m[1])
		script += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return body, strings.Join(append(csp, script), "; ")
})

// inlineScript matches a script element without a src, capturing its text
// as the browser hashes it.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// pageBuffer is the http.ResponseWriter swaggerPage renders into.
type pageBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *pageBuffer) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *pageBuffer) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

func (p *pageBuffer) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.body.Write(b)
}

// swaggerAssets serves Swagger UI's scripts, styles and icons, embedded
// in the binary by github.com/swaggest/swgui (gzipped; unpacked for a
// client that does not take gzip). A name it does not have is 404
// NOROUTE, in JSON, as any other path no endpoint serves.
var swaggerAssets = http.StripPrefix(swaggerBase+"/", statigz.FileServer(swaggerui.FS,
	statigz.OnNotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOROUTE",
			fmt.Sprintf("no endpoint serves %s (the endpoints are listed at /docs)", swaggerBase+"/"+r.URL.Path))
	})))

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// serveSwaggerUI serves Swagger UI's page (GET /docs).
func serveSwaggerUI(w http.ResponseWriter, _ *http.Request) {
	page, csp := swaggerPage()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	w.Write(page)
}

// serveSwaggerAsset serves one of Swagger UI's files (GET /docs/{asset}).
func serveSwaggerAsset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	swaggerAssets.ServeHTTP(w, r)
}

// serveCurlDocs serves the page of curl examples (GET /docs/curl).
func serveCurlDocs(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is self-contained; the policy keeps it so.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(curlPage)
}

// GET /healthz: "ok" when the engine is open and, when the daemon gave
// one, its Health check passes; 503 "unhealthy" otherwise. The reason can
// hold file paths and system error texts, which are not for whoever can
// reach the port (the endpoint needs no token, for load balancers and
// probes): it goes to the log, once each time it changes, and into the
// body only for a request that carries the password as its bearer token
// when one is set. Without a password, it is never in the body. It reads
// no key, so it does not move the keyspace counters.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := s.health()
	s.logHealth(err)
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		if s.mayExplain(r) {
			w.Write([]byte("unhealthy: " + err.Error() + "\n"))
			return
		}
		w.Write([]byte("unhealthy\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// mayExplain reports whether r may see why the server is unhealthy: a
// password is set and r's bearer token is it.
func (s *Server) mayExplain(r *http.Request) bool {
	sess := s.cfg.Table.NewSession()
	if sess.Authed {
		return false // no password: anyone could ask
	}
	token, ok := bearer(r)
	if !ok {
		return false
	}
	return !s.cfg.Table.Exec(sess, [][]byte{[]byte("AUTH"), []byte(token)}).IsError()
}

// logHealth logs the reason of a failed health check when it differs from
// the last one logged, and the recovery, so that a probe every second
// does not flood the log.
func (s *Server) logHealth(err error) {
	reason := ""
	if err != nil {
		reason = err.Error()
	}
	last := "" // nothing logged yet counts as healthy
	if prev := s.lastHealth.Swap(&reason); prev != nil {
		last = *prev
	}
	if reason == last {
		return
	}
	if err != nil {
		s.log.Warn("/healthz: unhealthy", "reason", reason)
	} else {
		s.log.Info("/healthz: healthy again")
	}
}

func (s *Server) health() error {
	// A one-key scan is the engine's cheapest call that fails once it is
	// closed, and it counts no hit or miss.
	if _, _, err := s.cfg.DB.Scan(0, nil, 1); err != nil {
		if errors.Is(err, storage.ErrClosed) {
			return errors.New("the engine is closed")
		}
		return err
	}
	if s.cfg.Health != nil {
		return s.cfg.Health()
	}
	return nil
}
