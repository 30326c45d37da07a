package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/reply"
)

// encodeReplies writes replies with the server's own codec.
func encodeReplies(t testing.TB, proto string, respVersion int, replies ...reply.Reply) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	for _, r := range replies {
		var err error
		if proto == protoNative {
			err = netproto.NewWriter(bw).WriteReply(r)
		} else {
			w := resp.NewWriter(bw)
			w.SetProto(respVersion)
			err = w.WriteReply(r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	bw.Flush()
	return buf.Bytes()
}

func TestSkipReplies(t *testing.T) {
	big := bytes.Repeat([]byte("v"), 3*readBufSize) // longer than the read buffer
	items := []reply.Reply{reply.Bytes([]byte("a")), reply.Nil, reply.Int(-3)}
	replies := []struct {
		r    reply.Reply
		kind replyKind
		msg  string
	}{
		{reply.OK, replyValue, ""},
		{reply.Bytes([]byte("hello")), replyValue, ""},
		{reply.Bytes(nil), replyValue, ""},
		{reply.Bytes(big), replyValue, ""},
		{reply.Nil, replyNil, ""},
		{reply.Int(42), replyValue, ""},
		{reply.Status("PONG"), replyValue, ""},
		{reply.Errorf("WRONGTYPE", "Operation against a key holding the wrong kind of value"), replyError,
			"WRONGTYPE Operation against a key holding the wrong kind of value"},
		{reply.Array(items), replyValue, ""},
		{reply.Array([]reply.Reply{reply.Array(items), reply.Bytes(big)}), replyValue, ""},
		{reply.Reply{Kind: reply.KindMap, Array: items[:2]}, replyValue, ""},
		{reply.Array(nil), replyValue, ""},
		{reply.OK, replyValue, ""}, // still in step after all of the above
	}
	for _, proto := range []string{protoNative, protoRESP + "2", protoRESP + "3"} {
		t.Run(proto, func(t *testing.T) {
			p, v := proto, 2
			if strings.HasPrefix(proto, protoRESP) {
				p, v = protoRESP, int(proto[len(proto)-1]-'0')
			}
			var all []reply.Reply
			for _, r := range replies {
				all = append(all, r.r)
			}
			in := encodeReplies(t, p, v, all...)
			c := &conn{br: bufio.NewReaderSize(bytes.NewReader(in), readBufSize), native: p == protoNative}
			for i, want := range replies {
				kind, err := c.skip()
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				if kind != want.kind {
					t.Fatalf("reply %d: kind %d, want %d", i, kind, want.kind)
				}
				if want.kind == replyError && string(c.errMsg) != want.msg {
					t.Errorf("reply %d: error %q, want %q", i, c.errMsg, want.msg)
				}
			}
			if _, err := c.skip(); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("after the last reply: err = %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestSkipRejectsGarbage(t *testing.T) {
	for _, tc := range []struct {
		native bool
		in     string
	}{
		{true, "\x00\x00\x00\x00\x01"},             // empty frame
		{true, "\xff\xff\xff\xff\x01"},             // absurd length
		{true, "\x00\x00\x00\x05\x06\x00\x00\x00"}, // truncated error
		{false, "?what\r\n"},
		{false, "$abc\r\n"},
		{false, "*99999999999\r\n"},
		{false, "$5\r\nab"},
	} {
		c := &conn{br: bufio.NewReader(strings.NewReader(tc.in)), native: tc.native}
		if _, err := c.skip(); err == nil {
			t.Errorf("%q (native %v): no error", tc.in, tc.native)
		}
	}
}
