package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/kvjson"
	"github.com/pykv/pykv/storage"
)

// Headers of GET /v1/export.
const (
	// headerSeq is the seq the export is as of.
	headerSeq = "X-Pykv-Seq"
	// headerKeys is the keys of the snapshot exported: an upper bound of
	// the lines, since keys expired by the time they are read are left
	// out.
	headerKeys = "X-Pykv-Keys"
	// trailerLines, a trailer, is the number of lines sent: a client that
	// finds it missing or different holds a cut export.
	trailerLines = "X-Pykv-Lines"
)

// GET /v1/export: a merge, then every key as export lines (NDJSON, the
// lines of package kvjson) as of one seq, streamed in constant memory
// with each write under its own write timeout. The status is sent
// before the first line: an export that fails part-way is cut off (the
// chunked body ends without its last chunk) and has no X-Pykv-Lines
// trailer.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.DB.View()
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrMergeNoSpace) {
			status = http.StatusServiceUnavailable
		}
		s.log.Warn("export failed", "err", err)
		writeError(w, status, "ERR", err.Error())
		return
	}
	defer v.Close()
	h := w.Header()
	h.Set("Content-Type", kvjson.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(headerSeq, strconv.FormatUint(v.Seq, 10))
	h.Set(headerKeys, strconv.FormatUint(v.Keys(), 10))
	h.Set("Trailer", trailerLines)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	st, err := command.ExportLines(v, s.cfg.DB.Now().UnixMilli(), func(chunk []byte) error {
		rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil {
		s.log.Warn("export cut off", "seq", v.Seq, "lines_sent", st.Lines, "err", err)
		panic(http.ErrAbortHandler) // the client sees the body end early
	}
	h.Set(trailerLines, strconv.FormatUint(st.Lines, 10))
}
