package storage

import (
	"log/slog"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/vfs"
)

// Options configure a DB. The zero value of every field means its default.
type Options struct {
	// FS is the file system; default vfs.Default. Tests pass a vfs.Mem or
	// an injecting wrapper.
	FS vfs.FS
	// Sync is the fsync policy of the log. Default SyncAlways: a write is
	// answered only after an fsync covers it.
	Sync segment.SyncPolicy
	// SegmentSize is the size at which a log segment is sealed; default
	// 64 MiB.
	SegmentSize int64
	// CacheBytes is the value cache's byte budget; default 256 MiB.
	// Negative disables the cache (every Get reads from disk).
	CacheBytes int64
	// MaxKeySize and MaxValueSize bound keys and values; defaults 64 KiB
	// and 64 MiB.
	MaxKeySize   int
	MaxValueSize int
	// ExpiryInterval is the period of the active expiry cycle; default
	// 100 ms (Redis's hz 10). Negative disables active expiry (lazy expiry
	// still applies).
	ExpiryInterval time.Duration
	// MergeSealedSegments starts a background merge once this many sealed
	// segments wait; default 8. Negative disables this trigger.
	MergeSealedSegments int
	// MergeDeadRatio is the share of a data file's records that must be
	// dead (overwritten, deleted or expired) for a background merge to
	// rewrite it; default 0.5. The sealed segments count as one file.
	// MergeDeadBytes is the least a background merge of such files must
	// reclaim to run; default 64 MiB. Negative MergeDeadBytes disables
	// these triggers. The lower the ratio, the less disk the dead records
	// take and the more a merge writes (docs/operations.md, "Merges").
	MergeDeadBytes int64
	MergeDeadRatio float64
	// MergeMaxSpaceAmp caps the record bytes of the snapshot files at
	// this many times their live bytes: past it a background merge also
	// takes the files with the largest share of dead bytes, whatever
	// MergeDeadRatio says; default 2. Negative disables the cap.
	MergeMaxSpaceAmp float64
	// MergeMinInterval is the least time between the end of one
	// background merge and the start of the next, so that a sustained
	// write load does not keep a merge running; default 10 s. Negative:
	// no pause. Merge and BGREWRITEAOF are not held back.
	MergeMinInterval time.Duration
	// MergeProgress, when set, is told how many bytes of the merged files
	// a merge has read (offline tools draw a progress bar with it).
	MergeProgress Progress
	// Backlog is how much log a merge leaves on disk for followers that
	// were away (see Backlog); default DefaultBacklog. A negative Bytes
	// keeps none beyond what connected followers need.
	Backlog Backlog
	// Replica opens the DB in replica mode (see DB.SetReplica), so that
	// no expiry of its own is logged before it starts following.
	Replica bool
	// NoHousekeeper disables background merges; Merge still works.
	NoHousekeeper bool
	// Repair lets Open cut damaged data that is not a torn tail of the
	// newest segment, keeping the cut bytes in a .broken file. Without it,
	// such damage stops Open.
	Repair bool
	// Clock is the time source for expiry; default time.Now.
	Clock func() time.Time
	// Logger receives the engine's structured events; default slog.Default.
	Logger *slog.Logger

	// testHook, set by tests of this package only, is called at named
	// points of background work (see DB.testPoint) so that a test can
	// make it panic or wait there.
	testHook func(point string)
}

// Defaults of Options.
const (
	DefaultCacheBytes     = 256 << 20
	DefaultExpiryInterval = 100 * time.Millisecond

	DefaultMergeSealedSegments = 8
	DefaultMergeDeadBytes      = 64 << 20
	DefaultMergeDeadRatio      = 0.5
	DefaultMergeMaxSpaceAmp    = 2.0
	DefaultMergeMinInterval    = 10 * time.Second
)

// DefaultBacklog keeps up to 256 MiB of the log, for an hour after it
// was sealed, once merged: a follower away for a restart or an upgrade
// comes back with a partial sync. Redis keeps 1 MB in memory by default.
var DefaultBacklog = Backlog{Bytes: 256 << 20, Age: time.Hour}

func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = segment.DefaultSegmentSize
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.CacheBytes < 0 {
		o.CacheBytes = 0
	}
	if o.MaxKeySize <= 0 {
		o.MaxKeySize = segment.DefaultMaxKey
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = segment.DefaultMaxValue
	}
	if o.ExpiryInterval == 0 {
		o.ExpiryInterval = DefaultExpiryInterval
	}
	if o.MergeSealedSegments == 0 {
		o.MergeSealedSegments = DefaultMergeSealedSegments
	}
	if o.MergeDeadBytes == 0 {
		o.MergeDeadBytes = DefaultMergeDeadBytes
	}
	if o.MergeDeadRatio <= 0 {
		o.MergeDeadRatio = DefaultMergeDeadRatio
	}
	if o.MergeMaxSpaceAmp == 0 {
		o.MergeMaxSpaceAmp = DefaultMergeMaxSpaceAmp
	}
	if o.MergeMinInterval == 0 {
		o.MergeMinInterval = DefaultMergeMinInterval
	}
	switch {
	case o.Backlog == Backlog{}:
		o.Backlog = DefaultBacklog
	case o.Backlog.Bytes < 0 || o.Backlog.Age < 0:
		o.Backlog = Backlog{}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// limits are the limits files are decoded with: the format's, never the
// configured ones (see segment.FormatLimits).
func (o Options) limits() segment.Limits { return segment.FormatLimits }
