package segment

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pykv/pykv/vfs"
)

// SyncPolicy says when appended records are fsynced.
type SyncPolicy int

const (
	// SyncAlways acknowledges a record only after an fsync that covers it.
	// Concurrent writers share fsyncs (group commit).
	SyncAlways SyncPolicy = iota
	// SyncEverySec writes every record to the OS before acknowledging it
	// (nothing is lost when the process dies) and fsyncs once a second in
	// the background (about a second can be lost on power loss).
	SyncEverySec
	// SyncNo writes every record to the OS before acknowledging it and
	// leaves fsync to the OS. THIS CAN LOSE ACKNOWLEDGED WRITES ON POWER
	// LOSS.
	SyncNo
)

// ParseSyncPolicy parses "always", "everysec" or "no".
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "everysec":
		return SyncEverySec, nil
	case "no":
		return SyncNo, nil
	}
	return 0, fmt.Errorf("pykv/segment: unknown fsync policy %q (want always, everysec or no)", s)
}

// String returns the policy's configuration name: always, everysec or no.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncEverySec:
		return "everysec"
	case SyncNo:
		return "no"
	}
	return "unknown"
}

// DefaultSegmentSize is the size at which a segment is sealed.
const DefaultSegmentSize = 64 << 20

// syncInterval is the everysec syncer's period (a variable for tests).
var syncInterval = time.Second

// slowSync is the fsync duration above which a warning is logged.
const slowSync = time.Second

// preallocChunk is how much file space is reserved ahead of the writes.
// Appending into reserved space leaves the file's size alone, so a data
// sync (fdatasync) need not commit metadata: on this project's test
// machine a 40 KB append plus fdatasync into preallocated space took half
// the time of an append plus fsync. The reserved tail is zeros, which the
// iterator reports as such and recovery trims.
const preallocChunk = 4 << 20

// WriterOptions configure a Writer.
type WriterOptions struct {
	FS          vfs.FS
	Dir         string
	Sync        SyncPolicy
	SegmentSize int64 // seal a segment once it would pass this size
	Logger      *slog.Logger
	// OnRotate, when set, is called (under the writer's lock) after a new
	// segment has been created, with the sealed and the new file id.
	OnRotate func(sealed, created uint32)
}

// Pos is where a record lies.
type Pos struct {
	FileID uint32
	Offset int64
	Size   uint32
}

// LSN is a position in the log's byte stream across segments; Commit waits
// for one.
type LSN uint64

// ErrClosed is returned by a closed Writer.
var ErrClosed = errors.New("pykv/segment: writer closed")

// Writer appends records to the newest segment, rotating and syncing
// according to its options. It is safe for concurrent use.
//
// Append only buffers; Commit makes a record as durable as the policy
// promises: the first waiting writer becomes the leader, writes every
// buffered record in one write and, under SyncAlways, fsyncs once for all
// of them, while later writers buffer behind it and are covered by the
// next round (group commit).
type Writer struct {
	opts WriterOptions

	mu       sync.Mutex
	cond     *sync.Cond
	f        vfs.File
	id       uint32
	size     int64  // logical size of the active file, buffered bytes included
	fileDone int64  // bytes of the active file handed to the OS
	reserved int64  // bytes of the active file preallocated
	buf      []byte // appended, not yet taken by a leader
	inflight []byte // taken by a leader, being written
	spare    []byte
	appended LSN // end of the last appended record
	written  LSN // everything before has been written to the OS
	synced   LSN // everything before has been fsynced
	// The same three points as seqs: the seq of the last record appended,
	// written to the OS and fsynced.
	appendedSeq, writtenSeq, syncedSeq uint64
	syncedOff                          int64 // bytes of the active file fsynced
	// durable mirrors writtenSeq (syncedSeq under SyncAlways) for readers
	// that must not take mu: every record up to it is as durable as the
	// policy promises. It never moves again once the writer has failed.
	durable atomic.Uint64
	// moved is closed when the durable point moves (or the writer stops),
	// then replaced; only made when a reader asked for it (Durable).
	moved    chan struct{}
	flushing bool
	// syncing: the everysec syncer's fsync is running outside any round
	// (see syncBehind); rounds go on beside it, but nothing may seal,
	// truncate or close the file until it is done.
	syncing bool
	// grown: a round without fsync extended the file's reservation, so the
	// next background fsync must commit the size too (a full fsync).
	grown bool
	// gathering: a writer about to lead yields so that others join its
	// round (see await); the others wait as for a round.
	gathering bool
	rotating  bool   // a rotation is sealing the active file: appends wait
	version   uint16 // the active file's format version
	err       error  // sticky: no append succeeds after a failed write or fsync
	closed    bool

	syncs atomic.Uint64
	stop  chan struct{}
	// kick asks the everysec syncer for a tick now: the active segment is
	// nearly full (see presealAt). kicked is the segment it was last sent
	// for, kicks how many were sent.
	kick   chan struct{}
	kicked uint32
	kicks  int
	bgDone chan struct{}
}

