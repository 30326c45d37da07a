package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestReplicationChaos: a follower reaches its leader through a proxy
// that, at random (seeded; the seed is logged), cuts the link (once at a
// random byte of a full sync, and after a random lifetime or in the
// middle of a chunk, so mostly mid-frame), delays
// chunks, splits them, and stalls a direction for up to 0.7 s, while the
// leader takes a write load. Once the load has stopped and the
// proxy forwards cleanly, the follower holds exactly the leader's data,
// and no record was lost, duplicated or reordered on the way.
//
// The last is checked on the files, with both daemons stopped: the
// follower's live snapshot, from its last full sync, covers the same seq
// as the leader's and holds the same records (key, value, expiry, seq),
// and the follower's log after it is record for record the leader's log
// after it (seq, type, key, value, expiry, batch flag). pykv-check would
// say only that each directory is sound and how many records it holds;
// reading the records with the segment and snapshot packages compares
// what they hold. Neither daemon merges during the test (the segments
// are of the default 64 MiB), so the leader's log after its snapshot is
// the whole history the follower must have replayed.
func TestReplicationChaos(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	seed := replSeed(t)
	leader := testdaemon.Start(t, testdaemon.Options{Fsync: "everysec"})
	lc := newRedis(t, leader.RESPAddr(), 2, nil)
	// A snapshot for the full sync to carry, of 0.5 MiB so that chaos
	// may strike in the middle, and a log after it.
	writeMix(t, ctx, lc, "pre", 300)
	big := []any{}
	for i := range 500 {
		big = append(big, "pre:big:"+strconv.Itoa(i), strings.Repeat(strconv.Itoa(i%10), 1024))
	}
	if err := lc.MSet(ctx, big...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := lc.Do(ctx, "COMPACT").Err(); err != nil {
		t.Fatal(err)
	}
	writeMix(t, ctx, lc, "pre", 100)

	proxy := startProxy(t, leader.Addr(), seed)
	proxy.SetChaos(true)
	proxy.CutFirstWithin(512 << 10)
	follower := testdaemon.Start(t, testdaemon.Options{Fsync: "everysec", Args: []string{"--replicaof", proxy.Addr()}})
	fc := newRedis(t, follower.RESPAddr(), 2, nil)

	// No short TTLs: the leader then logs nothing by itself, and its log
	// ends where the load does.
	load := &mixLoad{Seed: seed, Workers: 3, BigMSetEvery: 1000}
	stop := make(chan struct{})
	loadDone := make(chan error, 1)
	go func() { loadDone <- load.Run(ctx, lc, stop) }()
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	defer stopLoad()
	// The load runs until the chaos has cut the link four times and the
	// follower has resumed twice with a partial sync.
	waitFor(t, 25*time.Second, "4 cuts, 2 partial syncs and 5000 writes", func() bool {
		select {
		case err := <-loadDone:
			t.Fatalf("load: %v", err)
		default:
		}
		partial, _ := strconv.Atoi(replInfo(t, ctx, lc)["pykv_partial_syncs_served"])
		return proxy.cuts.Load() >= 4 && partial >= 2 && load.Ops() >= 5000
	})
	stopLoad()
	if err := <-loadDone; err != nil {
		t.Fatal(err)
	}
	proxy.SetChaos(false)
	li := replInfo(t, ctx, lc)
	t.Logf("%d writes; the proxy made %d links, cut %d, stalled %d chunks, delayed %d, split %d; the leader served %s full and %s partial syncs",
		load.Ops(), proxy.accepted.Load(), proxy.cuts.Load(), proxy.stalls.Load(), proxy.delays.Load(), proxy.splits.Load(),
		li["pykv_full_syncs_served"], li["pykv_partial_syncs_served"])

	last := waitFollowers(t, ctx, 30*time.Second, lc, fc)
	if got := replSeq(t, ctx, fc, "slave_repl_offset"); got != last {
		t.Fatalf("the follower is at seq %d, the leader at %d", got, last)
	}
	sameData(t, "the follower", dataOf(t, ctx, lc), dataOf(t, ctx, fc))
	if merges := infoInt(t, dialNative(t, leader.Addr()), "persistence", "pykv_merges"); merges != 1 {
		t.Fatalf("the leader ran %d merges, want only the COMPACT: its log after its snapshot is no longer the follower's whole history", merges)
	}

	if code := follower.Stop(); code != 0 {
		t.Fatalf("follower exited with code %d", code)
	}
	if code := leader.Stop(); code != 0 {
		t.Fatalf("leader exited with code %d", code)
	}
	lSnap, lSegs := dataFiles(t, leader.DataDir())
	fSnap, fSegs := dataFiles(t, follower.DataDir())
	if lSnap == "" || fSnap == "" {
		t.Fatalf("want a snapshot in both directories: leader %v, follower %v",
			dataFileNames(t, leader.DataDir()), dataFileNames(t, follower.DataDir()))
	}
	lCovered, lSnapRecs := snapshotRecords(t, lSnap)
	fCovered, fSnapRecs := snapshotRecords(t, fSnap)
	if lCovered != fCovered || lCovered == 0 {
		t.Fatalf("the follower's snapshot covers seq %d, the leader's %d", fCovered, lCovered)
	}
	if len(fSnapRecs) != len(lSnapRecs) {
		t.Fatalf("the follower's snapshot holds %d records, the leader's %d", len(fSnapRecs), len(lSnapRecs))
	}
	for k, l := range lSnapRecs {
		if f, ok := fSnapRecs[k]; !ok || !sameRecord(f, l) {
			t.Fatalf("snapshot record of %q: the follower's %s, the leader's %s", k, recordString(f), recordString(l))
		}
	}

	lLog, fLog := logRecords(t, lSegs), logRecords(t, fSegs)
	if len(lLog) == 0 || lLog[0].Seq != lCovered+1 || lLog[len(lLog)-1].Seq != last {
		t.Fatalf("the leader's log holds %d records, want seqs %d to %d", len(lLog), lCovered+1, last)
	}
	for i := range max(len(lLog), len(fLog)) {
		switch {
		case i >= len(fLog):
			t.Fatalf("the follower's log ends after %d records; the leader's goes on with %s", len(fLog), recordString(lLog[i]))
		case i >= len(lLog):
			t.Fatalf("the follower's log has %d records more than the leader's, from %s", len(fLog)-len(lLog), recordString(fLog[i]))
		case !sameRecord(fLog[i], lLog[i]):
			t.Fatalf("record %d of the log after seq %d: the follower's %s, the leader's %s",
				i, lCovered, recordString(fLog[i]), recordString(lLog[i]))
		}
	}
	if full, _ := strconv.Atoi(li["pykv_full_syncs_served"]); full < 2 {
		t.Fatalf("the leader served %d full syncs, want the one cut and another", full)
	}
	if proxy.cuts.Load() < 4 || proxy.stalls.Load() == 0 || proxy.delays.Load() == 0 || proxy.splits.Load() == 0 {
		t.Fatal("the proxy did not do every kind of harm")
	}
}
