package main

import (
	"strings"
	"testing"

	"github.com/pykv/pykv/command"
)

// TestLedgerVerify checks the crash loop's judge on its own: given what a
// restarted daemon answered, verify must accept every state a crash may
// leave and refuse each kind of loss, phantom and half-applied write.
func TestLedgerVerify(t *testing.T) {
	const now = int64(1_700_000_000_000)
	const ttl = int64(3 * 3600 * 1000)
	// obsOf reads the ledger back as a daemon that kept everything would.
	obsOf := func(w *ledgerWriter) map[string]observed {
		obs := map[string]observed{}
		for _, k := range w.keys() {
			s := w.state[k]
			o := observed{exists: s.exists, val: s.val, pttl: -1}
			if s.exists && s.expLo != 0 {
				o.pttl, o.lo, o.hi = s.expLo-now, s.expLo, s.expLo
			}
			obs[k] = o
		}
		return obs
	}
	// setup returns a writer with two values and a counter acknowledged,
	// the first value with a TTL.
	setup := func() *ledgerWriter {
		w := newLedgerWriter(0, 1)
		w.acked(w.op([]string{"SET", "w0:v0", "a", "PX", "x"}, command.OK, ttl,
			change{key: "w0:v0", after: keyState{exists: true, val: "a", expLo: now + ttl}}), now)
		w.acked(w.op([]string{"SET", "w0:v1", "b"}, command.OK, 0,
			change{key: "w0:v1", after: keyState{exists: true, val: "b"}}), now)
		w.acked(w.op([]string{"INCRBY", "w0:c0", "5"}, command.OK, 0,
			change{key: "w0:c0", after: keyState{exists: true, val: "5"}}), now)
		return w
	}
	mset := func(w *ledgerWriter) *ledgerOp {
		return w.op([]string{"MSET", "w0:v1", "c", "w0:v2", "d"}, command.OK, 0,
			change{key: "w0:v1", after: keyState{exists: true, val: "c"}},
			change{key: "w0:v2", after: keyState{exists: true, val: "d"}})
	}
	cases := []struct {
		name    string
		mutate  func(w *ledgerWriter, obs map[string]observed)
		want    resolution
		wantErr string
	}{
		{"everything kept", func(*ledgerWriter, map[string]observed) {}, noneInFlight, ""},
		{"acknowledged value lost", func(_ *ledgerWriter, obs map[string]observed) {
			obs["w0:v1"] = observed{}
		}, noneInFlight, "w0:v1: read missing"},
		{"older value back", func(_ *ledgerWriter, obs map[string]observed) {
			obs["w0:c0"] = observed{exists: true, val: "4", pttl: -1}
		}, noneInFlight, "w0:c0"},
		{"phantom value", func(_ *ledgerWriter, obs map[string]observed) {
			obs["w0:v7"] = observed{exists: true, val: "never sent", pttl: -1}
		}, noneInFlight, "w0:v7"},
		{"TTL lost", func(_ *ledgerWriter, obs map[string]observed) {
			o := obs["w0:v0"]
			o.pttl, o.lo, o.hi = -1, 0, 0
			obs["w0:v0"] = o
		}, noneInFlight, "w0:v0"},
		{"TTL moved", func(_ *ledgerWriter, obs map[string]observed) {
			o := obs["w0:v0"]
			o.lo, o.hi = o.lo+1000, o.hi+1000
			obs["w0:v0"] = o
		}, noneInFlight, "w0:v0"},
		{"TTL where none was set", func(_ *ledgerWriter, obs map[string]observed) {
			obs["w0:v1"] = observed{exists: true, val: "b", pttl: 5000, lo: now + 5000, hi: now + 5000}
		}, noneInFlight, "w0:v1"},
		{"MSET in flight, applied", func(w *ledgerWriter, obs map[string]observed) {
			w.pending = mset(w)
			obs["w0:v1"] = observed{exists: true, val: "c", pttl: -1}
			obs["w0:v2"] = observed{exists: true, val: "d", pttl: -1}
		}, inFlightApplied, ""},
		{"MSET in flight, not applied", func(w *ledgerWriter, _ map[string]observed) {
			w.pending = mset(w)
		}, inFlightNotApplied, ""},
		{"MSET in flight, half applied", func(w *ledgerWriter, obs map[string]observed) {
			w.pending = mset(w)
			obs["w0:v2"] = observed{exists: true, val: "d", pttl: -1}
		}, noneInFlight, "applied to some of its keys"},
		{"in flight, another value", func(w *ledgerWriter, obs map[string]observed) {
			w.pending = mset(w)
			obs["w0:v1"] = observed{exists: true, val: "zz", pttl: -1}
			obs["w0:v2"] = observed{exists: true, val: "d", pttl: -1}
		}, noneInFlight, "applied to some of its keys"},
		{"DEL in flight, applied", func(w *ledgerWriter, obs map[string]observed) {
			w.pending = w.op([]string{"DEL", "w0:v0", "w0:c0"}, command.OK, 0, change{key: "w0:v0"}, change{key: "w0:c0"})
			obs["w0:v0"], obs["w0:c0"] = observed{}, observed{}
		}, inFlightApplied, ""},
		{"DEL of missing keys in flight", func(w *ledgerWriter, _ map[string]observed) {
			w.pending = w.op([]string{"DEL", "w0:v9"}, command.OK, 0, change{key: "w0:v9"})
		}, inFlightNoChange, ""},
		{"EXPIRE in flight, applied after the kill time", func(w *ledgerWriter, obs map[string]observed) {
			after := w.state["w0:v1"]
			after.expLo = now + ttl
			w.pending = w.op([]string{"PEXPIRE", "w0:v1", "x"}, command.OK, ttl, change{key: "w0:v1", after: after})
			// The kill came at now+10: an expiry beyond now+10+ttl was never asked for.
			obs["w0:v1"] = observed{exists: true, val: "b", pttl: ttl, lo: now + 20 + ttl, hi: now + 20 + ttl}
		}, noneInFlight, "applied to some of its keys"},
		{"EXPIRE in flight, applied", func(w *ledgerWriter, obs map[string]observed) {
			after := w.state["w0:v1"]
			after.expLo = now + ttl
			w.pending = w.op([]string{"PEXPIRE", "w0:v1", "x"}, command.OK, ttl, change{key: "w0:v1", after: after})
			obs["w0:v1"] = observed{exists: true, val: "b", pttl: ttl, lo: now + 5 + ttl, hi: now + 5 + ttl}
		}, inFlightApplied, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := setup()
			obs := obsOf(w)
			tc.mutate(w, obs)
			res, err := w.verify(obs, now+10)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("verify refused a state a crash may leave: %v", err)
				}
				if res != tc.want {
					t.Fatalf("resolution %d, want %d", res, tc.want)
				}
				if again, err := w.verify(obs, now+10); err != nil || again != noneInFlight {
					t.Fatalf("the ledger did not take what was read: %v, %v", again, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("verify = %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

// TestLedgerOpsMatchTheirReplies checks that the writes the ledger makes
// are well formed: each names only the writer's keys, and MSET and DEL
// never name a key twice (a key named twice would make all-or-nothing
// ambiguous).
func TestLedgerOpsMatchTheirReplies(t *testing.T) {
	w := newLedgerWriter(3, 42)
	own := map[string]bool{}
	for _, k := range w.keys() {
		own[k] = true
	}
	kinds := map[string]int{}
	for i := 0; i < 5000; i++ {
		op := w.next(1)
		kinds[op.argv[0]]++
		seen := map[string]bool{}
		for _, ch := range op.changes {
			if !own[ch.key] {
				t.Fatalf("%q writes %s, not the writer's", op.argv, ch.key)
			}
			if seen[ch.key] {
				t.Fatalf("%q names %s twice", op.argv, ch.key)
			}
			seen[ch.key] = true
		}
		w.acked(op, 2)
	}
	for _, k := range []string{"SET", "INCRBY", "MSET", "DEL", "EXPIRE", "PEXPIRE"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in 5000 writes: %v", k, kinds)
		}
	}
}
