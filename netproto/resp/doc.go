// Package resp is the RESP2/RESP3 codec of pykv, the wire format of Redis,
// so that redis-cli, redis-benchmark, go-redis and twemproxy can talk to
// pykvd. It turns bytes into commands (Reader.ReadCommand) and replies into
// bytes (Writer.WriteReply) for the server, and the other way round for
// clients and tools (Writer.WriteCommand, Reader.ReadReply). Replies are
// command.Reply values, the same ones every front end of pykv translates.
//
// It never touches the network, storage or the meaning of a command: it does
// not know that SET takes a key, nor answer HELLO, AUTH or an unknown
// command. The server reads a command, asks the command table, writes the
// reply, and flushes when Reader.Buffered is zero.
//
// # Requests
//
// A request is either a RESP array of bulk strings,
//
//	*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n
//
// or an inline command, one line as typed in telnet, split as redis-cli and
// Redis split it (quotes, \xHH escapes; see Reader.ReadCommand). Empty lines
// are skipped. The arguments returned point into the Reader's buffer and are
// valid until the next read: a caller copies what it keeps. In the steady
// state reading a command allocates nothing.
//
// # Limits
//
// A client must not be able to make the server allocate what it has not
// sent. Limits bounds a bulk string (MaxBulk, 512 MiB by default, Redis's
// proto-max-bulk-len), the arguments of one command (MaxArgs: a count up
// to INT_MAX, Redis 7's bound), the bytes of all of one command's
// arguments together (MaxCommand, 512 MiB by default) and an inline line
// (MaxInline, 64 KiB). MaxCommand also bounds the bookkeeping of a
// command's arguments, 40 bytes each, so a count of INT_MAX followed by
// empty bulk strings stops at MaxCommand/40 of them. Redis bounds a
// client's query buffer (client-query-buffer-limit, 1 GiB) for the same
// reason, and closes the connection without a reply past it; so does a
// server given ErrCommandTooLarge. A declared length over a limit,
// negative, or not a number is a *ProtocolError before any of it is read.
// A length within the limits is still not trusted: memory grows with the
// bytes that actually arrive, so "$536870912\r\n" followed by silence
// costs a few KiB, not 512 MiB. Aggregate replies nest at most 64 deep.
// Between commands a Reader keeps at most 64 KiB of buffer, so one huge
// value does not pin memory for the life of a connection.
//
// # Errors
//
// A *ProtocolError carries Redis's own text ("Protocol error: invalid bulk
// length", "Protocol error: expected '$', got 'x'", "Protocol error: too big
// inline request", "Protocol error: unbalanced quotes in request", "Protocol
// error: too big mbulk count string", ...). After one the stream cannot be
// trusted, since where the next request begins is unknown: the server
// writes ProtocolError.Reply and closes the connection, as Redis does.
// io.EOF means the peer closed between two commands; io.ErrUnexpectedEOF,
// in the middle of one. After any error but io.EOF a Reader is not to be
// used again.
//
// # Redis's rules, to the byte
//
// Requests are read as Redis 7's networking.c reads them, quirks included,
// so that every byte stream gets Redis's reply and close (a twin test in
// cmd/pykvd holds the two to it):
//   - a count of zero or less ("*0", "*-1", "*-10") is a request of no
//     arguments, skipped without a reply;
//   - a "*count" or "$length" line ends at its first CR, and the byte after
//     it is skipped unchecked; its first byte ('$') is checked only once
//     the CR has come; without a CR within 64 KiB it is "too big mbulk
//     count string" ("too big bulk count string");
//   - the two bytes after a bulk string are skipped unchecked;
//   - an inline line ends at LF, and a NUL byte before the LF hides it
//     (Redis looks for it with strchr), so such a line is "too big inline
//     request" once 64 KiB have come.
//
// Redis decides "too big" after each of its reads, of at most 16 KiB, so
// the end of a line may come in the read that passed 64 KiB; so does a
// Reader, after each read of its bufio.Reader (16 KiB in the server):
// a line of 70 000 bytes sent at once is accepted by both.
//
// Redis holds a client that has not authenticated to an array of at most 10
// and a bulk of at most 16 KiB. This package knows nothing of AUTH: a server
// that wants the same calls Reader.SetUnauthenticated before and after it,
// and gets Redis's texts ("unauthenticated multibulk length",
// "unauthenticated bulk length"). An inline command is not bounded by it,
// as in Redis.
//
// # Replies
//
// Writer.WriteReply encodes in RESP2 until SetProto(3): Nil is $-1 or _,
// a Map is a flat array of 2n items or %n. Status and error texts cannot
// break the framing: CR and LF in them are written as spaces. Encoding a
// reply allocates nothing. Reader.ReadReply reads either version, mapping
// RESP3's extra types onto command.Reply as its doc comment lists.
package resp
