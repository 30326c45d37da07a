package storage

import (
	"errors"
	"testing"

	"github.com/pykv/pykv/segment"
)

// TestJudgeTail holds the recovery rules of docs/format.md in one table,
// as recovery, pykv-check and repair all apply them.
func TestJudgeTail(t *testing.T) {
	torn := &segment.Error{Path: "s", Offset: 100, Torn: true, Err: segment.ErrShort}
	zeros := &segment.Error{Path: "s", Offset: 100, Torn: true, Zeros: true, Err: segment.ErrBadLength}
	corrupt := &segment.Error{Path: "s", Offset: 100, NextValid: 200, Err: segment.ErrChecksum}
	tests := []struct {
		name          string
		err           error
		batch         int64
		newest, force bool
		cut           int64
		zeros, damage bool
	}{
		{"clean end", nil, -1, true, false, -1, false, false},
		{"torn tail of the newest", torn, -1, true, false, 100, false, false},
		{"zeros after the last record", zeros, -1, true, false, 100, true, false},
		{"torn tail of a sealed segment", torn, -1, false, false, -1, false, true},
		{"torn tail of a sealed segment, forced", torn, -1, false, true, 100, false, false},
		{"damage", corrupt, -1, true, false, -1, false, true},
		{"damage, forced", corrupt, -1, true, true, 100, false, false},
		{"incomplete batch in the newest", nil, 60, true, false, 60, false, false},
		{"incomplete batch before a torn tail", torn, 60, true, false, 60, false, false},
		{"incomplete batch before zeros is not just zeros", zeros, 60, true, false, 60, false, false},
		{"incomplete batch in a sealed segment", nil, 60, false, false, -1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeTail("s", tt.err, tt.batch, tt.newest, tt.force)
			if got.cut != tt.cut || got.zeros != tt.zeros || (got.damage != nil) != tt.damage {
				t.Fatalf("cut %d zeros %v damage %v; want cut %d zeros %v damage %v",
					got.cut, got.zeros, got.damage, tt.cut, tt.zeros, tt.damage)
			}
			if tt.damage && tt.err != nil && !errors.Is(got.damage, tt.err) {
				t.Fatalf("damage %v does not wrap the iterator's error", got.damage)
			}
		})
	}
}
