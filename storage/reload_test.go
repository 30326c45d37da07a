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
