package repl

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pykv/pykv/reply"
	"github.com/pykv/pykv/storage"
)

// Options configure a Replication.
type Options struct {
	// LeaderPassword is sent with AUTH to a leader (leader_password).
	LeaderPassword string
	// TLS, when set, is the client configuration of links to a leader.
	TLS *tls.Config
	// ListenPort returns this daemon's native port, told to its leader.
	ListenPort func() int
	// MaxFrame bounds a frame from a leader.
	MaxFrame int
	// MinFollowers, when positive, makes a leader refuse writes unless
	// that many followers have acknowledged within MaxLag (Redis's
	// min-replicas-to-write and min-replicas-max-lag).
	MinFollowers int
	MaxLag       time.Duration
	// Logger receives replication's events.
	Logger *slog.Logger
}

// Replication is a daemon's replication: the leader side always (any
// daemon may serve followers), and a Follower while REPLICAOF says so.
// It implements command.Replication.
type Replication struct {
	db     *storage.DB
	opts   Options
	leader *Leader
	// minFollowers and maxLag are Options.MinFollowers and MaxLag (in
	// nanoseconds), changed by SetMinFollowers.
	minFollowers, maxLag atomic.Int64

	mu       sync.Mutex
	follower *Follower
	addr     string // the leader followed, "" when none
	// leaderAddr mirrors addr for Leader, which every write command asks
	// and which must not take mu.
	leaderAddr atomic.Pointer[string]
	stop       context.CancelFunc
	done       chan struct{}
}

// New returns the replication of db, a leader until ReplicaOf. Unless
// db is opened as a replica, it starts a new history that continues the
// one recovered, up to its last seq: under fsync everysec or no, a
// follower may hold records the last run streamed and a power cut then
// took from this log, and the seqs this run gives its new records must
// not pass for those.
func New(db *storage.DB, opts Options) (*Replication, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if !db.Replica() {
		if _, err := db.NewHistory(); err != nil {
			return nil, err
		}
	}
	r := &Replication{db: db, opts: opts, leader: NewLeader(db, opts.Logger)}
	r.SetMinFollowers(opts.MinFollowers, opts.MaxLag)
	return r, nil
}

// SetMinFollowers changes Options.MinFollowers and MaxLag while the
// daemon runs: writes from then on are refused or taken by the new rule.
func (r *Replication) SetMinFollowers(n int, maxLag time.Duration) {
	r.minFollowers.Store(int64(n))
	r.maxLag.Store(int64(maxLag))
}

