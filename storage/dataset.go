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
// replication. It is made once, at init, and never changed:
//
//	+-----------+--------+-------------+--------+
//	| "PYKVDS"  | ver 2B | id 16 bytes | crc 4B |
//	+-----------+--------+-------------+--------+
//
// crc is CRC-32C of the 24 bytes before it. Part of the on-disk format.
const (
	datasetFile    = "DATASET"
	datasetMagic   = "PYKVDS"
	datasetVersion = 1
	datasetSize    = 6 + 2 + 16 + 4
	lockFile       = "LOCK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// loadOrInitDataset returns the directory's dataset id, creating it
// crash-safely (temporary name, fsync, rename, directory fsync) when the
// directory has none.
func loadOrInitDataset(fsys vfs.FS, dir string) (string, error) {
	path := filepath.Join(dir, datasetFile)
	if _, err := fsys.Stat(path); err == nil {
		return readDataset(fsys, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	hexID := hex.EncodeToString(id[:])
	return hexID, writeDataset(fsys, dir, hexID)
}

// writeDataset writes DATASET naming the dataset id (32 hex digits),
// crash-safely.
func writeDataset(fsys vfs.FS, dir, id string) error {
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 16 {
		return fmt.Errorf("pykv/storage: dataset id %q is not 32 hex digits", id)
	}
	b := make([]byte, 0, datasetSize)
	b = append(b, datasetMagic...)
	b = binary.LittleEndian.AppendUint16(b, datasetVersion)
	b = append(b, raw...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return writeFileAtomic(fsys, dir, datasetFile, b)
}

func readDataset(fsys vfs.FS, path string) (string, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, datasetSize)
	if n, err := f.ReadAt(b, 0); n != datasetSize {
		return "", fmt.Errorf("pykv/storage: %s: %d bytes, want %d: %v", path, n, datasetSize, err)
	}
	if string(b[:6]) != datasetMagic {
		return "", fmt.Errorf("pykv/storage: %s at offset 0: bad magic %q", path, b[:6])
	}
	if v := binary.LittleEndian.Uint16(b[6:]); v > datasetVersion {
		return "", fmt.Errorf("pykv/storage: %s has format version %d, this pykv reads up to version %d", path, v, datasetVersion)
	}
	if got, want := crc32.Checksum(b[:24], castagnoli), binary.LittleEndian.Uint32(b[24:]); got != want {
		return "", fmt.Errorf("pykv/storage: %s at offset 24: checksum stored %08x, computed %08x", path, want, got)
	}
	return hex.EncodeToString(b[8:24]), nil
}

// writeFileAtomic writes name in dir crash-safely: a temporary file is
// written and fsynced, renamed over name, and the directory fsynced.
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
