package client_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/reply"
)

// TestStreamExport: Stream returns EXPORT's status and then its bulk
// replies up to the closing integer; the connection is the stream's
// alone (a one-connection pool waits until Close gives it back), and a
// refused command comes back as its error reply.
func TestStreamExport(t *testing.T) {
	srv := startServer(t, serverOptions{})
	c := newClient(t, srv.addr, client.Options{PoolSize: 1})
	ctx := context.Background()
	for _, kv := range [][2]string{{"a", "1"}, {"b", "two\nlines"}} {
		if err := c.Set(ctx, kv[0], kv[1], client.SetArgs{}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	st, first, err := c.Stream(ctx, "EXPORT")
	if err != nil {
		t.Fatal(err)
	}
	if first.Kind != reply.KindStatus || string(first.Bytes) != "EXPORT 2 2" {
		t.Fatalf("EXPORT's reply: %s", first)
	}
	var body []byte
	for {
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind == reply.KindInt {
			if r.Int != 2 {
				t.Fatalf("the stream ends with %d lines, want 2", r.Int)
			}
			break
		}
		if r.Kind != reply.KindBytes {
			t.Fatalf("a stream reply %s", r)
		}
		body = append(body, r.Bytes...)
	}
	want := `{"key":"a","value":"1"}` + "\n" + `{"key":"b","value":"two\nlines"}` + "\n"
	lines := bytes.SplitAfter(body, []byte("\n"))
	if len(lines) != 3 || !strings.Contains(want, string(lines[0])) || !strings.Contains(want, string(lines[1])) || len(body) != len(want) {
		t.Fatalf("exported %q, want %q", body, want)
	}
	busy, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := c.Ping(busy).Err(); err == nil {
		t.Fatal("a command ran on the pool's only connection while a stream held it")
	}
	cancel()
	st.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	st, first, err = c.Stream(ctx, "EXPORT", "extra")
	if err != nil || !first.IsError() || !strings.Contains(first.Msg, "wrong number of arguments") {
		t.Fatalf("EXPORT extra: %s, %v", first, err)
	}
	st.Close()
}

// TestExportThenNextRequest: on the wire, EXPORT's stream comes between
// its status and the reply to the request pipelined after it, which the
// connection then serves as usual.
func TestExportThenNextRequest(t *testing.T) {
	srv := startServer(t, serverOptions{})
	c := newClient(t, srv.addr, client.Options{})
	if err := c.Set(context.Background(), "k", "v", client.SetArgs{}).Err(); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	bw := bufio.NewWriter(conn)
	w, r := netproto.NewWriter(bw), netproto.NewReader(bufio.NewReader(conn), netproto.Limits{})
	w.WriteHandshake()
	w.WriteRequest([][]byte{[]byte("EXPORT")})
	w.WriteRequest([][]byte{[]byte("PING")})
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadHandshakeReply(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		rep, err := r.ReadReply()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, rep.String())
	}
	want := []string{`EXPORT 1 1`, `"{\"key\":\"k\",\"value\":\"v\"}\n"`, `(integer) 1`, `PONG`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replies %q, want %q", got, want)
	}
}
