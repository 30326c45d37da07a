package storage

import (
	"testing"
	"time"

	"github.com/pykv/pykv/vfs"
)

// TestSetExpiryInterval: a DB opened with active expiry takes a new period
// and removes expired keys by it, and takes 0 (off); one opened without
// refuses to turn it on.
func TestSetExpiryInterval(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{ExpiryInterval: time.Hour})
	defer db.Close()
	if err := db.SetExpiryInterval(0); err != nil {
		t.Fatalf("turning active expiry off: %v", err)
	}
	if _, err := db.Set([]byte("k"), []byte("v"), SetOptions{ExpireAt: time.Now().UnixMilli() + 20}); err != nil {
		t.Fatal(err)
	}
	// Under the hour it was opened with, the key would wait an hour for
	// active expiry; the new period wakes the loop at once. The key is
	// never read, so only active expiry can remove it.
	if err := db.SetExpiryInterval(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.Stats().ExpiredKeys != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the key was not expired actively 10 s after the period became 1 ms")
		}
		time.Sleep(time.Millisecond)
	}
	off := openMem(t, vfs.NewMem(), Options{ExpiryInterval: -1})
	defer off.Close()
	if err := off.SetExpiryInterval(time.Second); err == nil {
		t.Fatal("a DB opened without active expiry turned it on")
	}
	if err := off.SetExpiryInterval(0); err != nil {
		t.Fatalf("off stays off: %v", err)
	}
}

// TestSetCacheBytes: the budget of a DB's cache changes and Stats shows
// it; a DB opened without a cache refuses one.
func TestSetCacheBytes(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{CacheBytes: 1 << 20})
	defer db.Close()
	if err := db.SetCacheBytes(256 << 10); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.CacheBudget != 256<<10 {
		t.Fatalf("cache budget %d after SetCacheBytes(256 KiB)", st.CacheBudget)
	}
	off := openMem(t, vfs.NewMem(), Options{CacheBytes: -1})
	defer off.Close()
	if err := off.SetCacheBytes(1 << 20); err == nil {
		t.Fatal("a DB opened without a cache took a budget")
	}
}

// TestSetMergeThresholds: the triggers SetMergeThresholds sets are the ones
// mergeDue applies, with Options' rules (0: the default, negative: off).
func TestSetMergeThresholds(t *testing.T) {
	db := openMem(t, vfs.NewMem(), Options{SegmentSize: 4096, NoHousekeeper: true,
		MergeSealedSegments: -1, MergeDeadBytes: -1})
	defer db.Close()
	val := make([]byte, 1000)
	for i := range 20 { // about five sealed segments of 4 KiB, most of them dead
		if _, err := db.Set([]byte{'k', byte('0' + i%3)}, val, SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		set  MergeThresholds
		want MergeThresholds
		due  bool
	}{
		{"both triggers off", MergeThresholds{SealedSegments: -1, DeadBytes: -1},
			MergeThresholds{-1, -1, DefaultMergeDeadRatio, DefaultMergeMaxSpaceAmp, DefaultMergeMinInterval}, false},
		{"sealed segments", MergeThresholds{SealedSegments: 2, DeadBytes: -1, MinInterval: -1},
			MergeThresholds{2, -1, DefaultMergeDeadRatio, DefaultMergeMaxSpaceAmp, -1}, true},
		{"more sealed segments than there are", MergeThresholds{SealedSegments: 1000, DeadBytes: -1},
			MergeThresholds{1000, -1, DefaultMergeDeadRatio, DefaultMergeMaxSpaceAmp, DefaultMergeMinInterval}, false},
		{"dead bytes", MergeThresholds{SealedSegments: -1, DeadBytes: 1000, DeadRatio: 0.1},
			MergeThresholds{-1, 1000, 0.1, DefaultMergeMaxSpaceAmp, DefaultMergeMinInterval}, true},
		{"dead bytes, a share never reached", MergeThresholds{SealedSegments: -1, DeadBytes: 1000, DeadRatio: 1.01},
			MergeThresholds{-1, 1000, 1.01, DefaultMergeMaxSpaceAmp, DefaultMergeMinInterval}, false},
		{"zeros are the defaults", MergeThresholds{},
			MergeThresholds{DefaultMergeSealedSegments, DefaultMergeDeadBytes, DefaultMergeDeadRatio, DefaultMergeMaxSpaceAmp, DefaultMergeMinInterval}, false},
	}
	for _, s := range steps {
		db.SetMergeThresholds(s.set)
		if got := db.Thresholds(); got != s.want {
			t.Errorf("%s: Thresholds() = %+v, want %+v", s.name, got, s.want)
		}
		db.merges.mu.Lock()
		got := db.mergeDue()
		db.merges.mu.Unlock()
		if got != s.due {
			t.Errorf("%s: mergeDue() = %v, want %v", s.name, got, s.due)
		}
	}
}

// TestAvgTTL: each active expiry cycle folds the TTLs it samples into
// Stats.AvgTTLMs, as Redis's avg_ttl; it reads 0 once no key has an expiry.
func TestAvgTTL(t *testing.T) {
	now := time.Now()
	db := openMem(t, vfs.NewMem(), Options{ExpiryInterval: -1, Clock: func() time.Time { return now }})
	defer db.Close()
	if db.ExpireCycle(); db.Stats().AvgTTLMs != 0 {
		t.Fatalf("AvgTTLMs %d with no key", db.Stats().AvgTTLMs)
	}
	for i := range 10 {
		if _, err := db.Set([]byte{'k', byte('0' + i)}, []byte("v"), SetOptions{ExpireAt: now.UnixMilli() + 100_000}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Set([]byte("forever"), []byte("v"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	db.ExpireCycle()
	if got := db.Stats().AvgTTLMs; got != 100_000 {
		t.Fatalf("AvgTTLMs %d after one cycle over keys of 100 s, want 100000", got)
	}
	now = now.Add(40 * time.Second) // 60 s left: the average moves a 50th of the way per cycle
	db.ExpireCycle()
	if got, want := db.Stats().AvgTTLMs, int64(100_000/50*49+60_000/50); got != want {
		t.Fatalf("AvgTTLMs %d after a second cycle, want %d", got, want)
	}
	for i := range 10 {
		if _, err := db.Persist([]byte{'k', byte('0' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	db.ExpireCycle()
	if got := db.Stats().AvgTTLMs; got != 0 {
		t.Fatalf("AvgTTLMs %d with no key left with an expiry", got)
	}
}
