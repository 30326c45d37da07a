package repl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/segment"
	"github.com/pykv/pykv/storage"
)

// Timing of a leader's stream.
const (
	// heartbeatEvery is how often an idle stream carries a heartbeat,
	// which the follower answers with an acknowledgement.
	heartbeatEvery = time.Second
	// followerTimeout drops a follower that has acknowledged nothing this
	// long (Redis's repl-timeout is 60 s), releasing the log it pinned.
	followerTimeout = 60 * time.Second
	// streamWriteTimeout drops a follower that does not read the stream.
	streamWriteTimeout = 60 * time.Second
	// chunkBytes is the most record bytes a frame carries (one record
	// may be larger).
	chunkBytes = 256 << 10
)

// Follower link states, in Redis's words for INFO's slaveN lines.
const (
	stateFullSync = "send_bulk"
	stateOnline   = "online"
)

// Leader serves the followers of one DB.
type Leader struct {
	db  *storage.DB
	log *slog.Logger

	mu        sync.Mutex
	followers map[*link]struct{}
	acked     chan struct{} // closed and replaced when any follower acknowledges

	fullSyncs, partialSyncs, partialRefused atomic.Uint64
}

// link is one connected follower.
type link struct {
	ip      string
	port    int
	state   atomic.Pointer[string]
	ack     atomic.Uint64 // the last seq it acknowledged as durable
	lastAck atomic.Int64  // when, unix ms
}

// NewLeader returns the leader side of db's replication.
func NewLeader(db *storage.DB, log *slog.Logger) *Leader {
	return &Leader{db: db, log: log.With("role", "leader"), followers: map[*link]struct{}{}, acked: make(chan struct{})}
}

// Takeover streams to a follower once the PSYNC reply is sent: conn is
// the connection, buffered what its reader had read past the request,
// stop is closed when the daemon shuts down. conn is nil when the reply
// could not be sent; the takeover then only releases what it holds.
type Takeover func(conn net.Conn, buffered []byte, stop <-chan struct{})

// PSync answers a follower's PSYNC: its dataset id, the seq of the last
// record it holds, and the port it listens on (for INFO). The answer is
// "CONTINUE <dataset> <seq>" when the log after seq is retained here,
// else "FULLRESYNC <dataset> <seq> <keys>", with the snapshot's seq and
// key count; the takeover then streams. An error answers when neither can
// be served (the engine is closed).
func (l *Leader) PSync(dataset string, after uint64, ip string, port int) (string, Takeover, error) {
	own := l.db.DatasetID()
	if dataset == own {
		feed, err := l.db.Feed(after)
		if err == nil {
			l.partialSyncs.Add(1)
			l.log.Info("partial sync", "follower", net.JoinHostPort(ip, strconv.Itoa(port)), "after_seq", after, "leader_seq", l.db.LastSeq())
			lk := l.newLink(ip, port, after, stateOnline)
			return "CONTINUE " + own + " " + strconv.FormatUint(after, 10),
				func(conn net.Conn, buffered []byte, stop <-chan struct{}) {
					defer feed.Close()
					l.serve(lk, conn, buffered, stop, nil, feed)
				}, nil
		}
		if !errors.Is(err, storage.ErrNotRetained) && !errors.Is(err, storage.ErrAhead) {
			return "", nil, err
		}
		l.partialRefused.Add(1)
		l.log.Info("partial sync not possible; full sync", "follower", net.JoinHostPort(ip, strconv.Itoa(port)), "after_seq", after, "why", err)
	} else {
		l.log.Info("follower of another dataset; full sync", "follower", net.JoinHostPort(ip, strconv.Itoa(port)), "its_dataset", dataset)
	}
	s, err := l.db.FullSync()
	if err != nil {
		return "", nil, err
	}
	l.fullSyncs.Add(1)
	lk := l.newLink(ip, port, 0, stateFullSync)
	reply := fmt.Sprintf("FULLRESYNC %s %d %d", own, s.Covered, s.Keys())
	return reply, func(conn net.Conn, buffered []byte, stop <-chan struct{}) {
		defer s.Close()
		l.serve(lk, conn, buffered, stop, s, s.Feed)
	}, nil
}

func (l *Leader) newLink(ip string, port int, ack uint64, state string) *link {
	lk := &link{ip: ip, port: port}
	lk.state.Store(&state)
	lk.ack.Store(ack)
	lk.lastAck.Store(time.Now().UnixMilli())
	return lk
}

// serve streams to one follower until it goes, stop, or an error.
func (l *Leader) serve(lk *link, conn net.Conn, buffered []byte, stop <-chan struct{}, s *storage.Sync, feed *storage.Feed) {
	if conn == nil {
		return
	}
	addr := net.JoinHostPort(lk.ip, strconv.Itoa(lk.port))
	log := l.log.With("follower", addr)
	l.mu.Lock()
	l.followers[lk] = struct{}{}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.followers, lk)
		l.mu.Unlock()
		l.notifyAck()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readerDone := make(chan error, 1)
	go func() { readerDone <- l.readAcks(ctx, lk, conn, buffered) }()
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
		conn.SetDeadline(time.Now()) // wake the reader and any write
	}()
	err := l.stream(ctx, lk, conn, s, feed)
	cancel()
	conn.Close()
	if rerr := <-readerDone; errors.Is(err, context.Canceled) { // stream ends only with an error
		err = rerr
	}
	log.Info("follower stream ended", "acked_seq", lk.ack.Load(), "err", err)
}

