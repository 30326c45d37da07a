package command

import (
	"strconv"

	"github.com/pykv/pykv/internal/kvjson"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
)

// Viewer is a Store that can hold its dataset as of one seq in an
// immutable snapshot (a merge, then the snapshot pinned). *storage.DB
// implements it; with a Store that does not, EXPORT replies with an
// error.
type Viewer interface {
	View() (*storage.View, error)
}

// Backuper is a Store that can copy its dataset into a directory
// without stopping writes. *storage.DB implements it; with a Store that
// does not, BACKUP replies with an error.
type Backuper interface {
	Backup(dir string) (storage.BackupStats, error)
}

// ExportChunk is about the most bytes of export lines one reply of
// EXPORT's stream (and one write of GET /v1/export) carries: whole
// lines, so that a line longer than this makes a longer chunk.
const ExportChunk = 256 << 10

// ExportStats says what an export wrote.
type ExportStats struct {
	Lines   uint64 // keys written
	Expired uint64 // keys of the view skipped because their expiry had passed
	Bytes   int64  // bytes of lines written
}

// ExportLines writes every key of v whose expiry is after nowMs (unix
// ms) as export lines (package kvjson's format), passing them to emit in
// chunks of whole lines of about ExportChunk bytes; the chunk is reused
// after emit returns. An error of emit stops the export and is returned.
// Memory stays constant whatever the dataset's size: the records are
// read from the view's mapping.
func ExportLines(v *storage.View, nowMs int64, emit func(chunk []byte) error) (ExportStats, error) {
	var st ExportStats
	buf := make([]byte, 0, ExportChunk+4<<10)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		st.Bytes += int64(len(buf))
		err := emit(buf)
		buf = buf[:0]
		return err
	}
	err := v.Records(func(r segment.Record) error {
		if r.ExpireAt != 0 && r.ExpireAt <= nowMs {
			st.Expired++
			return nil
		}
		buf = kvjson.AppendLine(buf, r.Key, r.Value, r.ExpireAt)
		st.Lines++
		if len(buf) >= ExportChunk {
			err := flush()
			if cap(buf) > 2*ExportChunk { // one long line grew it: give it back
				buf = make([]byte, 0, ExportChunk+4<<10)
			}
			return err
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return st, err
}

// errStreamNative refuses EXPORT on RESP, whose clients (redis-cli) read
// one reply per command.
var errStreamNative = Err("EXPORT streams its lines over the native protocol only: use pykv-cli --export, or GET /v1/export on the HTTP API")

// export is EXPORT: a merge, then the status "EXPORT <seq> <keys>" (the
// seq the export is as of, and the keys of the snapshot, an upper bound
// of the lines: the expired ones are skipped), then a stream of bulk
// replies, each whole export lines, ended by an integer reply, the
// number of lines, or by an error reply when the export failed part-way.
// Native protocol only.
func (t *Table) export(s *Session, _ [][]byte) Reply {
	vw, ok := t.store.(Viewer)
	if !ok {
		return Err("EXPORT is not supported by this storage engine")
	}
	if !s.Native {
		return errStreamNative
	}
	v, err := vw.View()
	if err != nil {
		return Err("EXPORT: " + oneLine(err.Error()))
	}
	now := t.nowMs(s)
	s.Stream = func(emit func(Reply) error) {
		defer v.Close()
		gone := false // the connection failed: nothing more can be sent
		st, err := ExportLines(v, now, func(chunk []byte) error {
			err := emit(Bytes(chunk))
			gone = err != nil
			return err
		})
		switch {
		case gone:
		case err != nil:
			emit(Err("EXPORT failed after " + strconv.FormatUint(st.Lines, 10) + " lines: " + oneLine(err.Error())))
		default:
			emit(Int(int64(st.Lines)))
		}
	}
	return Status("EXPORT " + strconv.FormatUint(v.Seq, 10) + " " + strconv.FormatUint(v.Keys(), 10))
}

// backup is BACKUP path: a copy of the dataset as of one seq in path, a
// directory on the server, made when absent and else empty. The reply
// is a map: path (absolute), seq, keys, bytes, linked (1 when the
// snapshot was hard-linked, 0 when copied) and duration_ms.
func (t *Table) backup(_ *Session, argv [][]byte) Reply {
	b, ok := t.store.(Backuper)
	if !ok {
		return Err("BACKUP is not supported by this storage engine")
	}
	if len(argv[1]) == 0 {
		return Err("BACKUP: the path is empty")
	}
	st, err := b.Backup(string(argv[1]))
	if err != nil {
		return Err("BACKUP: " + oneLine(err.Error()))
	}
	linked := int64(0)
	if st.Linked {
		linked = 1
	}
	return mapReply("path", st.Dir, "seq", Int(int64(st.Seq)), "keys", Int(int64(st.Keys)),
		"bytes", Int(st.Bytes), "linked", Int(linked), "duration_ms", Int(st.Duration.Milliseconds()))
}
