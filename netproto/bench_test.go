package netproto

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/pykv/pykv/reply"
)

func BenchmarkReadRequest(b *testing.B) {
	keys := make([][]byte, 0, 21)
	keys = append(keys, []byte("MSET"))
	for i := range 10 {
		keys = append(keys, fmt.Appendf(nil, "key:%d", i), bytes.Repeat([]byte("v"), 100))
	}
	cases := []struct {
		name string
		argv [][]byte
	}{
		{"GET", [][]byte{[]byte("GET"), []byte("key:000001")}},
		{"SET-100B", [][]byte{[]byte("SET"), []byte("key:000001"), bytes.Repeat([]byte("v"), 100)}},
		{"SET-16KiB-EX", [][]byte{[]byte("SET"), []byte("key:000001"), bytes.Repeat([]byte("v"), 16<<10), []byte("EX"), []byte("10")}},
		{"MSET-10x100B", keys},
		{"generic-CONFIG-GET", [][]byte{[]byte("CONFIG"), []byte("GET"), []byte("maxclients")}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := encodeRequest(b, c.argv)
			r := NewReader(bufio.NewReader(&cycle{data: in}), Limits{})
			var argv [][]byte
			var err error
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if argv, err = r.ReadRequest(argv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteReply(b *testing.B) {
	mget := make([]reply.Reply, 10)
	for i := range mget {
		mget[i] = reply.Bytes(bytes.Repeat([]byte("v"), 100))
	}
	cases := []struct {
		name string
		r    reply.Reply
	}{
		{"OK", reply.OK},
		{"Int", reply.Int(42)},
		{"Bytes-100B", reply.Bytes(bytes.Repeat([]byte("v"), 100))},
		{"Bytes-16KiB", reply.Bytes(bytes.Repeat([]byte("v"), 16<<10))},
		{"Error", reply.Err("value is not an integer or out of range")},
		{"Array-10x100B", reply.Array(mget)},
		{"Map-HELLO", reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{
			reply.Bytes([]byte("server")), reply.Bytes([]byte("pykv")),
			reply.Bytes([]byte("proto")), reply.Int(3),
		}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := NewWriter(bufio.NewWriter(io.Discard))
			b.SetBytes(int64(len(encodeReply(b, c.r))))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteReply(c.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The client's side of the hot path.

func BenchmarkWriteRequest(b *testing.B) {
	argv := [][]byte{[]byte("set"), []byte("key:000001"), bytes.Repeat([]byte("v"), 100)}
	w := NewWriter(bufio.NewWriter(io.Discard))
	b.SetBytes(int64(len(encodeRequest(b, argv))))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteRequest(argv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadReply(b *testing.B) {
	for _, c := range []struct {
		name string
		r    reply.Reply
	}{
		{"Bytes-100B", reply.Bytes(bytes.Repeat([]byte("v"), 100))},
		{"Array-10x100B", reply.Array([]reply.Reply{
			reply.Bytes([]byte("0123456789")), reply.Nil, reply.Bytes([]byte("x")), reply.Int(7),
			reply.Bytes(bytes.Repeat([]byte("v"), 100)), reply.Nil, reply.Nil, reply.OK,
			reply.Status("PONG"), reply.Bytes(nil),
		})},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := encodeReply(b, c.r)
			r := NewReader(bufio.NewReader(&cycle{data: in}), Limits{})
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadReply(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
