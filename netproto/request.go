package netproto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ReadRequest reads the next request frame and returns its argv: the
// command name (upper case for a dedicated opcode, as sent for OpCommand)
// followed by the args. It appends to argv[:0], so a server passes back
// the slice of the previous call and reads without allocating.
//
// The returned args, argv[0] included, point into a buffer of the Reader:
// they are valid until the next call of ReadRequest and must be copied to
// be kept longer. The caller may modify them in place; each has its
// capacity capped at its length, so an append to one copies rather than
// overwrites the next.
//
// At the end of the stream between frames it returns io.EOF. For the other
// errors, see Recoverable.
func (r *Reader) ReadRequest(argv [][]byte) ([][]byte, error) {
	argv, err := r.readRequest(argv)
	if err != nil && r.unauth && (errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrTooManyArgs)) {
		err = &unauthError{err}
	}
	return argv, err
}

func (r *Reader) readRequest(argv [][]byte) ([][]byte, error) {
	argv = argv[:0]
	if cap(r.buf) > maxRetained {
		r.buf = nil
	}
	body, err := r.readFrame(r.buf[:0])
	r.buf = body
	if err != nil {
		return argv, err
	}
	op := body[0]
	if op != OpCommand {
		name := opNames[op]
		if name == "" {
			return argv, fmt.Errorf("%w: 0x%02x", ErrUnknownOpcode, op)
		}
		// A copy, so that argv is all the caller's to modify until the
		// next call without reaching the opcode table.
		n := copy(r.name[:], name)
		argv = append(argv, r.name[:n:n])
	}
	argv, err = r.parseArgs(argv, body[1:])
	if err != nil {
		return argv, err
	}
	if len(argv) == 0 || len(argv[0]) == 0 {
		return argv, fmt.Errorf("%w: generic command frame without a command name", ErrMalformed)
	}
	return argv, nil
}

// parseArgs appends the length-prefixed args of p to argv.
func (r *Reader) parseArgs(argv [][]byte, p []byte) ([][]byte, error) {
	for len(p) > 0 {
		if len(argv) >= r.lim.MaxArgs {
			return argv, fmt.Errorf("%w: more than %d", ErrTooManyArgs, r.lim.MaxArgs)
		}
		if len(p) < lenSize {
			return argv, fmt.Errorf("%w: arg %d: truncated length", ErrMalformed, len(argv))
		}
		n := binary.BigEndian.Uint32(p)
		p = p[lenSize:]
		if uint64(n) > uint64(len(p)) {
			return argv, fmt.Errorf("%w: arg %d claims %d bytes, %d left in frame", ErrMalformed, len(argv), n, len(p))
		}
		argv = append(argv, p[:n:n])
		p = p[n:]
	}
	return argv, nil
}

// WriteRequest writes argv as one request frame. A command name (argv[0])
// that has an opcode, in any case, is sent as that opcode; any other is
// sent with OpCommand and the name as the first arg. It returns
// ErrInvalidRequest, writing nothing, for an argv without a command name
// or one too large for a frame. It does not flush.
func (w *Writer) WriteRequest(argv [][]byte) error {
	if len(argv) == 0 || len(argv[0]) == 0 {
		return fmt.Errorf("%w: no command name", ErrInvalidRequest)
	}
	op, ok := opcodeOf(argv[0])
	args := argv[1:]
	if !ok {
		op, args = OpCommand, argv
	}
	size := uint64(1)
	for _, a := range args {
		size += lenSize + uint64(len(a))
	}
	if size > maxBody {
		return fmt.Errorf("%w: %d bytes, a frame carries at most %d", ErrInvalidRequest, size, uint64(maxBody))
	}
	if err := w.writeU32(uint32(size)); err != nil {
		return err
	}
	if err := w.writeByte(op); err != nil {
		return err
	}
	for _, a := range args {
		if err := w.writeBlob(a); err != nil {
			return err
		}
	}
	return nil
}
