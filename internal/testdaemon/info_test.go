package testdaemon_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

func TestParseInfo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		sections []string
		fields   map[string]string
		err      string // a fragment of the error; empty: none
	}{
		{name: "empty reply", text: "", fields: map[string]string{}},
		{
			name:     "two sections",
			text:     "# Server\r\nredis_version:7.0.0\r\ntcp_port:7379\r\n\r\n# Keyspace\r\ndb0:keys=9,expires=3,avg_ttl=0\r\n",
			sections: []string{"Server", "Keyspace"},
			fields:   map[string]string{"redis_version": "7.0.0", "tcp_port": "7379", "db0": "keys=9,expires=3,avg_ttl=0"},
		},
		{
			name:     "empty section, a value with colons",
			text:     "# Server\r\nconfig_file:C:\\pykv.toml\r\n\r\n# Keyspace\r\n",
			sections: []string{"Server", "Keyspace"},
			fields:   map[string]string{"config_file": "C:\\pykv.toml"},
		},
		{name: "no final CRLF", text: "# Server\r\nrole:master", err: "does not end with CRLF"},
		{name: "no title", text: "role:master\r\n", err: "not a # title"},
		{name: "not name:value", text: "# Server\r\nrole master\r\n", err: `"role master" is not name:value`},
		{name: "bare LF", text: "# Server\r\nrole:master\nx:y\r\n", err: "is not name:value"},
		{name: "a field twice", text: "# A\r\nx:1\r\n\r\n# B\r\nx:2\r\n", err: "x appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := testdaemon.ParseInfo(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseInfo(%q): %v, want an error with %q", tc.text, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInfo(%q): %v", tc.text, err)
			}
			if !slices.Equal(info.Sections, tc.sections) || !maps.Equal(info.Fields, tc.fields) {
				t.Fatalf("ParseInfo(%q) = %q %q, want %q %q", tc.text, info.Sections, info.Fields, tc.sections, tc.fields)
			}
		})
	}
}

func TestInfoAccessors(t *testing.T) {
	info, err := testdaemon.ParseInfo("# Clients\r\nconnected_clients:3\r\nname:x\r\n\r\n# Keyspace\r\ndb0:keys=9,expires=3\r\nbad:keys\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasSection("Keyspace") || info.HasSection("Server") {
		t.Errorf("HasSection: Keyspace %v, Server %v; want true, false", info.HasSection("Keyspace"), info.HasSection("Server"))
	}
	if n, err := info.Int("connected_clients"); err != nil || n != 3 {
		t.Errorf("Int(connected_clients) = %d, %v; want 3", n, err)
	}
	for _, name := range []string{"name", "missing"} {
		if _, err := info.Int(name); err == nil {
			t.Errorf("Int(%s): no error", name)
		}
	}
	if db0, err := info.Sub("db0"); err != nil || !maps.Equal(db0, map[string]string{"keys": "9", "expires": "3"}) {
		t.Errorf("Sub(db0) = %q, %v", db0, err)
	}
	for _, name := range []string{"bad", "missing"} {
		if _, err := info.Sub(name); err == nil {
			t.Errorf("Sub(%s): no error", name)
		}
	}
}
