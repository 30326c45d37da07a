package command

import (
	"net"
	"strconv"
	"time"

	"github.com/pykv/pykv/internal/redisfmt"
)

// Replication is what the table needs of replication; package repl
// implements it. Without one (Config.Repl nil) the daemon is a leader
// that serves no follower: PSYNC, REPLICAOF and WAIT answer errors.
type Replication interface {
	// Leader returns the leader's address while this daemon follows one
	// (writes are then refused), or "" on a leader.
	Leader() string
	// EnoughFollowers reports whether a leader has the followers
	// min_replicas_to_write asks for, each heard from within
	// min_replicas_max_lag (always true when it asks for none).
	EnoughFollowers() bool
	// PSync answers a follower's PSYNC (its dataset id, the seq of its
	// last record, the port it listens on, and its address as the
	// connection shows it): the status line of the reply and the takeover
	// that streams to the connection once the reply is sent.
	PSync(dataset string, seq uint64, port int, remote string) (string, func(conn net.Conn, buffered []byte, stop <-chan struct{}), error)
	// ReplicaOf follows the leader at addr, "host:port", or stops
	// following with "" (REPLICAOF NO ONE). It reports whether addr was
	// already the leader.
	ReplicaOf(addr string) (already bool, err error)
	// Role is ROLE's reply.
	Role() Reply
	// Wait is WAIT: it returns once n followers have acknowledged every
	// record logged so far, or timeout passes (0: no limit), with the
	// number that have.
	Wait(n int, timeout time.Duration) int
}

// errReadOnlyNative is errReadOnly for the native protocol, which names
// the leader to write to.
func errReadOnlyNative(leader string) Reply {
	return Errorf("READONLY", "You can't write against a read only replica. Write to its leader at "+leader+".")
}

var errNoReplication = Err("replication is not available on this server")

// psync is PSYNC dataset seq port: the request a follower sends its
// leader (native protocol). The reply is a status line; the connection
// then carries the stream (package repl).
func (t *Table) psync(s *Session, argv [][]byte) Reply {
	if t.cfg.Repl == nil {
		return errNoReplication
	}
	if !s.Native {
		// A Redis replica's PSYNC would get a stream it cannot read.
		return Err("PSYNC is pykv's replication request and is served on the native listener only; a Redis replica cannot follow pykvd")
	}
	seq, ok := parseUint(argv[2])
	if !ok {
		return Err("PSYNC: the seq is not an unsigned integer")
	}
	port, ok := redisfmt.ParseInt(argv[3])
	if !ok || port < 0 || port > 65535 {
		return Err("PSYNC: the port is not in 0 to 65535")
	}
	line, takeover, err := t.cfg.Repl.PSync(string(argv[1]), seq, int(port), s.RemoteAddr)
	if err != nil {
		return Err("PSYNC: " + oneLine(err.Error()))
	}
	s.Takeover = takeover
	return Status(line)
}

// replicaof is REPLICAOF host port and REPLICAOF NO ONE (and SLAVEOF).
func (t *Table) replicaof(_ *Session, argv [][]byte) Reply {
	if t.cfg.Repl == nil {
		return errNoReplication
	}
	if is(argv[1], "NO") && is(argv[2], "ONE") {
		if _, err := t.cfg.Repl.ReplicaOf(""); err != nil {
			return Err(oneLine(err.Error()))
		}
		return OK
	}
	port, ok := redisfmt.ParseInt(argv[2])
	if !ok || port < 0 || port > 65535 {
		return Err("Invalid master port")
	}
	already, err := t.cfg.Repl.ReplicaOf(net.JoinHostPort(string(argv[1]), strconv.FormatInt(port, 10)))
	if err != nil {
		return Err(oneLine(err.Error()))
	}
	if already {
		return Status("OK Already connected to specified master")
	}
	return OK
}

// role is ROLE.
func (t *Table) role(s *Session, _ [][]byte) Reply {
	if t.cfg.Repl == nil {
		return Array([]Reply{Bytes([]byte("master")), Int(int64(t.storeFor(s).Stats().LastSeq)), Array([]Reply{})})
	}
	return t.cfg.Repl.Role()
}

// wait is WAIT numreplicas timeout. Inside EXEC it does not wait, as in
// Redis: it answers how many followers have every record so far.
func (t *Table) wait(s *Session, argv [][]byte) Reply {
	n, ok := redisfmt.ParseInt(argv[1])
	if !ok {
		return errNotInteger
	}
	ms, ok := redisfmt.ParseInt(argv[2])
	if !ok {
		return Err("timeout is not an integer or out of range")
	}
	if ms < 0 {
		return Err("timeout is negative")
	}
	if t.cfg.Repl == nil {
		return Int(0)
	}
	if t.cfg.Repl.Leader() != "" {
		return Err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
	}
	if s.tx.running != nil {
		n, ms = 0, 0 // the count now: the transaction holds the write lock
	}
	return Int(int64(t.cfg.Repl.Wait(int(max(n, 0)), time.Duration(ms)*time.Millisecond)))
}

// errNoReplicas refuses a write when too few followers are up
// (min_replicas_to_write), in Redis's words.
var errNoReplicas = Errorf("NOREPLICAS", "Not enough good replicas to write.")

// readOnly returns the refusal of a write on a follower, or on a leader
// short of the followers min_replicas_to_write asks for, or false.
func (t *Table) readOnly(s *Session) (Reply, bool) {
	if t.cfg.Repl == nil {
		return Reply{}, false
	}
	leader := t.cfg.Repl.Leader()
	if leader == "" {
		if !t.cfg.Repl.EnoughFollowers() {
			return errNoReplicas, true
		}
		return Reply{}, false
	}
	if s.Native {
		return errReadOnlyNative(leader), true
	}
	return errReadOnly, true
}
