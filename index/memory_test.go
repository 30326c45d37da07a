package index

import "testing"

func TestKeyBytes(t *testing.T) {
	for _, tc := range []struct {
		keyLen int
		ttl    bool
		want   int64
	}{
		{3, false, 1 + 3 + fixedSize + 5},
		{3, true, 1 + 3 + fixedSize + 5 + ttlSize + 4},
		{200, false, 2 + 200 + fixedSize + 5}, // 400 needs a two-byte uvarint
	} {
		if got := KeyBytes(tc.keyLen, tc.ttl); got != tc.want {
			t.Errorf("KeyBytes(%d, %v) = %d, want %d", tc.keyLen, tc.ttl, got, tc.want)
		}
	}
}
