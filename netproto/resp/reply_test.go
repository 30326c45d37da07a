package resp

import (
	"bufio"
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pykv/pykv/reply"
)

var replyGoldens = []string{"testdata/replies.txt"}

// TestReplyGolden reads each case's replies and, where the case gives them,
// checks what WriteReply makes of the reply in RESP2 and RESP3.
func TestReplyGolden(t *testing.T) {
	for _, file := range replyGoldens {
		for _, c := range loadGolden(t, file) {
			t.Run(filepath.Base(file)+"/"+c.name, func(t *testing.T) {
				for how, r := range readers(c.in, c.limits) {
					checkReplies(t, how, r, c)
				}
			})
		}
	}
}

func checkReplies(t *testing.T, how string, r *Reader, c golden) {
	t.Helper()
	var last reply.Reply
	for i, want := range c.replies {
		rep, err := r.ReadReply()
		if err != nil {
			t.Fatalf("%s:%d (%s): reply %d: %v", c.file, c.line, how, i+1, err)
		}
		if got := render(rep); got != want {
			t.Fatalf("%s:%d (%s): reply %d:\n got %s\nwant %s", c.file, c.line, how, i+1, got, want)
		}
		last = rep
	}
	_, err := r.ReadReply()
	checkEnd(t, how, c, err)
	for proto, want := range map[int]*string{2: c.out2, 3: c.out3} {
		if want == nil {
			continue
		}
		if got := encode(t, proto, last); got != *want {
			t.Fatalf("%s:%d: RESP%d encoding:\n got %q\nwant %q", c.file, c.line, proto, got, *want)
		}
	}
}

func encode(t testing.TB, proto int, r reply.Reply) string {
	t.Helper()
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := NewWriter(bw)
	w.SetProto(proto)
	if err := w.WriteReply(r); err != nil {
		t.Fatalf("WriteReply(%s): %v", render(r), err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestReplyNesting(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("*1\r\n", n) + ":1\r\n" }
	r := NewReader(bufio.NewReader(strings.NewReader(deep(maxNesting))), Limits{})
	rep, err := r.ReadReply()
	if err != nil {
		t.Fatalf("%d levels: %v", maxNesting, err)
	}
	if got := render(rep); got != strings.Repeat("[", maxNesting)+":1"+strings.Repeat("]", maxNesting) {
		t.Fatalf("%d levels: %s", maxNesting, got)
	}
	r = NewReader(bufio.NewReader(strings.NewReader(deep(maxNesting+1))), Limits{})
	if _, err := r.ReadReply(); err == nil || err.Error() != textTooDeep {
		t.Fatalf("%d levels: got %v", maxNesting+1, err)
	}
	// A hostile depth fails at the bound, without growing the stack to it.
	r = NewReader(bufio.NewReader(strings.NewReader(deep(1_000_000))), Limits{})
	if _, err := r.ReadReply(); err == nil || err.Error() != textTooDeep {
		t.Fatalf("a million levels: got %v", err)
	}
}

// TestReplyIsOwned checks that a reply does not point into the Reader's
// buffers: reading the next one leaves it intact.
func TestReplyIsOwned(t *testing.T) {
	r := NewReader(bufio.NewReaderSize(strings.NewReader("+PONG\r\n$3\r\nabc\r\n+XXXX\r\n$3\r\nxyz\r\n"), 16), Limits{})
	a, _ := r.ReadReply()
	b, _ := r.ReadReply()
	_, _ = r.ReadReply()
	_, _ = r.ReadReply()
	if string(a.Bytes) != "PONG" || string(b.Bytes) != "abc" {
		t.Fatalf("replies changed under the caller: %s %s", render(a), render(b))
	}
}
