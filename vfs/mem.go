package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Mem is an in-memory FS that models what survives a power loss: a file's
// bytes survive only up to its last Sync, and a creation, rename or removal
// survives only once the parent directory was synced with SyncDir. Crash
// throws away everything else, as a power cut would.
type Mem struct {
	mu      sync.Mutex
	live    map[string]*memNode // the namespace as processes see it
	durable map[string]*memNode // the namespace as the disk holds it
	dirs    map[string]bool
	locks   map[string]bool
	gen     int // bumped by Crash; files and locks of older generations are dead
	free    int64
}

// memNode is one file. Its contents are data followed by zeros up to size:
// preallocated space costs nothing until something is written into it. The
// synced image, what a crash leaves, is held the same way.
//
// While dirty, the current contents and the synced image agree on every
// byte before dirtyFrom (the lowest offset written, truncated or extended
// since the last Sync), so a Sync copies only data from there on. While
// clean, they are equal and data and syncedData hold the same bytes.
// data and syncedData never share a backing array.
type memNode struct {
	data []byte // written bytes; len(data) <= size
	size int64  // logical size

	syncedData []byte
	syncedSize int64 // len(syncedData) <= syncedSize

	dirty     bool
	dirtyFrom int64 // meaningful only while dirty
}

// touch records that the contents from off on may differ from the synced
// image.
func (n *memNode) touch(off int64) {
	if !n.dirty || off < n.dirtyFrom {
		n.dirty, n.dirtyFrom = true, off
	}
}

// sync makes the current contents the synced image, copying only what may
// have changed since the last sync.
func (n *memNode) sync() {
	if !n.dirty {
		return
	}
	from := min(n.dirtyFrom, int64(len(n.data)), int64(len(n.syncedData)))
	n.syncedData = append(n.syncedData[:from], n.data[from:]...)
	n.syncedSize = n.size
	n.dirty = false
}

// contents returns a copy of the current contents, zeros included.
func (n *memNode) contents() []byte {
	b := make([]byte, n.size)
	copy(b, n.data)
	return b
}

// NewMem returns an empty in-memory file system.
func NewMem() *Mem {
	return &Mem{
		live:    map[string]*memNode{},
		durable: map[string]*memNode{},
		dirs:    map[string]bool{"/": true, ".": true},
		locks:   map[string]bool{},
		free:    MemUnlimited,
	}
}

// MemUnlimited is what FreeSpace of a new Mem reports: more than anything
// will write.
const MemUnlimited = 1 << 62

// SetFreeSpace sets what FreeSpace reports from now on, for tests of code
// that checks the free space before it writes. It is only a report: writes
// are not refused when they pass it (inject ENOSPC with Inject for that).
func (m *Mem) SetFreeSpace(n int64) {
	m.mu.Lock()
	m.free = n
	m.mu.Unlock()
}

// FreeSpace implements FS: the value set by SetFreeSpace, MemUnlimited
// until then. dir must exist.
func (m *Mem) FreeSpace(dir string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[filepath.Clean(dir)] {
		return 0, notExist("statfs", dir)
	}
	return m.free, nil
}

// Crash simulates a power loss: unsynced bytes and unsynced directory
// changes are lost, and every lock is released. Files opened before the
// crash must not be used afterwards.
func (m *Mem) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live = map[string]*memNode{}
	for name, n := range m.durable {
		if n.dirty {
			n.data = append(n.data[:0], n.syncedData...)
			n.size = n.syncedSize
			n.dirty = false
		}
		m.live[name] = n
	}
	m.locks = map[string]bool{}
	m.gen++
}

// ReadFile returns a copy of the named file's current contents.
func (m *Mem) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[filepath.Clean(name)]
	if !ok {
		return nil, notExist("read", name)
	}
	return n.contents(), nil
}

// WriteFile replaces the named file's contents, durably, creating it when
// absent; tests use it to plant damaged files.
func (m *Mem) WriteFile(name string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	n := &memNode{
		data:       append([]byte(nil), data...),
		size:       int64(len(data)),
		syncedData: append([]byte(nil), data...),
		syncedSize: int64(len(data)),
	}
	m.live[name] = n
	m.durable[name] = n
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: os.ErrNotExist}
}

func (m *Mem) checkDir(op, name string) error {
	if !m.dirs[filepath.Dir(name)] {
		return notExist(op, filepath.Dir(name))
	}
	return nil
}

// Create implements FS.
func (m *Mem) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	if err := m.checkDir("create", name); err != nil {
		return nil, err
	}
	n := &memNode{}
	m.live[name] = n
	return &memFile{fs: m, gen: m.gen, node: n, name: name, writable: true}, nil
}

// Open implements FS.
func (m *Mem) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[filepath.Clean(name)]
	if !ok {
		return nil, notExist("open", name)
	}
	return &memFile{fs: m, gen: m.gen, node: n, name: name}, nil
}

// OpenReadWrite implements FS.
func (m *Mem) OpenReadWrite(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[filepath.Clean(name)]
	if !ok {
		return nil, notExist("open", name)
	}
	return &memFile{fs: m, gen: m.gen, node: n, name: name, writable: true, pos: n.size}, nil
}

// Remove implements FS.
func (m *Mem) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	if _, ok := m.live[name]; !ok {
		return notExist("remove", name)
	}
	delete(m.live, name)
	return nil
}

