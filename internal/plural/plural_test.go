package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 segments"}, {1, "1 segment"}, {2, "2 segments"}, {-1, "-1 segments"}} {
		if got := Count(tc.n, "segment"); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := CountAs(1, "key", "keys"); got != "1 key" {
		t.Errorf("CountAs(1) = %q", got)
	}
}
