package httpapi

import (
	_ "embed"
	"errors"
	"net/http"

	"github.com/pykv/pykv/storage"
)

// openAPI is the OpenAPI 3.0 document of every endpoint; a test holds it
// and the routes together.
//
//go:embed openapi.json
var openAPI []byte

// docsPage lists the endpoints with curl examples. It loads nothing from
// elsewhere, so it works on a machine without internet access.
//
//go:embed docs.html
var docsPage []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

func serveDocs(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is self-contained; the policy keeps it so.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(docsPage)
}

// GET /healthz: "ok" when the engine is open and, when the daemon gave
// one, its Health check passes; 503 and the reason otherwise. It reads no
// key, so it does not move the keyspace counters.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.health(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("unhealthy: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
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