// Create starts a new segment id whose first record will have seq
// firstSeq, and returns a Writer appending to it. The directory is synced so
// the new file survives a crash.
func Create(opts WriterOptions, id uint32, firstSeq uint64) (*Writer, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Writer{opts: opts, stop: make(chan struct{}), bgDone: make(chan struct{}), kick: make(chan struct{}, 1)}
	w.cond = sync.NewCond(&w.mu)
	if firstSeq > 0 {
		// Every record before firstSeq is already on disk (recovery read it).
		w.appendedSeq, w.writtenSeq, w.syncedSeq = firstSeq-1, firstSeq-1, firstSeq-1
		w.durable.Store(firstSeq - 1)
	}
	if err := w.openSegment(id, firstSeq, VersionPlain); err != nil {
		return nil, err
	}
	if opts.Sync == SyncEverySec {
		go w.syncEverySecond()
	} else {
		close(w.bgDone)
	}
	return w, nil
}

// openSegment creates segment id with its header, of format version,
// durably.
func (w *Writer) openSegment(id uint32, firstSeq uint64, version uint16) error {
	path := Path(w.opts.Dir, id)
	f, err := w.opts.FS.Create(path)
	if err != nil {
		return fmt.Errorf("pykv/segment: create %s: %w", path, err)
	}
	hdr := AppendHeader(nil, Header{Version: version, ID: id, FirstSeq: firstSeq})
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return fmt.Errorf("pykv/segment: write header of %s: %w", path, err)
	}
	reserved := min(w.opts.SegmentSize, preallocChunk)
	if err := f.Preallocate(reserved); err != nil {
		if !errors.Is(err, syscall.ENOSPC) {
			f.Close()
			return fmt.Errorf("pykv/segment: preallocate %s: %w", path, err)
		}
		// A full disk must not make start-up (or a rotation) impossible:
		// go on without the reservation; appends then grow the file and
		// each sync commits the new size.
		w.opts.Logger.Warn("no space to preallocate the new segment; writing without a reservation",
			"file", path, "bytes", reserved, "err", err)
		reserved = HeaderSize
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pykv/segment: fsync %s: %w", path, err)
	}
	if err := w.opts.FS.SyncDir(w.opts.Dir); err != nil {
		f.Close()
		return fmt.Errorf("pykv/segment: fsync directory %s: %w", w.opts.Dir, err)
	}
	w.f, w.id, w.size, w.fileDone, w.reserved = f, id, HeaderSize, HeaderSize, reserved
	w.version = version
	w.syncedOff = HeaderSize
	return nil
}

// Active returns the id of the segment being appended to and its size,
// buffered records included.
func (w *Writer) Active() (id uint32, size int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id, w.size
}

