package command

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/internal/testdaemon"
)

// parseInfo splits INFO's text into its section titles, in order, and its
// fields, checking the layout on the way (testdaemon.ParseInfo).
func parseInfo(t *testing.T, text string) (titles []string, fields map[string]string) {
	t.Helper()
	info, err := testdaemon.ParseInfo(text)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sections, info.Fields
}

func (f *fixture) info(sections ...string) (titles []string, fields map[string]string) {
	f.t.Helper()
	r := f.exec(append([]string{"INFO"}, sections...)...)
	if r.Kind != KindBytes {
		f.t.Fatalf("INFO reply %s", r)
	}
	return parseInfo(f.t, string(r.Bytes))
}

func TestInfo(t *testing.T) {
	si := ServerInfo{
		Version: "0.3.1", RunID: "r1", Started: testEpoch, TCPPort: 7379, NativePort: 7380,
		ConnectedClients: 3, MaxClients: 100, TotalConnections: 9,
		Extra: []InfoField{
			{Section: "persistence", Name: "pykv_fsync", Value: "always"},
			{Section: "replication", Name: "pykv_note", Value: "a\r\nb"},
		},
	}
	f := newFixture(t, Config{Info: func() ServerInfo { return si }})
	f.run([]step{
		{cmd: "SET a 1", want: "OK"},
		{cmd: "SET b 2 EX 100", want: "OK"},
		{cmd: "GET a", want: `"1"`},
		{cmd: "GET nope", want: "(nil)"},
	})
	f.store.advance(90 * time.Second)
	f.store.stats.MergeRead, f.store.stats.MergeWritten, f.store.stats.MergeReclaimed = 100, 119, -19

	titles, fields := f.info()
	if got := strings.Join(titles, ","); got != "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Errorstats,Cluster,Keyspace" {
		t.Errorf("sections %s", got)
	}
	want := map[string]string{
		"redis_version":              "7.0.0",
		"redis_mode":                 "standalone",
		"run_id":                     "r1",
		"tcp_port":                   "7379",
		"uptime_in_seconds":          "90",
		"uptime_in_days":             "0",
		"pykv_version":               "0.3.1",
		"pykv_native_port":           "7380",
		"connected_clients":          "3",
		"maxclients":                 "100",
		"maxmemory_policy":           "noeviction",
		"aof_enabled":                "1",
		"pykv_fsync":                 "always",
		"total_connections_received": "9",
		"total_commands_processed":   "4",
		"keyspace_hits":              "1",
		"keyspace_misses":            "1",
		"expired_keys":               "0",
		"role":                       "master",
		"connected_slaves":           "0",
		"pykv_note":                  "a  b",
		"db0":                        "keys=2,expires=1,avg_ttl=0",
		"pykv_merge_read_bytes":      "100",
		"pykv_merge_written_bytes":   "119",
		"pykv_merge_reclaimed_bytes": "-19",
	}
	for name, v := range want {
		if fields[name] != v {
			t.Errorf("%s = %q, want %q", name, fields[name], v)
		}
	}
	for _, name := range []string{"used_memory", "used_memory_human", "process_id", "server_time_usec", "pykv_go_version"} {
		if fields[name] == "" {
			t.Errorf("%s missing", name)
		}
	}

	// One section, exactly; several; the aliases; an unknown one.
	if r := f.exec("INFO", "keyspace"); string(r.Bytes) != "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n" {
		t.Errorf("INFO keyspace = %q", r.Bytes)
	}
	if titles, _ := f.info("CLIENTS", "server"); strings.Join(titles, ",") != "Server,Clients" {
		t.Errorf("INFO clients server: %v", titles)
	}
	for alias, n := range map[string]int{"all": 13, "everything": 13, "default": 11} {
		if titles, _ := f.info(alias); len(titles) != n {
			t.Errorf("INFO %s: %v", alias, titles)
		}
	}
	if titles, _ := f.info("default", "commandstats"); len(titles) != 12 {
		t.Errorf("INFO default commandstats: %v", titles)
	}
	if _, fields := f.info("cpu"); fields["used_cpu_sys"] == "" || fields["used_cpu_user"] == "" {
		t.Errorf("INFO cpu = %v", fields)
	}
	// Each command that ran has its percentiles, p50 <= p99 <= p99.9, in
	// microseconds with three decimals, as Redis writes them.
	lat := regexp.MustCompile(`^latency_percentiles_usec_([a-z|]+):p50=(\d+\.\d{3}),p99=(\d+\.\d{3}),p99\.9=(\d+\.\d{3})$`)
	latTitles, latFields := f.info("latencystats")
	if len(latTitles) != 1 || latTitles[0] != "Latencystats" {
		t.Errorf("INFO latencystats: sections %v", latTitles)
	}
	for _, cmd := range []string{"get", "set", "info"} {
		v, ok := latFields["latency_percentiles_usec_"+cmd]
		m := lat.FindStringSubmatch("latency_percentiles_usec_" + cmd + ":" + v)
		if !ok || m == nil {
			t.Errorf("INFO latencystats: %s has %q", cmd, v)
			continue
		}
		p50, _ := strconv.ParseFloat(m[2], 64)
		p99, _ := strconv.ParseFloat(m[3], 64)
		p999, _ := strconv.ParseFloat(m[4], 64)
		if p50 <= 0 || p50 > p99 || p99 > p999 {
			t.Errorf("INFO latencystats: %s percentiles out of order: %q", cmd, v)
		}
	}
	if _, ok := latFields["latency_percentiles_usec_del"]; ok {
		t.Errorf("INFO latencystats lists DEL, which never ran")
	}
	// INFO itself was counted: four commands, then nine INFOs.
	if _, fields := f.info("stats"); fields["total_commands_processed"] != "13" {
		t.Errorf("total_commands_processed = %s", fields["total_commands_processed"])
	}
}

func TestInfoFollowerAndDefaults(t *testing.T) {
	f := newFixture(t, Config{Info: func() ServerInfo {
		return ServerInfo{Follower: true, MasterHost: "10.0.0.1", MasterPort: 7379, MasterLinkUp: true}
	}})
	_, fields := f.info("replication")
	for name, v := range map[string]string{
		"role": "slave", "master_host": "10.0.0.1", "master_port": "7379", "master_link_status": "up",
	} {
		if fields[name] != v {
			t.Errorf("%s = %q, want %q", name, fields[name], v)
		}
	}

	// Without a provider, and with an empty keyspace.
	f = newFixture(t, Config{})
	f.store.advance(2 * time.Second)
	r := f.exec("INFO", "keyspace")
	if string(r.Bytes) != "# Keyspace\r\n" {
		t.Errorf("empty keyspace: %q", r.Bytes)
	}
	_, fields = f.info("server")
	if len(fields["run_id"]) != 40 || fields["uptime_in_seconds"] != "2" {
		t.Errorf("defaults: run_id %q uptime %q", fields["run_id"], fields["uptime_in_seconds"])
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0B", 1023: "1023B", 1024: "1.00K", 1536: "1.50K", 1 << 20: "1.00M", 3 << 30: "3.00G",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %s, want %s", n, got, want)
		}
	}
}
