package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
)

// Header constants: part of the on-disk format.
const (
	// Magic opens every segment file.
	Magic = "PYKVLG"
	// Version is the newest segment format version this package reads.
	Version uint16 = VersionFlush
	// VersionPlain is the version of a segment that holds set and delete
	// records only: every segment but one opened for a flush, so a data
	// directory that never flushed keeps the bytes older pykv read.
	VersionPlain uint16 = 1
	// VersionFlush is the version of a segment opened for a flush: its
	// first record is a TypeFlush record of seq FirstSeq, possibly the
	// first of a batch. An older pykv refuses it by its version rather
	// than misreading the directory.
	VersionFlush uint16 = 2
	// HeaderSize is the size of a segment file's header.
	HeaderSize = 6 + 2 + 4 + 8 + 4
	// Ext is the file name extension of segment files.
	Ext = ".log"
)

// Header is the start of a segment file.
type Header struct {
	Version  uint16
	ID       uint32 // the file id, also in the file's name
	FirstSeq uint64 // seq of the first record the file was opened for
}

// ErrNewerVersion is returned for a file written by a newer pykv.
var ErrNewerVersion = errors.New("pykv/segment: file format is newer than this pykv supports")

// ErrBadHeader is returned for a file that is not a pykv segment.
var ErrBadHeader = errors.New("pykv/segment: bad segment header")

// AppendHeader appends h's encoding to dst.
func AppendHeader(dst []byte, h Header) []byte {
	var b [HeaderSize]byte
	copy(b[:], Magic)
	binary.LittleEndian.PutUint16(b[6:], h.Version)
	binary.LittleEndian.PutUint32(b[8:], h.ID)
	binary.LittleEndian.PutUint64(b[12:], h.FirstSeq)
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	return append(dst, b[:]...)
}

// DecodeHeader decodes a segment header from buf.
func DecodeHeader(buf []byte) (Header, error) {
	if len(buf) < HeaderSize {
		return Header{}, ErrShort
	}
	if string(buf[:6]) != Magic {
		return Header{}, fmt.Errorf("%w: magic %q, want %q", ErrBadHeader, buf[:6], Magic)
	}
	if got, want := crc32.Checksum(buf[:20], castagnoli), binary.LittleEndian.Uint32(buf[20:]); got != want {
		return Header{}, fmt.Errorf("%w: header checksum stored %08x, computed %08x", ErrBadHeader, want, got)
	}
	h := Header{
		Version:  binary.LittleEndian.Uint16(buf[6:]),
		ID:       binary.LittleEndian.Uint32(buf[8:]),
		FirstSeq: binary.LittleEndian.Uint64(buf[12:]),
	}
	if h.Version > Version {
		return h, fmt.Errorf("%w: file has version %d, this pykv reads up to version %d", ErrNewerVersion, h.Version, Version)
	}
	if h.Version == 0 {
		return h, fmt.Errorf("%w: version 0", ErrBadHeader)
	}
	return h, nil
}

// FileName returns the name of segment id.
func FileName(id uint32) string { return IDFileName(id, Ext) }

// Path returns the path of segment id in dir.
func Path(dir string, id uint32) string { return filepath.Join(dir, FileName(id)) }

// ParseFileName returns the id of a segment file name, or ok false when the
// name is not one.
func ParseFileName(name string) (id uint32, ok bool) { return ParseIDFileName(name, Ext) }

// IDFileName returns the name of the data file with id and extension ext:
// the id in decimal, zero-padded to ten digits, so that names sort as ids
// do. Segments and snapshots share the rule.
func IDFileName(id uint32, ext string) string { return fmt.Sprintf("%010d%s", id, ext) }

// ParseIDFileName returns the id in a name made by IDFileName with ext, or
// ok false when the name is not one.
func ParseIDFileName(name, ext string) (id uint32, ok bool) {
	base, found := strings.CutSuffix(name, ext)
	if !found || len(base) != 10 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
