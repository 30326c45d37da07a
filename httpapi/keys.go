package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/pykv/pykv/command"
)

// exec runs one command through the request's session.
func (s *Server) exec(r *http.Request, argv ...[]byte) command.Reply {
	return s.cfg.Table.Exec(session(r), argv)
}

// GET /get/{key} and GET /v1/keys/{key}: the raw value, or 404.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	rep := s.exec(r, []byte("GET"), key(r))
	switch rep.Kind {
	case command.KindBytes:
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(len(rep.Bytes)))
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		w.Write(rep.Bytes)
	case command.KindNil:
		s.notFound(w)
	default:
		s.reply(w, r, rep)
	}
}

// HEAD /v1/keys/{key}: 200 when the key exists, 404 when it does not.
func (s *Server) exists(w http.ResponseWriter, r *http.Request) {
	rep := s.exec(r, []byte("EXISTS"), key(r))
	switch {
	case rep.Kind == command.KindInt && rep.Int > 0:
		w.WriteHeader(http.StatusOK)
	case rep.Kind == command.KindInt:
		w.WriteHeader(http.StatusNotFound)
	default:
		s.reply(w, r, rep)
	}
}

// DELETE /delete/{key} and DELETE /v1/keys/{key}: {"deleted": n}.
func (s *Server) del(w http.ResponseWriter, r *http.Request) {
	rep := s.exec(r, []byte("DEL"), key(r))
	if rep.Kind != command.KindInt {
		s.reply(w, r, rep)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Deleted int64 `json:"deleted"`
	}{rep.Int})
}

// setRequest is what a write asks for, however it came.
type setRequest struct {
	key, value []byte
	ttlMs      []byte // PX's argument, parsed by the table; nil for none
	nx, xx     bool
}

// set runs SET and answers {"ok":true}, 409 when NX or XX prevented the
// write, or the table's error.
func (s *Server) set(w http.ResponseWriter, r *http.Request, req setRequest) {
	if req.nx && req.xx {
		badRequest(w, badInput("nx and xx exclude each other: send at most one"))
		return
	}
	argv := [][]byte{[]byte("SET"), req.key, req.value}
	if req.nx {
		argv = append(argv, []byte("NX"))
	}
	if req.xx {
		argv = append(argv, []byte("XX"))
	}
	if req.ttlMs != nil {
		argv = append(argv, []byte("PX"), req.ttlMs)
	}
	rep := s.exec(r, argv...)
	switch rep.Kind {
	case command.KindOK:
		writeJSON(w, http.StatusOK, struct {
			OK bool `json:"ok"`
		}{true})
	case command.KindNil:
		why := "not written: the key exists (nx)"
		if req.xx {
			why = "not written: the key does not exist (xx)"
		}
		writeError(w, http.StatusConflict, "CONFLICT", why)
	default:
		s.reply(w, r, rep)
	}
}

// PUT /v1/keys/{key}: the body is the value; ?ttl_ms=, ?nx=, ?xx=.
func (s *Server) putRaw(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := setRequest{key: key(r)}
	var err error
	if req.nx, err = boolParam("nx", q.Get("nx")); err != nil {
		badRequest(w, err)
		return
	}
	if req.xx, err = boolParam("xx", q.Get("xx")); err != nil {
		badRequest(w, err)
		return
	}
	if q.Has("ttl_ms") {
		if req.ttlMs, err = ttlParam(q.Get("ttl_ms")); err != nil {
			badRequest(w, err)
			return
		}
	}
	if !s.limitBody(w, r, int64(s.cfg.DB.Limits().MaxValue)) {
		return
	}
	if req.value, err = readBody(r); err != nil {
		badRequest(w, err)
		return
	}
	s.set(w, r, req)
}

// bodyChunk is the room a body of a declared length gets before any of it
// has arrived. A longer body grows with the bytes actually read, so a
// Content-Length costs nothing until it is sent: a thousand connections
// that each claim 64 MiB and then stall hold 64 MiB between them, not
// 64 GiB.
const bodyChunk = 64 << 10

// readBody reads the whole body. The Content-Length, already checked
// against the limit, is trusted as an upper bound only: the buffer starts
// at min(Content-Length, bodyChunk) and doubles as bytes arrive, never
// past the declared length, so a value sent in full costs about twice its
// size in allocations and ends in a buffer of exactly its size. A body of
// unknown length is read as it comes.
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 {
		return io.ReadAll(r.Body)
	}
	buf := make([]byte, 0, min(n, bodyChunk))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF && int64(len(buf)) < n {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	return buf, nil
}

// putBody is the JSON body of POST /put. A value (or key) that is not
// UTF-8 text goes base64-encoded in value_base64 (key_base64) instead.
type putBody struct {
	Key         *string `json:"key"`
	KeyBase64   *string `json:"key_base64"`
	Value       *string `json:"value"`
	ValueBase64 *string `json:"value_base64"`
	TTLMs       *int64  `json:"ttl_ms"`
	NX          bool    `json:"nx"`
	XX          bool    `json:"xx"`
}

// POST /put: a JSON body, or form fields (urlencoded or multipart, where
// the value may be a file part) of the same names.
func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	limit := s.putLimit()
	if !s.limitBody(w, r, limit) {
		return
	}
	ct := "application/json"
	if h := r.Header.Get("Content-Type"); h != "" {
		var err error
		if ct, _, err = mime.ParseMediaType(h); err != nil {
			writeError(w, http.StatusUnsupportedMediaType, "ERR", "bad Content-Type: "+err.Error())
			return
		}
	}
	var req setRequest
	var err error
	switch ct {
	case "application/json":
		req, err = jsonPut(r.Body)
	case "application/x-www-form-urlencoded", "multipart/form-data":
		req, err = formPut(r, limit)
	default:
		writeError(w, http.StatusUnsupportedMediaType, "ERR",
			"Content-Type "+ct+" not supported: send application/json or form fields")
		return
	}
	if err != nil {
		badRequest(w, err)
		return
	}
	s.set(w, r, req)
}

