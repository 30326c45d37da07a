package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/pykv/pykv/command"
)

// errorBody is the JSON of every error: {"error": {"code", "message"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are marshalled: a bug
		panic("httpapi: marshal reply: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e errorBody
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func (s *Server) notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "NOTFOUND", "no such key")
}

// reply answers a Reply that the handler did not expect: an error of the
// table with the status its cause deserves, else a 500 (a reply of a kind
// the command never gives).
func (s *Server) reply(w http.ResponseWriter, r *http.Request, rep command.Reply) {
	if !rep.IsError() {
		s.log.Error("unexpected reply", "method", r.Method, "path", r.URL.Path, "reply", rep.String())
		writeError(w, http.StatusInternalServerError, "ERR", "unexpected reply "+rep.String())
		return
	}
	status := statusOf(rep)
	if status >= 500 {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", status,
			"code", rep.Code, "err", rep.Msg)
	}
	writeError(w, status, rep.Code, rep.Msg)
}

// engineErrPrefix starts the text of every engine error the table passes
// on ("pykv/storage: ...", "pykv/segment: ..."); the table's own error
// texts are Redis's and never do.
const engineErrPrefix = "pykv/"

// statusOf chooses the HTTP status of an error reply.
func statusOf(rep command.Reply) int {
	switch rep.Code {
	case "NOAUTH", "WRONGPASS":
		return http.StatusUnauthorized
	case "READONLY":
		return http.StatusForbidden
	case "MISCONF": // the log failed and refuses writes until restart
		return http.StatusServiceUnavailable
	}
	msg := rep.Msg
	switch {
	case strings.HasPrefix(msg, "string exceeds maximum allowed size"):
		return http.StatusRequestEntityTooLarge
	case strings.HasPrefix(msg, engineErrPrefix) && refusesWrites(msg):
		return http.StatusServiceUnavailable
	case strings.HasPrefix(msg, engineErrPrefix):
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// refusesWrites reports whether an engine error says the engine cannot
// take writes now: its log failed (segment.Writer's sticky error says it
// refuses writes until restart) or it is closed.
func refusesWrites(msg string) bool {
	return strings.Contains(msg, "refuses writes") || strings.Contains(msg, "database closed") ||
		strings.Contains(msg, "writer closed")
}

// sessionKey holds the request's command.Session in its context.
type sessionKey struct{}

// session returns the Session that authed put in r's context.
func session(r *http.Request) *command.Session {
	return r.Context().Value(sessionKey{}).(*command.Session)
}

// authed gives each request a fresh Session and, when the table wants a
// password, authenticates it with the request's bearer token by running
// AUTH through that Session: the table compares in constant time.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.cfg.Table.NewSession()
		defer s.cfg.Table.EndSession(sess)
		if !sess.Authed {
			token, ok := bearer(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pykv"`)
				writeError(w, http.StatusUnauthorized, "NOAUTH", "Authentication required.")
				return
			}
			if rep := s.cfg.Table.Exec(sess, [][]byte{[]byte("AUTH"), []byte(token)}); rep.IsError() {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pykv", error="invalid_token"`)
				writeError(w, statusOf(rep), rep.Code, rep.Msg)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header;
// the scheme's case does not matter (RFC 9110, section 11.1).
func bearer(r *http.Request) (string, bool) {
	const scheme = "bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return h[len(scheme):], true
}