// Leader returns the address of the leader being followed, or "".
func (r *Replication) Leader() string {
	if a := r.leaderAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// EnoughFollowers reports whether the leader has Options.MinFollowers
// followers online that acknowledged within Options.MaxLag (as
// SetMinFollowers last set them).
func (r *Replication) EnoughFollowers() bool {
	want := r.minFollowers.Load()
	if want <= 0 {
		return true
	}
	maxLag := time.Duration(r.maxLag.Load())
	var good int64
	for _, f := range r.leader.Followers() {
		if f.State == stateOnline && f.Lag <= maxLag {
			good++
		}
	}
	return good >= want
}

// ReplicaOf follows the leader at addr, or stops following with "". The
// DB turns read-only (replica mode) at once, before the first sync; when
// following stops, it takes writes again and continues the seq: a
// promoted follower's history goes on from the leader's.
func (r *Replication) ReplicaOf(addr string) (bool, error) {
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return false, fmt.Errorf("replicaof %q: want host:port", addr)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if addr == r.addr {
		return addr != "", nil
	}
	r.stopLocked()
	r.addr = addr
	if addr == "" {
		// A promotion: the records this daemon takes from now on are a
		// new history that continues the leader's up to here, so that a
		// follower of the old leader holding more than this is told
		// apart (and fully synced) rather than continued. Writes are
		// taken only once it is written.
		if _, err := r.db.NewHistory(); err != nil {
			return false, err
		}
		r.db.SetReplica(false)
		r.leaderAddr.Store(&addr)
		r.opts.Logger.Info("replication: now a leader", "seq", r.db.LastSeq())
		return false, nil
	}
	// Writes are refused from here on: by the table (READONLY) and, for
	// one already past its check, by the engine in replica mode.
	r.leaderAddr.Store(&addr)
	r.db.SetReplica(true)
	f := NewFollower(r.db, FollowerOptions{Leader: addr, Password: r.opts.LeaderPassword, TLS: r.opts.TLS,
		ListenPort: r.listenPort(), MaxFrame: r.opts.MaxFrame, Logger: r.opts.Logger})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	r.follower, r.stop, r.done = f, cancel, done
	r.opts.Logger.Info("replication: following a leader", "leader", addr, "dataset", r.db.DatasetID(), "seq", r.db.LastSeq())
	return false, nil
}

func (r *Replication) listenPort() int {
	if r.opts.ListenPort == nil {
		return 0
	}
	return r.opts.ListenPort()
}

// stopLocked stops the follower, if any, and waits for it.
func (r *Replication) stopLocked() {
	if r.follower == nil {
		return
	}
	r.stop()
	<-r.done
	r.follower, r.stop, r.done = nil, nil, nil
}

// Close stops following.
func (r *Replication) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

// PSync serves a follower's PSYNC (see Leader.PSync).
func (r *Replication) PSync(dataset string, seq uint64, port int, remote string) (string, func(net.Conn, []byte, <-chan struct{}), error) {
	ip := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		ip = h
	}
	line, takeover, err := r.leader.PSync(dataset, seq, ip, port)
	return line, takeover, err
}

// Wait is WAIT on the leader: n followers acknowledging every record
// logged so far.
func (r *Replication) Wait(n int, timeout time.Duration) int {
	return r.leader.Wait(context.Background(), r.db.LastSeq(), n, timeout)
}

// Role is ROLE's reply, as Redis gives it.
func (r *Replication) Role() reply.Reply {
	r.mu.Lock()
	f, addr := r.follower, r.addr
	r.mu.Unlock()
	if f != nil {
		host, portText, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portText)
		st := f.Status()
		state := "connecting"
		switch {
		case st.Syncing:
			state = "sync"
		case st.LinkUp:
			state = "connected"
		}
		return reply.Array([]reply.Reply{reply.Bytes([]byte("slave")), reply.Bytes([]byte(host)), reply.Int(int64(port)),
			reply.Bytes([]byte(state)), reply.Int(int64(st.AppliedSeq))})
	}
	fs := []reply.Reply{}
	for _, fi := range r.leader.Followers() {
		fs = append(fs, reply.Array([]reply.Reply{reply.Bytes([]byte(fi.IP)),
			reply.Bytes([]byte(strconv.Itoa(fi.Port))), reply.Bytes([]byte(strconv.FormatUint(fi.Acked, 10)))}))
	}
	return reply.Array([]reply.Reply{reply.Bytes([]byte("master")), reply.Int(int64(r.db.LastSeq())), reply.Array(fs)})
}

// State is what INFO replication and the metrics show.
type State struct {
	// Following is set on a follower, with its link's status.
	Following bool
	Follower  Status
	// Followers are a leader's connected followers.
	Followers []FollowerInfo
	// Full and Partial count the syncs served as a leader; Refused the
	// partial syncs asked for that needed a full one.
	Full, Partial, Refused uint64
}

// State returns the replication's state.
func (r *Replication) State() State {
	r.mu.Lock()
	f := r.follower
	r.mu.Unlock()
	var st State
	if f != nil {
		st.Following, st.Follower = true, f.Status()
	}
	st.Followers = r.leader.Followers()
	st.Full, st.Partial, st.Refused = r.leader.Syncs()
	return st
}
