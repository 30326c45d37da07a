package storage

import (
	"errors"
	"fmt"

	"github.com/pykv/pykv/segment"
)

// tail is what the end of a segment calls for, once its records are read:
// one rule for recovery, pykv-check and repair.
type tail struct {
	cut    int64 // offset to cut the file at; -1 for nothing
	zeros  bool  // only zeros from cut on: trim, nothing worth keeping
	torn   error // a torn tail (or an incomplete batch) of the newest segment, for reports
	damage error // damage that may be cut only when forced (repair)
}

// judgeTail applies the recovery rules of docs/format.md to the end of
// segment path, whose iteration stopped with iterErr (nil at a clean end)
// and left an incomplete batch at batchStart (-1 for none). A torn tail or
// an incomplete batch of the newest segment is cut; anything else is
// damage, cut only when force.
func judgeTail(path string, iterErr error, batchStart int64, newest, force bool) tail {
	t := tail{cut: -1}
	var serr *segment.Error
	if errors.As(iterErr, &serr) {
		switch {
		case serr.Torn && newest:
			t.cut, t.torn = serr.Offset, serr
		case force:
			t.cut = serr.Offset
		default:
			t.damage = iterErr
		}
	} else if iterErr != nil {
		t.damage = iterErr
	}
	if batchStart >= 0 {
		switch {
		case newest || force:
			if t.cut < 0 || batchStart < t.cut {
				t.cut = batchStart
			}
			if t.torn == nil {
				t.torn = fmt.Errorf("%s at offset %d: batch without its last record (torn)", path, batchStart)
			}
		case t.damage == nil:
			t.damage = fmt.Errorf("%s at offset %d: batch without its last record in a sealed segment", path, batchStart)
		}
	}
	if serr != nil && serr.Zeros && batchStart < 0 && t.cut == serr.Offset {
		t.zeros, t.torn = true, nil // the writer's preallocated space
	}
	return t
}
