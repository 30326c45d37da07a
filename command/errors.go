package command

import (
	"bytes"
	"errors"
	"strings"

	"github.com/pykv/pykv/storage"
)

// Error replies used by several commands. Their texts are Redis 7's, which
// client libraries and tools match on.
var (
	errSyntax       = Err("syntax error")
	errNotInteger   = Err("value is not an integer or out of range")
	errOverflow     = Err("increment or decrement would overflow")
	errNoAuth       = Errorf("NOAUTH", "Authentication required.")
	errWrongPass    = Errorf("WRONGPASS", "invalid username-password pair or user is disabled.")
	errReadOnly     = Errorf("READONLY", "You can't write against a read only replica.")
	errEmptyCommand = Err("empty command")
)

// storeError turns an error of the Store into the reply a client sees. It
// is the one place where engine errors meet protocol error texts.
func storeError(err error) Reply {
	switch {
	case errors.Is(err, storage.ErrNotInteger):
		return errNotInteger
	case errors.Is(err, storage.ErrOverflow):
		return errOverflow
	case errors.Is(err, storage.ErrReadOnly):
		return errReadOnly
	case errors.Is(err, storage.ErrKeyTooLarge):
		return Err("key exceeds maximum allowed size")
	case errors.Is(err, storage.ErrValueTooLarge):
		// Redis's text names its limit, proto-max-bulk-len; pykv's is
		// storage.max_value_size.
		return Err("string exceeds maximum allowed size (max_value_size)")
	case errors.Is(err, storage.ErrLogFailed):
		// Redis's class for "persistence is broken, writes are refused".
		return Errorf("MISCONF", oneLine(err.Error()))
	}
	return Err(oneLine(err.Error()))
}

// oneLine replaces CR and LF with spaces, as Redis does for every error
// text: a newline in an error would break RESP's framing, and error texts
// can carry a client's bytes (an unknown command's name).
// It works on bytes, not runes: a client's bytes that are not UTF-8 stay
// as they came, as in Redis's reply.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// unknownArgsLimit bounds how much of the offending command an "unknown
// command" error quotes, as Redis's 128 bytes.
const unknownArgsLimit = 128

// unknownCommand is Redis 7's error for a command name it does not know:
//
//	ERR unknown command 'foo', with args beginning with: 'a' 'b'
//
// with a space after each quoted argument, arguments quoted until the
// list reaches 128 bytes, and each one cut to what fits.
func unknownCommand(argv [][]byte) Reply {
	var b strings.Builder
	b.WriteString("unknown command '")
	b.Write(truncate(cBytes(argv[0]), unknownArgsLimit))
	b.WriteString("', with args beginning with: ")
	args := 0
	for _, a := range argv[1:] {
		if args >= unknownArgsLimit {
			break
		}
		b.WriteByte('\'')
		a = truncate(cBytes(a), unknownArgsLimit-args)
		b.Write(a)
		b.WriteString("' ")
		args += len(a) + 3
	}
	return Err(oneLine(b.String()))
}

// unknownSubcommand is Redis 7's error for a container command (CLIENT,
// COMMAND, CONFIG) called with a subcommand it does not have.
func unknownSubcommand(container *Spec, sub []byte) Reply {
	return Err(oneLine("unknown subcommand '" + string(truncate(cBytes(sub), unknownArgsLimit)) +
		"'. Try " + strings.ToUpper(container.Name) + " HELP."))
}

// cBytes is b up to its first NUL byte, as cString.
func cBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// invalidExpire is the error for an expiry that is not positive or does
// not fit in int64 milliseconds; name is the command's lower-case name.
func invalidExpire(name string) Reply {
	return Err("invalid expire time in '" + name + "' command")
}

// errorf is an error reply with a text built from a client's bytes, as
// Redis's addReplyErrorFormat makes it: CR and LF at the end are trimmed,
// those inside become spaces.
func errorf(text string) Reply {
	return Err(oneLine(strings.TrimRight(text, "\r\n")))
}

// cString is b as C's %s prints it: up to its first NUL byte. Redis
// formats some error texts from arguments that way.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
