package storage

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"

	"github.com/pykv/pykv/vfs"
)

// The DATASET file names the history a data directory holds, for
// replication. It is made at init and rewritten (crash-safely) only when
// the history changes: a follower's full sync takes its leader's, a
// promotion starts a new one. Version 1 names the history only; version
// 2, written when there is a previous history, also names the history
// this one continues and the last seq they share:
//
//	+-----------+--------+-------------+------------------+-------------+--------+
//	| "PYKVDS"  | ver 2B | id 16 bytes | prev id 16 bytes | prev end 8B | crc 4B |
//	+-----------+--------+-------------+------------------+-------------+--------+
//	                                    (version 2 only)
//
// crc is CRC-32C of every byte before it. Part of the on-disk format.
const (
	datasetFile    = "DATASET"
	datasetMagic   = "PYKVDS"
	datasetVersion = 2
	datasetSizeV1  = 6 + 2 + 16 + 4
	datasetSizeV2  = 6 + 2 + 16 + 16 + 8 + 4
	lockFile       = "LOCK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// History names the history of records a data directory holds. A
// follower whose log is a prefix of it, up to any seq, may follow it
// from there; so may a follower of Prev up to PrevEnd, the last seq the
// two histories share (a follower promoted to leader starts a new
// history that continues its leader's).
type History struct {
	ID      string // 32 hex digits
	Prev    string // the history this one continues, "" for none
	PrevEnd uint64 // the last seq shared with Prev
}

// Continues reports whether a log of history id that ends at seq is a
// prefix of h.
func (h History) Continues(id string, seq uint64) bool {
	return id == h.ID || (h.Prev != "" && id == h.Prev && seq <= h.PrevEnd)
}

// loadOrInitDataset returns the directory's history, creating DATASET
// with a new random id, crash-safely (temporary name, fsync, rename,
// directory fsync), when the directory has none.
func loadOrInitDataset(fsys vfs.FS, dir string) (History, error) {
	path := filepath.Join(dir, datasetFile)
	if _, err := fsys.Stat(path); err == nil {
		return readDataset(fsys, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return History{}, err
	}
	h := History{ID: newDatasetID()}
	return h, writeDataset(fsys, dir, h)
}

// newDatasetID returns 16 random bytes as 32 hex digits.
func newDatasetID() string {
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(id[:])
}

// writeDataset writes DATASET naming h, crash-safely: version 1 when h
// continues no other history, else version 2.
func writeDataset(fsys vfs.FS, dir string, h History) error {
	raw, err := hex.DecodeString(h.ID)
	if err != nil || len(raw) != 16 {
		return fmt.Errorf("pykv/storage: dataset id %q is not 32 hex digits", h.ID)
	}
	b := make([]byte, 0, datasetSizeV2)
	b = append(b, datasetMagic...)
	if h.Prev == "" {
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = append(b, raw...)
	} else {
		prev, err := hex.DecodeString(h.Prev)
		if err != nil || len(prev) != 16 {
			return fmt.Errorf("pykv/storage: previous dataset id %q is not 32 hex digits", h.Prev)
		}
		b = binary.LittleEndian.AppendUint16(b, 2)
		b = append(b, raw...)
		b = append(b, prev...)
		b = binary.LittleEndian.AppendUint64(b, h.PrevEnd)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return writeFileAtomic(fsys, dir, datasetFile, b)
}

func readDataset(fsys vfs.FS, path string) (History, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return History{}, err
	}
	defer f.Close()
	b := make([]byte, datasetSizeV2+1)
	n, err := f.ReadAt(b, 0)
	if n < 8 {
		return History{}, fmt.Errorf("pykv/storage: %s: %d bytes, want %d or %d: %v", path, n, datasetSizeV1, datasetSizeV2, err)
	}
	b = b[:n]
	if string(b[:6]) != datasetMagic {
		return History{}, fmt.Errorf("pykv/storage: %s at offset 0: bad magic %q", path, b[:6])
	}
	v := binary.LittleEndian.Uint16(b[6:])
	want := datasetSizeV1
	switch v {
	case 1:
	case 2:
		want = datasetSizeV2
	default:
		if v > datasetVersion {
			return History{}, fmt.Errorf("pykv/storage: %s has format version %d, this pykv reads up to version %d", path, v, datasetVersion)
		}
		return History{}, fmt.Errorf("pykv/storage: %s at offset 6: unknown format version %d", path, v)
	}
	if n != want {
		return History{}, fmt.Errorf("pykv/storage: %s: %d bytes, version %d has %d", path, n, v, want)
	}
	crcAt := want - 4
	if got, stored := crc32.Checksum(b[:crcAt], castagnoli), binary.LittleEndian.Uint32(b[crcAt:]); got != stored {
		return History{}, fmt.Errorf("pykv/storage: %s at offset %d: checksum stored %08x, computed %08x", path, crcAt, stored, got)
	}
	h := History{ID: hex.EncodeToString(b[8:24])}
	if v == 2 {
		h.Prev = hex.EncodeToString(b[24:40])
		h.PrevEnd = binary.LittleEndian.Uint64(b[40:])
	}
	return h, nil
}

func writeFileAtomic(fsys vfs.FS, dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := fsys.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pykv/storage: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pykv/storage: fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}
