package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/reply"
)

var t0 = time.Unix(1_700_000_000, 0)

// at is a sample ms milliseconds after t0.
func at(ms int, seq uint64) Sample {
	return Sample{At: t0.Add(time.Duration(ms) * time.Millisecond), Seq: seq}
}

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100 down to 1: Percentile sorts
	}
	for _, tc := range []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"none", nil, 50, 0},
		{"one", []float64{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50},
		{"p99 of 1..100", hundred, 99, 99},
		{"max of 1..100", hundred, 100, 100},
		{"p1 of 1..100", hundred, 1, 1},
		{"p50 of four", []float64{4, 1, 3, 2}, 50, 2},
		{"p99 of four", []float64{4, 1, 3, 2}, 99, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.values, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.values, tc.p, got, tc.want)
			}
		})
	}
	if hundred[0] != 100 {
		t.Errorf("Percentile reordered its argument: first value %v", hundred[0])
	}
}

func TestLeaderSeqAt(t *testing.T) {
	leader := []Sample{at(0, 100), at(10, 200), at(20, 200)}
	for _, tc := range []struct {
		ms   int
		want float64
	}{{-5, 100}, {0, 100}, {5, 150}, {10, 200}, {15, 200}, {30, 200}} {
		if got := leaderSeqAt(leader, t0.Add(time.Duration(tc.ms)*time.Millisecond)); got != tc.want {
			t.Errorf("leader seq at %d ms = %v, want %v", tc.ms, got, tc.want)
		}
	}
}

func TestCompute(t *testing.T) {
	// The leader idles at 100 until 10 ms, writes 100 records every 10 ms
	// up to 400 at 40 ms, then idles again.
	leader := []Sample{at(0, 100), at(5, 100), at(10, 200), at(20, 300), at(30, 400), at(40, 500), at(50, 500), at(60, 500)}
	for _, tc := range []struct {
		name      string
		followers [][]Sample
		records   []float64
		millis    []float64
		unreached int
	}{
		{
			name: "in step",
			// Polled at the leader's instants with the leader's seq: no lag.
			followers: [][]Sample{{at(0, 100), at(10, 200), at(20, 300), at(30, 400), at(40, 500), at(50, 500)}},
			records:   []float64{0, 0, 0, 0},
			millis:    []float64{0, 0, 0, 0},
		},
		{
			name: "one poll behind",
			// Polled 5 ms after each leader poll with the seq of the poll
			// before: the leader was 50 records further than its last poll
			// then (interpolated), plus the 100 missing; each leader seq is
			// applied by the poll 15 ms after it.
			followers: [][]Sample{{at(15, 100), at(25, 200), at(35, 300), at(45, 400), at(55, 500)}},
			records:   []float64{150, 150, 150},
			millis:    []float64{15, 15, 15, 15},
		},
		{
			name: "never catches up",
			// The last two leader seqs of the window are never applied.
			followers: [][]Sample{{at(12, 200), at(50, 300)}},
			records:   []float64{20},
			millis:    []float64{2, 30},
			unreached: 2,
		},
		{
			name: "two followers pooled",
			followers: [][]Sample{
				{at(10, 200), at(20, 300), at(30, 400), at(40, 500)},
				{at(15, 100), at(25, 200), at(35, 300), at(45, 400), at(55, 500)},
			},
			records: []float64{0, 0, 0, 0, 150, 150, 150},
			millis:  []float64{0, 0, 0, 0, 15, 15, 15, 15},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Compute(leader, tc.followers)
			if !equal(got.Records, tc.records) {
				t.Errorf("records lag %v, want %v", got.Records, tc.records)
			}
			if !equal(got.Millis, tc.millis) {
				t.Errorf("ms lag %v, want %v", got.Millis, tc.millis)
			}
			if got.Unreached != tc.unreached {
				t.Errorf("unreached %d, want %d", got.Unreached, tc.unreached)
			}
		})
	}
}

func TestComputeIdleLeader(t *testing.T) {
	got := Compute([]Sample{at(0, 5), at(10, 5)}, [][]Sample{{at(5, 5)}})
	if len(got.Records) != 0 || len(got.Millis) != 0 || got.Unreached != 0 {
		t.Errorf("a leader whose seq never moved gave %+v, want no figures", got)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func TestParseRole(t *testing.T) {
	str := func(s string) reply.Reply { return reply.Bytes([]byte(s)) }
	for _, tc := range []struct {
		name  string
		r     reply.Reply
		want  role
		fails bool
	}{
		{"master", reply.Array([]reply.Reply{str("master"), reply.Int(42), reply.Array(nil)}), role{seq: 42}, false},
		{"slave connected", reply.Array([]reply.Reply{str("slave"), str("127.0.0.1"), reply.Int(7380), str("connected"), reply.Int(9)}),
			role{follower: true, connected: true, seq: 9}, false},
		{"slave in sync", reply.Array([]reply.Reply{str("slave"), str("127.0.0.1"), reply.Int(7380), str("sync"), reply.Int(0)}),
			role{follower: true}, false},
		{"error", reply.Err("unknown command"), role{}, true},
		{"short", reply.Array([]reply.Reply{str("slave"), str("h"), reply.Int(1)}), role{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRole(tc.r)
			if (err != nil) != tc.fails || got != tc.want {
				t.Errorf("parseRole(%v) = %+v, %v; want %+v, error %v", tc.r, got, err, tc.want, tc.fails)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--followers", "a:1,b:2", "--sync"},
		{"--followers", "a:1", "--duration", "0s"},
		{"--followers", "a:1", "--duration", "2h"},
		{"--followers", "a:1", "--interval", "0s"},
		{"--followers", "a:1", "extra"},
	} {
		var stderr bytes.Buffer
		if code := run(args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "repllag:") {
			t.Errorf("repllag %q: exit %d, stderr %q; want 2 and a message", args, code, stderr.String())
		}
	}
}
