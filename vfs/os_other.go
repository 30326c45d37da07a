//go:build !(linux || darwin || freebsd || dragonfly)

package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// On other systems (Windows, the other BSDs, Plan 9) Default builds but
// cannot lock a data directory, so storage refuses to open one there
// rather than let two processes share it. The in-memory FS works anywhere.

func (osFS) FreeSpace(dir string) (int64, error) {
	return 0, &os.PathError{Op: "statfs", Path: dir, Err: errors.ErrUnsupported}
}

func (osFS) Lock(name string) (io.Closer, error) {
	return nil, fmt.Errorf("lock %s: %w", name, errors.ErrUnsupported)
}

func adviseSequential([]byte) {}
