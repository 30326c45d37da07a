package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// A View is the dataset as of one seq, held in one immutable snapshot
// file that stays mapped, and on disk, until Close whatever merges run
// meanwhile: what an export streams and a backup copies. It costs no
// memory but the mapping's pages as they are read.
type View struct {
	// Seq is the seq the view is as of: it holds every write up to it
	// and none after.
	Seq uint64
	// History is the history the dataset belongs to (DATASET's).
	History History
	// Merge is what the merge that made the view did.
	Merge MergeStats

	db   *DB
	snap *dataFile // nil when the dataset has never held a record
}

// View merges the log into a new snapshot and returns it as a View. A
// merge already running is waited for, then a new one folds in what it
// left. The merge costs what any merge costs (docs/operations.md,
// "Merges"): a read of the live snapshot and of the log, a write of the
// new snapshot; writes go on meanwhile, to the active segment, and are
// not in the view. The caller must Close the view.
func (db *DB) View() (*View, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	db.merges.mu.Lock() // waits for a running merge
	defer db.merges.mu.Unlock()
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if db.merges.stuck != nil {
		return nil, db.merges.stuck
	}
	if err := db.rotateForMerge(); err != nil {
		return nil, err
	}
	st, err := db.mergeSealed(true)
	if err != nil {
		return nil, err
	}
	// Holding merges.mu since the merge: no other merge, and no full
	// sync of a follower, changed the snapshot or the history since.
	v := &View{db: db, snap: db.files.liveSnapshot(), History: db.History(), Merge: st}
	if v.snap != nil {
		v.Seq = v.snap.snap.Header.CoveredSeq
	}
	return v, nil
}

// Keys returns the number of records Records passes; some of them may
// have expired since the merge.
func (v *View) Keys() uint64 {
	if v.snap == nil {
		return 0
	}
	return v.snap.snap.Footer.Count
}

// Path returns the snapshot file's path, "" for an empty dataset that
// has none.
func (v *View) Path() string {
	if v.snap == nil {
		return ""
	}
	return v.snap.path
}

// Size returns the snapshot file's size in bytes.
func (v *View) Size() int64 {
	if v.snap == nil {
		return 0
	}
	return v.snap.size
}

// Records passes the view's records to fn, expired ones included, in the
// snapshot's order (file order up to version 2, index order from version
// 3: see snapshot.Snapshot.Records): each is a set record with its absolute expiry (0 for none).
// Keys and values alias the mapping and are valid only during the call.
// An error of fn stops the walk and is returned.
func (v *View) Records(fn func(r segment.Record) error) error {
	if v.snap == nil {
		return nil
	}
	return v.snap.snap.Records(v.db.opts.limits(), func(_ int64, r segment.Record) error { return fn(r) })
}

// Close releases the snapshot; a merge that retired it meanwhile removes
// it now.
func (v *View) Close() {
	if v.snap != nil {
		v.db.files.release(v.snap)
		v.snap = nil
	}
}

// BackupStats describes one backup.
type BackupStats struct {
	Dir      string        // the target directory, absolute
	Seq      uint64        // the seq the copy is as of
	Keys     uint64        // records of the snapshot copied (some may have expired since)
	Bytes    int64         // bytes of the snapshot
	Linked   bool          // the snapshot was hard-linked rather than copied
	Merge    MergeStats    // the merge that made the snapshot
	Duration time.Duration // wall time, the merge included
}

// ErrBackupTarget is wrapped by Backup's error when the target directory
// cannot receive a backup: it is not empty, or it is the data directory.
var ErrBackupTarget = errors.New("pykv/storage: unusable backup target")

// Backup writes a copy of the dataset as of one seq into dir, without
// stopping writes: a merge (as View), then the snapshot hard-linked into
// dir (copied when dir is on another file system, or the file system has
// no hard links), then DATASET, every file and dir fsynced. dir (relative to the working directory) is made
// when absent and must be empty when present. The copy is a data
// directory: pykvd opens it (it holds the snapshot and DATASET, and no
// log) and pykv-check checks it. On failure what Backup wrote in dir is
// removed.
func (db *DB) Backup(dir string) (BackupStats, error) {
	start := time.Now()
	fsys := db.opts.FS
	abs, err := filepath.Abs(dir)
	if err != nil {
		return BackupStats{Dir: dir}, fmt.Errorf("pykv/storage: backup: %s: %w", dir, err)
	}
	dir = abs
	st := BackupStats{Dir: dir}
	if err := db.backupTarget(dir); err != nil {
		return st, err
	}
	v, err := db.View()
	if err != nil {
		return st, err
	}
	defer v.Close()
	st.Seq, st.Keys, st.Bytes, st.Merge = v.Seq, v.Keys(), v.Size(), v.Merge
	var written []string
	fail := func(err error) (BackupStats, error) {
		for _, p := range written {
			fsys.Remove(p)
		}
		fsys.SyncDir(dir)
		return st, err
	}
	if src := v.Path(); src != "" {
		dst := filepath.Join(dir, filepath.Base(src))
		linked, err := linkOrCopy(fsys, src, dst)
		if err != nil {
			return fail(err)
		}
		written = append(written, dst)
		st.Linked = linked
		// The copy's one snapshot file is its whole set.
		m := &manifest{firstSeg: 1, nextID: v.snap.id&^snapFlag + 1, covered: v.Seq,
			files: []setFile{{id: v.snap.id &^ snapFlag, min: min(v.snap.minSeq, v.Seq), max: v.Seq}}}
		written = append(written, filepath.Join(dir, manifestFile))
		if err := writeManifest(fsys, dir, m); err != nil {
			return fail(fmt.Errorf("pykv/storage: backup: write %s: %w", filepath.Join(dir, manifestFile), err))
		}
	}
	written = append(written, filepath.Join(dir, datasetFile))
	if err := writeDataset(fsys, dir, v.History); err != nil { // its own fsyncs, the directory's included
		return fail(fmt.Errorf("pykv/storage: backup: write %s: %w", filepath.Join(dir, datasetFile), err))
	}
	st.Duration = time.Since(start)
	db.logger().Info("backup done", "dir", dir, "seq", st.Seq, "keys", st.Keys, "bytes", st.Bytes,
		"linked", st.Linked, "duration", st.Duration.Round(time.Millisecond))
	return st, nil
}

