// Package dirlock says who holds a data directory's LOCK file, so that
// the offline tools can tell an operator which process to stop instead
// of reporting a held lock as damage. It only reads: it never takes,
// breaks or writes a lock.
//
// The holder is found in Linux's /proc/locks, which lists every flock
// with the pid that took it and the device and inode of its file; on
// other systems, or when /proc is not mounted, the holder is unknown.
package dirlock

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitHeld is the exit code of pykv-check and pykv-compact when a
// running process holds the directory: neither damage (1) nor a usage
// error (2), so that a script can wait and try again.
const ExitHeld = 3

// lockFile is the name of the LOCK file in a data directory (storage's
// own name for it: part of the directory's format).
const lockFile = "LOCK"

// Holder returns the pid and the command name of the process that holds
// dir's LOCK file, and ok false when it cannot be found.
func Holder(dir string) (pid int, name string, ok bool) {
	return holder(filepath.Join(dir, lockFile), "/proc")
}

func holder(lock, proc string) (int, string, bool) {
	fi, err := os.Stat(lock)
	if err != nil {
		return 0, "", false
	}
	st, isUnix := fi.Sys().(*syscall.Stat_t)
	if !isUnix {
		return 0, "", false
	}
	f, err := os.Open(filepath.Join(proc, "locks"))
	if err != nil {
		return 0, "", false
	}
	defer f.Close()
	// The kernel writes the device as hex major:minor, the inode in decimal.
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 29858 fe:00:9996290 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "comm"))
		return pid, strings.TrimSpace(string(comm)), true
	}
	return 0, "", false
}

// Held is the line a tool prints when dir is held: "DIR is held by a
// running pykvd (pid N): stop it first", with the holder's own name when
// it is known.
func Held(dir string) string {
	pid, name, ok := Holder(dir)
	if !ok {
		return dir + " is held by a running pykvd (its LOCK file is locked): stop it first"
	}
	if name == "" {
		name = "pykvd"
	}
	return fmt.Sprintf("%s is held by a running %s (pid %d): stop it first", dir, name, pid)
}
