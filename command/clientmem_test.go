package command

import (
	"strconv"
	"strings"
	"testing"
)

// clientFields returns the fields of session id's line of CLIENT LIST, as
// s sees it.
func clientFields(t *testing.T, tab *Table, s *Session, id uint64) map[string]int64 {
	t.Helper()
	list := bytesOf(tab.Exec(s, [][]byte{[]byte("CLIENT"), []byte("LIST")}))
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if !strings.HasPrefix(line, "id="+strconv.FormatUint(id, 10)+" ") {
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
	t.Fatalf("CLIENT LIST has no line for id %d:\n%s", id, list)
	return nil
}

// TestClientListMemory: CLIENT LIST's qbuf to tot-mem are what the
// front end published of the connection's buffers, the arguments of the
// command it runs and its MULTI queue, and tot-mem is their sum.
func TestClientListMemory(t *testing.T) {
	tab := newTxFixture(t, Config{}).tab
	connect := func(bufs *ConnBuffers) *Session {
		s := tab.NewSession()
		s.RemoteAddr, s.LocalAddr, s.FD, s.Buffers = "127.0.0.1:1", "127.0.0.1:2", -1, bufs
		tab.Connect(s)
		t.Cleanup(func() { tab.EndSession(s) })
		return s
	}
	exec := func(s *Session, args ...string) Reply {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		return tab.Exec(s, argv)
	}
	const size = 16384
	bufs := &ConnBuffers{ReadSize: size, WriteSize: size}
	client, observer := connect(bufs), connect(nil)

	type want struct{ qbuf, qbufFree, argvMem, multiMem, rbs, rbp, obl, oll, omem, totMem int64 }
	check := func(name string, s *Session, w want) {
		t.Helper()
		f := clientFields(t, tab, observer, s.ID)
		got := want{f["qbuf"], f["qbuf-free"], f["argv-mem"], f["multi-mem"], f["rbs"], f["rbp"], f["obl"], f["oll"], f["omem"], f["tot-mem"]}
		if got != w {
			t.Errorf("%s: got  %+v\nwant %+v", name, got, w)
		}
	}
	check("idle", client, want{qbufFree: size, rbs: size, totMem: 2 * size})
	check("a session without buffers", observer, want{argvMem: int64(len("client") + len("list")), totMem: 10})

	bufs.Query.Store(32)
	bufs.Buffered.Store(100)
	bufs.Peak.Store(4096)
	check("a partial request, replies buffered", client, want{qbuf: 32, qbufFree: size - 32, rbs: size, rbp: 4096, obl: 100, totMem: 2 * size})
	bufs.Query.Store(size + 1000)
	bufs.Buffered.Store(0)
	bufs.Writing.Store(70000)
	check("a long argument arriving, a long reply leaving", client,
		want{qbuf: size + 1000, rbs: size, rbp: 4096, oll: 1, omem: 70000, totMem: 2*size + 1000 + 70000})
	bufs.Query.Store(0)
	bufs.Writing.Store(0)

	if r := exec(client, "MULTI"); r.Kind != KindOK {
		t.Fatalf("MULTI: %s", r)
	}
	exec(client, "SET", "k", "0123456789") // 14 bytes in 3 arguments
	one := 14 + 3*argHeaderSize
	check("MULTI, one command queued", client, want{qbufFree: size, multiMem: one, rbs: size, rbp: 4096, totMem: 2*size + one + queuedCmdSize})
	exec(client, "SET", "key2", strings.Repeat("v", 1000))
	two := one + 3 + 4 + 1000 + 3*argHeaderSize
	check("MULTI, two commands queued", client, want{qbufFree: size, multiMem: two, rbs: size, rbp: 4096, totMem: 2*size + two + 2*queuedCmdSize})
	if r := exec(client, "EXEC"); r.Kind != KindArray {
		t.Fatalf("EXEC: %s", r)
	}
	check("after EXEC", client, want{qbufFree: size, rbs: size, rbp: 4096, totMem: 2 * size})

	exec(client, "MULTI")
	exec(client, "SET", "k", "v")
	exec(client, "DISCARD")
	check("after DISCARD", client, want{qbufFree: size, rbs: size, rbp: 4096, totMem: 2 * size})
	exec(client, "MULTI")
	exec(client, "SET", "k", "v")
	exec(client, "EXEC", "extra") // refused: the transaction ends with EXECABORT
	check("after a refused EXEC", client, want{qbufFree: size, rbs: size, rbp: 4096, totMem: 2 * size})

	// CLIENT INFO shows the arguments of the command it is.
	info := bytesOf(exec(client, "CLIENT", "INFO"))
	if !strings.Contains(info, " argv-mem=10 ") || !strings.Contains(info, " multi=-1 ") {
		t.Errorf("CLIENT INFO: %s", info)
	}
}
