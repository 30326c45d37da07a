package vfs

import (
	"errors"
	"io"
	"os"
)

// File is an open file. Reads and writes of one File may not be called
// concurrently with each other, except ReadAt, which is safe alongside
// anything but Close.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the file's contents and metadata durable (fsync).
	Sync() error
	// SyncData makes the file's contents durable, and of its metadata only
	// what reading them back needs, such as a grown size (fdatasync). On a
	// preallocated file it skips the journal commit an fsync pays.
	SyncData() error
	// Preallocate reserves size bytes for the file, extending it with
	// zeros, so that later writes need not allocate (fallocate).
	Preallocate(size int64) error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Size returns the file's current size in bytes.
	Size() (int64, error)
	// Name returns the path the file was opened with.
	Name() string
}

// FS is the set of file-system operations pykv uses.
type FS interface {
	// Create creates or truncates the named file for reading and writing.
	Create(name string) (File, error)
	// Open opens the named file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and writing, with the
	// offset for Write at the end of the file (append).
	OpenReadWrite(name string) (File, error)
	// Remove removes the named file.
	Remove(name string) error
	// Rename atomically renames oldname to newname, replacing newname.
	Rename(oldname, newname string) error
	// Link makes newname a hard link to the file oldname: a second name
	// for the same bytes. It fails when newname exists, and with an error
	// wrapping syscall.EXDEV when the two names are on different file
	// systems.
	Link(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// Stat returns the named file's size, or an error wrapping
	// os.ErrNotExist.
	Stat(name string) (int64, error)
	// SyncDir makes the directory's entries (creations, renames, removals)
	// durable.
	SyncDir(dir string) error
	// FreeSpace returns the bytes available to an unprivileged writer on
	// the file system that holds dir (statfs's f_bavail times f_bsize), so
	// that a job that will write a lot can decline to start rather than
	// fill the disk.
	FreeSpace(dir string) (int64, error)
	// Lock takes an exclusive advisory lock on the named file, creating it
	// when absent. It fails at once, with an error wrapping ErrLocked, when
	// another holder has it.
	Lock(name string) (io.Closer, error)
}

// ErrLocked is returned by FS.Lock when the lock is held elsewhere.
var ErrLocked = errors.New("pykv/vfs: lock held by another process")

// Op names one kind of file-system operation, for Inject hooks.
type Op int

// The operations an Inject hook is called for.
const (
	OpCreate Op = iota
	OpOpen
	OpWrite
	OpRead
	OpSync
	OpTruncate
	OpClose
	OpRemove
	OpRename
	OpMkdir
	OpList
	OpStat
	OpSyncDir
	OpLock
	OpFreeSpace
	OpLink
)

var opNames = [...]string{"create", "open", "write", "read", "sync", "truncate", "close",
	"remove", "rename", "mkdir", "list", "stat", "syncdir", "lock", "freespace", "link"}

// String returns the operation's name.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}
