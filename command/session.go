package command

import "net"

// Session is the state of one client connection. A front end makes one with
// Table.NewSession when a client connects, passes it to every Exec of that
// connection, and reads it after each Exec: Proto to choose the reply
// encoding, Quit to close the connection.
//
// A Session is not safe for concurrent use; one connection is served by one
// goroutine.
type Session struct {
	// ID is unique among the sessions of a Table (CLIENT ID, HELLO's id).
	ID uint64

	// Authed is true once AUTH or HELLO ... AUTH succeeded, or from the
	// start when no password is configured.
	Authed bool

	// Proto is the RESP version the client asked for with HELLO: 2 (the
	// default) or 3. HELLO sets it before returning its reply, so the reply
	// to HELLO 3 is already encoded in RESP3, as Redis does. Zero means 2.
	Proto int

	// Name is the connection's name (CLIENT SETNAME, HELLO ... SETNAME);
	// empty means none.
	Name string

	// LibName and LibVer are what the client library said of itself with
	// CLIENT SETINFO, for operators' eyes.
	LibName, LibVer string

	// Quit is set by QUIT: the front end sends the reply, then closes the
	// connection.
	Quit bool

	// Native is set by the native protocol's front end: some replies name
	// more there (a follower's refusal names its leader).
	Native bool

	// RemoteAddr is the peer's address, as the front end knows it.
	RemoteAddr string

	// Takeover, when a command sets it (PSYNC), is handed the connection
	// once that command's reply is sent, and the front end serves it no
	// more: the connection then carries the replication stream. The
	// front end calls it exactly once, with a nil conn if the reply could
	// not be sent; stop is closed when the server shuts down.
	Takeover func(conn net.Conn, buffered []byte, stop <-chan struct{})

	// Stream, when a command sets it (EXPORT), follows the command's
	// reply with more replies: the front end calls it once that reply is
	// written, and it passes each further reply to emit, which writes it
	// to the connection, flushed, and fails once the connection has
	// failed or the server is shutting down. The last reply it emits ends
	// the stream; the connection then serves its next request. The front
	// end calls it exactly once, with an emit that fails at once if the
	// command's reply could not be sent, so that it releases what it
	// holds.
	Stream func(emit func(Reply) error)

	// Store, when set, runs this connection's commands, reads and writes
	// alike, instead of the Table's Store. A server sets a
	// storage.Deferred here, so that the replies of a pipeline share one
	// wait for durability, which it makes before any reply leaves: no reply
	// shows a write, the client's own or another's, before it is durable.
	Store Store

	// LocalAddr is the address the peer connected to, and FD the
	// connection's file descriptor (-1 when not known), for CLIENT LIST.
	LocalAddr string
	FD        int

	// Buffers, set by the front end before Table.Connect, is where it
	// publishes what the connection's buffers hold, for CLIENT LIST; nil
	// shows them as 0.
	Buffers *ConnBuffers

	// Kill, set by the front end before Table.Connect, closes the
	// connection from another goroutine (CLIENT KILL).
	Kill func()

	// Mute is set by Exec when its reply must not be sent: CLIENT REPLY
	// OFF or SKIP is in force. The front end sends nothing for it.
	Mute bool

	// Drop is set by a command after which the connection closes without
	// its reply (SHUTDOWN): the front end flushes the replies before it
	// and closes.
	Drop bool

	// Monitor, when MONITOR sets it, makes the connection a monitor once
	// the reply is sent: the front end reads no more commands from it
	// and writes what the stream yields (monitor.go).
	Monitor *MonitorStream

	// tx is the connection's transaction: MULTI's queue and WATCH's keys
	// (multi.go).
	tx txState

	// conn is the connection's entry in the Table's registry, nil for a
	// session no front end registered (Table.Connect).
	conn *clientEntry
	// mon is the connection's monitor, once MONITOR ran.
	mon *monitor
	// The state of CLIENT REPLY (client.go): replyCtl is set while any
	// of the others, or Mute, is.
	replyCtl, replyOff, skipThis, skipNext, muteOne bool
	// noEvict is CLIENT NO-EVICT's flag.
	noEvict bool
	// rng is the state of the draw that picks the calls commandstats
	// times (stats.go).
	rng uint64
}
