package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/vfs"
	"github.com/pykv/pykv/storage"
)

func TestValueOverTheLimit(t *testing.T) {
	const limit = 1024
	e := newEnv(t, withMaxValue(limit))
	at := bytes.Repeat([]byte("v"), limit)
	if status, _, body := e.do("PUT", "/v1/keys/k", "", bytes.NewReader(at)); status != 200 {
		t.Fatalf("a value at the limit: %d %s", status, body)
	}
	over := append(at, 'v')
	status, _, body := e.do("PUT", "/v1/keys/k", "", bytes.NewReader(over))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT over the limit: %d %s", status, body)
	}
	wantError(t, body, "ERR", "exceeds the limit of 1024 bytes")

	// Without a Content-Length (chunked), MaxBytesReader stops the read.
	status, _, body = e.do("PUT", "/v1/keys/k", "", io.MultiReader(bytes.NewReader(over)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked PUT over the limit: %d %s", status, body)
	}

	// A /put body has room for escapes; the engine refuses the value.
	status, body = e.putJSON(map[string]any{"key": "k", "value": string(over)})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("/put of a value over the limit: %d %s", status, body)
	}
	wantError(t, body, "ERR", "string exceeds maximum allowed size")

	// A /put body over its own limit is cut off while it is decoded.
	huge := `{"key":"k","value":"` + strings.Repeat("v", int(e.srv.putLimit())) + `"}`
	status, _, body = e.do("POST", "/put", "application/json", io.MultiReader(strings.NewReader(huge)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked /put body over the limit: %d %s", status, body)
	}
	form := "key=k&value=" + strings.Repeat("v", int(e.srv.putLimit()))
	status, _, body = e.do("POST", "/put", "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader(form)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked /put form over the limit: %d %s", status, body)
	}
	if _, _, got := e.do("GET", "/get/k", "", nil); !bytes.Equal(got, at) {
		t.Fatalf("value changed by refused writes: %d bytes", len(got))
	}
}

// TestBodyOverLimitIsNotRead: a body that declares a length over the limit
// is refused before any of it is read, so the client never has to send
// it; and a chunked body is cut off at the limit, not read to its end.
func TestBodyOverLimitIsNotRead(t *testing.T) {
	e := newEnv(t, withMaxValue(4096))

	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1<<40)
	conn.Write([]byte("only the start of the body"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared 1 TiB: %d %s", resp.StatusCode, body)
	}
	wantError(t, body, "ERR", "request body of 1099511627776 bytes exceeds the limit of 4096 bytes")

	const total = 1 << 30
	src := &countingReader{n: total}
	req, _ := http.NewRequest("PUT", e.ts.URL+"/v1/keys/big", src)
	req.ContentLength = -1 // chunked: the server learns the size only by reading
	r, err := e.ts.Client().Do(req)
	if err != nil {
		// The server may close before the client notices the reply; what
		// matters is how much was read.
		t.Logf("chunked upload: %v", err)
	} else {
		r.Body.Close()
		if r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked 1 GiB: %d", r.StatusCode)
		}
	}
	if read := src.read.Load(); read > 64<<20 {
		t.Fatalf("%d bytes of a 1 GiB body were sent before the server gave up", read)
	}
}

// countingReader yields n bytes and counts what was taken.
type countingReader struct {
	n    int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	left := c.n - c.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), left))
	clear(p[:n])
	c.read.Add(int64(n))
	return n, nil
}

// TestLogRefusesWrites: after the log fails a write, writes get 503 and
// reads still work.
func TestLogRefusesWrites(t *testing.T) {
	var fail atomic.Bool
	injected := errors.New("injected: no space left on device")
	fs := vfs.Inject(vfs.Default, func(op vfs.Op, _ string) error {
		if fail.Load() && (op == vfs.OpWrite || op == vfs.OpSync) {
			return injected
		}
		return nil
	})
	e := newEnv(t, func(o *storage.Options, _ *command.Config, _ *Config) { o.FS = fs })
	e.do("PUT", "/v1/keys/k", "", strings.NewReader("v"))
	fail.Store(true)
	status, _, body := e.do("PUT", "/v1/keys/k2", "", strings.NewReader("v2"))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("write on a failed log: %d %s", status, body)
	}
	fail.Store(false) // the failure is sticky: the log still refuses
	status, body = e.putJSON(map[string]any{"key": "k3", "value": "v3"})
	if status != http.StatusServiceUnavailable {
		t.Fatalf("write after the failure: %d %s", status, body)
	}
	var eb errorBody
	json.Unmarshal(body, &eb)
	if !strings.Contains(eb.Error.Message, "refuses writes") {
		t.Fatalf("message %q does not say the log refuses writes", eb.Error.Message)
	}
	if status, _, got := e.do("GET", "/get/k", "", nil); status != 200 || string(got) != "v" {
		t.Fatalf("read after the failure: %d %q", status, got)
	}
}
