package vfs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// SyncData is fdatasync(2): on a preallocated file it skips the journal
// commit that fsync pays for the unchanged metadata.
func (f osFile) SyncData() error { return unix.Fdatasync(int(f.Fd())) }

// Preallocate is fallocate(2) with mode 0: the blocks are reserved, so a
// full disk is refused here rather than by a later write.
func (f osFile) Preallocate(size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) {
		return nil // a file system without fallocate: writes allocate as they go
	}
	return err
}
