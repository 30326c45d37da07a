//go:build linux || darwin || freebsd || dragonfly

package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The systems listed in the build line above share flock(2), statfs(2)
// with f_bavail and f_bsize, and madvise(2); the field types differ, hence
// the conversions.

func (osFS) FreeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func (osFS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, name)
		}
		return nil, fmt.Errorf("flock %s: %w", name, err)
	}
	return f, nil
}

// adviseSequential tells the kernel that m will be read front to back, so
// that it reads ahead and drops pages behind. It is advice: errors are
// ignored.
func adviseSequential(m []byte) { _ = unix.Madvise(m, unix.MADV_SEQUENTIAL) }
