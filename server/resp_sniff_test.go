package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/server"
	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// TestNativeHandshakeOnRESPPortIsAnswered points a native client at a RESP
// listener: the server answers the handshake (which has no line end, so a
// RESP reader alone would wait for one until the client gave up) with a
// RESP error naming the native port and closes, and the client's
// ReadHandshakeReply says the server speaks RESP. RESP commands that start
// like Magic are still served.
func TestNativeHandshakeOnRESPPortIsAnswered(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open("/data", storage.Options{FS: vfs.NewMem(), Logger: quiet, NoHousekeeper: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Addr: "127.0.0.1:0", Logger: quiet},
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
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}

	t.Run("native handshake", func(t *testing.T) {
		c := dial(t)
		w := netproto.NewWriter(bufio.NewWriter(c))
		w.WriteHandshake()
		w.Flush()
		_, err := netproto.NewReader(bufio.NewReader(c), netproto.Limits{}).ReadHandshakeReply()
		if !errors.Is(err, netproto.ErrRESPServer) || !errors.Is(err, netproto.ErrBadMagic) {
			t.Fatalf("ReadHandshakeReply = %v, want ErrRESPServer and ErrBadMagic", err)
		}
		if !strings.Contains(err.Error(), "-ERR this port speaks RESP") || !strings.Contains(err.Error(), "7380") {
			t.Errorf("error %q does not carry the server's line naming the native port", err)
		}
	})
	for _, tc := range []struct{ send, want string }{
		{"PING\r\n", "+PONG\r\n"},
		{"PY\r\n", "-ERR unknown command 'PY'"},
		{"*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
	} {
		t.Run(strings.TrimSpace(tc.send), func(t *testing.T) {
			c := dial(t)
			io.WriteString(c, tc.send)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, strings.TrimSuffix(tc.want, "\r\n")) {
				t.Fatalf("%q answered %q (%v), want %q", tc.send, line, err, tc.want)
			}
		})
	}
}

// TestHandshakeReplyFromRESPServer feeds ReadHandshakeReply the answers a
// RESP server may give, shorter and longer than a native answer.
func TestHandshakeReplyFromRESPServer(t *testing.T) {
	for _, tc := range []struct{ name, answer, want string }{
		{"short error", "-ERR\r\n", `"-ERR"`},
		{"long error", "-ERR unknown command 'PYKV'\r\n", `"-ERR unknown command 'PYKV'"`},
		{"status", "+OK\r\n", `"+OK"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := netproto.NewReader(bufio.NewReader(strings.NewReader(tc.answer)), netproto.Limits{})
			_, err := r.ReadHandshakeReply()
			if !errors.Is(err, netproto.ErrRESPServer) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadHandshakeReply(%q) = %v, want ErrRESPServer with %s", tc.answer, err, tc.want)
			}
		})
	}
}
