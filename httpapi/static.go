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
