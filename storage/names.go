package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
)

// The names in a data directory say what is live (docs/format.md, "Data
// directory"), so a name is judged before anything is opened:
//
//   - NNNNNNNNNN.log and NNNNNNNNNN.snap, ten decimal digits, are data files.
//     Their id must lie in 1..maxFileID.
//   - A name ending in .log or .snap whose stem is nothing but decimal
//     digits, but not ten of them, looks like a data file that was renamed
//     or mistyped. Ignoring it could hide acknowledged data, so it is
//     refused, as is an id out of range.
//   - LOCK, DATASET, MANIFEST and NNNNNNNNNN.log.broken are pykv's and
//     left alone.
//   - A .tmp name that pykv writes (it starts with DATASET., MANIFEST. or
//     with a data file's name) is a file a crash interrupted before its rename, and is
//     removed. Any other name is not pykv's: it is left alone and logged.

// maxFileID is the highest id a data file may have. The keydir tags a
// snapshot's id with snapFlag (bit 31), so an id with that bit set would be
// read as a snapshot's; and the segment made after a file is numbered
// id+1, which must stay below snapFlag too.
const maxFileID = snapFlag - 2

// ErrBadFileName is wrapped by Open's (and Check's) error for a file in
// the data directory whose name looks like a data file's but is not one
// pykv can have written.
var ErrBadFileName = errors.New("pykv/storage: unexpected file name in the data directory")

// nameKind is what a name in the data directory is.
type nameKind int

const (
	nameForeign  nameKind = iota // not pykv's: left alone
	nameOurs                     // LOCK, DATASET, MANIFEST, .broken: left alone
	nameSegment                  // a log segment
	nameSnapshot                 // a snapshot
	nameTemp                     // a temporary file of pykv's: removed
)

// judgeName classifies one name of dir. err, wrapping ErrBadFileName,
// names the file and says why it is refused.
func judgeName(dir, name string) (kind nameKind, id uint32, err error) {
	bad := func(why string) (nameKind, uint32, error) {
		return nameForeign, 0, fmt.Errorf("%w: %s: %s; move it out of the data directory (or rename it to what it should be) and start again",
			ErrBadFileName, filepath.Join(dir, name), why)
	}
	switch {
	case name == lockFile || name == datasetFile || name == manifestFile:
		return nameOurs, 0, nil
	case strings.HasSuffix(name, ".tmp"):
		if strings.HasPrefix(name, datasetFile+".") || strings.HasPrefix(name, manifestFile+".") || isDataFileName(strings.SplitN(name, ".", 3)) {
			return nameTemp, 0, nil
		}
		return nameForeign, 0, nil
	case strings.HasSuffix(name, segment.Ext+".broken"):
		return nameOurs, 0, nil
	}
	for _, c := range []struct {
		ext  string
		kind nameKind
	}{{segment.Ext, nameSegment}, {snapshot.Ext, nameSnapshot}} {
		stem, ok := strings.CutSuffix(name, c.ext)
		if !ok || !allDigits(stem) {
			continue
		}
		if len(stem) != 10 {
			return bad(fmt.Sprintf("a data file's name is ten decimal digits then %s, this one has %d digits", c.ext, len(stem)))
		}
		id, ok := segment.ParseIDFileName(name, c.ext)
		if !ok || id < 1 || id > maxFileID {
			return bad(fmt.Sprintf("file id %s is out of range (1 to %d)", stem, maxFileID))
		}
		return c.kind, id, nil
	}
	return nameForeign, 0, nil
}

// isDataFileName reports whether parts, a name split at its first two
// dots, start with a data file's name: ten digits, then log or snap.
func isDataFileName(parts []string) bool {
	return len(parts) >= 2 && len(parts[0]) == 10 && allDigits(parts[0]) &&
		("."+parts[1] == segment.Ext || "."+parts[1] == snapshot.Ext)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
