package resp

import (
	"bytes"
	"strconv"

	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/reply"
)

// maxNesting is how deep aggregate replies may nest in ReadReply. Real
// replies nest a few levels; the bound keeps a hostile server from growing
// the client's stack without end.
const maxNesting = 64

// ReadReply reads the next reply, as a client does, from RESP2 or RESP3
// input, within the Reader's Limits:
//
//	+OK            KindOK (any other simple string is KindStatus)
//	+text          KindStatus
//	-CODE msg      KindError, split at the first space
//	:n             KindInt
//	$n / $-1       KindBytes / KindNil
//	*n / *-1       KindArray / KindNil (reply.NilArray)
//	_              KindNil
//	%n             KindMap, flattened to 2n items
//	~n             KindArray made by reply.Set
//	>n             KindArray (a push message)
//	#t  #f         KindInt 1 or 0, as Redis maps booleans to RESP2
//	,d  (n         KindBytes holding the double's or big number's text
//	=n  !n         KindBytes without the "txt:" format prefix; KindError
//	|n             an attribute: read and dropped, the reply that follows it
//	               is returned
//
// The reply and everything in it are the caller's own: nothing points into
// the Reader. The errors are those of ReadCommand.
func (r *Reader) ReadReply() (reply.Reply, error) {
	_ = r.shrink()
	c, err := r.br.ReadByte()
	if err != nil {
		return reply.Reply{}, err // io.EOF here is the clean end
	}
	return r.readReply(c, 0)
}

// readReply reads the reply whose type byte c is already read.
func (r *Reader) readReply(c byte, depth int) (reply.Reply, error) {
	for c == '|' {
		if err := r.skipAttribute(depth); err != nil {
			return reply.Reply{}, err
		}
		var err error
		if c, err = r.br.ReadByte(); err != nil {
			return reply.Reply{}, noEOF(err)
		}
	}
	switch c {
	case '+', '-', ':', ',', '#', '(', '_':
		return r.readSimple(c)
	case '$', '=', '!':
		return r.readBlob(c)
	case '*', '~', '>', '%':
		return r.readAggregate(c, depth)
	}
	return reply.Reply{}, protoErrByte(textUnexpectedType, c)
}

// readSimple reads a reply held in one line.
func (r *Reader) readSimple(c byte) (reply.Reply, error) {
	line, err := r.readLine(r.lim.MaxInline, true)
	if err == errLineTooLong {
		return reply.Reply{}, protoErr(textTooBigLine)
	}
	if err != nil {
		return reply.Reply{}, err
	}
	switch c {
	case '+':
		if string(line) == "OK" {
			return reply.OK, nil
		}
		return reply.Reply{Kind: reply.KindStatus, Bytes: bytes.Clone(line)}, nil
	case '-':
		return errorReply(line), nil
	case ':':
		n, ok := redisfmt.ParseInt(line)
		if !ok {
			return reply.Reply{}, protoErr(textInvalidInteger)
		}
		return reply.Int(n), nil
	case ',':
		if _, err := strconv.ParseFloat(string(line), 64); err != nil && !isRangeErr(err) {
			return reply.Reply{}, protoErr(textInvalidDouble)
		}
	case '#':
		switch string(line) {
		case "t":
			return reply.Int(1), nil
		case "f":
			return reply.Int(0), nil
		}
		return reply.Reply{}, protoErr(textInvalidBoolean)
	case '(':
		if !isBigNumber(line) {
			return reply.Reply{}, protoErr(textInvalidBigNumber)
		}
	case '_':
		if len(line) != 0 {
			return reply.Reply{}, protoErr(textInvalidNull)
		}
		return reply.Nil, nil
	}
	return reply.Bytes(bytes.Clone(line)), nil // a double or a big number
}

// readBlob reads a length-prefixed reply: bulk, verbatim or blob error.
func (r *Reader) readBlob(c byte) (reply.Reply, error) {
	n, err := r.readInt(textInvalidBulkLength)
	if err != nil {
		return reply.Reply{}, err
	}
	if n == -1 && c == '$' {
		return reply.Nil, nil
	}
	if n < 0 || n > int64(r.lim.MaxBulk) {
		return reply.Reply{}, protoErr(textInvalidBulkLength)
	}
	b, err := r.readBulk(nil, int(n), true)
	if err != nil {
		return reply.Reply{}, err
	}
	b = b[:len(b):len(b)]
	switch c {
	case '=':
		if len(b) < 4 || b[3] != ':' {
			return reply.Reply{}, protoErr(textInvalidVerbatim)
		}
		if string(b[:3]) == "txt" {
			return reply.Text(b[4:]), nil // written back as it came
		}
		return reply.Bytes(b[4:]), nil // another format ("mkd"): its text
	case '!':
		return errorReply(b), nil
	}
	return reply.Bytes(b), nil
}

// readAggregate reads an array, set, push or map.
func (r *Reader) readAggregate(c byte, depth int) (reply.Reply, error) {
	n, err := r.readInt(textInvalidMultibulkLength)
	if err != nil {
		return reply.Reply{}, err
	}
	if n == -1 && c == '*' {
		return reply.NilArray, nil
	}
	kind := reply.KindArray
	if c == '%' {
		// A map counts its keys and values; doubling only a checked count
		// cannot overflow.
		if n < 0 || n > int64(r.lim.MaxArgs)/2 {
			return reply.Reply{}, protoErr(textInvalidMultibulkLength)
		}
		kind, n = reply.KindMap, 2*n
	}
	if n < 0 || n > int64(r.lim.MaxArgs) {
		return reply.Reply{}, protoErr(textInvalidMultibulkLength)
	}
	items, err := r.readItems(int(n), depth)
	if err != nil {
		return reply.Reply{}, err
	}
	if c == '~' {
		return reply.Set(items), nil
	}
	return reply.Reply{Kind: kind, Array: items}, nil
}

// readItems reads the n replies of an aggregate. The slice grows as items
// arrive, never to the declared n at once.
func (r *Reader) readItems(n, depth int) ([]reply.Reply, error) {
	if depth >= maxNesting {
		return nil, protoErr(textTooDeep)
	}
	items := make([]reply.Reply, 0, min(n, 16))
	for range n {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, noEOF(err)
		}
		item, err := r.readReply(c, depth+1)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

// skipAttribute reads an attribute map (its '|' already read) and drops it.
func (r *Reader) skipAttribute(depth int) error {
	n, err := r.readInt(textInvalidMultibulkLength)
	if err != nil {
		return err
	}
	if n < 0 || n > int64(r.lim.MaxArgs)/2 { // checked before doubling: no overflow
		return protoErr(textInvalidMultibulkLength)
	}
	_, err = r.readItems(int(2*n), depth)
	return err
}

// errorReply splits "CODE message" into a KindError reply.
func errorReply(line []byte) reply.Reply {
	code, msg, _ := bytes.Cut(line, []byte{' '})
	return reply.Errorf(string(code), string(msg))
}

// isRangeErr reports a double too large or too small for a float64: still a
// well-formed double.
func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// isBigNumber reports whether b is an optional '-' followed by digits.
func isBigNumber(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
