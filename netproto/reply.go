package netproto

import (
	"encoding/binary"
	"fmt"

	"github.com/pykv/pykv/command"
)

// Reply values on the wire: a type byte, which is the command.Kind, then a
// payload fixed by the type (see the package doc). The sizes below are
// part of the wire format.
const (
	typeSize = 1 // the type byte of every value
	intSize  = 8 // KindInt payload: big-endian two's-complement int64
)

// WriteReply writes r as one reply frame. It checks the whole reply before
// writing any of it, so on ErrInvalidReply (unknown Kind, odd Map, nesting
// deeper than MaxDepth, too large for a frame) nothing has been written and
// the connection is still usable. It does not allocate and does not flush.
func (w *Writer) WriteReply(r command.Reply) error {
	size, err := replySize(&r, 0)
	if err != nil {
		return err
	}
	if size > maxBody {
		return fmt.Errorf("%w: %d bytes, a frame carries at most %d", ErrInvalidReply, size, uint64(maxBody))
	}
	if err := w.writeU32(uint32(size)); err != nil {
		return err
	}
	return w.writeValue(&r)
}

// replySize returns the encoded size of r, checking that r can be encoded.
// depth is the number of Arrays and Maps that enclose r.
func replySize(r *command.Reply, depth int) (uint64, error) {
	switch r.Kind {
	case command.KindOK, command.KindNil:
		return typeSize, nil
	case command.KindInt:
		return typeSize + intSize, nil
	case command.KindBytes, command.KindStatus:
		return typeSize + lenSize + uint64(len(r.Bytes)), nil
	case command.KindError:
		return typeSize + 2*lenSize + uint64(len(r.Code)) + uint64(len(r.Msg)), nil
	case command.KindArray, command.KindMap:
		if depth >= MaxDepth {
			return 0, fmt.Errorf("%w: nested deeper than %d", ErrInvalidReply, MaxDepth)
		}
		if r.Kind == command.KindMap && len(r.Array)%2 != 0 {
			return 0, fmt.Errorf("%w: map with an odd number of items (%d)", ErrInvalidReply, len(r.Array))
		}
		if uint64(len(r.Array)) > maxBody {
			return 0, fmt.Errorf("%w: %d items, a count carries at most %d", ErrInvalidReply, len(r.Array), uint64(maxBody))
		}
		size := uint64(typeSize + lenSize)
		for i := range r.Array {
			n, err := replySize(&r.Array[i], depth+1)
			if err != nil {
				return 0, err
			}
			size += n
			if size > maxBody {
				// Stop early: the caller rejects it anyway, and the sum
				// of a huge reply must not overflow.
				return size, nil
			}
		}
		return size, nil
	}
	return 0, fmt.Errorf("%w: unknown kind %d", ErrInvalidReply, r.Kind)
}

