package netproto

import (
	"encoding/binary"
	"fmt"

	"github.com/pykv/pykv/reply"
)

// Reply values on the wire: a type byte, which is the reply.Kind, then a
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
func (w *Writer) WriteReply(r reply.Reply) error {
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
func replySize(r *reply.Reply, depth int) (uint64, error) {
	switch r.Kind {
	case reply.KindOK, reply.KindNil:
		return typeSize, nil
	case reply.KindInt:
		return typeSize + intSize, nil
	case reply.KindBytes, reply.KindStatus:
		return typeSize + lenSize + uint64(len(r.Bytes)), nil
	case reply.KindError:
		return typeSize + 2*lenSize + uint64(len(r.Code)) + uint64(len(r.Msg)), nil
	case reply.KindArray, reply.KindMap:
		if depth >= MaxDepth {
			return 0, fmt.Errorf("%w: nested deeper than %d", ErrInvalidReply, MaxDepth)
		}
		if r.Kind == reply.KindMap && len(r.Array)%2 != 0 {
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
func (w *Writer) writeValue(r *reply.Reply) error {
	if err := w.writeByte(byte(r.Kind)); err != nil {
		return err
	}
	switch r.Kind {
	case reply.KindInt:
		return w.writeU64(uint64(r.Int))
	case reply.KindBytes, reply.KindStatus:
		return w.writeBlob(r.Bytes)
	case reply.KindError:
		if err := w.writeText(r.Code); err != nil {
			return err
		}
		return w.writeText(r.Msg)
	case reply.KindArray, reply.KindMap:
		n := len(r.Array)
		if r.Kind == reply.KindMap {
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
func (r *Reader) ReadReply() (reply.Reply, error) {
	body, err := r.readFrame(nil)
	if err != nil {
		return reply.Reply{}, err
	}
	d := decoder{p: body, budget: r.lim.MaxArgs}
	rep, err := d.value(0)
	if err != nil {
		return reply.Reply{}, err
	}
	if len(d.p) != 0 {
		return reply.Reply{}, fmt.Errorf("%w: %d bytes after the reply", ErrMalformed, len(d.p))
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
func (d *decoder) value(depth int) (reply.Reply, error) {
	if len(d.p) < typeSize {
		return reply.Reply{}, d.errorf("truncated value")
	}
	kind := reply.Kind(d.p[0])
	d.p = d.p[typeSize:]
	switch kind {
	case reply.KindOK, reply.KindNil:
		return reply.Reply{Kind: kind}, nil
	case reply.KindInt:
		if len(d.p) < intSize {
			return reply.Reply{}, d.errorf("truncated integer")
		}
		n := int64(binary.BigEndian.Uint64(d.p))
		d.p = d.p[intSize:]
		return reply.Int(n), nil
	case reply.KindBytes, reply.KindStatus:
		b, err := d.blob("string")
		return reply.Reply{Kind: kind, Bytes: b}, err
	case reply.KindError:
		code, err := d.blob("error code")
		if err != nil {
			return reply.Reply{}, err
		}
		msg, err := d.blob("error message")
		if err != nil {
			return reply.Reply{}, err
		}
		return reply.Errorf(string(code), string(msg)), nil
	case reply.KindArray, reply.KindMap:
		return d.array(kind, depth)
	}
	return reply.Reply{}, d.errorf("unknown reply type 0x%02x", byte(kind))
}

// array consumes the count and items of an Array or Map.
func (d *decoder) array(kind reply.Kind, depth int) (reply.Reply, error) {
	if depth >= MaxDepth {
		return reply.Reply{}, d.errorf("nested deeper than %d", MaxDepth)
	}
	n, err := d.u32("count")
	if err != nil {
		return reply.Reply{}, err
	}
	items := uint64(n)
	if kind == reply.KindMap {
		items *= 2
	}
	// Every item takes at least its type byte: a count the rest of the
	// frame cannot hold is rejected before the slice is allocated.
	if items > uint64(len(d.p)) {
		return reply.Reply{}, d.errorf("count of %d items, %d bytes left in frame", items, len(d.p))
	}
	// A Reply is about 100 bytes against an item's 1 on the wire, so the
	// items of a frame are bounded by MaxArgs as well.
	if items > uint64(d.budget) {
		return reply.Reply{}, fmt.Errorf("%w: reply carries more than %d items", ErrTooManyArgs, d.budget)
	}
	d.budget -= int(items)
	arr := make([]reply.Reply, items)
	for i := range arr {
		if arr[i], err = d.value(depth + 1); err != nil {
			return reply.Reply{}, err
		}
	}
	return reply.Reply{Kind: kind, Array: arr}, nil
}
