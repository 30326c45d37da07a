package vfs

import (
	"io"
	"os"
)

// Hook decides the fate of one operation: a non-nil error fails it before
// it reaches the wrapped file system. path is the file or directory the
// operation is on (for Rename, the old name).
type Hook func(op Op, path string) error

// Inject wraps fs so that hook is called before every operation.
func Inject(fs FS, hook Hook) FS { return &injectFS{fs: fs, hook: hook} }

type injectFS struct {
	fs   FS
	hook Hook
}

type injectFile struct {
	File
	hook Hook
}

func (f *injectFile) Read(p []byte) (int, error) {
	if err := f.hook(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}

func (f *injectFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.hook(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *injectFile) Write(p []byte) (int, error) {
	if err := f.hook(OpWrite, f.Name()); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *injectFile) Sync() error {
	if err := f.hook(OpSync, f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *injectFile) SyncData() error {
	if err := f.hook(OpSync, f.Name()); err != nil {
		return err
	}
	return f.File.SyncData()
}

func (f *injectFile) Preallocate(size int64) error {
	if err := f.hook(OpTruncate, f.Name()); err != nil {
		return err
	}
	return f.File.Preallocate(size)
}

func (f *injectFile) Truncate(size int64) error {
	if err := f.hook(OpTruncate, f.Name()); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *injectFile) Close() error {
	if err := f.hook(OpClose, f.Name()); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

func (i *injectFS) wrap(f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &injectFile{File: f, hook: i.hook}, nil
}

func (i *injectFS) Create(name string) (File, error) {
	if err := i.hook(OpCreate, name); err != nil {
		return nil, err
	}
	return i.wrap(i.fs.Create(name))
}

func (i *injectFS) Open(name string) (File, error) {
	if err := i.hook(OpOpen, name); err != nil {
		return nil, err
	}
	return i.wrap(i.fs.Open(name))
}

func (i *injectFS) OpenReadWrite(name string) (File, error) {
	if err := i.hook(OpOpen, name); err != nil {
		return nil, err
	}
	return i.wrap(i.fs.OpenReadWrite(name))
}

func (i *injectFS) Remove(name string) error {
	if err := i.hook(OpRemove, name); err != nil {
		return err
	}
	return i.fs.Remove(name)
}

func (i *injectFS) Rename(oldname, newname string) error {
	if err := i.hook(OpRename, oldname); err != nil {
		return err
	}
	return i.fs.Rename(oldname, newname)
}

func (i *injectFS) Link(oldname, newname string) error {
	if err := i.hook(OpLink, oldname); err != nil {
		return err
	}
	return i.fs.Link(oldname, newname)
}

func (i *injectFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := i.hook(OpMkdir, dir); err != nil {
		return err
	}
	return i.fs.MkdirAll(dir, perm)
}

func (i *injectFS) List(dir string) ([]string, error) {
	if err := i.hook(OpList, dir); err != nil {
		return nil, err
	}
	return i.fs.List(dir)
}

func (i *injectFS) Stat(name string) (int64, error) {
	if err := i.hook(OpStat, name); err != nil {
		return 0, err
	}
	return i.fs.Stat(name)
}

func (i *injectFS) SyncDir(dir string) error {
	if err := i.hook(OpSyncDir, dir); err != nil {
		return err
	}
	return i.fs.SyncDir(dir)
}

func (i *injectFS) Lock(name string) (io.Closer, error) {
	if err := i.hook(OpLock, name); err != nil {
		return nil, err
	}
	return i.fs.Lock(name)
}

func (i *injectFS) FreeSpace(dir string) (int64, error) {
	if err := i.hook(OpFreeSpace, dir); err != nil {
		return 0, err
	}
	return i.fs.FreeSpace(dir)
}
