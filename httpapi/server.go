package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/storage"
)

// Timeouts of the http.Server. A value of the default 64 MiB limit at
// 1 MB/s takes about a minute to send, so the response timeout leaves room
// for twice that; headers have no such excuse and get a slowloris bound.
// The whole request's is Config.RequestTimeout, the daemon's
// request_timeout.
const (
	readHeaderTimeout = 10 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// minHeaderBytes is net/http's default header limit; it is raised when a
// percent-encoded key of the largest size (three bytes per byte) would not
// fit in the request line.
const minHeaderBytes = http.DefaultMaxHeaderBytes

// formOverhead is room in a /put body for the field names, the key and
// the other fields besides the (possibly escaped) value.
const formOverhead = 64 << 10

// Config configures a Server. Table and DB are required; zero values of
// the other fields mean the documented defaults.
type Config struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:7381".
	Addr string
	// TLS, when set, makes the listener speak HTTPS.
	TLS *tls.Config
	// Table runs every command. Whether a password is needed is the
	// Table's to say: a fresh Session that is not authenticated means one
	// is.
	Table *command.Table
	// DB is the engine: /metrics reads its Stats at scrape time and
	// /healthz checks that it is open.
	DB *storage.DB
	// MaxConns is the most connections open at a time (config
	// max_clients), counted in Clients. One more is answered 503 "max
	// number of clients reached" and closed, as the native and RESP
	// listeners refuse theirs. 0 means no limit.
	MaxConns int
	// Clients counts open connections; the daemon passes the counter of
	// its native and RESP listeners, so that max_clients bounds every
	// listener together. nil = a counter of the HTTP listener's own.
	Clients *atomic.Int64
	// ClientCount reports the daemon's connected clients for the
	// pykv_connected_clients gauge; nil omits the gauge.
	ClientCount func() int64
	// Health, when set, is asked by /healthz after the engine is found
	// open; an error makes the check fail, and its text is logged (shown
	// only to a caller with the password). The daemon passes
	// the log's state here, so that a log that refuses writes is unhealthy.
	Health func() error
	// RequestTimeout bounds the reading of a whole request, headers and
	// body, from its first byte (net/http's ReadTimeout; config
	// request_timeout); the headers get at most 10 s of it. 0 = no bound
	// but the headers' 10 s, as net/http's 0.
	RequestTimeout time.Duration
	// Collectors are more metrics for /metrics, from the daemon's other
	// parts (replication).
	Collectors []prometheus.Collector
	// Logger receives listener events and server errors; default
	// slog.Default.
	Logger *slog.Logger
}

// Server is the HTTP listener. Listen, Serve, Addr and Shutdown follow
// server.Server, so the daemon starts and stops every listener alike.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	reg   *prometheus.Registry
	http  *http.Server
	ln    net.Listener
	limit *limitListener // nil without MaxConns

	lastHealth atomic.Pointer[string] // the reason /healthz last logged; "" healthy

	requests *prometheus.CounterVec
}

