package netproto

// Defaults of Limits.
const (
	// DefaultMaxFrame admits the largest value the engine stores by default
	// (64 MiB) plus the largest key (64 KiB) and the rest of a SET's args,
	// with room to spare: 64 MiB + 128 KiB.
	DefaultMaxFrame = 64<<20 + 128<<10
	// DefaultMaxArgs admits an MSET of half a million pairs. It bounds the
	// argv slice a frame can make a server grow: 24 bytes per arg on 64-bit
	// machines, so 24 MiB, whereas the frame alone could claim 16 million
	// empty args.
	DefaultMaxArgs = 1 << 20
)

// Limits of a connection that has not authenticated yet, when the server
// has a password: Redis's for such clients (processMultibulkBuffer in
// networking.c refuses, before AUTH, an array of more than 10 elements and
// a bulk string of more than 16384 bytes, and closes the connection). A
// native frame holds all of a request's args, so here the 16 KiB bound
// the whole frame: AUTH and HELLO ... AUTH need far less. So a client that
// has not shown the password can make the server hold at most one 16 KiB
// buffer, not one of MaxFrame.
const (
	// UnauthMaxArgs is the most args, counting the command name, of a
	// request before AUTH.
	UnauthMaxArgs = 10
	// UnauthMaxFrame is the largest request frame body before AUTH.
	UnauthMaxFrame = 16 << 10
)

// MaxDepth is the deepest nesting of Array and Map replies that a frame may
// carry: a top-level Array is at depth 1. Deeper replies are rejected by the
// reader (ErrMalformed) and by the writer (ErrInvalidReply), so neither side
// recurses without bound. It is part of the protocol: a peer may rely on it.
const MaxDepth = 32

// Limits bound what a Reader accepts from its peer. The zero value of a
// field means its default.
type Limits struct {
	// MaxFrame is the largest frame body, in bytes, that the Reader
	// accepts; a larger claim is ErrFrameTooLarge, after which the
	// connection must be closed. Memory is allocated as bytes arrive, never
	// for the claim, so a peer that claims MaxFrame and sends nothing costs
	// nothing. Default DefaultMaxFrame. A client reading the replies of
	// large MGETs needs a larger value than a server reading requests.
	MaxFrame int
	// MaxArgs is the most args a request frame may carry, counting the
	// command name, and the most items (all Arrays and Maps of all levels
	// together) a reply frame may carry; more is ErrTooManyArgs. An item
	// costs about 100 bytes in memory against 1 on the wire, so this, not
	// MaxFrame, bounds what a reply can make a client allocate. Default
	// DefaultMaxArgs.
	MaxArgs int
}

// withDefaults returns l with its zero (or negative) fields set to their
// defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxFrame <= 0 {
		l.MaxFrame = DefaultMaxFrame
	}
	if l.MaxArgs <= 0 {
		l.MaxArgs = DefaultMaxArgs
	}
	return l
}
