package server

import (
	"bufio"

	"github.com/pykv/pykv/command"
)

// meter keeps a connection's command.ConnBuffers, what CLIENT LIST shows
// of its read and write buffers, from the connection's own goroutine:
// the deadlineReader counts the bytes read, the loop the bytes parsed
// into commands and the replies buffered, the durableWriter the bytes
// being written. A value is stored only when it changed, so a request
// and its reply cost a few stores to a line no other connection writes.
type meter struct {
	pub  *command.ConnBuffers
	br   *bufio.Reader
	bw   *bufio.Writer
	read int64 // bytes read from the connection
	done int64 // of them, those of the handshake and of whole commands
	// The values last stored in pub.
	query, buffered, writing, peak int64
}

func newMeter(readSize, writeSize int) *meter {
	return &meter{pub: &command.ConnBuffers{ReadSize: int64(readSize), WriteSize: int64(writeSize)}}
}

// got counts n bytes read from the connection.
func (m *meter) got(n int) {
	m.read += int64(n)
	m.setQuery(m.read - m.done)
}

// parsed is called when a whole command, or the handshake, has been
// read: what is buffered past it is not yet parsed, and the replies of
// the commands before it are in the write buffer.
func (m *meter) parsed() {
	q := int64(m.br.Buffered())
	m.done = m.read - q
	m.setQuery(q)
	m.setBuffered(int64(m.bw.Buffered()))
}

// writeStarts is called as the write buffer writes p's n bytes to the
// connection: the buffer's content (at most its size), or a reply too
// long for it, which bufio writes past it.
func (m *meter) writeStarts(n int) {
	if int64(n) > m.pub.WriteSize {
		m.setWriting(int64(n))
	} else {
		m.setBuffered(int64(n))
	}
}

// writeLeft is called as a long write progresses: left bytes of it are
// not yet written.
func (m *meter) writeLeft(left int) {
	if m.writing > 0 {
		m.setWriting(int64(left))
	} else {
		m.setBuffered(int64(left))
	}
}

// writeEnds is called when a write returned: what it wrote is out of the
// buffers (after an error the connection closes).
func (m *meter) writeEnds() {
	m.setWriting(0)
	m.setBuffered(0)
}

func (m *meter) setQuery(v int64) {
	if v != m.query {
		m.query = v
		m.pub.Query.Store(v)
	}
}

func (m *meter) setBuffered(v int64) {
	if v != m.buffered {
		m.buffered = v
		m.pub.Buffered.Store(v)
	}
	if v > m.peak {
		m.peak = v
		m.pub.Peak.Store(v)
	}
}

func (m *meter) setWriting(v int64) {
	if v != m.writing {
		m.writing = v
		m.pub.Writing.Store(v)
	}
}
