package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/storage"
)

// env is a Server over a real engine in a temporary directory, served by
// httptest.
type env struct {
	t     *testing.T
	db    *storage.DB
	table *command.Table
	srv   *Server
	ts    *httptest.Server
	now   *atomic.Int64 // the engine's clock, unix ms; tests move it
	token string        // sent as a bearer token when set
	logs  *lockedBuffer // the server's log
}

// lockedBuffer is a bytes.Buffer that the server's goroutines may write
// while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type envOption func(*storage.Options, *command.Config, *Config)

func withPassword(p string) envOption {
	return func(_ *storage.Options, c *command.Config, _ *Config) { c.Password = p }
}

func withMaxValue(n int) envOption {
	return func(o *storage.Options, _ *command.Config, _ *Config) { o.MaxValueSize = n }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, now: new(atomic.Int64), logs: &lockedBuffer{}}
	e.now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	so := storage.Options{Logger: log, ExpiryInterval: -1, NoHousekeeper: true,
		Clock: func() time.Time { return time.UnixMilli(e.now.Load()) }}
	var cc command.Config
	hc := Config{Logger: log, ClientCount: func() int64 { return 7 }}
	for _, o := range opts {
		o(&so, &cc, &hc)
	}
	db, err := storage.Open(t.TempDir(), so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.table = command.New(db, cc)
	hc.Table, hc.DB = e.table, db
	e.srv = New(hc)
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	// Every response the tests get through the server's client is checked
	// against openapi.json.
	c := e.ts.Client()
	c.Transport = validating{t: t, mux: e.srv.mux, base: c.Transport}
	return e
}

// do sends a request and returns the status, the headers and the body.
func (e *env) do(method, path, contentType string, body io.Reader) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// putJSON posts v as JSON to /put.
func (e *env) putJSON(v any) (int, []byte) {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	status, _, body := e.do("POST", "/put", "application/json", bytes.NewReader(b))
	return status, body
}

// wantError checks that body is the JSON error of code.
func wantError(t *testing.T, body []byte, code, msgPart string) {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if eb.Error.Code != code || !strings.Contains(eb.Error.Message, msgPart) {
		t.Fatalf("error %+v, want code %s and a message containing %q", eb.Error, code, msgPart)
	}
}

// escapeKey percent-encodes every byte but letters and digits, as a
// careful client does; "/" and "." included, so no key is cleaned or
// split by the path's syntax.
func escapeKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}
