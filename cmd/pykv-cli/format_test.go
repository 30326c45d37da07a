package main

import (
	"testing"

	"github.com/pykv/pykv/reply"
)

func bulk(s string) reply.Reply { return reply.Bytes([]byte(s)) }

func arr(items ...reply.Reply) reply.Reply { return reply.Array(items) }

func hash(items ...reply.Reply) reply.Reply {
	return reply.Reply{Kind: reply.KindMap, Array: items}
}

// The expected texts are what redis-cli prints for the same RESP replies.
func TestFormatStandard(t *testing.T) {
	ten := make([]reply.Reply, 10)
	for i := range ten {
		ten[i] = reply.Int(int64(i))
	}
	tests := []struct {
		name  string
		reply reply.Reply
		want  string
	}{
		{"ok", reply.OK, "OK\n"},
		{"status", reply.Status("PONG"), "PONG\n"},
		{"nil", reply.Nil, "(nil)\n"},
		{"integer", reply.Int(3), "(integer) 3\n"},
		{"negative", reply.Int(-2), "(integer) -2\n"},
		{"string", bulk("value"), "\"value\"\n"},
		{"empty string", bulk(""), "\"\"\n"},
		{"escapes", bulk("a\"b\\c\n\r\t\a\b"), `"a\"b\\c\n\r\t\a\b"` + "\n"},
		{"binary", bulk("\x00\x01\x7f\xff"), `"\x00\x01\x7f\xff"` + "\n"},
		{"utf-8", bulk("héllo"), `"h\xc3\xa9llo"` + "\n"},
		{"error", reply.Err("value is not an integer or out of range"),
			"(error) ERR value is not an integer or out of range\n"},
		{"error code only", reply.Errorf("NOAUTH", ""), "(error) NOAUTH\n"},
		{"empty array", arr(), "(empty array)\n"},
		{"empty map", hash(), "(empty hash)\n"},
		{"array", arr(bulk("a"), reply.Nil, reply.Int(1)),
			"1) \"a\"\n2) (nil)\n3) (integer) 1\n"},
		{"ten items are right-aligned", arr(ten...),
			" 1) (integer) 0\n 2) (integer) 1\n 3) (integer) 2\n 4) (integer) 3\n 5) (integer) 4\n" +
				" 6) (integer) 5\n 7) (integer) 6\n 8) (integer) 7\n 9) (integer) 8\n10) (integer) 9\n"},
		{"scan", arr(bulk("17"), arr(bulk("key:1"), bulk("key:2"))),
			"1) \"17\"\n2) 1) \"key:1\"\n   2) \"key:2\"\n"},
		{"nested three deep", arr(arr(arr(bulk("x"), bulk("y")), bulk("z")), bulk("w")),
			"1) 1) 1) \"x\"\n      2) \"y\"\n   2) \"z\"\n2) \"w\"\n"},
		{"nested empty", arr(bulk("0"), arr()), "1) \"0\"\n2) (empty array)\n"},
		{"map", hash(bulk("server"), bulk("pykv"), bulk("proto"), reply.Int(3)),
			"1# \"server\" => \"pykv\"\n2# \"proto\" => (integer) 3\n"},
		{"map with a multi-line value", hash(bulk("modules"), arr(bulk("a"), bulk("b"))),
			"1# \"modules\" => \n   1) \"a\"\n   2) \"b\"\n"},
		{"map with a one-item array", hash(bulk("modules"), arr(bulk("a"))),
			"1# \"modules\" => 1) \"a\"\n"},
		{"array of maps", arr(hash(bulk("k"), bulk("v"))), "1) 1# \"k\" => \"v\"\n"},
	}
	for _, tt := range tests {
		if got := formatStandard(tt.reply); got != tt.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestFormatRaw(t *testing.T) {
	tests := []struct {
		name  string
		reply reply.Reply
		want  string
	}{
		{"ok", reply.OK, "OK\n"},
		{"status", reply.Status("PONG"), "PONG\n"},
		{"nil", reply.Nil, "\n"},
		{"integer", reply.Int(-7), "-7\n"},
		{"string is bare", bulk("a \"b\"\n\xff"), "a \"b\"\n\xff\n"},
		{"error has redis-cli's extra line", reply.Err("syntax error"), "ERR syntax error\n\n"},
		{"empty array", arr(), "\n"},
		{"array", arr(bulk("a"), reply.Nil, reply.Int(2)), "a\n\n2\n"},
		{"nested", arr(bulk("0"), arr(bulk("k1"), bulk("k2"))), "0\nk1\nk2\n"},
		{"map", hash(bulk("a"), reply.Int(1), bulk("b"), bulk("x")), "a 1\nb x\n"},
	}
	for _, tt := range tests {
		if got := formatRaw(tt.reply); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := formatVerbatim(bulk("# Server\r\nx:1\r\n")); got != "# Server\r\nx:1\r\n" {
		t.Errorf("verbatim INFO = %q", got)
	}
}
