package netproto

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/pykv/pykv/command"
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
	mget := make([]command.Reply, 10)
	for i := range mget {
		mget[i] = command.Bytes(bytes.Repeat([]byte("v"), 100))
	}
	cases := []struct {
		name string
		r    command.Reply
	}{
		{"OK", command.OK},
		{"Int", command.Int(42)},
		{"Bytes-100B", command.Bytes(bytes.Repeat([]byte("v"), 100))},
		{"Bytes-16KiB", command.Bytes(bytes.Repeat([]byte("v"), 16<<10))},
		{"Error", command.Err("value is not an integer or out of range")},
		{"Array-10x100B", command.Array(mget)},
		{"Map-HELLO", command.Reply{Kind: command.KindMap, Array: []command.Reply{
			command.Bytes([]byte("server")), command.Bytes([]byte("pykv")),
			command.Bytes([]byte("proto")), command.Int(3),
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
		r    command.Reply
	}{
		{"Bytes-100B", command.Bytes(bytes.Repeat([]byte("v"), 100))},
		{"Array-10x100B", command.Array([]command.Reply{
			command.Bytes([]byte("0123456789")), command.Nil, command.Bytes([]byte("x")), command.Int(7),
			command.Bytes(bytes.Repeat([]byte("v"), 100)), command.Nil, command.Nil, command.OK,
			command.Status("PONG"), command.Bytes(nil),
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
