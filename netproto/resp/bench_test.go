package resp

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/pykv/pykv/reply"
)

// BenchmarkReadCommand decodes SET k v over and over from an endless
// stream, as a server reads a pipelining client.
func BenchmarkReadCommand(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"resp", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"},
		{"inline", "SET k v\r\n"},
		{"resp-1KiB-value", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1024\r\n" + string(bytes.Repeat([]byte("v"), 1024)) + "\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(bufio.NewReader(&repeatReader{pattern: []byte(bc.in)}), Limits{})
			var args [][]byte
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if args, err = r.ReadCommand(args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteReply encodes common replies into a buffer that is written
// to io.Discard.
func BenchmarkWriteReply(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 100)
	ten := make([]reply.Reply, 10)
	for i := range ten {
		ten[i] = reply.Bytes(value)
	}
	for _, bc := range []struct {
		name  string
		reply reply.Reply
	}{
		{"ok", reply.OK},
		{"int", reply.Int(1234567)},
		{"bulk-100B", reply.Bytes(value)},
		{"nil", reply.Nil},
		{"error", reply.Errorf("WRONGTYPE", "Operation against a key holding the wrong kind of value")},
		{"array-10x100B", reply.Array(ten)},
		// A MONITOR line of bench/monitor.sh's SET, checked for CR and LF.
		{"status-monitor-line", reply.Reply{Kind: reply.KindStatus,
			Bytes: []byte(`1700000000.123456 [0 127.0.0.1:50000] "SET" "key:000000012345" "` + string(value) + `"`)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := NewWriter(bufio.NewWriter(io.Discard))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteReply(bc.reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadReply decodes a bulk reply, as a client or pykv-bench does.
// Each reply is the caller's own, so one allocation per reply is expected.
func BenchmarkReadReply(b *testing.B) {
	r := NewReader(bufio.NewReader(&repeatReader{pattern: []byte("$5\r\nvalue\r\n")}), Limits{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadReply(); err != nil {
			b.Fatal(err)
		}
	}
}
