package resp_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/reply"
)

// A server's loop: read a command, answer it, flush when no more input is
// buffered, and close after a protocol error.
func ExampleReader_ReadCommand() {
	in := "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nPING\r\n*1\r\n$x\r\n"
	r := resp.NewReader(bufio.NewReader(strings.NewReader(in)), resp.Limits{})
	var out bytes.Buffer // stands for the connection
	w := resp.NewWriter(bufio.NewWriter(&out))
	defer func() { fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n")) }()
	var args [][]byte
	for {
		var err error
		args, err = r.ReadCommand(args)
		var pe *resp.ProtocolError
		if errors.As(err, &pe) {
			_ = w.WriteReply(pe.Reply())
			_ = w.Flush()
			return // and close the connection
		}
		if err != nil {
			return // io.EOF: the client is gone
		}
		switch strings.ToUpper(string(args[0])) {
		case "ECHO":
			_ = w.WriteReply(reply.Bytes(args[1]))
		case "PING":
			_ = w.WriteReply(reply.Status("PONG"))
		}
		if r.Buffered() == 0 {
			_ = w.Flush()
		}
	}
	// Output:
	// $5
	// hello
	// +PONG
	// -ERR Protocol error: invalid bulk length
}

// The same reply in RESP2 and, after HELLO 3, in RESP3.
func ExampleWriter_WriteReply() {
	hello := reply.Reply{Kind: reply.KindMap, Array: []reply.Reply{
		reply.Bytes([]byte("proto")), reply.Int(3),
	}}
	for _, proto := range []int{2, 3} {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		w := resp.NewWriter(bw)
		w.SetProto(proto)
		_ = w.WriteReply(hello)
		_ = w.Flush()
		fmt.Printf("RESP%d: %q\n", proto, out.String())
	}
	// Output:
	// RESP2: "*2\r\n$5\r\nproto\r\n:3\r\n"
	// RESP3: "%1\r\n$5\r\nproto\r\n:3\r\n"
}

// A client's side: send a command, read the reply.
func ExampleReader_ReadReply() {
	var conn bytes.Buffer // stands for a connection to pykvd
	w := resp.NewWriter(bufio.NewWriter(&conn))
	_ = w.WriteCommand([][]byte{[]byte("GET"), []byte("k")})
	_ = w.Flush()
	fmt.Printf("sent %q\n", conn.String())

	conn.Reset()
	conn.WriteString("$1\r\nv\r\n") // what the server answered
	r := resp.NewReader(bufio.NewReader(&conn), resp.Limits{})
	reply, err := r.ReadReply()
	fmt.Println(reply, err)
	// Output:
	// sent "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
	// "v" <nil>
}
