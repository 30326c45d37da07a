package storage

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/snapshot"
	"github.com/pykv/pykv/vfs"
)

// CheckReport is what Check found in a data directory.
type CheckReport struct {
	// Problems is the damage found, each naming the file and the offset.
	// Open would refuse the directory (without repair) when it is not
	// empty.
	Problems []error
	// Torn is a torn tail of the newest segment: not damage (Open cuts it,
	// as a crash leaves it), but reported.
	Torn error
	// Obsolete lists files a finished merge left behind; Open removes them.
	Obsolete []string
	// Ignored lists files whose names are not pykv's; Open leaves them
	// alone (and logs them).
	Ignored []string
	// Snapshots are the live snapshot files, oldest first.
	Snapshots []string
	// Keys counts the records of the snapshot files: the keys they hold,
	// some of which newer files may have replaced or deleted.
	Keys     uint64
	Segments int   // live segments
	Records  int64 // records in the live segments
	LastSeq  uint64
	Bytes    int64 // bytes checked
}

// Progress is told how many bytes of how many have been checked.
type Progress func(done, total int64)

// Check verifies a data directory offline: every checksum of every live
// file, the snapshot's index against its records, the seq order across
// files, and the DATASET file. It takes the directory's lock, so it fails
// with an error wrapping vfs.ErrLocked while a daemon holds it. Only
// opts.FS is used.
func Check(dir string, opts Options, progress Progress) CheckReport {
	opts = opts.withDefaults()
	var rep CheckReport
	lock, err := opts.FS.Lock(filepath.Join(dir, lockFile))
	if err != nil {
		rep.Problems = append(rep.Problems, lockError(dir, err))
		return rep
	}
	defer lock.Close()
	plan, err := planDir(opts.FS, dir)
	if err != nil {
		rep.Problems = append(rep.Problems, err)
		return rep
	}
	rep.Obsolete = plan.obsolete
	for _, name := range plan.foreign {
		rep.Ignored = append(rep.Ignored, filepath.Join(dir, name))
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	total := plan.bytes(opts.FS)
	if _, err := readDataset(opts.FS, filepath.Join(dir, datasetFile)); err != nil {
		rep.Problems = append(rep.Problems, err)
	}
	if plan.manifest != nil {
		rep.LastSeq = plan.manifest.covered
	}
	for i, id := range plan.snapshots {
		path := snapshot.Path(dir, id)
		rep.Snapshots = append(rep.Snapshots, path)
		s, err := snapshot.Open(opts.FS, path)
		if err != nil {
			rep.Problems = append(rep.Problems, err)
		} else {
			rep.Problems = append(rep.Problems, s.Verify(opts.limits())...)
			if m := plan.manifest; m != nil {
				if f := m.files[i]; f.max != s.Header.CoveredSeq {
					rep.Problems = append(rep.Problems, fmt.Errorf("%w: %s lists %s with seqs up to %d, its header says %d",
						ErrDamaged, filepath.Join(dir, manifestFile), path, f.max, s.Header.CoveredSeq))
				}
			}
			rep.Keys += s.Footer.Count - uint64(s.Footer.Tombstones)
			rep.LastSeq = max(rep.LastSeq, s.Header.CoveredSeq)
			rep.Bytes += s.Size()
			s.Close()
		}
		progress(rep.Bytes, total)
	}
	for i, id := range plan.segments {
		checkSegment(opts, dir, id, i == len(plan.segments)-1, &rep)
		progress(rep.Bytes, total)
	}
	return rep
}

func checkSegment(opts Options, dir string, id uint32, newest bool, rep *CheckReport) {
	path := segment.Path(dir, id)
	it, err := segment.ReadFile(opts.FS, path, opts.limits())
	if err != nil {
		rep.Problems = append(rep.Problems, err)
		return
	}
	rep.Segments++
	rep.Bytes += it.Size()
	if h := it.Header(); h.Version != 0 && h.ID != id {
		rep.Problems = append(rep.Problems, fmt.Errorf("%s at offset 8: header names segment %d", path, h.ID))
	}
	for it.Next() {
		r := it.Record()
		if r.Seq <= rep.LastSeq {
			rep.Problems = append(rep.Problems, fmt.Errorf("%s at offset %d: seq %d does not follow seq %d", path, it.Offset(), r.Seq, rep.LastSeq))
		}
		rep.LastSeq = max(rep.LastSeq, r.Seq)
		rep.Records++
	}
	t := judgeTail(path, it.Err(), it.IncompleteBatch(), newest, false)
	if t.damage != nil {
		rep.Problems = append(rep.Problems, t.damage)
	}
	if t.torn != nil {
		rep.Torn = t.torn // the zeros of preallocated space are not reported
	}
}

// dirPlan is what a directory's names and its MANIFEST say: the live
// snapshot files, the live segments, the files a finished merge left
// behind, and the names that are not pykv's.
type dirPlan struct {
	dir string
	// manifest is the directory's MANIFEST, nil for a directory of the
	// first format, whose names alone say what is live.
	manifest *manifest
	// snapshots are the live snapshot files, oldest first: the
	// manifest's, or for a directory without one the highest-numbered
	// snapshot, if any.
	snapshots []uint32
	segments  []uint32
	obsolete  []string
	foreign   []string // names judgeName left alone as not pykv's
	maxSnap   uint32   // the highest snapshot id found, live or not
}

// planDir reads dir's names and MANIFEST. A name that looks like a data
// file's but is not one pykv writes (see judgeName) is an error naming the
// file; every such name is reported, joined. So is a snapshot file the
// manifest lists that is missing.
func planDir(fs vfs.FS, dir string) (dirPlan, error) {
	names, err := fs.List(dir)
	if err != nil {
		return dirPlan{}, fmt.Errorf("pykv/storage: list %s: %w", dir, err)
	}
	p := dirPlan{dir: dir}
	var segs, snaps []uint32
	var bad []error
	for _, name := range names {
		kind, id, err := judgeName(dir, name)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		switch kind {
		case nameSegment:
			segs = append(segs, id)
		case nameSnapshot:
			snaps = append(snaps, id)
			p.maxSnap = max(p.maxSnap, id)
		case nameTemp:
			p.obsolete = append(p.obsolete, filepath.Join(dir, name))
		case nameForeign:
			p.foreign = append(p.foreign, name)
		}
	}
	if len(bad) > 0 {
		return dirPlan{}, errors.Join(bad...)
	}
	m, err := readManifest(fs, dir)
	if err != nil {
		return dirPlan{}, err
	}
	p.manifest = m
	firstSeg := uint32(1)
	if m != nil {
		live := make(map[uint32]bool, len(m.files))
		for _, f := range m.files {
			live[f.id] = true
			p.snapshots = append(p.snapshots, f.id)
		}
		for _, id := range snaps {
			if !live[id] {
				p.obsolete = append(p.obsolete, snapshot.Path(dir, id))
			}
			delete(live, id)
		}
		for _, f := range m.files {
			if live[f.id] {
				bad = append(bad, fmt.Errorf("%w: %s lists snapshot %s, which is missing", ErrDamaged,
					filepath.Join(dir, manifestFile), snapshot.Path(dir, f.id)))
			}
		}
		if len(bad) > 0 {
			return dirPlan{}, errors.Join(bad...)
		}
		firstSeg = m.firstSeg
	} else if len(snaps) > 0 {
		// A directory of the first format. List returns sorted names, and
		// ten-digit names sort as their ids: the highest version 1
		// snapshot is live and covers every segment up to it. A later
		// version's file is a merge's whose manifest never landed.
		live := -1
		for i := len(snaps) - 1; i >= 0 && live < 0; i-- {
			v, err := snapshotVersion(fs, snapshot.Path(dir, snaps[i]))
			if err != nil {
				return dirPlan{}, err
			}
			if v == snapshot.VersionNoTombstones {
				live = i
			}
		}
		for i, id := range snaps {
			if i != live {
				p.obsolete = append(p.obsolete, snapshot.Path(dir, id))
			}
		}
		if live >= 0 {
			p.snapshots = []uint32{snaps[live]}
			firstSeg = snaps[live] + 1
		}
	}
	for _, id := range segs {
		if id < firstSeg {
			p.obsolete = append(p.obsolete, segment.Path(dir, id))
		} else {
			p.segments = append(p.segments, id)
		}
	}
	return p, nil
}

// LiveFiles returns the paths of the live snapshot files of the data
// directory dir, oldest first, and of its live segments, in id order, as
// start-up would find them: by its MANIFEST, or for a directory of the
// first format by its names. It takes no lock and changes nothing.
func LiveFiles(fsys vfs.FS, dir string) (snapshots, segments []string, err error) {
	plan, err := planDir(fsys, dir)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range plan.snapshots {
		snapshots = append(snapshots, snapshot.Path(dir, id))
	}
	for _, id := range plan.segments {
		segments = append(segments, segment.Path(dir, id))
	}
	return snapshots, segments, nil
}

// snapshotVersion reads the format version of the snapshot at path.
func snapshotVersion(fsys vfs.FS, path string) (uint16, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return 0, fmt.Errorf("pykv/storage: open %s: %w", path, err)
	}
	defer f.Close()
	b := make([]byte, snapshot.HeaderSize)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("pykv/storage: read the header of %s: %w", path, err)
	}
	h, err := snapshot.DecodeHeader(b)
	if err != nil && !errors.Is(err, snapshot.ErrNewerVersion) {
		return 0, fmt.Errorf("%w: %s: %w", ErrDamaged, path, err)
	}
	return h.Version, nil
}