// New returns a Server of cfg.Table over cfg.DB. It panics when either is
// nil, a mistake of the caller rather than of the configuration.
func New(cfg Config) *Server {
	if cfg.Table == nil || cfg.DB == nil {
		panic("httpapi: New without a Table or a DB")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("listener", "http"), mux: http.NewServeMux()}
	s.reg = s.newRegistry()
	for _, rt := range s.routes() {
		h := rt.handler
		if !rt.public {
			h = s.authed(h)
		}
		s.mux.Handle(rt.pattern(), s.count(rt.path, h))
	}
	headerTimeout := readHeaderTimeout
	if cfg.RequestTimeout > 0 {
		headerTimeout = min(headerTimeout, cfg.RequestTimeout)
	}
	s.http = &http.Server{
		Handler:           s.jsonErrors(s.mux),
		TLSConfig:         cfg.TLS,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       cfg.RequestTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    max(minHeaderBytes, 3*cfg.DB.Limits().MaxKey+formOverhead),
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's handler, for tests and for embedding the
// endpoints in another http.Server.
func (s *Server) Handler() http.Handler { return s.jsonErrors(s.mux) }

// jsonErrors answers the requests that match no route in JSON, as every
// other error is: 404 NOROUTE for a path no endpoint serves, 405 NOMETHOD
// (with the mux's Allow header) for a method the path does not take. The
// mux's own plain-text answer is dropped.
func (s *Server) jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&routeErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

// routeErrorWriter turns the mux's plain-text 404 or 405 into the JSON
// error body. Anything else the mux writes (a redirect of a path it
// cleans) passes through.
type routeErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	status  int
	replied bool
}

func (w *routeErrorWriter) WriteHeader(status int) {
	w.status = status
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replied = true
	h := w.Header()
	h.Del("Content-Type")
	h.Del("X-Content-Type-Options")
	if status == http.StatusNotFound {
		writeError(w.ResponseWriter, status, "NOROUTE",
			fmt.Sprintf("no endpoint serves %s (the endpoints are listed at /docs)", w.r.URL.Path))
		return
	}
	writeError(w.ResponseWriter, status, "NOMETHOD",
		fmt.Sprintf("%s does not take %s; it takes %s", w.r.URL.Path, w.r.Method, h.Get("Allow")))
}

func (w *routeErrorWriter) Write(b []byte) (int, error) {
	if w.replied {
		return len(b), nil // the mux's text, replaced by the JSON body
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Listen binds the address; Serve then accepts on it.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("pykv/httpapi: listen %s (http): %w", s.cfg.Addr, err)
	}
	s.UseListener(ln)
	return nil
}

// UseListener serves on an existing listener (socket activation), at most
// MaxConns connections at a time.
func (s *Server) UseListener(ln net.Listener) {
	if s.cfg.MaxConns > 0 {
		s.limit = newLimitListener(ln, s.cfg.MaxConns, s.cfg.Clients, s.cfg.TLS)
		ln = s.limit
	}
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.ln = ln
}

// SetMaxConns changes Config.MaxConns while the server serves, for
// connections accepted from now on. It does nothing on a server made
// without MaxConns.
func (s *Server) SetMaxConns(n int) {
	if s.limit != nil {
		s.limit.max.Store(int64(n))
	}
}

// Rejected counts connections refused because of MaxConns.
func (s *Server) Rejected() uint64 {
	if s.limit == nil {
		return 0
	}
	return s.limit.refused.Load()
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Shutdown; it returns nil after Shutdown.
// It logs nothing of its start: the caller logs "listening" once Listen
// has bound the address, so that the log's order is the order of events.
func (s *Server) Serve() error {
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("pykv/httpapi: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting, lets requests in flight finish, and waits for
// them, or for ctx, after which it closes the connections that remain and
// returns ctx's error. A listener that never served is closed too.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	if s.ln != nil {
		s.ln.Close() // already closed by the http.Server when it served
	}
	return err
}

// route is one endpoint: the mux pattern it is registered under and
// whether it is open without authentication.
type route struct {
	method, path string
	handler      http.HandlerFunc
	public       bool
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes is every endpoint the server serves; openapi.json describes
// exactly these (a test holds them together).
func (s *Server) routes() []route {
	return []route{
		{method: "POST", path: "/put", handler: s.put},
		{method: "GET", path: "/get/{key...}", handler: s.get},
		{method: "DELETE", path: "/delete/{key...}", handler: s.del},
		{method: "GET", path: "/v1/keys/{key...}", handler: s.get},
		{method: "PUT", path: "/v1/keys/{key...}", handler: s.putRaw},
		{method: "DELETE", path: "/v1/keys/{key...}", handler: s.del},
		{method: "HEAD", path: "/v1/keys/{key...}", handler: s.exists},
		{method: "GET", path: "/v1/export", handler: s.export},
		{method: "GET", path: "/healthz", handler: s.healthz, public: true},
		{method: "GET", path: "/metrics", handler: s.metrics().ServeHTTP, public: true},
		// The documentation is public, as a browser opening /docs sends
		// no token: it shows the document and the UI, never a key.
		{method: "GET", path: "/openapi.json", handler: serveOpenAPI, public: true},
		{method: "GET", path: swaggerBase, handler: serveSwaggerUI, public: true},
		{method: "GET", path: swaggerBase + "/curl", handler: serveCurlDocs, public: true},
		// One route, so one handler label in the request metrics, for
		// every asset of the page.
		{method: "GET", path: swaggerBase + "/{asset}", handler: serveSwaggerAsset, public: true},
	}
}
