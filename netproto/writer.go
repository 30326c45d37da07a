package netproto

import (
	"bufio"
	"encoding/binary"
	"math"
)

// maxBody is the largest frame body the length field can describe.
const maxBody = math.MaxUint32

// Writer encodes the native protocol onto a buffered stream: the handshake
// reply and replies on the server side, the handshake and requests on the
// client side. It writes into the bufio.Writer and never flushes it, so
// that pipelined replies share a system call; call Flush (or flush the
// bufio.Writer) when the batch is done. It does not allocate. It is not
// safe for concurrent use.
type Writer struct {
	bw      *bufio.Writer
	scratch [8]byte // for fixed-width integers without allocating
}

// NewWriter returns a Writer that writes to bw.
func NewWriter(bw *bufio.Writer) *Writer { return &Writer{bw: bw} }

// Flush writes any buffered data to the underlying connection.
func (w *Writer) Flush() error { return w.bw.Flush() }

func (w *Writer) writeByte(b byte) error { return w.bw.WriteByte(b) }

func (w *Writer) writeU16(v uint16) error {
	binary.BigEndian.PutUint16(w.scratch[:2], v)
	_, err := w.bw.Write(w.scratch[:2])
	return err
}

func (w *Writer) writeU32(v uint32) error {
	binary.BigEndian.PutUint32(w.scratch[:4], v)
	_, err := w.bw.Write(w.scratch[:4])
	return err
}

func (w *Writer) writeU64(v uint64) error {
	binary.BigEndian.PutUint64(w.scratch[:8], v)
	_, err := w.bw.Write(w.scratch[:8])
	return err
}

// writeBlob writes a length-prefixed byte string.
func (w *Writer) writeBlob(b []byte) error {
	if err := w.writeU32(uint32(len(b))); err != nil {
		return err
	}
	_, err := w.bw.Write(b)
	return err
}

// writeText writes a length-prefixed string.
func (w *Writer) writeText(s string) error {
	if err := w.writeU32(uint32(len(s))); err != nil {
		return err
	}
	_, err := w.bw.WriteString(s)
	return err
}