// stream writes the snapshot (for a full sync) and then the log.
func (l *Leader) stream(ctx context.Context, lk *link, conn net.Conn, s *storage.Sync, feed *storage.Feed) error {
	bw := bufio.NewWriterSize(&deadlineWriter{conn}, chunkBytes+frameHeader)
	var buf []byte
	if s != nil {
		start := time.Now()
		n := 0
		err := s.Records(func(r segment.Record) error {
			buf = segment.AppendRecord(buf, &r)
			n++
			if len(buf) < chunkBytes {
				return nil
			}
			if err := writeFrame(bw, frameSnapshot, buf); err != nil {
				return err
			}
			buf = buf[:0]
			return ctx.Err()
		})
		if err == nil && len(buf) > 0 {
			err = writeFrame(bw, frameSnapshot, buf)
		}
		if err == nil {
			err = writeFrame(bw, frameSnapEnd, nil)
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return fmt.Errorf("full sync: sending the snapshot: %w", err)
		}
		online := stateOnline
		lk.state.Store(&online)
		l.log.Info("full sync: snapshot sent", "follower", net.JoinHostPort(lk.ip, strconv.Itoa(lk.port)),
			"keys", n, "seq", s.Covered, "duration", time.Since(start))
	}
	for {
		wait, cancel := context.WithTimeout(ctx, heartbeatEvery)
		var err error
		buf, _, err = feed.Next(wait, buf[:0], chunkBytes)
		cancel()
		switch {
		case len(buf) > 0:
			if err := writeFrame(bw, frameLog, buf); err != nil {
				return err
			}
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			var hb [16]byte
			binary.LittleEndian.PutUint64(hb[:], l.db.DurableSeq())
			binary.LittleEndian.PutUint64(hb[8:], uint64(time.Now().UnixMilli()))
			if err := writeFrame(bw, frameHeartbeat, hb[:]); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		// Flush when nothing more is ready: a burst fills whole frames.
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}

// readAcks reads the follower's acknowledgements.
func (l *Leader) readAcks(ctx context.Context, lk *link, conn net.Conn, buffered []byte) error {
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(buffered), conn))
	buf := make([]byte, 0, 16)
	for {
		if ctx.Err() != nil {
			return nil
		}
		conn.SetReadDeadline(time.Now().Add(followerTimeout))
		typ, p, err := readFrame(br, buf, 64)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading acknowledgements: %w", err)
		}
		if typ != frameAck {
			return fmt.Errorf("follower sent a frame of type %q, want acknowledgements only", typ)
		}
		seq, err := u64(typ, p)
		if err != nil {
			return err
		}
		lk.ack.Store(seq)
		lk.lastAck.Store(time.Now().UnixMilli())
		l.notifyAck()
	}
}

// deadlineWriter gives each write to the follower streamWriteTimeout.
type deadlineWriter struct{ conn net.Conn }

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	return w.conn.Write(p)
}

func (l *Leader) notifyAck() {
	l.mu.Lock()
	close(l.acked)
	l.acked = make(chan struct{})
	l.mu.Unlock()
}

// Wait is WAIT: it returns once n followers have acknowledged every
// record up to seq, or when timeout passes (0: no limit) or ctx ends,
// with the number that have.
func (l *Leader) Wait(ctx context.Context, seq uint64, n int, timeout time.Duration) int {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		l.mu.Lock()
		got := 0
		for lk := range l.followers {
			if lk.ack.Load() >= seq {
				got++
			}
		}
		ch := l.acked
		l.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-ch:
		case <-expired:
			return l.count(seq)
		case <-ctx.Done():
			return l.count(seq)
		}
	}
}

func (l *Leader) count(seq uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := 0
	for lk := range l.followers {
		if lk.ack.Load() >= seq {
			got++
		}
	}
	return got
}

// FollowerInfo describes one connected follower.
type FollowerInfo struct {
	IP    string
	Port  int
	State string // send_bulk during a full sync, then online
	Acked uint64 // the last seq it acknowledged as durable
	Lag   time.Duration
}

// Followers returns the connected followers, ordered by address.
func (l *Leader) Followers() []FollowerInfo {
	l.mu.Lock()
	out := make([]FollowerInfo, 0, len(l.followers))
	now := time.Now().UnixMilli()
	for lk := range l.followers {
		out = append(out, FollowerInfo{IP: lk.ip, Port: lk.port, State: *lk.state.Load(), Acked: lk.ack.Load(),
			Lag: time.Duration(now-lk.lastAck.Load()) * time.Millisecond})
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].IP != out[j].IP {
			return out[i].IP < out[j].IP
		}
		return out[i].Port < out[j].Port
	})
	return out
}

// Syncs returns how many full and partial syncs the leader served, and
// how many partial syncs it had to refuse (a full sync followed).
func (l *Leader) Syncs() (full, partial, refused uint64) {
	return l.fullSyncs.Load(), l.partialSyncs.Load(), l.partialRefused.Load()
}