// writeValue writes a reply value that replySize has accepted.
func (w *Writer) writeValue(r *command.Reply) error {
	if err := w.writeByte(byte(r.Kind)); err != nil {
		return err
	}
	switch r.Kind {
	case command.KindInt:
		return w.writeU64(uint64(r.Int))
	case command.KindBytes, command.KindStatus:
		return w.writeBlob(r.Bytes)
	case command.KindError:
		if err := w.writeText(r.Code); err != nil {
			return err
		}
		return w.writeText(r.Msg)
	case command.KindArray, command.KindMap:
		n := len(r.Array)
		if r.Kind == command.KindMap {
			n /= 2 // the count of a Map is its number of pairs
		}
		if err := w.writeU32(uint32(n)); err != nil {
			return err
		}
		for i := range r.Array {
			if err := w.writeValue(&r.Array[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadReply reads the next reply frame. An error reply from the server is
// a Reply of KindError and a nil error; the error result is for the frame
// itself (see Recoverable). The reply owns its memory: Bytes point into a
// buffer allocated for this frame alone, which stays valid for as long as
// the reply is kept. At the end of the stream between frames it returns
// io.EOF.
func (r *Reader) ReadReply() (command.Reply, error) {
	body, err := r.readFrame(nil)
	if err != nil {
		return command.Reply{}, err
	}
	d := decoder{p: body, budget: r.lim.MaxArgs}
	rep, err := d.value(0)
	if err != nil {
		return command.Reply{}, err
	}
	if len(d.p) != 0 {
		return command.Reply{}, fmt.Errorf("%w: %d bytes after the reply", ErrMalformed, len(d.p))
	}
	return rep, nil
}

// decoder parses reply values from the body of one frame.
type decoder struct {
	p      []byte // what is left of the body
	budget int    // how many more array and map items may be allocated
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// u32 consumes a length or count.
func (d *decoder) u32(what string) (uint32, error) {
	if len(d.p) < lenSize {
		return 0, d.errorf("truncated %s", what)
	}
	n := binary.BigEndian.Uint32(d.p)
	d.p = d.p[lenSize:]
	return n, nil
}

// blob consumes a length-prefixed byte string, without copying it.
func (d *decoder) blob(what string) ([]byte, error) {
	if len(d.p) < lenSize {
		return nil, d.errorf("truncated %s length", what)
	}
	n := binary.BigEndian.Uint32(d.p)
	d.p = d.p[lenSize:]
	if uint64(n) > uint64(len(d.p)) {
		return nil, d.errorf("%s claims %d bytes, %d left in frame", what, n, len(d.p))
	}
	b := d.p[:n:n]
	d.p = d.p[n:]
	return b, nil
}

// value consumes one reply value; depth is the number of Arrays and Maps
// that enclose it.
func (d *decoder) value(depth int) (command.Reply, error) {
	if len(d.p) < typeSize {
		return command.Reply{}, d.errorf("truncated value")
	}
	kind := command.Kind(d.p[0])
	d.p = d.p[typeSize:]
	switch kind {
	case command.KindOK, command.KindNil:
		return command.Reply{Kind: kind}, nil
	case command.KindInt:
		if len(d.p) < intSize {
			return command.Reply{}, d.errorf("truncated integer")
		}
		n := int64(binary.BigEndian.Uint64(d.p))
		d.p = d.p[intSize:]
		return command.Int(n), nil
	case command.KindBytes, command.KindStatus:
		b, err := d.blob("string")
		return command.Reply{Kind: kind, Bytes: b}, err
	case command.KindError:
		code, err := d.blob("error code")
		if err != nil {
			return command.Reply{}, err
		}
		msg, err := d.blob("error message")
		if err != nil {
			return command.Reply{}, err
		}
		return command.Errorf(string(code), string(msg)), nil
	case command.KindArray, command.KindMap:
		return d.array(kind, depth)
	}
	return command.Reply{}, d.errorf("unknown reply type 0x%02x", byte(kind))
}

// array consumes the count and items of an Array or Map.
func (d *decoder) array(kind command.Kind, depth int) (command.Reply, error) {
	if depth >= MaxDepth {
		return command.Reply{}, d.errorf("nested deeper than %d", MaxDepth)
	}
	n, err := d.u32("count")
	if err != nil {
		return command.Reply{}, err
	}
	items := uint64(n)
	if kind == command.KindMap {
		items *= 2
	}
	// Every item takes at least its type byte: a count the rest of the
	// frame cannot hold is rejected before the slice is allocated.
	if items > uint64(len(d.p)) {
		return command.Reply{}, d.errorf("count of %d items, %d bytes left in frame", items, len(d.p))
	}
	// A Reply is about 100 bytes against an item's 1 on the wire, so the
	// items of a frame are bounded by MaxArgs as well.
	if items > uint64(d.budget) {
		return command.Reply{}, fmt.Errorf("%w: reply carries more than %d items", ErrTooManyArgs, d.budget)
	}
	d.budget -= int(items)
	arr := make([]command.Reply, items)
	for i := range arr {
		if arr[i], err = d.value(depth + 1); err != nil {
			return command.Reply{}, err
		}
	}
	return command.Reply{Kind: kind, Array: arr}, nil
}
