package netproto_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/reply"
)

// A whole conversation, with buffers standing in for the two directions
// of a TCP connection: the client pipelines its handshake and two
// requests, the server answers each in order, the client reads the
// answers.
func Example() {
	var toServer, toClient bytes.Buffer

	// Client: handshake and requests in one write, without waiting.
	cbw := bufio.NewWriter(&toServer)
	cw := netproto.NewWriter(cbw)
	cw.WriteHandshake()
	cw.WriteRequest([][]byte{[]byte("set"), []byte("greeting"), []byte("hello")})
	cw.WriteRequest([][]byte{[]byte("GET"), []byte("greeting")})
	cbw.Flush()
	fmt.Printf("client sent % x\n", toServer.Bytes()[:netproto.HandshakeSize])

	// Server: a toy command table in a map.
	db := map[string][]byte{}
	sr := netproto.NewReader(bufio.NewReader(&toServer), netproto.Limits{})
	sbw := bufio.NewWriter(&toClient)
	sw := netproto.NewWriter(sbw)
	_, err := sr.ReadHandshake()
	sw.WriteHandshakeReply(err)
	var argv [][]byte
	for {
		argv, err = sr.ReadRequest(argv)
		if err != nil {
			break // io.EOF here; see Recoverable for the others
		}
		fmt.Printf("server read %q\n", argv)
		switch string(argv[0]) {
		case "SET":
			db[string(argv[1])] = bytes.Clone(argv[2]) // args are reused: copy to keep
			sw.WriteReply(reply.OK)
		case "GET":
			sw.WriteReply(reply.Bytes(db[string(argv[1])]))
		}
		if sr.Buffered() == 0 {
			sbw.Flush() // no more pipelined requests in hand: send the batch
		}
	}

	// Client: the answers, in request order.
	cr := netproto.NewReader(bufio.NewReader(&toClient), netproto.Limits{})
	v, err := cr.ReadHandshakeReply()
	fmt.Println("version", v, err)
	for {
		rep, err := cr.ReadReply()
		if err == io.EOF {
			break
		}
		fmt.Println("client got", rep)
	}
	// Output:
	// client sent 50 59 4b 56 00 01
	// server read ["SET" "greeting" "hello"]
	// server read ["GET" "greeting"]
	// version 1 <nil>
	// client got OK
	// client got "hello"
}

// A server's answer to a frame it cannot decode: an error reply, and the
// connection goes on only when the error was recoverable.
func ExampleRecoverable() {
	in := []byte{
		0, 0, 0, 1, 0x7e, // a frame with an unassigned opcode
		0, 0, 0, 1, netproto.OpPing, // PING
		0xff, 0xff, 0xff, 0xff, // a frame claiming 4 GiB
	}
	r := netproto.NewReader(bufio.NewReader(bytes.NewReader(in)), netproto.Limits{})
	var argv [][]byte
	for {
		var err error
		argv, err = r.ReadRequest(argv)
		if err == nil {
			fmt.Printf("%q\n", argv)
			continue
		}
		fmt.Println(netproto.ErrorReply(err))
		if !netproto.Recoverable(err) {
			fmt.Println("closing the connection")
			return
		}
	}
	// Output:
	// (error) PROTO unknown opcode: 0x7e
	// ["PING"]
	// (error) PROTO frame too large: 4294967295 bytes claimed, limit is 67239936
	// closing the connection
}

func ExampleOpcode() {
	op, ok := netproto.Opcode("incrby")
	fmt.Printf("0x%02x %v\n", op, ok)
	name, ok := netproto.OpcodeName(op)
	fmt.Println(name, ok)
	_, ok = netproto.Opcode("CONFIG") // sent with OpCommand
	fmt.Println(ok)
	// Output:
	// 0x21 true
	// INCRBY true
	// false
}
