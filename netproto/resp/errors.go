package resp

import (
	"errors"

	"github.com/pykv/pykv/reply"
)

// ProtocolError reports input that breaks the RESP grammar or a Limit. After
// one, the byte stream can no longer be trusted: where the next request
// starts is unknown. A server answers with Reply and closes the connection,
// as Redis does.
type ProtocolError struct {
	// Msg is the whole text, such as "Protocol error: invalid bulk length".
	// The texts of errors in requests are Redis's, so clients and their
	// users see what they would see from a Redis server.
	Msg string
}

// Error returns e.Msg.
func (e *ProtocolError) Error() string { return e.Msg }

// Reply returns the error reply a server sends before it closes the
// connection: "-ERR Protocol error: ...", as Redis sends it.
func (e *ProtocolError) Reply() reply.Reply { return reply.Err(e.Msg) }

// The texts of ProtocolErrors. Those about requests are Redis's own
// (networking.c); the tests check that each one is produced by some input.
const (
	textInvalidMultibulkLength = "Protocol error: invalid multibulk length"
	textInvalidBulkLength      = "Protocol error: invalid bulk length"
	textExpectedDollar         = "Protocol error: expected '$', got '" // + byte + "'"
	textTooBigInline           = "Protocol error: too big inline request"
	textTooBigCount            = "Protocol error: too big mbulk count string"
	textTooBigBulkCount        = "Protocol error: too big bulk count string"
	textUnbalancedQuotes       = "Protocol error: unbalanced quotes in request"
	textUnauthMultibulkLength  = "Protocol error: unauthenticated multibulk length"
	textUnauthBulkLength       = "Protocol error: unauthenticated bulk length"

	// Not in Redis, which has no argument limit for inline requests: only
	// a Limits.MaxArgs below the number of words a MaxInline line holds
	// reaches it.
	textTooManyInlineArgs = "Protocol error: too many arguments in inline request"

	// Reply parsing (the client side); Redis has no texts of its own here.
	textBulkNotTerminated = "Protocol error: bulk string not terminated by CRLF"
	textLineNotTerminated = "Protocol error: line not terminated by CRLF"
	textTooBigLine        = "Protocol error: too big simple string"
	textInvalidInteger    = "Protocol error: invalid integer"
	textInvalidDouble     = "Protocol error: invalid double"
	textInvalidBoolean    = "Protocol error: invalid boolean"
	textInvalidBigNumber  = "Protocol error: invalid big number"
	textInvalidNull       = "Protocol error: invalid null"
	textInvalidVerbatim   = "Protocol error: invalid verbatim string"
	textTooDeep           = "Protocol error: too deeply nested reply"
	textUnexpectedType    = "Protocol error: unexpected reply type '" // + byte + "'"
)

// errorTexts lists every text above, for the test that proves each is reachable.
var errorTexts = []string{
	textInvalidMultibulkLength, textInvalidBulkLength, textExpectedDollar,
	textTooBigInline, textTooBigCount, textTooBigBulkCount, textUnbalancedQuotes, textBulkNotTerminated,
	textTooManyInlineArgs, textUnauthMultibulkLength, textUnauthBulkLength, textLineNotTerminated, textTooBigLine,
	textInvalidInteger, textInvalidDouble, textInvalidBoolean,
	textInvalidBigNumber, textInvalidNull, textInvalidVerbatim, textTooDeep, textUnexpectedType,
}

func protoErr(text string) error { return &ProtocolError{Msg: text} }

// protoErrByte builds the texts that quote the offending byte. A CR or LF is
// shown as a space, as Redis does, so that the error reply stays one line.
func protoErrByte(prefix string, c byte) error {
	if c == '\r' || c == '\n' {
		c = ' '
	}
	return &ProtocolError{Msg: prefix + string([]byte{c}) + "'"}
}

// ErrCommandTooLarge is ReadCommand's error for a command whose arguments
// pass Limits.MaxCommand. It is not a ProtocolError: Redis's counterpart,
// a query buffer past client-query-buffer-limit, closes the connection
// without a reply, and so does a server given this error.
var ErrCommandTooLarge = errors.New("resp: command larger than the limit on one command's arguments")

// ErrInvalidReply is returned by Writer.WriteReply, wrapped with detail, for
// a reply it cannot encode: an unknown Kind or a Map with an odd number of
// items. Nothing of such a reply is written.
var ErrInvalidReply = errors.New("resp: invalid reply")