// backupTarget makes dir when absent (durably: its parent is fsynced)
// and refuses it when it holds anything or is the data directory.
func (db *DB) backupTarget(dir string) error {
	if same, err := sameDir(dir, db.dir); err != nil {
		return err
	} else if same {
		return fmt.Errorf("%w: %s is the data directory", ErrBackupTarget, dir)
	}
	fsys := db.opts.FS
	names, err := fsys.List(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := fsys.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("pykv/storage: backup: make %s: %w", dir, err)
		}
		if err := fsys.SyncDir(filepath.Dir(dir)); err != nil {
			return fmt.Errorf("pykv/storage: backup: fsync %s: %w", filepath.Dir(dir), err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("pykv/storage: backup: list %s: %w", dir, err)
	case len(names) > 0:
		return fmt.Errorf("%w: %s is not empty (it holds %d entries, %s among them); name a new or an empty directory",
			ErrBackupTarget, dir, len(names), names[0])
	}
	return nil
}

// sameDir reports whether a and b name the same directory, by their
// absolute paths.
func sameDir(a, b string) (bool, error) {
	aa, err := filepath.Abs(a)
	if err != nil {
		return false, fmt.Errorf("pykv/storage: backup: %s: %w", a, err)
	}
	bb, err := filepath.Abs(b)
	if err != nil {
		return false, fmt.Errorf("pykv/storage: backup: %s: %w", b, err)
	}
	return aa == bb, nil
}

// linkOrCopy hard-links src to dst, or copies it when the file system
// cannot link them (another file system, or no hard links), and fsyncs
// dst and its directory. It reports whether it linked. On an error dst
// is removed when linkOrCopy made it.
func linkOrCopy(fsys vfs.FS, src, dst string) (linked bool, err error) {
	if linked, err = linkOrCopyOnce(fsys, src, dst); err != nil && !errors.Is(err, errNotMade) {
		fsys.Remove(dst)
	}
	return linked, err
}

// errNotMade marks an error of linkOrCopyOnce before it made dst.
var errNotMade = errors.New("the target file was not made")

func linkOrCopyOnce(fsys vfs.FS, src, dst string) (linked bool, err error) {
	err = fsys.Link(src, dst)
	switch {
	case err == nil:
		linked = true
	case errors.Is(err, syscall.EXDEV), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EMLINK),
		errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.ENOSYS):
		if err := copyFile(fsys, src, dst); err != nil {
			return false, err
		}
	default:
		return false, fmt.Errorf("pykv/storage: backup: link %s to %s: %w (%w)", src, dst, err, errNotMade)
	}
	// A link's bytes are durable already (a snapshot is fsynced before it
	// is published); its name becomes durable with the directory's fsync.
	// The fsync of the file costs nothing then, and makes a copy durable.
	f, err := fsys.Open(dst)
	if err != nil {
		return linked, fmt.Errorf("pykv/storage: backup: open %s: %w", dst, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return linked, fmt.Errorf("pykv/storage: backup: fsync %s: %w", dst, err)
	}
	if err := fsys.SyncDir(filepath.Dir(dst)); err != nil {
		return linked, fmt.Errorf("pykv/storage: backup: fsync %s: %w", filepath.Dir(dst), err)
	}
	return linked, nil
}

// copyChunk is how much of a file copyFile reads at a time.
const copyChunk = 1 << 20

// copyFile copies src to dst, which must not exist, in constant memory.
func copyFile(fsys vfs.FS, src, dst string) error {
	in, err := fsys.Open(src)
	if err != nil {
		return fmt.Errorf("pykv/storage: backup: open %s: %w (%w)", src, err, errNotMade)
	}
	defer in.Close()
	if _, err := fsys.Stat(dst); err == nil {
		return fmt.Errorf("pykv/storage: backup: %s exists (%w)", dst, errNotMade)
	}
	out, err := fsys.Create(dst)
	if err != nil {
		return fmt.Errorf("pykv/storage: backup: create %s: %w", dst, err)
	}
	buf := make([]byte, copyChunk)
	var off int64
	for {
		n, rerr := in.ReadAt(buf, off)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return fmt.Errorf("pykv/storage: backup: write %s at offset %d: %w", dst, off, err)
			}
			off += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			out.Close()
			return fmt.Errorf("pykv/storage: backup: read %s at offset %d: %w", src, off, rerr)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("pykv/storage: backup: fsync %s: %w", dst, err)
	}
	return out.Close()
}
