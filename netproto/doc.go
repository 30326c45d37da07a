// Package netproto is the codec of pykv's native binary protocol: the
// handshake, request frames (a one-byte opcode and length-prefixed args,
// a compact form of the argv that the command table takes) and typed reply
// frames (a command.Reply on the wire). It knows nothing of storage and
// nothing of what a command means; it never interprets an arg, it only
// frames them. docs/protocol.md is the long form of this comment, with
// worked examples; testdata/vectors.txt holds test vectors for clients in
// other languages.
//
// # Handshake
//
// A connection starts with the client's handshake, six bytes:
//
//	+-----+-----+-----+-----+-----------------+
//	| 'P' | 'Y' | 'K' | 'V' | version (2B BE) |
//	+-----+-----+-----+-----+-----------------+
//
// The server answers with Magic, the version it speaks on this connection
// and a status byte; a refusal (status other than 0) adds a message, after
// which the server closes the connection:
//
//	+-----------------+-----------------+------------+ - - - - - - - - - - - - - - +
//	| "PYKV" (4B)     | version (2B BE) | status (1B)| msglen (2B BE) | message    |
//	+-----------------+-----------------+------------+ - - - - - - - - - - - - - - +
//	                                                   only if status != 0
//
//	status 0 accepted, 1 bad magic, 2 unsupported version, 3 refused
//
// # Frames
//
// After the handshake every message in either direction is a frame: a
// length that counts the body bytes after it, then the body.
//
//	+-------------------+------------------------------+
//	| length (4B BE)    | body (length bytes, >= 1)    |
//	+-------------------+------------------------------+
//
// A request body is an opcode and the args, each length-prefixed; the
// number of args is whatever fills the body. With the generic opcode
// OpCommand (0xFF) the first arg is the command name:
//
//	+-------------+----------------+---------+----------------+---------+- - -
//	| opcode (1B) | arglen (4B BE) | arg     | arglen (4B BE) | arg     | ...
//	+-------------+----------------+---------+----------------+---------+- - -
//
// A reply body is exactly one value: a type byte (the numeric command.Kind)
// and a payload fixed by the type. Array and Map items are values in turn,
// nested at most MaxDepth deep:
//
//	OK      | 0x01 |
//	Nil     | 0x02 |
//	Int     | 0x03 | int64 (8B BE, two's complement) |
//	Bytes   | 0x04 | len (4B BE) | bytes |
//	Array   | 0x05 | count (4B BE) | count values |
//	Error   | 0x06 | codelen (4B BE) | code | msglen (4B BE) | message |
//	Status  | 0x07 | len (4B BE) | text |
//	Map     | 0x08 | pairs (4B BE) | key value key value ... (2 x pairs values) |
//
// Every integer is big-endian; every length and count is a uint32. The
// constants of this package that describe bytes (Magic, Version, the
// opcodes, FrameHeaderSize, MaxDepth, the type bytes in command.Kind) are
// part of the wire format: they are never changed, and a change to any
// frame's bytes bumps Version.
//
// # Pipelining and errors
//
// A client may send many requests without waiting; the server answers each
// with exactly one reply frame, in request order, so no request ids are
// needed. A request that fails as a command is answered with an Error reply
// and the connection goes on. A frame that fails to decode is answered with
// ErrorReply (code "PROTO"); whether the connection goes on depends on the
// error, see Recoverable: a frame claiming more than Limits.MaxFrame bytes
// leaves the stream out of step, so the server sends the error reply and
// closes.
//
// # Memory
//
// A length is only a claim: the Reader checks it against Limits before
// reading, and allocates as bytes arrive, so a peer that claims 4 GiB and
// sends nothing costs nothing. ReadRequest reuses its buffers (its result
// is valid until the next call); ReadReply allocates per reply (its result
// is the caller's to keep). Writer does not allocate.
package netproto
