//go:build !linux

package vfs

// SyncData is Sync where fdatasync is missing (darwin has no fdatasync(2)
// of its own; Go's Sync there is fcntl F_FULLFSYNC, which also flushes the
// drive's cache). It is never weaker than SyncData on Linux, only slower.
func (f osFile) SyncData() error { return f.File.Sync() }

// Preallocate extends the file with zeros up to size with ftruncate where
// fallocate is missing. That gives the size a preallocated segment has,
// but reserves no blocks: a full disk is then met by a later write, which
// the log reports as it reports any failed write, not by this call.
func (f osFile) Preallocate(size int64) error {
	cur, err := f.Size()
	if err != nil || size <= cur {
		return err
	}
	return f.File.Truncate(size)
}