func (p dirPlan) bytes(fs vfs.FS) int64 {
	var n int64
	for _, id := range p.snapshots {
		s, _ := fs.Stat(snapshot.Path(p.dir, id))
		n += s
	}
	for _, id := range p.segments {
		s, _ := fs.Stat(segment.Path(p.dir, id))
		n += s
	}
	return n
}

func lockError(dir string, err error) error {
	if errors.Is(err, vfs.ErrLocked) {
		return fmt.Errorf("pykv/storage: data directory %s is in use by a running pykvd (its LOCK file is held): %w", dir, err)
	}
	return fmt.Errorf("pykv/storage: lock data directory %s: %w", dir, err)
}

// Repair cuts what Check reports so that Open accepts the directory: the
// torn tail of the newest segment, and, with force, damage in any segment
// (everything from the damage to the end of that file). The cut bytes are
// kept beside each file in a .broken file. It returns what it did. A
// damaged snapshot cannot be repaired: Repair reports it and stops.
func Repair(dir string, opts Options, force bool) ([]string, error) {
	opts = opts.withDefaults()
	lock, err := opts.FS.Lock(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, lockError(dir, err)
	}
	defer lock.Close()
	plan, err := planDir(opts.FS, dir)
	if err != nil {
		return nil, err
	}
	var done []string
	for i, id := range plan.segments {
		path := segment.Path(dir, id)
		it, err := segment.ReadFile(opts.FS, path, opts.limits())
		if err != nil {
			return done, err
		}
		for it.Next() {
		}
		t := judgeTail(path, it.Err(), it.IncompleteBatch(), i == len(plan.segments)-1, force)
		if t.damage != nil {
			return done, fmt.Errorf("%w (with force, repair cuts it and everything after it in this file)", t.damage)
		}
		cut := t.cut
		if cut < 0 {
			continue
		}
		if t.zeros {
			if err := trimTail(opts.FS, path, cut); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("trimmed %s at offset %d: only zeros followed", path, cut))
			continue
		}
		n, err := cutTail(opts.FS, path, it.Size(), cut)
		if err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("cut %s at offset %d: %d bytes saved to %s.broken", path, max(cut, 0), n, path))
	}
	return done, nil
}

