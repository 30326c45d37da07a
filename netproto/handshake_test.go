package netproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func readerOf(b []byte, lim Limits) *Reader {
	return NewReader(bufio.NewReader(bytes.NewReader(b)), lim)
}

// handshakeReply returns what WriteHandshakeReply(err) writes.
func handshakeReply(t *testing.T, err error) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if werr := NewWriter(bw).WriteHandshakeReply(err); werr != nil {
		t.Fatal(werr)
	}
	bw.Flush()
	return buf.Bytes()
}

// TestHandshakeRefusalReachesTheClient runs the server's side on a client's
// bad handshake and the client's side on the answer: the client must learn
// the same reason the server found.
func TestHandshakeRefusalReachesTheClient(t *testing.T) {
	tests := []struct {
		name      string
		handshake []byte
		want      error
	}{
		{"resp client", []byte("*1\r\n$4\r\nPING\r\n"), ErrBadMagic},
		{"newer client", []byte("PYKV\x00\x07"), ErrUnsupportedVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, serr := readerOf(tt.handshake, Limits{}).ReadHandshake()
			if !errors.Is(serr, tt.want) {
				t.Fatalf("ReadHandshake: %v, want %v", serr, tt.want)
			}
			v, cerr := readerOf(handshakeReply(t, serr), Limits{}).ReadHandshakeReply()
			if !errors.Is(cerr, tt.want) {
				t.Fatalf("ReadHandshakeReply: %v, want %v", cerr, tt.want)
			}
			if v != Version {
				t.Errorf("refusal carries version %d, want %d", v, Version)
			}
			// The server's reason, not only its class, reaches the client.
			reason := strings.TrimPrefix(serr.Error(), errPrefix)
			if !strings.Contains(cerr.Error(), reason) {
				t.Errorf("client error %q does not carry the server's %q", cerr, reason)
			}
		})
	}
}

func TestHandshakeRefusedForAnotherReason(t *testing.T) {
	_, err := readerOf(handshakeReply(t, errors.New("max number of clients reached")), Limits{}).ReadHandshakeReply()
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "max number of clients reached") {
		t.Fatalf("ReadHandshakeReply = %v, want ErrRefused with the reason", err)
	}
}

func TestHandshakeRefusalMessageIsBounded(t *testing.T) {
	long := errors.New(strings.Repeat("x", 70000)) // longer than a uint16 length
	b := handshakeReply(t, long)
	if want := handshakeReplySize + 2 + MaxHandshakeMessage; len(b) != want {
		t.Fatalf("refusal is %d bytes, want %d", len(b), want)
	}
	r := readerOf(b, Limits{})
	if _, err := r.ReadHandshakeReply(); !errors.Is(err, ErrRefused) {
		t.Fatalf("ReadHandshakeReply = %v, want ErrRefused", err)
	}
	if r.Buffered() != 0 {
		t.Errorf("%d bytes of the refusal left unread", r.Buffered())
	}
}

// oneByteThenFail yields one byte, then fails any further read: a peer
// that sent one byte and went quiet.
type oneByteThenFail struct {
	b    byte
	done bool
}

var errReadMore = errors.New("read past the first byte")

func (o *oneByteThenFail) Read(p []byte) (int, error) {
	if o.done {
		return 0, errReadMore
	}
	o.done = true
	p[0] = o.b
	return 1, nil
}

func TestBadMagicIsRefusedAtTheFirstWrongByte(t *testing.T) {
	r := NewReader(bufio.NewReader(&oneByteThenFail{b: 'G'}), Limits{})
	if _, err := r.ReadHandshake(); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("ReadHandshake = %v, want ErrBadMagic without reading on", err)
	}
}

func TestHandshakeShortReads(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"nothing", "", io.EOF},
		{"part of the magic", "PY", io.ErrUnexpectedEOF},
		{"no version", "PYKV", io.ErrUnexpectedEOF},
		{"half a version", "PYKV\x00", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readerOf([]byte(tt.in), Limits{}).ReadHandshake(); err != tt.want {
				t.Errorf("ReadHandshake(%q) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
	for _, in := range []string{"", "PYKV\x00\x01", "PYKV\x00\x01\x03\x00\x05ab"} {
		if _, err := readerOf([]byte(in), Limits{}).ReadHandshakeReply(); err != io.ErrUnexpectedEOF {
			t.Errorf("ReadHandshakeReply(%q) = %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
}

// TestHandshakeThenPipelinedRequests is a whole conversation: the client
// writes its handshake and requests in one go, without waiting.
func TestHandshakeThenPipelinedRequests(t *testing.T) {
	var c2s, s2c bytes.Buffer
	cbw := bufio.NewWriter(&c2s)
	cw := NewWriter(cbw)
	if err := cw.WriteHandshake(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := cw.WriteRequest([][]byte{[]byte("get"), fmt.Appendf(nil, "k%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	cbw.Flush()

	sr := readerOf(c2s.Bytes(), Limits{})
	sbw := bufio.NewWriter(&s2c)
	sw := NewWriter(sbw)
	v, err := sr.ReadHandshake()
	if err != nil || v != Version {
		t.Fatalf("ReadHandshake = %d, %v", v, err)
	}
	if err := sw.WriteHandshakeReply(nil); err != nil {
		t.Fatal(err)
	}
	var argv [][]byte
	for i := 0; ; i++ {
		argv, err = sr.ReadRequest(argv)
		if err == io.EOF {
			if i != 3 {
				t.Fatalf("read %d requests, want 3", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`"GET" "k%d"`, i); formatArgv(argv) != want {
			t.Fatalf("request %d = %s, want %s", i, formatArgv(argv), want)
		}
		if err := sw.WriteReply(replyBytes(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	sbw.Flush()

	cr := readerOf(s2c.Bytes(), Limits{})
	if v, err := cr.ReadHandshakeReply(); err != nil || v != Version {
		t.Fatalf("ReadHandshakeReply = %d, %v", v, err)
	}
	for i := range 3 {
		rep, err := cr.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("v%d", i); string(rep.Bytes) != want {
			t.Fatalf("reply %d = %s, want %q", i, rep, want)
		}
	}
	if _, err := cr.ReadReply(); err != io.EOF {
		t.Fatalf("after the last reply: %v, want io.EOF", err)
	}
}