// Rename implements FS.
func (m *Mem) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	n, ok := m.live[oldname]
	if !ok {
		return notExist("rename", oldname)
	}
	if err := m.checkDir("rename", newname); err != nil {
		return err
	}
	delete(m.live, oldname)
	m.live[newname] = n
	return nil
}

// Link implements FS: newname shares oldname's contents, as a hard link
// does, and survives a crash once its directory is synced.
func (m *Mem) Link(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	n, ok := m.live[oldname]
	if !ok {
		return notExist("link", oldname)
	}
	if err := m.checkDir("link", newname); err != nil {
		return err
	}
	if _, ok := m.live[newname]; ok || m.dirs[newname] {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: fs.ErrExist}
	}
	m.live[newname] = n
	return nil
}

// MkdirAll implements FS. Directories are durable at once.
func (m *Mem) MkdirAll(dir string, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := filepath.Clean(dir); !m.dirs[d]; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

// List implements FS.
func (m *Mem) List(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = filepath.Clean(dir)
	if !m.dirs[dir] {
		return nil, notExist("list", dir)
	}
	var names []string
	for name := range m.live {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	for d := range m.dirs {
		if d != dir && filepath.Dir(d) == dir {
			names = append(names, filepath.Base(d))
		}
	}
	sort.Strings(names)
	return names, nil
}

// Stat implements FS.
func (m *Mem) Stat(name string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[filepath.Clean(name)]
	if !ok {
		return 0, notExist("stat", name)
	}
	return n.size, nil
}

// SyncDir implements FS: the directory's entries become durable.
func (m *Mem) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = filepath.Clean(dir)
	for name := range m.durable {
		if filepath.Dir(name) == dir {
			if _, ok := m.live[name]; !ok {
				delete(m.durable, name)
			}
		}
	}
	for name, n := range m.live {
		if filepath.Dir(name) == dir {
			m.durable[name] = n
		}
	}
	return nil
}

// Lock implements FS.
func (m *Mem) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	if m.locks[name] {
		return nil, fmt.Errorf("%w: %s", ErrLocked, name)
	}
	m.locks[name] = true
	if _, ok := m.live[name]; !ok {
		m.live[name] = &memNode{}
	}
	return memLock{m, name, m.gen}, nil
}

type memLock struct {
	m    *Mem
	name string
	gen  int
}

func (l memLock) Close() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.gen == l.m.gen {
		delete(l.m.locks, l.name)
	}
	return nil
}

type memFile struct {
	fs       *Mem
	gen      int
	node     *memNode
	name     string
	pos      int64
	writable bool
	closed   bool
}

var (
	errClosed  = errors.New("pykv/vfs: file already closed")
	errCrashed = errors.New("pykv/vfs: file opened before a simulated crash")
)

// check returns why f cannot be used, if it cannot; the caller holds f.fs.mu.
func (f *memFile) check() error {
	if f.closed {
		return errClosed
	}
	if f.gen != f.fs.gen {
		return errCrashed
	}
	return nil
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.pos)
	f.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	nd := f.node
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= nd.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), nd.size-off))
	c := 0
	if off < int64(len(nd.data)) {
		c = copy(p[:n], nd.data[off:])
	}
	clear(p[c:n]) // the reserved region reads as zeros
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	if !f.writable {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: os.ErrPermission}
	}
	n := f.node
	if len(p) == 0 {
		return 0, nil
	}
	end := f.pos + int64(len(p))
	if gap := f.pos - int64(len(n.data)); gap > 0 {
		// Writing into the reserved region (or past the end): materialize
		// the zeros before the write, and only those.
		n.data = append(n.data, make([]byte, gap)...)
	}
	if end > int64(len(n.data)) {
		n.data = append(n.data[:f.pos], p...)
	} else {
		copy(n.data[f.pos:], p)
	}
	n.touch(min(f.pos, n.size)) // past the end, the gap is new too
	n.size = max(n.size, end)
	f.pos = end
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	f.node.sync()
	return nil
}

// SyncData is Sync: the in-memory model keeps no metadata apart.
func (f *memFile) SyncData() error { return f.Sync() }

// Preallocate extends the file with zeros up to size, as fallocate does.
func (f *memFile) Preallocate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	if n := f.node; size > n.size {
		n.touch(n.size)
		n.size = size
	}
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	n := f.node
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	if size == n.size {
		return nil
	}
	n.touch(min(size, n.size))
	if size < int64(len(n.data)) {
		n.data = n.data[:size]
	}
	n.size = size
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.node.size, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return errClosed
	}
	f.closed = true
	return nil
}

// SyncedSize returns how many bytes of the named file's current contents
// would survive a crash now: the length of the prefix its last Sync saved
// unchanged, preallocated zeros included. After a Sync that is the whole
// file. Otherwise it ends at the lowest offset written, truncated or
// extended since: bytes written there count as unsynced even when they
// happen to equal what the last Sync saved (zeros over reserved zeros, or a
// record rewritten identically), so this never overstates durability and
// measures data, not file size. It costs O(1), whatever the file's size.
func (m *Mem) SyncedSize(name string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[filepath.Clean(name)]
	if !ok {
		return 0
	}
	if !n.dirty {
		return n.size
	}
	return min(n.dirtyFrom, n.size, n.syncedSize)
}
