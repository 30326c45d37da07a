package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestStartupLogSaysWhatApplies checks the first lines a newcomer reads:
// before "ready", the log names the configuration file in use (or says
// there is none), whether AUTH is required, the fsync policy and every
// listener with its protocol and address; "ready" comes only after every
// "listening" line. INFO server then reports each listener's real port.
func TestStartupLogSaysWhatApplies(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "pykv.toml")
	if err := os.WriteFile(conf, []byte("password = \"from-file\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		opts     testdaemon.Options
		password string
		want     []string // fragments of the "starting" line
	}{
		{"built-in defaults", testdaemon.Options{Fsync: "everysec"}, "",
			[]string{`config_file="none: built-in defaults"`, "auth=off", "fsync=everysec"}},
		{"config file with a password", testdaemon.Options{Fsync: "no", Args: []string{"--config", conf}}, "from-file",
			[]string{"config_file=" + conf, "auth=required", "fsync=no"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			httpAddr := freeAddr(t)
			tc.opts.Args = append(tc.opts.Args, "--http-addr", httpAddr)
			d := testdaemon.Start(t, tc.opts)
			log := d.WaitLog("msg=ready")
			lines := strings.Split(log, "\n")
			at := func(fragments ...string) int {
				t.Helper()
				for i, l := range lines {
					if containsAll(l, fragments) {
						return i
					}
				}
				t.Fatalf("no log line holds %q:\n%s", fragments, log)
				return -1
			}
			ready := at("msg=ready")
			if i := at(append([]string{"msg=starting"}, tc.want...)...); i > ready {
				t.Errorf("the starting line comes after ready:\n%s", log)
			}
			for _, l := range []struct{ proto, addr string }{
				{"native", d.Addr()}, {"resp", d.RESPAddr()}, {"http", httpAddr},
			} {
				if i := at("msg=listening", "protocol="+l.proto, "addr="+l.addr); i > ready {
					t.Errorf("%s listening is logged after ready:\n%s", l.proto, log)
				}
			}

			n := dialNative(t, d.Addr())
			if tc.password != "" {
				converse(t, n, []step{{[]string{"AUTH", tc.password}, "OK"}})
			}
			info := parseInfo(t, string(n.do("INFO", "server").Bytes))
			_, httpPort, _ := net.SplitHostPort(httpAddr)
			for name, want := range map[string]string{
				"tcp_port":         strconv.Itoa(d.RESPPort()),
				"pykv_native_port": strconv.Itoa(d.NativePort()),
				"pykv_http_port":   httpPort,
			} {
				if got := info.Fields[name]; got != want {
					t.Errorf("INFO server %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func containsAll(s string, fragments []string) bool {
	for _, f := range fragments {
		if !strings.Contains(s, f) {
			return false
		}
	}
	return true
}
