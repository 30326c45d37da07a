package vfs

import (
	"errors"
	"fmt"
	"io"

	"github.com/edsrzf/mmap-go"
)

// Map returns the whole content of the file at path and a function that
// releases it. For Default the content is a read-only mmap, which shares
// the page cache's pages: reading a file this way costs no new memory,
// where reading it into a fresh buffer would fault in every page of that
// buffer (about 10 µs a page on a virtual machine). sequential advises the
// kernel that the mapping will be read front to back. Other file systems
// (the in-memory one of tests) get a copy. The content must not be used
// after release, and the file must not be truncated while mapped.
func Map(fs FS, path string, sequential bool) (data []byte, release func() error, err error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, nil, err
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("size of %s: %w", path, err)
	}
	if osf, ok := OSFile(f); ok && size > 0 {
		m, err := mmap.Map(osf, mmap.RDONLY, 0)
		f.Close() // the mapping outlives the descriptor
		if err != nil {
			return nil, nil, fmt.Errorf("mmap %s: %w", path, err)
		}
		if sequential {
			adviseSequential(m)
		}
		return m, m.Unmap, nil
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf, func() error { return nil }, nil
}
