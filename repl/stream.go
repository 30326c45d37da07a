package repl

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Frame types. Leader to follower: snapshot records, the snapshot's end,
// log records, a heartbeat. Follower to leader: an acknowledgement.
const (
	frameSnapshot  byte = 'S' // encoded set records of the leader's snapshot
	frameSnapEnd   byte = 'E' // the snapshot is whole: install it
	frameLog       byte = 'L' // encoded log records, in seq order
	frameHeartbeat byte = 'H' // u64 leader's last seq, i64 leader's clock (unix ms)
	frameAck       byte = 'A' // u64 seq the follower has made durable
)

// frameHeader is a frame's type byte and length.
const frameHeader = 1 + 4

// writeFrame writes one frame; it does not flush.
func writeFrame(w *bufio.Writer, typ byte, payload []byte) error {
	var h [frameHeader]byte
	h[0] = typ
	binary.LittleEndian.PutUint32(h[1:], uint32(len(payload)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame into buf (grown as needed) and returns its
// type and payload. A length above limit is an error, never allocated.
func readFrame(r *bufio.Reader, buf []byte, limit int) (byte, []byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, buf, err
	}
	n := binary.LittleEndian.Uint32(h[1:])
	if uint64(n) > uint64(limit) {
		return 0, buf, fmt.Errorf("replication frame %q of %d bytes is over the limit of %d", h[0], n, limit)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, buf, fmt.Errorf("replication frame %q cut short: %w", h[0], err)
	}
	return h[0], buf, nil
}

// u64 returns the payload of an ack or the first field of a heartbeat.
func u64(typ byte, p []byte) (uint64, error) {
	if len(p) < 8 {
		return 0, fmt.Errorf("replication frame %q of %d bytes, want at least 8", typ, len(p))
	}
	return binary.LittleEndian.Uint64(p), nil
}
