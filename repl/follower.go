package repl

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/reply"
	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
)

// Reconnection backoff of a follower whose link to its leader broke.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
	// handshakeTimeout bounds the connection, AUTH and PSYNC exchange.
	handshakeTimeout = 10 * time.Second
)

// FollowerOptions configure a Follower.
type FollowerOptions struct {
	// Leader is the leader's native listener, "host:port".
	Leader string
	// Password is the leader's password (leader_password), if it has one.
	Password string
	// TLS, when set, makes the link speak TLS.
	TLS *tls.Config
	// ListenPort is this follower's own port, told to the leader for its
	// INFO.
	ListenPort int
	// MaxFrame bounds a frame from the leader: the largest record plus
	// room (the daemon's max_frame_bytes).
	MaxFrame int
	// Logger receives the link's events.
	Logger *slog.Logger
}

// Follower keeps a DB a copy of its leader's: it connects, syncs, applies
// the stream and reconnects after a failure, until stopped.
type Follower struct {
	db   *storage.DB
	opts FollowerOptions
	log  *slog.Logger

	linkUp     atomic.Bool
	syncing    atomic.Bool  // a full sync is being received
	lastIO     atomic.Int64 // when the leader last sent anything, unix ms
	leaderSeq  atomic.Uint64
	fullSyncs  atomic.Uint64
	partials   atomic.Uint64
	syncedKeys atomic.Uint64 // records of the running full sync received so far
}

// NewFollower returns a Follower of opts.Leader over db. Run starts it.
func NewFollower(db *storage.DB, opts FollowerOptions) *Follower {
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = segment.DefaultMaxValue + 1<<20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Follower{db: db, opts: opts, log: opts.Logger.With("role", "follower", "leader", opts.Leader)}
}

// Run follows the leader until ctx ends, reconnecting with a backoff.
func (f *Follower) Run(ctx context.Context) {
	backoff := retryMin
	for ctx.Err() == nil {
		err := f.session(ctx)
		synced := f.linkUp.Load()
		f.linkUp.Store(false)
		f.syncing.Store(false)
		if ctx.Err() != nil {
			return
		}
		if synced {
			// The leader answered PSYNC: it is up, and a link that drops
			// now and then must not wait longer each time (a full sync
			// that never gets its turn would never complete).
			backoff = retryMin
		}
		f.log.Warn("link to the leader lost; reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, retryMax)
	}
}

// session is one connection to the leader: handshake, sync, stream.
func (f *Follower) session(ctx context.Context) error {
	d := net.Dialer{Timeout: handshakeTimeout}
	raw, err := d.DialContext(ctx, "tcp", f.opts.Leader)
	if err != nil {
		return err
	}
	conn := raw
	if f.opts.TLS != nil {
		conf := f.opts.TLS.Clone()
		if conf.ServerName == "" {
			conf.ServerName, _, _ = net.SplitHostPort(f.opts.Leader)
		}
		conn = tls.Client(raw, conf)
	}
	defer conn.Close()
	// A stop closes the socket, which no later call can undo: a deadline
	// set to now would be replaced by the next read's own deadline when
	// the stop comes while a frame is being applied, and the follower
	// would read on, heartbeat after heartbeat, as long as its leader
	// lives (TestFollowerStopsWhileItsLeaderStreams). The raw socket, so
	// that a TLS close_notify is not written from this goroutine.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(conn, 64<<10)
	bw := bufio.NewWriterSize(conn, 64<<10)
	r, w := netproto.NewReader(br, netproto.Limits{MaxFrame: f.opts.MaxFrame}), netproto.NewWriter(bw)
	if err := w.WriteHandshake(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if _, err := r.ReadHandshakeReply(); err != nil {
		return fmt.Errorf("handshake with %s: %w", f.opts.Leader, err)
	}
	call := func(argv ...string) (reply.Reply, error) {
		args := make([][]byte, len(argv))
		for i, a := range argv {
			args[i] = []byte(a)
		}
		if err := w.WriteRequest(args); err != nil {
			return reply.Reply{}, err
		}
		if err := bw.Flush(); err != nil {
			return reply.Reply{}, err
		}
		rep, err := r.ReadReply()
		if err == nil && rep.Kind == reply.KindError {
			err = fmt.Errorf("%s: %s %s", argv[0], rep.Code, rep.Msg)
		}
		return rep, err
	}
	if f.opts.Password != "" {
		if _, err := call("AUTH", f.opts.Password); err != nil {
			return err
		}
	}
	rep, err := call("PSYNC", f.db.DatasetID(), strconv.FormatUint(f.db.LastSeq(), 10), strconv.Itoa(f.opts.ListenPort))
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Time{})
	fields := strings.Fields(string(rep.Bytes))
	f.touch()
	f.linkUp.Store(true)
	switch {
	case len(fields) == 3 && fields[0] == "CONTINUE":
		// The leader's history may be a newer one that continues ours
		// (it was promoted, or restarted): ours becomes part of it.
		if err := f.db.AdoptHistory(fields[1]); err != nil {
			return err
		}
		f.partials.Add(1)
		f.log.Info("partial sync: resuming", "after_seq", fields[2])
	case len(fields) == 4 && fields[0] == "FULLRESYNC":
		covered, err1 := strconv.ParseUint(fields[2], 10, 64)
		keys, err2 := strconv.ParseUint(fields[3], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("PSYNC: bad reply %q", rep.Bytes)
		}
		if err := f.receiveSnapshot(br, conn, fields[1], covered, keys); err != nil {
			return err
		}
	default:
		return fmt.Errorf("PSYNC: unexpected reply %q", rep.Bytes)
	}
	return f.apply(br, bw, conn)
}

func (f *Follower) touch() { f.lastIO.Store(time.Now().UnixMilli()) }

// receiveSnapshot writes the leader's snapshot records into an Install
// and commits it at the snapshot's end.
func (f *Follower) receiveSnapshot(br *bufio.Reader, conn net.Conn, dataset string, covered, keys uint64) error {
	start := time.Now()
	f.log.Info("full sync: receiving the leader's snapshot", "dataset", dataset, "seq", covered, "keys", keys)
	f.syncing.Store(true)
	defer f.syncing.Store(false)
	f.syncedKeys.Store(0)
	in, err := f.db.BeginInstall(dataset, covered)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			in.Abort()
		}
	}()
	var buf []byte
	lastLog := time.Now()
	for {
		conn.SetReadDeadline(time.Now().Add(followerTimeout))
		typ, p, err := readFrame(br, buf, f.opts.MaxFrame)
		if err != nil {
			return fmt.Errorf("full sync: %w", err)
		}
		buf = p
		f.touch()
		switch typ {
		case frameSnapshot:
			for len(p) > 0 {
				r, n, err := segment.DecodeRecord(p, segment.FormatLimits)
				if err != nil {
					return fmt.Errorf("full sync: record %d of the snapshot: %w", f.syncedKeys.Load()+1, err)
				}
				if err := in.Add(&r); err != nil {
					return err
				}
				f.syncedKeys.Add(1)
				p = p[n:]
			}
			if time.Since(lastLog) > 5*time.Second {
				lastLog = time.Now()
				f.log.Info("full sync: progress", "keys", f.syncedKeys.Load(), "of", keys)
			}
		case frameSnapEnd:
			if err := in.Commit(); err != nil {
				return fmt.Errorf("full sync: install: %w", err)
			}
			committed = true
			f.fullSyncs.Add(1)
			f.log.Info("full sync: installed", "keys", f.syncedKeys.Load(), "seq", covered, "duration", time.Since(start))
			return nil
		default:
			return fmt.Errorf("full sync: unexpected frame %q before the snapshot's end", typ)
		}
	}
}

