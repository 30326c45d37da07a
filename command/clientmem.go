package command

import (
	"sync/atomic"
	"unsafe"
)

// CLIENT LIST's and CLIENT INFO's memory fields, Redis 7.0's
// (catClientInfoString in its networking.c), from what each connection
// holds:
//
//	qbuf       bytes read from the connection and not yet parsed into a
//	           whole command (ConnBuffers.Query)
//	qbuf-free  the read buffer's room left: its size less qbuf, or 0
//	argv-mem   the bytes of the arguments of the command the connection
//	           is running, 0 between commands
//	multi-mem  the bytes MULTI's queue holds: each queued command's
//	           arguments, copied, and a slice header per argument
//	rbs, rbp   the write buffer's size, and the most it held
//	obl        reply bytes in the write buffer, not yet written
//	oll        1 while a reply larger than the write buffer is being
//	           written past it, else 0: pykv has one buffer and no list
//	omem       the bytes of that reply not yet written
//	tot-mem    the read and write buffers, the bytes of qbuf the read
//	           buffer could not hold, argv-mem, multi-mem and the queue's
//	           entries, and omem
//
// The connection's own goroutine stores each value as it changes; CLIENT
// LIST, in another, loads them: each is exact when loaded, the line is
// not one instant's (Redis's, made between two commands, is).

// ConnBuffers is what a front end publishes of one connection's I/O
// buffers for CLIENT LIST and CLIENT INFO. It sets the sizes and
// Session.Buffers before Table.Connect; its connection's goroutine
// stores the counters, which any goroutine may load.
type ConnBuffers struct {
	// ReadSize and WriteSize are the sizes of the connection's read and
	// write buffers (qbuf-free, rbs, tot-mem); they do not change.
	ReadSize, WriteSize int64

	// Query is the bytes read from the connection not yet parsed into a
	// whole command, whether still in the read buffer or already copied
	// into a long argument's own buffer (qbuf).
	Query atomic.Int64

	// Buffered is the reply bytes in the write buffer not yet written
	// to the connection (obl), and Peak the most it held (rbp).
	Buffered, Peak atomic.Int64

	// Writing is the bytes not yet written of a reply too long for the
	// write buffer, which is written past it (omem; oll is 1 while it is
	// not 0).
	Writing atomic.Int64
}

// Sizes of what CLIENT LIST's tot-mem counts per argument and per queued
// command, besides their bytes.
const (
	argHeaderSize = int64(unsafe.Sizeof([]byte(nil)))
	queuedCmdSize = int64(unsafe.Sizeof(queuedCmd{}))
)

// cmdWord is clientEntry.lastCmd's word for command id running with
// argvMem bytes of arguments (0 once it ran): the ID + 1 in the low 32
// bits, argv-mem in the high 32 (a request is bounded far below 4 GiB).
func cmdWord(id int, argvMem int64) uint64 {
	return uint64(min(argvMem, 1<<32-1))<<32 | uint64(uint32(id+1))
}

// argvBytes returns the bytes of argv's arguments, Redis's argv_len_sum.
func argvBytes(argv [][]byte) int64 {
	n := 0
	for _, a := range argv {
		n += len(a)
	}
	return int64(n)
}

// publishTx republishes s's transaction for CLIENT LIST: the number of
// queued commands (-1 outside MULTI) and multi-mem.
func (s *Session) publishTx() {
	e := s.conn
	if e == nil {
		return
	}
	if s.tx.multi {
		e.multi.Store(int32(len(s.tx.queue)))
		e.multiMem.Store(int64(s.tx.bytes) + int64(s.tx.args)*argHeaderSize)
	} else {
		e.multi.Store(-1)
		e.multiMem.Store(0)
	}
}

// clientMem is a connection's memory fields of CLIENT LIST.
type clientMem struct {
	qbuf, qbufFree, argvMem, multiMem, rbs, rbp, obl, oll, omem, totMem int64
}

// mem loads e's memory fields.
func (e *clientEntry) mem() clientMem {
	m := clientMem{argvMem: int64(e.lastCmd.Load() >> 32), multiMem: e.multiMem.Load()}
	m.totMem = m.argvMem + m.multiMem + int64(max(e.multi.Load(), 0))*queuedCmdSize
	if b := e.bufs; b != nil {
		m.qbuf = b.Query.Load()
		m.qbufFree = max(b.ReadSize-m.qbuf, 0)
		m.rbs, m.rbp = b.WriteSize, b.Peak.Load()
		m.obl, m.omem = b.Buffered.Load(), b.Writing.Load()
		if m.omem > 0 {
			m.oll = 1
		}
		m.totMem += b.ReadSize + max(m.qbuf-b.ReadSize, 0) + b.WriteSize + m.omem
	}
	return m
}
