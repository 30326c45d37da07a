package netproto

import (
	"errors"
	"strings"

	"github.com/pykv/pykv/reply"
)

// errPrefix starts every error of this package; ErrorReply strips it, since
// a client has no use for the Go package name.
const errPrefix = "pykv/netproto: "

// Errors of the codec. Callers compare with errors.Is; the returned errors
// wrap these with the detail (sizes, the offending byte).
//
// Two kinds matter to a server. After ErrMalformed, ErrUnknownOpcode or
// ErrTooManyArgs the bad frame has been consumed whole and the next frame
// starts where it ended: the server answers with ErrorReply(err) and reads
// on (Recoverable reports this). After any other error, ErrFrameTooLarge
// above all, the stream cannot be trusted: the server sends ErrorReply(err)
// if it still can, flushes, and closes the connection.
var (
	// ErrFrameTooLarge is returned for a frame header that claims more than
	// Limits.MaxFrame bytes. The claimed bytes are neither read nor
	// allocated, so the stream is out of step afterwards.
	ErrFrameTooLarge = errors.New(errPrefix + "frame too large")
	// ErrMalformed is returned for a frame whose body does not parse: an
	// empty body, an arg or value running past the end of the frame, bytes
	// left over after a reply, an unknown reply type, nesting deeper than
	// MaxDepth.
	ErrMalformed = errors.New(errPrefix + "malformed frame")
	// ErrUnknownOpcode is returned for a request frame whose opcode is not
	// assigned.
	ErrUnknownOpcode = errors.New(errPrefix + "unknown opcode")
	// ErrTooManyArgs is returned for a request frame with more than
	// Limits.MaxArgs args (counting the command name), and for a reply
	// frame with more than Limits.MaxArgs items.
	ErrTooManyArgs = errors.New(errPrefix + "too many arguments")
	// ErrBadMagic is returned when the handshake does not start with Magic:
	// the peer does not speak this protocol.
	ErrBadMagic = errors.New(errPrefix + "bad magic")
	// ErrRESPServer is returned by ReadHandshakeReply, together with
	// ErrBadMagic, when the server answered the handshake with a RESP
	// error or status line ('-' or '+'): a Redis-protocol port, such as
	// pykvd's RESP listener, which answers a native handshake with an
	// error naming the native port.
	ErrRESPServer = errors.New(errPrefix + "the server speaks RESP (Redis's protocol)")
	// ErrUnsupportedVersion is returned when the peer asks for, or answers
	// with, a protocol version this package does not speak.
	ErrUnsupportedVersion = errors.New(errPrefix + "unsupported protocol version")
	// ErrRefused is returned by ReadHandshakeReply when the server refused
	// the connection for another reason (too many clients, shutting down).
	ErrRefused = errors.New(errPrefix + "connection refused by server")
	// ErrUnauthenticated is returned by a server's codec, wrapping
	// ErrFrameTooLarge or ErrTooManyArgs, for a request over UnauthMaxFrame
	// or UnauthMaxArgs from a connection that has not authenticated. It is
	// never recoverable: the server answers and closes the connection, as
	// Redis does with "Protocol error: unauthenticated multibulk length".
	ErrUnauthenticated = errors.New(errPrefix + "unauthenticated")
	// ErrInvalidRequest is returned by WriteRequest for an argv that cannot
	// be encoded: empty, or larger than a frame can carry. Nothing is
	// written.
	ErrInvalidRequest = errors.New(errPrefix + "request cannot be encoded")
	// ErrInvalidReply is returned by WriteReply for a reply that cannot be
	// encoded: an unknown Kind, a Map with an odd number of items, nesting
	// deeper than MaxDepth, or larger than a frame can carry. Nothing is
	// written.
	ErrInvalidReply = errors.New(errPrefix + "reply cannot be encoded")
)

// Recoverable reports whether err, returned by a Reader, left the stream at
// the start of the next frame, so that the connection can go on after an
// error reply. It is false for nil, io.EOF, every I/O error and
// ErrUnauthenticated.
func Recoverable(err error) bool {
	if errors.Is(err, ErrUnauthenticated) {
		return false
	}
	return errors.Is(err, ErrMalformed) ||
		errors.Is(err, ErrUnknownOpcode) ||
		errors.Is(err, ErrTooManyArgs)
}

// unauthError is a limit error met before AUTH: both it and the limit's
// error are in its chain, and its text says "unauthenticated" first, as
// in "unauthenticated frame too large: 20000 bytes claimed, limit is 16384".
type unauthError struct{ err error }

func (e *unauthError) Error() string {
	return errPrefix + "unauthenticated " + strings.TrimPrefix(e.err.Error(), errPrefix)
}

func (e *unauthError) Unwrap() []error { return []error{ErrUnauthenticated, e.err} }

// ErrorCode is the error reply code of protocol errors, as sent by
// ErrorReply.
const ErrorCode = "PROTO"

// ErrorReply returns the error reply a server sends for a protocol error
// err: code ErrorCode and err's text without the package prefix, such as
// "PROTO unknown opcode: 0x7e".
func ErrorReply(err error) reply.Reply {
	return reply.Errorf(ErrorCode, strings.TrimPrefix(err.Error(), errPrefix))
}
