package command

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzExec feeds arbitrary commands to a Table: none may panic, every
// error text must be one line (it goes on the wire as a RESP simple error),
// and no reply may alias argv.
func FuzzExec(f *testing.F) {
	for _, seed := range []string{
		"SET\x00k\x00v\x00EX\x0010\x00NX\x00GET",
		"SET\x00k\x00v\x00PXAT\x009223372036854775807",
		"GET\x00k", "INCRBY\x00k\x00-9223372036854775808", "SCAN\x000\x00MATCH\x00[a-\x00COUNT\x003",
		"HELLO\x003\x00AUTH\x00default\x00x\x00SETNAME\x00n", "EXPIRE\x00k\x00-1", "CONFIG\x00GET\x00*",
		"COMMAND\x00INFO\x00client|setname", "INFO\x00all", "CLIENT\x00SETINFO\x00lib-name\x00x",
		"FOO\x00\r\n", "MSET\x00a\x00b\x00c",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// argv is scribbled over below; the fuzzer's input must stay intact.
		argv := bytes.Split(bytes.Clone(data), []byte{0})
		tab := New(newMemStore(), Config{})
		s := tab.NewSession()
		tab.Exec(s, [][]byte{[]byte("SET"), []byte("k"), []byte("1")})
		r := tab.Exec(s, argv)
		if r.IsError() && strings.ContainsAny(r.Code+r.Msg, "\r\n") {
			t.Fatalf("multi-line error %q %q", r.Code, r.Msg)
		}
		before := r.String()
		for _, a := range argv {
			for i := range a {
				a[i] ^= 0xff
			}
		}
		if after := r.String(); after != before {
			t.Fatalf("reply aliases argv: %s became %s", before, after)
		}
	})
}