func jsonPut(body io.Reader) (setRequest, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var b putBody
	if err := dec.Decode(&b); err != nil {
		return setRequest{}, fmt.Errorf("JSON body: %w", err) // %w: a body over the limit is a 413
	}
	if dec.More() {
		return setRequest{}, badInput("JSON body: more than one object")
	}
	var req setRequest
	var err error
	if req.key, err = textOrBase64("key", b.Key, b.KeyBase64); err != nil {
		return req, err
	}
	if req.value, err = textOrBase64("value", b.Value, b.ValueBase64); err != nil {
		return req, err
	}
	if b.TTLMs != nil {
		if req.ttlMs, err = ttlParam(strconv.FormatInt(*b.TTLMs, 10)); err != nil {
			return req, err
		}
	}
	req.nx, req.xx = b.NX, b.XX
	return req, nil
}

func textOrBase64(name string, text, b64 *string) ([]byte, error) {
	switch {
	case text != nil && b64 != nil:
		return nil, badInput("%s and %s_base64 exclude each other", name, name)
	case text != nil:
		return []byte(*text), nil
	case b64 != nil:
		v, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			return nil, badInput("%s_base64: %v", name, err)
		}
		return v, nil
	}
	return nil, badInput("missing field %s (or %s_base64)", name, name)
}

// formPut reads urlencoded or multipart fields; a multipart value may be
// a file part, as curl -F value=@file sends it. net/http removes any
// temporary files of the form when the handler returns.
func formPut(r *http.Request, limit int64) (setRequest, error) {
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		// The body's limit already bounds the parts: keep them all in
		// memory rather than in temporary files a hardened unit may not
		// be allowed to write.
		err = r.ParseMultipartForm(limit)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return setRequest{}, fmt.Errorf("form body: %w", err)
	}
	form := r.PostForm
	var req setRequest
	if !form.Has("key") {
		for name := range form {
			if strings.HasPrefix(name, "{") { // curl -d '{...}' without a JSON Content-Type
				return req, badInput("missing field key: a JSON body needs Content-Type: application/json")
			}
		}
		return req, badInput("missing field key")
	}
	req.key = []byte(form.Get("key"))
	switch {
	case form.Has("value"):
		req.value = []byte(form.Get("value"))
	case r.MultipartForm != nil && len(r.MultipartForm.File["value"]) > 0:
		f, err := r.MultipartForm.File["value"][0].Open()
		if err != nil {
			return req, fmt.Errorf("form body: value: %w", err)
		}
		defer f.Close()
		if req.value, err = io.ReadAll(f); err != nil {
			return req, fmt.Errorf("form body: value: %w", err)
		}
	default:
		return req, badInput("missing field value")
	}
	if form.Has("ttl_ms") {
		if req.ttlMs, err = ttlParam(form.Get("ttl_ms")); err != nil {
			return req, err
		}
	}
	if req.nx, err = boolParam("nx", form.Get("nx")); err != nil {
		return req, err
	}
	if req.xx, err = boolParam("xx", form.Get("xx")); err != nil {
		return req, err
	}
	return req, nil
}

// boolParam parses an optional flag: absent or empty is false.
func boolParam(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badInput("%s = %q: want true or false", name, v)
	}
	return b, nil
}

// putLimit bounds a /put body: a value escaped in JSON or encoded in
// base64 takes up to about twice its bytes (more only for a value of
// control characters, which belongs in value_base64 or PUT /v1/keys), and
// the key the same, plus the field names.
func (s *Server) putLimit() int64 {
	lim := s.cfg.DB.Limits()
	return 2*int64(lim.MaxValue) + 2*int64(lim.MaxKey) + formOverhead
}

// key returns the path's key, percent-decoded by the mux.
func key(r *http.Request) []byte { return []byte(r.PathValue("key")) }

// limitBody bounds r's body at limit bytes. A declared length over the
// limit is refused here, before any of the body is read; a body that
// turns out longer fails its read with *http.MaxBytesError.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength > limit {
		tooLarge(w, r.ContentLength, limit)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return true
}

// ttlParam checks the ttl_ms parameter and returns it as PX's argument.
// It is checked here, not left to SET, so that the error names the
// parameter the client sent, not a Redis command it never did.
func ttlParam(v string) ([]byte, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return nil, badInput("ttl_ms must be a positive integer (milliseconds), not %q", v)
	}
	return []byte(v), nil
}

// badInput is an error in what the client sent.
func badInput(format string, args ...any) error { return fmt.Errorf(format, args...) }

// badRequest answers a request that could not be read or understood: 413
// when its body is over the limit, 400 otherwise. Every error reaching it
// is the client's: reading a body fails only on what the client sent.
func badRequest(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		tooLarge(w, -1, mbe.Limit)
		return
	}
	writeError(w, http.StatusBadRequest, "ERR", err.Error())
}

func tooLarge(w http.ResponseWriter, n, limit int64) {
	msg := fmt.Sprintf("request body exceeds the limit of %d bytes", limit)
	if n >= 0 {
		msg = fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", n, limit)
	}
	w.Header().Set("Connection", "close") // the rest of the body is never read
	writeError(w, http.StatusRequestEntityTooLarge, "ERR", msg)
}
