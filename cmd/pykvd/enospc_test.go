package main

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// The ENOSPC test runs a real pykvd on a small tmpfs that it fills.
const (
	tmpfsSize  = 16 << 20 // bytes of the file system
	fillerSize = 6 << 20  // a file of the test's own, deleted to free space
	// smallFillerSize is freed first: less than the 4 MiB a new segment
	// preallocates, so that start-up must cope without it.
	smallFillerSize = 512 << 10
	enospcValue     = 4 << 10 // bytes of each value written
	// maxWrites bounds the loop that fills the disk: 16 MiB of 4 KiB
	// values is 4,096 writes, and the daemon must refuse long before.
	maxWrites = 2 * tmpfsSize / enospcValue
	// refusedWrites is how many writes after the first refusal must be
	// refused too (none slips through on a full disk).
	refusedWrites = 20
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when t ends; it skips t where that cannot be done (not root, no
// mount(8), a sandbox without CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a size-limited tmpfs needs root (run as root to test a real full disk)")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: cannot mount a tmpfs on %s (%v: %s); this test needs a real small file system", dir, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		// The daemon's cleanup (registered later, run earlier) has stopped
		// it; nothing holds the mount.
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestDiskFullOnTmpfs fills a real file system under a real pykvd with
// fsync always: once the disk is full, writes are refused with an error
// that says so, reads go on, and every write that was acknowledged is
// there after a restart. With space freed (the test's own filler file
// deleted), the restarted daemon takes writes again.
func TestDiskFullOnTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, tmpfsSize)
	filler, smallFiller := filepath.Join(mnt, "filler"), filepath.Join(mnt, "filler-small")
	for _, f := range []struct {
		path string
		size int
	}{{filler, fillerSize}, {smallFiller, smallFillerSize}} {
		if err := os.WriteFile(f.path, make([]byte, f.size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(mnt, "data")
	d := testdaemon.Start(t, testdaemon.Options{Fsync: "always",
		// Small segments rotate, so that merges run (and meet the full
		// disk) too.
		Args: []string{"--data-dir", dataDir, "--segment-size", strconv.Itoa(1 << 20)}})
	n := dialNative(t, d.Addr())

	value := func(i int) string {
		return fmt.Sprintf("%08d:", i) + strings.Repeat(string(rune('a'+i%26)), enospcValue-9)
	}
	ledger := map[string]string{} // acknowledged SETs
	var refusal string
	i := 0
	for ; i < maxWrites && refusal == ""; i++ {
		k := "key-" + strconv.Itoa(i)
		n.send("SET", k, value(i))
		n.flush()
		n.c.SetDeadline(time.Now().Add(ioTimeout))
		r, err := n.r.ReadReply()
		if err != nil {
			// The write whose bytes did not fit was taken back: its reply
			// is withheld and the connection closed. The next write is
			// refused with an error.
			t.Logf("SET %s: connection closed (%v): the write that met the full disk", k, err)
			n = dialNative(t, d.Addr())
			r = n.do("SET", k, value(i))
			if !r.IsError() {
				t.Fatalf("SET %s after the failed write: %v, want an error", k, r)
			}
		}
		switch {
		case r.String() == "OK":
			ledger[k] = value(i)
		case r.IsError():
			refusal = r.String()
		default:
			t.Fatalf("SET %s: %v", k, r)
		}
	}
	if refusal == "" {
		t.Fatalf("%d writes of %d bytes on a %d-byte tmpfs were all acknowledged", maxWrites, enospcValue, tmpfsSize)
	}
	t.Logf("disk full after %d acknowledged writes: %s", len(ledger), refusal)
	if !strings.Contains(refusal, "no space left on device") {
		t.Errorf("the refusal does not say the disk is full: %s", refusal)
	}
	for j := range refusedWrites {
		k := "late-" + strconv.Itoa(j)
		if r := n.do("SET", k, "v"); !r.IsError() {
			t.Fatalf("SET %s on a full disk: %v, want an error", k, r)
		}
	}
	// Reads go on, from a new connection too.
	n2 := dialNative(t, d.Addr())
	for _, k := range []string{"key-0", "key-" + strconv.Itoa(len(ledger)/2), "key-" + strconv.Itoa(len(ledger)-1)} {
		if got, want := n2.do("GET", k).String(), strconv.Quote(ledger[k]); got != want {
			t.Fatalf("GET %s on a full disk: %.40s..., want %.40s...", k, got, want)
		}
	}
	if r := n2.do("DBSIZE"); r.String() != "(integer) "+strconv.Itoa(len(ledger)) {
		t.Errorf("DBSIZE on a full disk: %v, want %d", r, len(ledger))
	}

	// Stop (on a full disk the final flush may fail; the exit code is
	// logged, not judged).
	if code := d.Stop(); code != 0 {
		t.Logf("pykvd exited %d when stopped on a full disk", code)
	}
	if strings.Contains(d.Stderr(), "panic") {
		t.Errorf("pykvd panicked:\n%s", d.Stderr())
	}

	// With a little space freed, less than a new segment's preallocation,
	// pykvd must start, serve every acknowledged write and take writes.
	if err := os.Remove(smallFiller); err != nil {
		t.Fatal(err)
	}
	startNearlyFull(t, dataDir, ledger)

	// With plenty of space freed, the daemon restarts as it always did.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	d.Restart()
	n = dialNative(t, d.Addr())
	keys := slices.Sorted(maps.Keys(ledger))
	for _, k := range keys {
		n.send("GET", k)
	}
	n.flush()
	lost := 0
	for _, k := range keys { // replies come in request order
		if got, want := n.read().String(), strconv.Quote(ledger[k]); got != want {
			lost++
			t.Errorf("GET %s after restart: %.40s..., want %.40s...", k, got, want)
		}
	}
	if r := n.do("DBSIZE"); r.String() != "(integer) "+strconv.Itoa(len(ledger)) {
		t.Errorf("DBSIZE after restart: %v, want %d (acknowledged writes)", r, len(ledger))
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(ledger))
	}
	// Writes resume.
	for j := range refusedWrites {
		k := "after-" + strconv.Itoa(j)
		if r := n.do("SET", k, value(j)); r.String() != "OK" {
			t.Fatalf("SET %s after space was freed and pykvd restarted: %v", k, r)
		}
	}
	if got := n.do("GET", "after-0").String(); got != strconv.Quote(value(0)) {
		t.Fatalf("GET after-0: %.40s", got)
	}
}

// startNearlyFull starts pykvd on dataDir, on a disk with little free
// space, and checks that it becomes ready, serves the ledger and takes a
// write; then it stops it. A failure is reported with t.Errorf, so that
// the rest of the test still checks the ledger after space is freed.
func startNearlyFull(t *testing.T, dataDir string, ledger map[string]string) {
	t.Helper()
	var stderr syncWriter
	addr := freeAddr(t)
	cmd := exec.Command(testdaemon.Binary(t), "--data-dir", dataDir, "--native-addr", addr,
		"--resp-addr", freeAddr(t), "--http-addr", "", "--fsync", "always", "--segment-size", strconv.Itoa(1<<20))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(testdaemon.StopTimeout):
			cmd.Process.Kill()
			<-exited
			t.Errorf("pykvd did not exit within %v of SIGTERM", testdaemon.StopTimeout)
		}
	}
	deadline := time.Now().Add(testdaemon.ReadyTimeout)
	for {
		select {
		case err := <-exited:
			t.Errorf("pykvd did not start on a nearly full disk (%v); a new segment must not need its "+
				"4 MiB preallocation to start (segment/writer.go openSegment):\n%s", err, stderr.String())
			return
		case <-time.After(10 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Errorf("pykvd not ready within %v on a nearly full disk:\n%s", testdaemon.ReadyTimeout, stderr.String())
			return
		}
	}
	defer stop()
	n := dialNative(t, addr)
	keys := slices.Sorted(maps.Keys(ledger))
	for _, k := range keys {
		n.send("GET", k)
	}
	n.flush()
	for _, k := range keys {
		if got, want := n.read().String(), strconv.Quote(ledger[k]); got != want {
			t.Errorf("GET %s on a nearly full disk: %.40s..., want %.40s...", k, got, want)
			return
		}
	}
	if r := n.do("SET", "nearly-full", "v"); r.String() != "OK" {
		t.Errorf("SET on a nearly full disk after a restart: %v\n%s", r, stderr.String())
		return
	}
	ledger["nearly-full"] = "v"
}

// syncWriter is a bytes.Buffer that a process's output copier and the
// test may use at once.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