// Syncs returns how many fsyncs of segment data the writer has issued.
func (w *Writer) Syncs() uint64 { return w.syncs.Load() }

// Append buffers the records as one batch (all but the last are marked as
// continued) and returns where each lies and the LSN to Commit. pos must
// have room for len(recs) entries. Nothing is durable before Commit.
//
// A batch that starts with a TypeFlush record opens a new segment of
// VersionFlush first (sealing the active one, as a rotation does), so
// that the flush is its first record; a flush record anywhere else in a
// batch is refused.
func (w *Writer) Append(pos []Pos, recs ...Record) (LSN, error) {
	for i := 1; i < len(recs); i++ {
		if recs[i].Type == TypeFlush {
			return 0, fmt.Errorf("pykv/segment: flush record of seq %d is record %d of its batch; it must be the first", recs[i].Seq, i)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.rotating { // its drain releases mu; nothing may land in the file it seals
		w.cond.Wait()
	}
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(recs) == 0 {
		return w.appended, nil
	}
	total := int64(0)
	for i := range recs {
		total += int64(recs[i].EncodedSize())
	}
	switch {
	case recs[0].Type == TypeFlush:
		if err := w.rotateToLocked(recs[0].Seq, VersionFlush); err != nil {
			return 0, err
		}
	case w.size > HeaderSize && w.size+total > w.opts.SegmentSize:
		if err := w.rotateLocked(recs[0].Seq); err != nil {
			return 0, err
		}
	}
	for i := range recs {
		r := recs[i]
		r.More = i < len(recs)-1
		n := r.EncodedSize()
		pos[i] = Pos{FileID: w.id, Offset: w.size, Size: uint32(n)}
		w.buf = AppendRecord(w.buf, &r)
		w.size += int64(n)
		w.appended += LSN(n)
	}
	w.appendedSeq = recs[len(recs)-1].Seq
	if w.opts.Sync == SyncEverySec && w.kicked != w.id && w.size >= w.presealAt() {
		w.kicked = w.id
		w.kicks++
		select {
		case w.kick <- struct{}{}:
		default: // a kick is pending already
		}
	}
	return w.appended, nil
}

// presealAt is the size past which, under SyncEverySec, the syncer is
// asked to fsync the active segment at once (once per segment) instead of
// at its next tick. Sealing a segment fsyncs it while appends wait, and
// that fsync takes as long as the data not yet synced: up to a second's
// worth, tens of milliseconds when the writes come fast, during which every
// commit waits. Synced beside the writes when it is seven eighths full,
// the segment leaves its seal the last eighth, and what came while that
// fsync ran, to sync.
func (w *Writer) presealAt() int64 { return w.opts.SegmentSize - w.opts.SegmentSize/8 }

// Commit waits until everything up to lsn is as durable as the policy
// promises: fsynced under SyncAlways, written to the OS otherwise.
//
// A record made durable before the writer failed is still acknowledged:
// Commit checks for it before it looks at the writer's error.
func (w *Writer) Commit(lsn LSN) error {
	return w.await(func() bool {
		if w.opts.Sync == SyncAlways {
			return w.synced >= lsn
		}
		return w.written >= lsn
	})
}

// CommitSeq is Commit for the record of seq and every record before it.
func (w *Writer) CommitSeq(seq uint64) error {
	if seq <= w.durable.Load() {
		return nil
	}
	return w.await(func() bool { return w.durableSeqLocked() >= seq })
}

// DurableSeq returns the seq up to which every record is as durable as the
// policy promises (fsynced under SyncAlways, written to the OS otherwise).
// It takes no lock.
func (w *Writer) DurableSeq() uint64 { return w.durable.Load() }

func (w *Writer) durableSeqLocked() uint64 {
	if w.opts.Sync == SyncAlways {
		return w.syncedSeq
	}
	return w.writtenSeq
}

// await flushes (as the leader) or waits for the running leader until done
// holds or the writer has failed.
//
// A writer about to lead first gathers: it yields the processor once
// (runtime.Gosched) so that the goroutines already runnable, other
// connections' requests that the network poller woke together, append
// their records and queue behind it, and its one write then carries them
// all. Without that, on few cores and unpipelined clients, each request
// was a round of its own: a write(2) to the log for every SET besides the
// reply's. While one gathers, the others wait as they would for a running
// round. Gathering is an optimisation only: it delays no promise, since
// nothing is acknowledged before the round that follows it.
func (w *Writer) await(done func() bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	gathered := false
	for {
		if done() {
			return nil
		}
		if w.err != nil {
			return w.err
		}
		if w.flushing || w.gathering {
			w.cond.Wait()
			continue
		}
		if !gathered {
			gathered = true
			w.gathering = true
			w.mu.Unlock()
			runtime.Gosched()
			w.mu.Lock()
			w.gathering = false
			if w.flushing || done() || w.err != nil {
				// Someone else's round (a drain, the everysec syncer) ran
				// meanwhile: wake those who waited on this gathering.
				w.cond.Broadcast()
				continue
			}
		}
		w.leadFlush(w.opts.Sync == SyncAlways)
	}
}

// flush is one leader's round: what it took from the buffer and where it
// goes.
type flush struct {
	f         vfs.File
	data      []byte
	target    LSN    // appended LSN the round covers
	targetSeq uint64 // and its seq
	end       int64  // file offset data ends at
	grow      int64  // reservation to extend to first; 0: none needed
	sync      bool
}

// leadFlush makes the caller, who holds mu, the leader of one round: it
// takes the buffered records, releases mu while it writes them (and, when
// sync, fsyncs), so that others keep appending, and takes mu again to
// record the result. It is the one place the writer drops mu for I/O.
func (w *Writer) leadFlush(sync bool) {
	fl := w.takeLocked(sync)
	w.mu.Unlock()
	reservedOK, err := w.writeOut(fl.f, fl.data, fl.end, fl.grow, fl.sync)
	w.mu.Lock()
	w.finishLocked(fl, reservedOK, err)
}

// takeLocked starts a round: the buffer becomes the round's data.
func (w *Writer) takeLocked(sync bool) flush {
	w.flushing = true
	data := w.buf
	w.buf, w.inflight = w.spare[:0], data
	fl := flush{f: w.f, data: data, target: w.appended, targetSeq: w.appendedSeq,
		end: w.fileDone + int64(len(data)), sync: sync}
	if fl.end > w.reserved {
		fl.grow = max(fl.end, w.reserved+preallocChunk)
	}
	return fl
}

// finishLocked records a round's result: what is now written and synced,
// or the failure that stops the writer, and wakes every waiter.
func (w *Writer) finishLocked(fl flush, reservedOK bool, err error) {
	w.flushing = false
	if fl.grow > 0 && err == nil {
		if reservedOK {
			w.reserved = fl.grow
		} else {
			w.reserved = max(w.reserved, fl.end)
		}
	}
	w.inflight = nil
	w.spare = fl.data
	if err != nil {
		w.fail(err)
	} else {
		if fl.grow > 0 && !fl.sync {
			w.grown = true
		}
		w.fileDone += int64(len(fl.data))
		w.written, w.writtenSeq = fl.target, fl.targetSeq
		if fl.sync {
			w.synced, w.syncedSeq, w.syncedOff = fl.target, fl.targetSeq, w.fileDone
		}
		w.durable.Store(w.durableSeqLocked())
	}
	w.signalLocked()
	w.cond.Broadcast()
}

// writeOut is the I/O of a flush, run without the lock: it reserves space
// up to grow (when not zero), writes data, which ends at offset end, and
// fsyncs when sync. A panic in the file system (a bug, or a fault the
// platform reports that way) is turned into the flush's error, so that the
// log fails as on EIO instead of taking the process down, from a writer's
// goroutine or from the everysec syncer alike.
func (w *Writer) writeOut(f vfs.File, data []byte, end, grow int64, sync bool) (reservedOK bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pykv/segment: panic while writing %s at offset %d: %v", f.Name(), end-int64(len(data)), r)
			w.opts.Logger.Error("panic in a log flush; the log fails", "file", f.Name(), "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
		}
	}()
	reservedOK = true
	if grow > 0 {
		// Reserve more space; the sync below then commits the new size.
		if perr := f.Preallocate(grow); perr != nil {
			if !errors.Is(perr, syscall.ENOSPC) {
				return false, fmt.Errorf("pykv/segment: preallocate %s to %d bytes: %w", f.Name(), grow, perr)
			}
			// No room to reserve ahead: the write may still fit.
			reservedOK = false
		}
	}
	if len(data) > 0 {
		if _, err := f.Write(data); err != nil {
			return reservedOK, fmt.Errorf("pykv/segment: write %s at offset %d (%d bytes): %w", f.Name(), end-int64(len(data)), len(data), err)
		}
	}
	if sync {
		return reservedOK, w.fsync(f, grow > 0)
	}
	return reservedOK, nil
}

// fsync makes f's data durable: a data sync inside the reserved space, a
// full fsync when the reservation or the size changed.
func (w *Writer) fsync(f vfs.File, full bool) error {
	start := time.Now()
	var err error
	if full {
		err = f.Sync()
	} else {
		err = f.SyncData()
	}
	w.syncs.Add(1)
	if d := time.Since(start); d > slowSync {
		w.opts.Logger.Warn("slow fsync", "file", f.Name(), "duration", d)
	}
	if err != nil {
		return fmt.Errorf("pykv/segment: fsync %s: %w", f.Name(), err)
	}
	return nil
}

// fail makes err sticky: the log refuses every later write. It also cuts
// the active file back to what is durable under the policy, so that no
// record whose write or fsync failed, never acknowledged, comes back at the
// next start: a failed fsync leaves its pages in an unknown state, and a
// failed write may have landed in part.
func (w *Writer) fail(err error) {
	if w.err != nil {
		return
	}
	w.err = fmt.Errorf("%w (the log refuses writes until restart)", err)
	keep := w.fileDone
	if w.opts.Sync == SyncAlways {
		keep = w.syncedOff
	}
	w.opts.Logger.Error("log write failed; refusing writes until restart", "err", err,
		"file", w.f.Name(), "durable_offset", keep, "durable_seq", w.durableSeqLocked())
	// The cut is not fsynced: a file whose fsync failed is not fsynced
	// again (its pages' state is unknown, and a second fsync can report
	// success for data the first one lost).
	if terr := w.f.Truncate(keep); terr != nil {
		w.opts.Logger.Error("could not cut the failed log back to its durable end",
			"file", w.f.Name(), "offset", keep, "err", terr)
	}
	w.signalLocked()
}

// signalLocked wakes the readers of Durable: the durable point moved, a
// segment was started, or the writer stopped.
func (w *Writer) signalLocked() {
	if w.moved != nil {
		close(w.moved)
		w.moved = nil
	}
}

// Durable returns the active segment's id, the offset in it up to which
// every byte is as durable as the policy promises (what DurableSeq says
// of seqs: fsynced under SyncAlways, written to the OS otherwise), that
// seq, and a channel closed once any of them moves or the writer stops
// (failed or closed). A reader of the log (replication) reads the active
// file up to off and waits on the channel for more; every byte of an
// older segment is durable, since a segment is sealed before the next
// one starts.
func (w *Writer) Durable() (id uint32, off int64, seq uint64, moved <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.moved == nil {
		w.moved = make(chan struct{})
	}
	off = w.fileDone
	if w.opts.Sync == SyncAlways {
		off = w.syncedOff
	}
	if w.err != nil || w.closed {
		close(w.moved)
		moved, w.moved = w.moved, nil
		return w.id, off, w.durableSeqLocked(), moved
	}
	return w.id, off, w.durableSeqLocked(), w.moved
}

// Restart seals the active segment, as Rotate does, and starts the next
// one with its first record at seq firstSeq, which may lie below the seqs
// the writer has seen: the log's history starts again from there, every
// record before firstSeq being held elsewhere (a snapshot installed by a
// replica's full sync). It returns the id of the segment it sealed.
// Nothing may be appended concurrently whose seq belongs to the old
// history; the caller holds its own write lock across the call.
func (w *Writer) Restart(firstSeq uint64) (sealed uint32, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.rotating {
		w.cond.Wait()
	}
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	sealed = w.id
	if err := w.rotateLocked(firstSeq); err != nil {
		return 0, err
	}
	last := firstSeq - 1
	w.appendedSeq, w.writtenSeq, w.syncedSeq = last, last, last
	w.durable.Store(last)
	w.signalLocked()
	return sealed, nil
}

// Err returns the error that stopped the writer, or nil.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// rotateLocked seals the active segment (everything written and fsynced
// whatever the policy) and starts segment id+1.
func (w *Writer) rotateLocked(firstSeq uint64) error {
	return w.rotateToLocked(firstSeq, VersionPlain)
}

// rotateToLocked is rotateLocked, the new segment of format version.
func (w *Writer) rotateToLocked(firstSeq uint64, version uint16) error {
	w.rotating = true
	defer func() {
		w.rotating = false
		w.cond.Broadcast()
	}()
	if err := w.sealLocked(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		w.fail(fmt.Errorf("pykv/segment: close %s: %w", w.f.Name(), err))
		return w.err
	}
	sealed := w.id
	if err := w.openSegment(sealed+1, firstSeq, version); err != nil {
		w.fail(err)
		return w.err
	}
	if w.opts.OnRotate != nil {
		w.opts.OnRotate(sealed, w.id)
	}
	w.signalLocked()
	return nil
}

// Rotate seals the active segment and starts the next one, whose first
// record will have seq firstSeq. It does nothing when the active segment
// holds no record.
func (w *Writer) Rotate(firstSeq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.rotating {
		w.cond.Wait()
	}
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.size == HeaderSize {
		return nil
	}
	return w.rotateLocked(firstSeq)
}

// sealLocked writes and fsyncs everything buffered and trims the reserved
// space, so that a sealed segment ends at its last record.
func (w *Writer) sealLocked() error {
	if err := w.drainLocked(); err != nil {
		return err
	}
	if w.reserved <= w.size {
		return nil
	}
	if err := w.f.Truncate(w.size); err != nil {
		w.fail(fmt.Errorf("pykv/segment: trim %s at offset %d: %w", w.f.Name(), w.size, err))
		return w.err
	}
	if err := w.fsync(w.f, true); err != nil {
		w.fail(err)
		return w.err
	}
	w.reserved = w.size
	return nil
}

// drainLocked waits for a running leader, then writes and fsyncs all that
// is buffered. The caller holds mu, and holds it again on return, but mu is
// released meanwhile (while waiting, and while the round writes: see
// leadFlush), so records appended then stay buffered; a caller that must
// seal the file keeps appends out (rotating).
func (w *Writer) drainLocked() error {
	for w.flushing || w.syncing {
		w.cond.Wait()
	}
	if w.err != nil {
		return w.err
	}
	if w.synced == w.appended {
		return nil
	}
	w.leadFlush(true)
	return w.err
}

// ReadPending copies into p the bytes at off of file id when they are still
// buffered in memory (not yet handed to the OS) and reports whether it did.
// When it returns false and no error, the bytes are in the file. After a
// failed write the bytes it dropped are gone, and ReadPending returns the
// writer's error for them.
func (w *Writer) ReadPending(id uint32, p []byte, off int64) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id != w.id || off < w.fileDone {
		return false, nil
	}
	if w.err != nil {
		return false, w.err // never written: the write that carried it failed
	}
	rel, n := off-w.fileDone, int64(len(p))
	if rel+n <= int64(len(w.inflight)) {
		copy(p, w.inflight[rel:])
		return true, nil
	}
	rel -= int64(len(w.inflight))
	if rel < 0 || rel+n > int64(len(w.buf)) {
		return false, fmt.Errorf("pykv/segment: %s: no record at offset %d (+%d) in the buffer", Path(w.opts.Dir, id), off, n)
	}
	copy(p, w.buf[rel:])
	return true, nil
}

