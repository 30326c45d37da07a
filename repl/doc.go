// Package repl is leader-follower replication. The log is the stream: a
// follower connects to its leader's native listener, authenticates, and
// sends PSYNC with its dataset id and the seq of the last record it has
// logged. The leader answers CONTINUE and streams the records after that
// seq from its retained segments (storage.Feed), or FULLRESYNC when the
// seq is no longer retained or the dataset differs, and streams its
// snapshot's records and then the log after it (storage.FullSync). The
// follower logs every record with the leader's seq (storage.Apply), so a
// restarted follower resumes with a partial sync; a full sync replaces
// its data in one atomic step (storage.Install). It acknowledges only
// seqs it has made durable under its own fsync policy; WAIT counts those
// acknowledgements.
//
// After the PSYNC reply the connection carries frames (stream.go), in
// both directions, each a type byte, a little-endian uint32 length and
// the payload. docs/replication.md describes the bytes.
package repl
