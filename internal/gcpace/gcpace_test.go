package gcpace

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	tests := []struct {
		name string
		live uint64
		want int
	}{
		{"nothing measured yet", 0, MaxPercent},
		{"tiny heap: Go's default", 4 << 20, MaxPercent},
		{"heap of MinHeadroom: default", MinHeadroom, MaxPercent},
		{"64 MiB: 32 MiB of headroom", 64 << 20, 50},
		{"rounded up, never less headroom", 96 << 20, 34},
		{"320 MiB: the floor", 320 << 20, MinPercent},
		{"5M keys, 240 MB: the floor", 240_000_000, 14},
		{"huge heap: the floor", 64 << 30, MinPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Percent(tt.live)
			if got != tt.want {
				t.Fatalf("Percent(%d) = %d, want %d", tt.live, got, tt.want)
			}
			if got < MaxPercent && tt.live*uint64(got)/100 < MinHeadroom {
				t.Fatalf("Percent(%d) = %d leaves %d bytes of headroom, less than %d", tt.live, got, tt.live*uint64(got)/100, MinHeadroom)
			}
		})
	}
}

func TestStepFollowsTheLiveHeap(t *testing.T) {
	live := uint64(1 << 30)
	var set []int
	p := &Pacer{log: slog.New(slog.NewTextHandler(io.Discard, nil)), read: func() uint64 { return live },
		set: func(v int) int { set = append(set, v); return 100 }}
	if prev := p.Step(); prev != 100 {
		t.Fatalf("Step returned %d, want the percent before it (100)", prev)
	}
	live = 8 << 20
	p.Step()
	if len(set) != 2 || set[0] != MinPercent || set[1] != MaxPercent {
		t.Fatalf("percents set %v, want [%d %d]", set, MinPercent, MaxPercent)
	}
}

// TestRunSetsTheProcessPercent runs a real Pacer over this process's heap:
// with a live heap far above MinHeadroom the percent drops below Go's
// default, and it is restored when Run returns.
func TestRunSetsTheProcessPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	ballast := make([]byte, 8*MinHeadroom) // pointer-free, like the keydir
	for i := range ballast {
		ballast[i] = byte(i)
	}
	runtime.GC() // the live heap metric is measured by a collection
	ctx, cancel := context.WithCancel(context.Background())
	p := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.set = func(v int) int {
		prev := debug.SetGCPercent(v)
		if v != 100 {
			cancel() // stop after the first adjustment
		}
		return prev
	}
	p.Run(ctx)
	runtime.KeepAlive(ballast)
	if p.last >= MaxPercent || p.last < MinPercent {
		t.Fatalf("with %d bytes live the pacer set %d%%, want below %d", len(ballast), p.last, MaxPercent)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after Run the GC percent is %d, want the 100 it found", got)
	}
}

func TestEnabled(t *testing.T) {
	t.Setenv("GOGC", "200")
	if Enabled() {
		t.Fatal("Enabled with GOGC set")
	}
}