// Appended returns the LSN just past the last record appended.
func (w *Writer) Appended() LSN {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appended
}

// Sync writes and fsyncs everything appended so far, whatever the policy.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.rotating {
		w.cond.Wait()
	}
	if w.closed {
		return ErrClosed
	}
	return w.drainLocked()
}

func (w *Writer) syncEverySecond() {
	defer close(w.bgDone)
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.syncBehind()
		case <-w.kick:
			w.syncBehind()
		}
	}
}

// syncBehind is one tick of the everysec syncer. It hands what is
// buffered to the OS in a round of its own, without an fsync, then fsyncs
// what the OS holds outside any round: writers go on appending and
// committing while the fsync runs, since under SyncEverySec a commit waits
// for the write only. When the syncer held the round for its fsync, every
// commit waited for it, tens of milliseconds on a busy disk, and so did
// every reply that had to wait for a write (docs/format.md, "What a reply
// may show").
//
// The fsync covers what had been written when it began; what is written
// meanwhile waits for the next tick. Sealing, truncating and closing the
// file wait for it (drainLocked). A failed fsync fails the log as it
// would in a round, once the round in flight, if any, has finished, so
// that the cut in fail lands after every acknowledged byte.
func (w *Writer) syncBehind() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.flushing || w.syncing {
		w.cond.Wait()
	}
	if w.err != nil || w.closed || w.rotating || w.synced >= w.appended {
		return // a rotation's seal fsyncs what it seals
	}
	if len(w.buf) > 0 {
		w.leadFlush(false)
		if w.err != nil || w.closed || w.rotating || w.flushing {
			return
		}
	}
	if w.synced >= w.written {
		return
	}
	f, target, targetSeq, off, full := w.f, w.written, w.writtenSeq, w.fileDone, w.grown
	w.syncing, w.grown = true, false
	w.mu.Unlock()
	err := w.syncOutside(f, full)
	w.mu.Lock()
	switch {
	case err != nil:
		// syncing stays set until the log has failed, so that no drain
		// fsyncs the file again meanwhile: a second fsync can report
		// success for data the first one lost.
		for w.flushing {
			w.cond.Wait()
		}
		w.fail(err)
	case w.err == nil && target > w.synced:
		w.synced, w.syncedSeq, w.syncedOff = target, targetSeq, off
	}
	w.syncing = false
	w.cond.Broadcast()
}

// syncOutside is syncBehind's fsync, run without the lock; a panic in the
// file system becomes its error, as in writeOut.
func (w *Writer) syncOutside(f vfs.File, full bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pykv/segment: panic while syncing %s: %v", f.Name(), r)
			w.opts.Logger.Error("panic in a log fsync; the log fails", "file", f.Name(), "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
		}
	}()
	return w.fsync(f, full)
}

// Close writes and fsyncs what is buffered and closes the active file.
func (w *Writer) Close() error {
	w.mu.Lock()
	for w.rotating {
		w.cond.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	err := w.sealLocked()
	w.closed = true
	w.signalLocked()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("pykv/segment: close %s: %w", w.f.Name(), cerr)
	}
	w.mu.Unlock()
	close(w.stop)
	<-w.bgDone
	return err
}