// cutTail truncates path at off (a cut inside the header empties the
// file), first saving the bytes it removes in path.broken, and returns how
// many it removed.
func cutTail(fsys vfs.FS, path string, size, off int64) (int64, error) {
	if off < segment.HeaderSize {
		off = 0
	}
	f, err := fsys.OpenReadWrite(path)
	if err != nil {
		return 0, fmt.Errorf("pykv/storage: open %s to cut its tail: %w", path, err)
	}
	defer f.Close()
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && !(errors.Is(err, io.EOF) && len(tail) == 0) {
		return 0, fmt.Errorf("pykv/storage: read tail of %s at offset %d: %w", path, off, err)
	}
	if err := writeFileAtomic(fsys, filepath.Dir(path), filepath.Base(path)+".broken", tail); err != nil {
		return 0, fmt.Errorf("pykv/storage: save cut bytes of %s: %w", path, err)
	}
	if err := f.Truncate(off); err != nil {
		return 0, fmt.Errorf("pykv/storage: truncate %s at offset %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("pykv/storage: fsync %s: %w", path, err)
	}
	return size - off, nil
}

// trimTail truncates path at off where only zeros follow, durably.
func trimTail(fsys vfs.FS, path string, off int64) error {
	f, err := fsys.OpenReadWrite(path)
	if err != nil {
		return fmt.Errorf("pykv/storage: open %s to trim it: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("pykv/storage: truncate %s at offset %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("pykv/storage: fsync %s: %w", path, err)
	}
	return nil
}
