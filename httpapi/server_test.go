package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/storage"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, withPassword("s3cret"))
	e.table.Exec(&command.Session{Authed: true}, [][]byte{[]byte("SET"), []byte("k"), []byte("v")})

	status, h, body := e.do("GET", "/get/k", "", nil)
	if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d %v %s", status, h, body)
	}
	wantError(t, body, "NOAUTH", "Authentication required")

	e.token = "wrong"
	status, _, body = e.do("PUT", "/v1/keys/k", "", strings.NewReader("x"))
	if status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d %s", status, body)
	}
	wantError(t, body, "WRONGPASS", "invalid username-password pair")

	e.token = "s3cret"
	if status, _, body := e.do("GET", "/get/k", "", nil); status != 200 || string(body) != "v" {
		t.Fatalf("right token: %d %s", status, body)
	}
	for _, p := range []string{"/v1/keys/k", "/openapi.json", "/docs", "/docs/curl", "/docs/swagger-ui.css"} {
		if status, _, _ := e.do("GET", p, "", nil); status != 200 {
			t.Fatalf("GET %s with the token: %d", p, status)
		}
	}

	// The scheme's case does not matter; anything but Bearer is no token.
	for _, hdr := range []string{"bearer s3cret", "BEARER s3cret"} {
		req, _ := http.NewRequest("HEAD", e.ts.URL+"/v1/keys/k", nil)
		req.Header.Set("Authorization", hdr)
		if resp, err := e.ts.Client().Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%q: %v %v", hdr, resp, err)
		}
	}
	req, _ := http.NewRequest("GET", e.ts.URL+"/get/k", nil)
	req.SetBasicAuth("default", "s3cret")
	if resp, err := e.ts.Client().Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("basic auth: %v %v", resp, err)
	}

	// The documentation is public: a browser opening /docs sends no
	// token, and Swagger UI must load its assets and the document before
	// the user can give it one. The keys stay behind the password.
	e.token = ""
	for _, p := range []string{"/healthz", "/metrics", "/openapi.json", "/docs", "/docs/curl",
		"/docs/swagger-ui-bundle.js", "/docs/favicon-32x32.png"} {
		if status, _, _ := e.do("GET", p, "", nil); status != 200 {
			t.Fatalf("GET %s without a token: %d", p, status)
		}
	}
	for _, p := range []string{"/v1/keys/k", "/get/k"} {
		if status, _, _ := e.do("GET", p, "", nil); status != 401 {
			t.Fatalf("GET %s without a token: %d, want 401", p, status)
		}
	}
}

func TestHealthz(t *testing.T) {
	var logErr atomic.Pointer[error]
	e := newEnv(t, func(_ *storage.Options, _ *command.Config, c *Config) {
		c.Health = func() error {
			if p := logErr.Load(); p != nil {
				return *p
			}
			return nil
		}
	})
	if status, h, body := e.do("GET", "/healthz", "", nil); status != 200 || string(body) != "ok\n" ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("healthy: %d %q", status, body)
	}
	before := e.db.Stats()
	e.do("GET", "/healthz", "", nil)
	if after := e.db.Stats(); after.KeyspaceHits != before.KeyspaceHits || after.KeyspaceMisses != before.KeyspaceMisses {
		t.Fatalf("healthz moved the keyspace counters: %+v -> %+v", before, after)
	}

	failed := errors.New("the log refuses writes: write /var/lib/pykv/000001.log: input/output error")
	logErr.Store(&failed)
	status, _, body := e.do("GET", "/healthz", "", nil)
	if status != http.StatusServiceUnavailable || string(body) != "unhealthy\n" {
		t.Fatalf("failed Health without a password: %d %q, want 503 \"unhealthy\" and no reason", status, body)
	}
	if log := e.logs.String(); !strings.Contains(log, "input/output error") {
		t.Errorf("the reason was not logged:\n%s", log)
	}
	logErr.Store(nil)

	e.db.Close()
	status, _, body = e.do("GET", "/healthz", "", nil)
	if status != http.StatusServiceUnavailable || string(body) != "unhealthy\n" {
		t.Fatalf("closed engine: %d %q", status, body)
	}
	status, _, body = e.do("PUT", "/v1/keys/k", "", strings.NewReader("v"))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("write to a closed engine: %d %s", status, body)
	}
}

// TestHealthzReasonOnlyWithThePassword: with a password, /healthz still
// answers without one, but only a caller whose bearer token is the
// password sees why it is unhealthy.
func TestHealthzReasonOnlyWithThePassword(t *testing.T) {
	failed := errors.New("fsync /var/lib/pykv/000007.log: no space left on device")
	e := newEnv(t, withPassword("s3cret"), func(_ *storage.Options, _ *command.Config, c *Config) {
		c.Health = func() error { return failed }
	})
	for _, tc := range []struct{ name, token, want string }{
		{"no token", "", "unhealthy\n"},
		{"wrong token", "guess", "unhealthy\n"},
		{"the password", "s3cret", "unhealthy: " + failed.Error() + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.token = tc.token
			if status, _, body := e.do("GET", "/healthz", "", nil); status != http.StatusServiceUnavailable || string(body) != tc.want {
				t.Fatalf("%d %q, want 503 %q", status, body, tc.want)
			}
		})
	}
}

func TestCurlDocsPage(t *testing.T) {
	e := newEnv(t)
	status, h, body := e.do("GET", "/docs/curl", "", nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("docs: %d %v", status, h)
	}
	page := string(body)
	for _, link := range []string{`href="/openapi.json"`, `href="/docs"`} {
		if !strings.Contains(page, link) {
			t.Errorf("the curl page has no %s", link)
		}
	}
	for _, rt := range e.srv.routes() {
		path := strings.Replace(rt.path, "{key...}", "{key}", 1)
		if !strings.Contains(page, rt.method+"</span> "+path) {
			t.Errorf("the docs page does not list %s %s", rt.method, path)
		}
	}
	for _, external := range []string{"<script", "src=", "http://", "https://", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("the docs page has %q: it must load nothing from elsewhere", external)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no restrictive Content-Security-Policy: %q", h.Get("Content-Security-Policy"))
	}
}

// TestListenServeShutdown: the server's lifecycle, as the daemon drives
// it, on a real port.
func TestListenServeShutdown(t *testing.T) {
	e := newEnv(t)
	s := New(Config{Addr: "127.0.0.1:0", Table: e.table, DB: e.db, Logger: e.srv.log, RequestTimeout: time.Minute})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if s.http.ReadHeaderTimeout != readHeaderTimeout || s.http.ReadTimeout != time.Minute || s.http.IdleTimeout == 0 {
		t.Fatalf("timeouts not as configured: %+v", s.http)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	resp, err := http.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok\n" {
		t.Fatalf("healthz over the network: %q", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after Shutdown")
	}

	first := New(Config{Addr: "127.0.0.1:0", Table: e.table, DB: e.db})
	if err := first.Listen(); err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown(context.Background())
	second := New(Config{Addr: first.Addr().String(), Table: e.table, DB: e.db})
	if err := second.Listen(); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("a taken port: %v", err)
	}
}

func TestNewWithoutEngine(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New without a DB did not panic")
		}
	}()
	db, _ := storage.Open(t.TempDir(), storage.Options{NoHousekeeper: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer db.Close()
	New(Config{Table: command.New(db, command.Config{})})
}
