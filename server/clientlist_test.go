package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/server"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// respClient is a raw RESP connection of a test.
type respClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRESP(t *testing.T, addr string) *respClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &respClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *respClient) write(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// request encodes args as a RESP array of bulk strings.
func request(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// reply reads one reply: a line, or a bulk string's content.
func (r *respClient) reply() string {
	r.t.Helper()
	line, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatal(err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line[0] != '$' {
		return line
	}
	n, _ := strconv.Atoi(line[1:])
	if n < 0 {
		return "(nil)"
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r.br, b); err != nil {
		r.t.Fatal(err)
	}
	return string(b[:n])
}

func (r *respClient) do(args ...string) string {
	r.t.Helper()
	r.write(request(args...))
	return r.reply()
}

// fields returns the numeric fields of connection id's CLIENT LIST line.
func (r *respClient) fields(id string) map[string]int64 {
	r.t.Helper()
	list := r.do("CLIENT", "LIST")
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if !strings.HasPrefix(line, "id="+id+" ") {
			continue
		}
		out := map[string]int64{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = n
			}
		}
		return out
	}
	r.t.Fatalf("CLIENT LIST has no connection %s:\n%s", id, list)
	return nil
}

// await polls id's CLIENT LIST line until ok holds of it: what another
// connection's goroutine does is seen once it has done it.
func (r *respClient) await(id, what string, ok func(map[string]int64) bool) map[string]int64 {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := r.fields(id)
		if ok(f) {
			return f
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("connection %s: never %s: %v", id, what, f)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestClientListShowsBuffers: over RESP on loopback, CLIENT LIST shows of
// another connection the request bytes it has sent but not finished
// (qbuf), its MULTI queue (multi-mem, in tot-mem), and the reply it does
// not read (oll, omem, in tot-mem); CLIENT INFO its own arguments.
func TestClientListShowsBuffers(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open("/data", storage.Options{FS: vfs.NewMem(), Logger: quiet, NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Addr: "127.0.0.1:0", Logger: quiet,
		Deferred: func() server.DeferredStore { return db.Deferred() }},
		command.New(db, command.Config{}), server.RESP{})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		db.Close()
	})
	addr := srv.Addr().String()
	obs := dialRESP(t, addr)
	info := obs.do("CLIENT", "INFO")
	for _, want := range []string{" qbuf=0 ", " qbuf-free=16384 ", " argv-mem=10 ", " rbs=16384 ", " obl=0 ", " oll=0 ", " omem=0 ", " tot-mem=32778 "} {
		if !strings.Contains(info, want) {
			t.Errorf("CLIENT INFO lacks %q: %s", want, info)
		}
	}

	// A request sent in part: its bytes wait in the read buffer.
	part := dialRESP(t, addr)
	id := part.do("CLIENT", "ID")[1:]
	req := request("SET", "k", strings.Repeat("v", 100))
	part.write(req[:40])
	f := obs.await(id, "qbuf=40", func(f map[string]int64) bool { return f["qbuf"] == 40 })
	if f["qbuf-free"] != 16384-40 || f["tot-mem"] != 2*16384 || f["argv-mem"] != 0 {
		t.Errorf("a request in part: %v", f)
	}
	part.write(req[40:])
	if r := part.reply(); r != "+OK" {
		t.Fatalf("SET: %s", r)
	}
	if f := obs.fields(id); f["qbuf"] != 0 || f["qbuf-free"] != 16384 {
		t.Errorf("the request whole and run: %v", f)
	}

	// A MULTI queue: multi-mem grows with each command queued, and
	// tot-mem with it.
	if r := part.do("MULTI"); r != "+OK" {
		t.Fatalf("MULTI: %s", r)
	}
	var mem, tot []int64
	for _, v := range []string{"0123456789", strings.Repeat("x", 5000)} {
		if r := part.do("SET", "k", v); r != "+QUEUED" {
			t.Fatalf("SET in MULTI: %s", r)
		}
		f := obs.fields(id)
		mem, tot = append(mem, f["multi-mem"]), append(tot, f["tot-mem"])
	}
	if mem[0] <= int64(len("SETk0123456789")) || mem[1]-mem[0] <= 5000 || tot[0] <= 2*16384+mem[0] ||
		tot[1]-tot[0] <= mem[1]-mem[0] {
		t.Errorf("multi-mem %v and tot-mem %v as two commands are queued", mem, tot)
	}
	if r := part.do("EXEC"); !strings.HasPrefix(r, "*2") {
		t.Fatalf("EXEC: %s", r)
	}
	part.reply()
	part.reply()
	if f := obs.fields(id); f["multi-mem"] != 0 || f["tot-mem"] != 2*16384 {
		t.Errorf("after EXEC: %v", f)
	}

	// A client that does not read its replies: the server is stuck
	// writing one larger than its write buffer.
	if r := obs.do("SET", "big", strings.Repeat("b", 1<<20)); r != "+OK" {
		t.Fatalf("SET big: %s", r)
	}
	slow := dialRESP(t, addr)
	slowID := slow.do("CLIENT", "ID")[1:]
	slow.c.(*net.TCPConn).SetReadBuffer(4096)
	slow.write(strings.Repeat(request("GET", "big"), 64))
	f = obs.await(slowID, "writing a reply", func(f map[string]int64) bool { return f["oll"] == 1 })
	if f["omem"] <= 0 || f["omem"] > 1<<20+16 || f["tot-mem"] < 2*16384+f["omem"] || f["rbs"] != 16384 {
		t.Errorf("a reply not read: %v", f)
	}
}

// TestClientListNativeHandshakeIsParsed: over the native protocol, the
// handshake's bytes are not a request waiting: a connection that has
// sent nothing since shows qbuf=0.
func TestClientListNativeHandshakeIsParsed(t *testing.T) {
	f := start(t, nil)
	obs := dial(t, f)
	do := func(c *conn, args ...string) command.Reply {
		t.Helper()
		c.send(args...)
		c.w.Flush()
		r, err := c.r.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	self := "id=" + strconv.FormatInt(do(obs, "CLIENT", "ID").Int, 10) + " "
	dial(t, f) // its handshake answered, it sends nothing
	// The server's goroutine may still be returning from the write of
	// the handshake's reply: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(do(obs, "CLIENT", "LIST").Bytes)), "\n") {
			if !strings.HasPrefix(l, self) {
				lines = append(lines, l)
			}
		}
		if len(lines) == 1 && strings.Contains(lines[0], " qbuf=0 qbuf-free=16384 ") &&
			strings.Contains(lines[0], " obl=0 ") && strings.Contains(lines[0], " tot-mem=32768 ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a native connection after its handshake: %q", lines)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