// apply applies the log stream, batch by batch, and acknowledges what it
// has made durable.
func (f *Follower) apply(br *bufio.Reader, bw *bufio.Writer, conn net.Conn) error {
	var buf []byte
	var batch []segment.Record
	acked := uint64(0)
	ack := func() error {
		seq := f.db.LastSeq()
		if err := f.db.WaitDurable(seq); err != nil {
			return err
		}
		if seq == acked && acked != 0 {
			return nil
		}
		var p [8]byte
		binary.LittleEndian.PutUint64(p[:], seq)
		if err := writeFrame(bw, frameAck, p[:]); err != nil {
			return err
		}
		conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if err := bw.Flush(); err != nil {
			return err
		}
		acked = seq
		return nil
	}
	if err := ack(); err != nil { // the leader learns where this follower stands
		return err
	}
	for {
		conn.SetReadDeadline(time.Now().Add(followerTimeout))
		typ, p, err := readFrame(br, buf, f.opts.MaxFrame)
		if err != nil {
			return err
		}
		buf = p
		f.touch()
		switch typ {
		case frameLog:
			for len(p) > 0 {
				r, n, err := segment.DecodeRecord(p, segment.FormatLimits)
				if err != nil {
					return fmt.Errorf("log stream after seq %d: %w", f.db.LastSeq(), err)
				}
				// The cache keeps the value it is given: give it one that
				// does not alias buf, which the next frame reuses. (The
				// keydir and the log copy the key.)
				r.Value = append([]byte(nil), r.Value...)
				batch = append(batch, r)
				p = p[n:]
				if r.More {
					continue
				}
				if err := f.db.Apply(batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
			if len(batch) > 0 {
				// The batch goes on in the next frame, and its keys so far
				// alias buf: read that frame into a buffer of its own.
				buf = nil
			}
			if br.Buffered() == 0 {
				if err := ack(); err != nil {
					return err
				}
			}
		case frameHeartbeat:
			seq, err := u64(typ, p)
			if err != nil {
				return err
			}
			f.leaderSeq.Store(seq)
			if err := ack(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("log stream: unexpected frame %q", typ)
		}
		if last := f.db.LastSeq(); last > f.leaderSeq.Load() {
			f.leaderSeq.Store(last)
		}
	}
}

// Status is what INFO and ROLE show of a follower.
type Status struct {
	Leader       string
	LinkUp       bool
	Syncing      bool
	LastIO       time.Time
	LeaderSeq    uint64 // the leader's last seq, as last heard
	AppliedSeq   uint64
	FullSyncs    uint64
	PartialSyncs uint64
	SyncedKeys   uint64 // of the running full sync
}

// Status returns the follower's state.
func (f *Follower) Status() Status {
	return Status{Leader: f.opts.Leader, LinkUp: f.linkUp.Load(), Syncing: f.syncing.Load(),
		LastIO: time.UnixMilli(f.lastIO.Load()), LeaderSeq: f.leaderSeq.Load(), AppliedSeq: f.db.LastSeq(),
		FullSyncs: f.fullSyncs.Load(), PartialSyncs: f.partials.Load(), SyncedKeys: f.syncedKeys.Load()}
}
