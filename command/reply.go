package command

import "github.com/pykv/pykv/reply"

// The command table's replies are the shared model of package reply; these
// names let the table's code say Reply, Int(n) and Nil as it always has.
// Code outside the engine (codecs, clients) uses package reply itself.
type (
	// Reply is reply.Reply.
	Reply = reply.Reply
	// Kind is reply.Kind.
	Kind = reply.Kind
)

// The kinds of reply, as in package reply.
const (
	KindOK     = reply.KindOK
	KindNil    = reply.KindNil
	KindInt    = reply.KindInt
	KindBytes  = reply.KindBytes
	KindArray  = reply.KindArray
	KindError  = reply.KindError
	KindStatus = reply.KindStatus
	KindMap    = reply.KindMap
)

// OK and Nil are reply.OK and reply.Nil.
var (
	OK  = reply.OK
	Nil = reply.Nil
)

// Int is reply.Int.
func Int(n int64) Reply { return reply.Int(n) }

// Bytes is reply.Bytes.
func Bytes(b []byte) Reply { return reply.Bytes(b) }

// Text returns a reply of human-readable text: a RESP3 verbatim string,
// as Redis answers INFO, CLIENT LIST and MEMORY DOCTOR (reply.Text).
func Text(b []byte) Reply { return reply.Text(b) }

// Status is reply.Status.
func Status(s string) Reply { return reply.Status(s) }

// Array is reply.Array.
func Array(items []Reply) Reply { return reply.Array(items) }

// Set returns an array that RESP3 writes as a set, as Redis answers COMMAND
// DOCS's flags and history (reply.Set).
func Set(items []Reply) Reply { return reply.Set(items) }

// Errorf is reply.Errorf.
func Errorf(code, msg string) Reply { return reply.Errorf(code, msg) }

// Err is reply.Err.
func Err(msg string) Reply { return reply.Err(msg) }
