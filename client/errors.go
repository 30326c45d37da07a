package client

import (
	"errors"
	"fmt"

	"github.com/pykv/pykv/reply"
)

// ErrNil is returned for a missing value: GET of a key that does not
// exist, a SET whose NX or XX condition was not met. It is the client's
// redis.Nil: compare with errors.Is (or ==).
var ErrNil = errors.New("pykv/client: nil")

// ErrClosed is returned by every call on a Client after Close.
var ErrClosed = errors.New("pykv/client: client is closed")

// ErrPoolTimeout is returned when every connection of the pool stayed busy
// for Options.PoolTimeout.
var ErrPoolTimeout = errors.New("pykv/client: timed out waiting for a free connection")

// ErrNotExecuted is the error of a pipelined Result whose Pipeline has not
// been executed yet.
var ErrNotExecuted = errors.New("pykv/client: pipeline not executed")

// Error is an error reply from the server: the command reached the server
// and was refused (a wrong type of value, a syntax error, a missing AUTH).
// The connection stays usable. Errors that are not an *Error (I/O,
// timeouts, cancellation, protocol errors) mean the command may or may not
// have run, and the connection was discarded.
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == "NOAUTH" { ... }
type Error struct {
	// Code is the upper-case class of the error, such as "ERR", "NOAUTH",
	// "WRONGPASS" or "READONLY" (the first word of a Redis error).
	Code string
	// Msg is the human-readable message, without the code.
	Msg string
}

// Error returns the code and the message, as Redis prints them:
// "ERR value is not an integer or out of range".
func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Code
	}
	return e.Code + " " + e.Msg
}

// replyError returns the *Error of an error reply.
func replyError(r reply.Reply) *Error { return &Error{Code: r.Code, Msg: r.Msg} }

// unexpected is the error for a reply of a kind the command never answers
// with: a server speaking another version of the command table.
func unexpected(r reply.Reply) error {
	return fmt.Errorf("pykv/client: unexpected reply %s", r.String())
}
