package netproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Handshake constants: part of the wire format, never to be changed.
const (
	// Magic opens the handshake in both directions. A peer that sends
	// anything else does not speak this protocol (a RESP client starts
	// with '*', an HTTP client with a method name).
	Magic = "PYKV"
	// Version is the protocol version this package speaks. A change to the
	// bytes of any frame bumps it.
	Version uint16 = 1

	// HandshakeSize is the size of the client's handshake: Magic and a
	// big-endian uint16 version.
	HandshakeSize = len(Magic) + 2
	// handshakeReplySize is the fixed part of the server's answer: Magic,
	// a big-endian uint16 version and a status byte. A refusal adds a
	// big-endian uint16 message length and the message.
	handshakeReplySize = HandshakeSize + 1
	// MaxHandshakeMessage bounds the message of a refusal; the writer cuts
	// a longer one.
	MaxHandshakeMessage = 1024
)

// Status bytes of the handshake reply: part of the wire format.
const (
	statusAccepted           byte = 0 // the connection speaks the version in the reply
	statusBadMagic           byte = 1 // the client did not send Magic
	statusUnsupportedVersion byte = 2 // the reply's version is the one the server speaks
	statusRefused            byte = 3 // another reason, given in the message
)

// WriteHandshake writes the client's handshake: Magic and Version. A
// client may write its first requests right after it, without waiting for
// the reply; if the server refuses, it closes without reading them. It
// does not flush.
func (w *Writer) WriteHandshake() error {
	if _, err := w.bw.WriteString(Magic); err != nil {
		return err
	}
	return w.writeU16(Version)
}

// ReadHandshake reads the client's handshake and returns the version it
// asks for. It returns an error wrapping ErrBadMagic when the client does
// not speak this protocol, and one wrapping ErrUnsupportedVersion (with
// the client's version) when it asks for a version other than Version. In
// both cases the server passes the error to WriteHandshakeReply, flushes
// and closes. A peer that hangs up before sending anything gives io.EOF.
func (r *Reader) ReadHandshake() (uint16, error) {
	// The magic is checked byte by byte as it arrives, so that a peer
	// speaking something else is refused at its first wrong byte rather
	// than left waiting for bytes it will never send.
	var b [HandshakeSize]byte
	for i := range len(Magic) {
		c, err := r.br.ReadByte()
		if err != nil {
			if i == 0 && errors.Is(err, io.EOF) {
				return 0, io.EOF // connected and left, like a health probe
			}
			return 0, unexpected(err)
		}
		b[i] = c
		if c != Magic[i] {
			return 0, fmt.Errorf("%w %q: this port speaks the pykv native protocol", ErrBadMagic, b[:i+1])
		}
	}
	if _, err := io.ReadFull(r.br, b[len(Magic):]); err != nil {
		return 0, unexpected(err)
	}
	v := binary.BigEndian.Uint16(b[len(Magic):])
	if v != Version {
		return v, fmt.Errorf("%w: client speaks version %d, server speaks %d", ErrUnsupportedVersion, v, Version)
	}
	return v, nil
}

// WriteHandshakeReply writes the server's answer to a handshake. For a nil
// err it accepts the connection at Version. Otherwise it refuses with
// err's text as the message, after which the server flushes and closes: an
// err from ReadHandshake is refused as bad magic or unsupported version,
// any other (too many clients, shutting down) as refused. It does not
// flush.
func (w *Writer) WriteHandshakeReply(err error) error {
	if _, werr := w.bw.WriteString(Magic); werr != nil {
		return werr
	}
	if werr := w.writeU16(Version); werr != nil {
		return werr
	}
	if err == nil {
		return w.writeByte(statusAccepted)
	}
	var status byte
	switch {
	case errors.Is(err, ErrBadMagic):
		status = statusBadMagic
	case errors.Is(err, ErrUnsupportedVersion):
		status = statusUnsupportedVersion
	default:
		status = statusRefused
	}
	if werr := w.writeByte(status); werr != nil {
		return werr
	}
	msg := strings.TrimPrefix(err.Error(), errPrefix)
	if len(msg) > MaxHandshakeMessage {
		msg = msg[:MaxHandshakeMessage]
	}
	if werr := w.writeU16(uint16(len(msg))); werr != nil {
		return werr
	}
	_, werr := w.bw.WriteString(msg)
	return werr
}

// ReadHandshakeReply reads the server's answer to the handshake and
// returns the version the server speaks. A nil error means the connection
// is open at that version. Otherwise the server has closed the connection
// and the error wraps ErrBadMagic (the server does not speak this
// protocol, or did not understand the client), ErrUnsupportedVersion (the
// returned version is the one the server speaks; a client that also speaks
// it may reconnect with it) or ErrRefused, with the server's message.
func (r *Reader) ReadHandshakeReply() (uint16, error) {
	var b [handshakeReplySize]byte
	if n, err := io.ReadFull(r.br, b[:]); err != nil {
		if n > 0 && (b[0] == '-' || b[0] == '+') {
			return 0, respReply(r, b[:n])
		}
		return 0, unexpected(err)
	}
	if string(b[:len(Magic)]) != Magic {
		if b[0] == '-' || b[0] == '+' {
			return 0, respReply(r, b[:])
		}
		return 0, fmt.Errorf("%w %q: the server does not speak the pykv native protocol", ErrBadMagic, b[:])
	}
	v := binary.BigEndian.Uint16(b[len(Magic):])
	status := b[HandshakeSize]
	if status == statusAccepted {
		if v != Version {
			return v, fmt.Errorf("%w: server speaks version %d, client speaks %d", ErrUnsupportedVersion, v, Version)
		}
		return v, nil
	}
	var lb [2]byte
	if _, err := io.ReadFull(r.br, lb[:]); err != nil {
		return v, unexpected(err)
	}
	msg := make([]byte, binary.BigEndian.Uint16(lb[:]))
	if _, err := io.ReadFull(r.br, msg); err != nil {
		return v, unexpected(err)
	}
	var sentinel error
	switch status {
	case statusBadMagic:
		sentinel = ErrBadMagic
	case statusUnsupportedVersion:
		sentinel = ErrUnsupportedVersion
	default:
		sentinel = ErrRefused
	}
	return v, fmt.Errorf("%w (server version %d says: %s)", sentinel, v, msg)
}

// maxRESPLine bounds how much of a RESP server's answer to the handshake
// is read for the error's text.
const maxRESPLine = 512

// respReply builds the error for a handshake answered by a RESP server:
// got is what was read; the rest of its line, up to maxRESPLine bytes,
// is read (whatever arrives; the server closes after it) for the text.
func respReply(r *Reader, got []byte) error {
	line := append([]byte(nil), got...)
	for len(line) < maxRESPLine && !bytes.HasSuffix(line, []byte("\n")) {
		c, err := r.br.ReadByte()
		if err != nil {
			break
		}
		line = append(line, c)
	}
	return fmt.Errorf("%w: %w: it answered %q", ErrBadMagic, ErrRESPServer, bytes.TrimRight(line, "\r\n"))
}
