// Package reply is the result model every front end shares: a Reply is
// what one command answers, whatever the wire format. The command table
// builds them; the native codec (netproto), the RESP codec (netproto/resp)
// and the HTTP API encode them; the client library decodes them. It
// imports nothing of the project, so a client program or a codec never
// compiles the engine.
package reply

import "strconv"

// Kind is the type of a Reply.
type Kind uint8

// The kinds of reply every front end can express. Their numeric values are
// used by the native protocol as reply type bytes: part of the wire format,
// never to be changed.
const (
	KindOK     Kind = 1 // success without data ("OK")
	KindNil    Kind = 2 // a missing value
	KindInt    Kind = 3 // a signed 64-bit integer
	KindBytes  Kind = 4 // a binary-safe string
	KindArray  Kind = 5 // an ordered list of replies
	KindError  Kind = 6 // an error: Code and Msg
	KindStatus Kind = 7 // a short status text such as "PONG" (a RESP simple string)
	KindMap    Kind = 8 // key/value pairs, flattened in Array (HELLO's reply; RESP3 map)
)

// Reply is the result of one command, independent of any wire format.
type Reply struct {
	Kind  Kind
	Int   int64   // KindInt; for KindNil, nilArray marks NilArray; for KindBytes, verbatimText marks Text; for KindArray, setItems marks Set
	Bytes []byte  // KindBytes, KindStatus
	Array []Reply // KindArray, KindMap (flattened key, value, key, value...)
	Code  string  // KindError: a short upper-case class such as "ERR", "NOAUTH", "WRONGTYPE"
	Msg   string  // KindError: the human message, without the code
}

// OK is the reply of a command that succeeded without data.
var OK = Reply{Kind: KindOK}

// Nil is the reply for a missing value.
var Nil = Reply{Kind: KindNil}

// nilArray is the Int of NilArray.
const nilArray = -1

// NilArray is the reply for a missing aggregate: EXEC's when a watched key
// changed. It is a Nil: RESP2 writes it as Redis writes a null array,
// "*-1", where a Nil is "$-1"; RESP3 writes "_" for both, and the native
// protocol has one Nil for both.
var NilArray = Reply{Kind: KindNil, Int: nilArray}

// IsNilArray reports whether r is NilArray.
func (r Reply) IsNilArray() bool { return r.Kind == KindNil && r.Int == nilArray }

// verbatimText is the Int of a KindBytes Reply made by Text.
const verbatimText = 1

// Text returns a string reply of human-readable text, such as INFO's: RESP3
// writes it as Redis does, a verbatim string of format "txt"; RESP2 and the
// native protocol as any string (KindBytes).
func Text(b []byte) Reply { return Reply{Kind: KindBytes, Bytes: b, Int: verbatimText} }

// IsText reports whether r was made by Text.
func (r Reply) IsText() bool { return r.Kind == KindBytes && r.Int == verbatimText }

// Int returns an integer reply.
func Int(n int64) Reply { return Reply{Kind: KindInt, Int: n} }

// Bytes returns a string reply; nil b is an empty string, not Nil.
func Bytes(b []byte) Reply { return Reply{Kind: KindBytes, Bytes: b} }

// Status returns a status reply, such as "PONG".
func Status(s string) Reply { return Reply{Kind: KindStatus, Bytes: []byte(s)} }

// Array returns an array reply.
func Array(items []Reply) Reply { return Reply{Kind: KindArray, Array: items} }

// setItems is the Int of a KindArray Reply made by Set.
const setItems = 1

// Set returns an array reply whose items are a set, such as COMMAND
// DOCS's flags: RESP3 writes it as Redis does, a set ("~"); RESP2 and the
// native protocol as any array (KindArray). Its items are sent in the
// order given.
func Set(items []Reply) Reply { return Reply{Kind: KindArray, Array: items, Int: setItems} }

// IsSet reports whether r was made by Set.
func (r Reply) IsSet() bool { return r.Kind == KindArray && r.Int == setItems }

// Errorf returns an error reply with the given code and message.
func Errorf(code, msg string) Reply { return Reply{Kind: KindError, Code: code, Msg: msg} }

// Err returns an error reply in the generic "ERR" class.
func Err(msg string) Reply { return Errorf("ERR", msg) }

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Kind == KindError }

// String renders r for logs and tests, in redis-cli's manner.
func (r Reply) String() string {
	switch r.Kind {
	case KindOK:
		return "OK"
	case KindNil:
		return "(nil)"
	case KindInt:
		return "(integer) " + strconv.FormatInt(r.Int, 10)
	case KindBytes:
		return strconv.Quote(string(r.Bytes))
	case KindStatus:
		return string(r.Bytes)
	case KindError:
		return "(error) " + r.Code + " " + r.Msg
	case KindArray, KindMap:
		s := "["
		for i, it := range r.Array {
			if i > 0 {
				s += " "
			}
			s += it.String()
		}
		return s + "]"
	}
	return "(unknown reply)"
}
