package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/pykv/pykv/vfs"
)

// The manifest says which snapshot files are live. A data directory
// written by pykv with a set of snapshot files has one; a directory of the
// first format (one snapshot named after the newest segment it covers)
// has none, and its names say what is live until its first merge writes a
// manifest. Every change of the set (a merge, a full sync, a flush found
// at start-up) writes a whole new manifest under a temporary name, fsyncs
// it, renames it over the old one and fsyncs the directory: the rename is
// the one atomic step that retires the old files and makes the new ones
// live (docs/format.md, "Manifest").
//
//	header (28 bytes)
//	+----------+---------+---------------+------------+-----------------+-----------+
//	| "PYKVMF" | ver u16 | first seg u32 | next id u32| covered seq u64 | count u32 |
//	+----------+---------+---------------+------------+-----------------+-----------+
//	then count entries, oldest first (20 bytes each)
//	+--------+------------+------------+
//	| id u32 | min seq u64| max seq u64|
//	+--------+------------+------------+
//	then crc u32: CRC-32C of everything before it
//
// - first seg: the segments with a lower id are merged into the snapshot
//   files (or dead): obsolete.
// - next id: every snapshot id below it has been used; a new file takes
//   it, so no id is used twice.
// - covered seq: every seq at or below it is in the files (or gone);
//   the seq starts there when no segment follows.
// - min seq, max seq: the lowest and highest seq of the file's records
//   and tombstones (max seq is its header's covered seq).

const (
	manifestFile    = "MANIFEST"
	manifestMagic   = "PYKVMF"
	manifestVersion = 1
	manifestHeader  = 28
	manifestEntry   = 20
	// maxManifestFiles bounds the files a manifest lists, so that a
	// damaged count is refused rather than allocated.
	maxManifestFiles = 1 << 20
)

// ErrManifest is wrapped by the error for a MANIFEST that does not decode.
var ErrManifest = errors.New("pykv/storage: damaged MANIFEST")

// ErrNewerVersion is wrapped by the error for a MANIFEST written by a
// newer pykv, in a format this one does not read.
var ErrNewerVersion = errors.New("pykv/storage: file format is newer than this pykv supports")

// manifest is the decoded MANIFEST.
type manifest struct {
	firstSeg uint32
	nextID   uint32
	covered  uint64
	files    []setFile
}

// setFile is one snapshot file of the set.
type setFile struct {
	id       uint32
	min, max uint64
}

func (m *manifest) encode() []byte {
	b := make([]byte, 0, manifestHeader+manifestEntry*len(m.files)+4)
	b = append(b, manifestMagic...)
	b = binary.LittleEndian.AppendUint16(b, manifestVersion)
	b = binary.LittleEndian.AppendUint32(b, m.firstSeg)
	b = binary.LittleEndian.AppendUint32(b, m.nextID)
	b = binary.LittleEndian.AppendUint64(b, m.covered)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.files)))
	for _, f := range m.files {
		b = binary.LittleEndian.AppendUint32(b, f.id)
		b = binary.LittleEndian.AppendUint64(b, f.min)
		b = binary.LittleEndian.AppendUint64(b, f.max)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeManifest decodes the bytes of the MANIFEST at path (for errors).
func decodeManifest(b []byte, path string) (*manifest, error) {
	bad := func(off int, format string, args ...any) (*manifest, error) {
		return nil, fmt.Errorf("%w: %s at offset %d: %s", ErrManifest, path, off, fmt.Sprintf(format, args...))
	}
	if len(b) < manifestHeader+4 {
		return bad(0, "%d bytes, too short for a manifest (%d at least)", len(b), manifestHeader+4)
	}
	if string(b[:6]) != manifestMagic {
		return bad(0, "bad magic %q", b[:6])
	}
	if v := binary.LittleEndian.Uint16(b[6:]); v != manifestVersion {
		if v > manifestVersion {
			return nil, fmt.Errorf("%w: %s: file has version %d, this pykv reads up to version %d", ErrNewerVersion, path, v, manifestVersion)
		}
		return bad(6, "version %d", v)
	}
	count := binary.LittleEndian.Uint32(b[24:])
	if count > maxManifestFiles {
		return bad(24, "%d files, more than the %d a manifest may list", count, maxManifestFiles)
	}
	if want := manifestHeader + manifestEntry*int(count) + 4; len(b) != want {
		return bad(24, "%d files need %d bytes, the file has %d", count, want, len(b))
	}
	end := len(b) - 4
	if got, want := crc32.Checksum(b[:end], castagnoli), binary.LittleEndian.Uint32(b[end:]); got != want {
		return bad(end, "checksum stored %08x, computed %08x", want, got)
	}
	m := &manifest{
		firstSeg: binary.LittleEndian.Uint32(b[8:]),
		nextID:   binary.LittleEndian.Uint32(b[12:]),
		covered:  binary.LittleEndian.Uint64(b[16:]),
		files:    make([]setFile, count),
	}
	seen := make(map[uint32]bool, count)
	for i := range m.files {
		p := manifestHeader + manifestEntry*i
		f := setFile{id: binary.LittleEndian.Uint32(b[p:]), min: binary.LittleEndian.Uint64(b[p+4:]), max: binary.LittleEndian.Uint64(b[p+12:])}
		switch {
		case f.id < 1 || f.id > maxFileID || f.id >= m.nextID:
			return bad(p, "file id %d out of range (1 to %d, below next id %d)", f.id, maxFileID, m.nextID)
		case seen[f.id]:
			return bad(p, "file id %d listed twice", f.id)
		case f.min > f.max || f.max > m.covered:
			return bad(p+4, "file %d spans seqs %d to %d, outside the covered seq %d", f.id, f.min, f.max, m.covered)
		}
		seen[f.id] = true
		m.files[i] = f
	}
	if m.firstSeg < 1 || m.firstSeg > maxFileID+1 {
		return bad(8, "first segment %d out of range", m.firstSeg)
	}
	return m, nil
}

// readManifest reads dir's MANIFEST; it returns nil and no error when
// there is none.
func readManifest(fsys vfs.FS, dir string) (*manifest, error) {
	path := filepath.Join(dir, manifestFile)
	f, err := fsys.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("pykv/storage: open %s: %w", path, err)
	}
	defer f.Close()
	size, err := fsys.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pykv/storage: stat %s: %w", path, err)
	}
	if size > manifestHeader+manifestEntry*maxManifestFiles+4 {
		return nil, fmt.Errorf("%w: %s: %d bytes, larger than any manifest", ErrManifest, path, size)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("pykv/storage: read %s: %w", path, err)
	}
	return decodeManifest(b, path)
}

// writeManifest replaces dir's MANIFEST with m, crash-safely.
func writeManifest(fsys vfs.FS, dir string, m *manifest) error {
	return writeFileAtomic(fsys, dir, manifestFile, m.encode())
}
