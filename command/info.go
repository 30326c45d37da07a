package command

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/pykv/pykv/storage"
)

// ServerInfo is what the daemon knows and the command table does not: it is
// returned by Config.Info for INFO, HELLO and CONFIG GET. Zero values are
// reported as such (a port of 0 means that listener is off).
type ServerInfo struct {
	// Version is pykv's version (INFO's pykv_version).
	Version string
	// RunID identifies this process; empty lets the Table make one.
	RunID string
	// Started is when the daemon started; zero means when New was called.
	Started time.Time
	// ConfigFile is the path of the configuration file, if any.
	ConfigFile string

	// TCPPort is the RESP listener's port, reported as Redis's tcp_port
	// because Redis tools read it; NativePort and HTTPPort are the others.
	TCPPort, NativePort, HTTPPort int

	// ConnectedClients counts the open connections of every front end;
	// MaxClients is their limit.
	ConnectedClients, MaxClients int
	// TotalConnections counts connections accepted since start;
	// RejectedConnections those refused for MaxClients.
	TotalConnections, RejectedConnections uint64

	// Follower is true on a follower, which INFO calls role:slave and
	// HELLO role "replica", as Redis does.
	Follower bool
	// MasterHost, MasterPort and MasterLinkUp describe a follower's leader.
	MasterHost   string
	MasterPort   int
	MasterLinkUp bool
	// ConnectedSlaves counts a leader's connected followers.
	ConnectedSlaves int

	// Extra lines are appended to the named section (lower case, such as
	// "replication"), for what the daemon's parts want to show: a
	// follower's lag, the fsync policy.
	Extra []InfoField
}

// InfoField is one "name:value" line of an INFO section.
type InfoField struct {
	Section string // the section's lower-case name, such as "replication"
	Name    string // the field's name; pykv's own begin "pykv_"
	Value   string // the value; CR and LF are replaced by spaces
}

// infoSections are INFO's sections in Redis 7.0's order. Those marked
// dflt are INFO's and INFO default's; all of them are INFO all's and
// INFO everything's. A section not listed is empty, as an unknown section
// is in Redis.
var infoSections = []struct {
	name, title string
	dflt        bool
	write       func(t *Table, w *infoWriter, c *infoCtx)
}{
	{"server", "Server", true, (*Table).infoServer},
	{"clients", "Clients", true, (*Table).infoClients},
	{"memory", "Memory", true, (*Table).infoMemory},
	{"persistence", "Persistence", true, (*Table).infoPersistence},
	{"stats", "Stats", true, (*Table).infoStats},
	{"replication", "Replication", true, (*Table).infoReplication},
	{"cpu", "CPU", true, (*Table).infoCPU},
	{"modules", "Modules", true, func(*Table, *infoWriter, *infoCtx) {}},
	{"commandstats", "Commandstats", false, (*Table).infoCommandStats},
	{"errorstats", "Errorstats", true, (*Table).infoErrorStats},
	{"latencystats", "Latencystats", false, (*Table).infoLatencyStats},
	{"cluster", "Cluster", true, func(_ *Table, w *infoWriter, _ *infoCtx) { w.int("cluster_enabled", 0) }},
	{"keyspace", "Keyspace", true, (*Table).infoKeyspace},
}

// INFO [section ...]: Redis's text layout, "# Title\r\n" then "name:value\r\n"
// lines, sections separated by an empty line, in Redis's order whatever
// the order of the arguments. Field names are Redis's where Redis has the
// field, so that tools parse them; pykv's own begin "pykv_".
func (t *Table) infoCmd(s *Session, argv [][]byte) Reply {
	want := make(map[string]bool, len(argv))
	all, dflt := false, len(argv) == 1
	for _, a := range argv[1:] {
		name := strings.ToLower(string(a))
		switch name {
		case "all", "everything":
			all = true
		case "default":
			dflt = true
		default:
			want[name] = true
		}
	}
	c := &infoCtx{si: t.info(), st: t.storeFor(s).Stats(), now: t.store.Now(), base: t.statBaseline()}
	w := &infoWriter{}
	for _, sec := range infoSections {
		if !all && !want[sec.name] && !(dflt && sec.dflt) {
			continue
		}
		w.section(sec.title)
		sec.write(t, w, c)
		for _, f := range c.si.Extra {
			if f.Section == sec.name {
				w.str(f.Name, f.Value)
			}
		}
	}
	return Text(w.b)
}

func (t *Table) infoServer(w *infoWriter, c *infoCtx) {
	started := c.si.Started
	if started.IsZero() {
		started = t.started
	}
	uptime := int64(c.now.Sub(started) / time.Second)
	runID := c.si.RunID
	if runID == "" {
		runID = t.runID
	}
	w.str("redis_version", RedisVersion)
	w.str("redis_mode", "standalone")
	w.str("os", runtime.GOOS+" "+runtime.GOARCH)
	w.int("arch_bits", strconv.IntSize)
	w.int("process_id", int64(os.Getpid()))
	w.str("run_id", runID)
	w.int("tcp_port", int64(c.si.TCPPort))
	w.int("server_time_usec", c.now.UnixMicro())
	w.int("uptime_in_seconds", uptime)
	w.int("uptime_in_days", uptime/(24*3600))
	w.str("config_file", c.si.ConfigFile)
	w.str("pykv_version", c.si.Version)
	w.str("pykv_go_version", runtime.Version())
	w.int("pykv_native_port", int64(c.si.NativePort))
	w.int("pykv_http_port", int64(c.si.HTTPPort))
}

func (t *Table) infoClients(w *infoWriter, c *infoCtx) {
	w.int("connected_clients", int64(c.si.ConnectedClients))
	w.int("blocked_clients", 0)
	w.int("maxclients", int64(c.si.MaxClients))
}

// goMemory are the runtime metrics INFO memory reports: the bytes of live
// heap objects (Redis's used_memory is what the allocator hands out) and
// every byte the runtime has mapped.
var goMemory = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/total:bytes",
}

// goHeap returns the bytes of live heap objects and every byte the Go
// runtime has mapped.
func goHeap() (heap, sys uint64) {
	samples := make([]metrics.Sample, len(goMemory))
	for i, name := range goMemory {
		samples[i].Name = name
	}
	metrics.Read(samples) // unlike ReadMemStats, does not stop the world
	var vals [2]uint64
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			vals[i] = s.Value.Uint64()
		}
	}
	return vals[0], vals[1]
}

func (t *Table) infoMemory(w *infoWriter, c *infoCtx) {
	var vals [2]uint64
	vals[0], vals[1] = goHeap()
	w.uint("used_memory", vals[0])
	w.str("used_memory_human", humanBytes(vals[0]))
	w.int("maxmemory", 0)
	w.str("maxmemory_human", "0B")
	w.str("maxmemory_policy", "noeviction")
	w.uint("pykv_go_sys_bytes", vals[1])
	w.int("pykv_cache_bytes", c.st.CacheBytes)
	w.int("pykv_cache_budget_bytes", c.st.CacheBudget)
}

func (t *Table) infoPersistence(w *infoWriter, c *infoCtx) {
	w.int("loading", 0)
	w.int("aof_enabled", 1)                                          // the log is pykv's append-only file, always on
	w.int("aof_rewrite_in_progress", boolInt(c.st.MergeRunning).Int) // a merge is pykv's rewrite
	w.int("rdb_bgsave_in_progress", boolInt(c.st.MergeRunning).Int)  // and a merge is pykv's save
	w.int("rdb_last_save_time", t.lastSave(c.st))
	w.uint("rdb_saves", c.st.Merges)
	w.str("pykv_dataset_id", c.st.DatasetID)
	w.uint("pykv_last_seq", c.st.LastSeq)
	w.int("pykv_segments", int64(c.st.Segments))
	w.int("pykv_disk_bytes", c.st.DiskBytes)
	w.uint("pykv_writes", c.st.Writes)
	w.uint("pykv_fsyncs", c.st.Fsyncs)
	w.uint("pykv_log_bytes_written", c.st.LogBytes)
	w.int("pykv_recovery_ms", c.st.RecoveryMs)
	w.int("pykv_recovered_records", c.st.RecoveredRecs)
	w.int("pykv_snapshots", int64(c.st.Snapshots))
	w.int("pykv_live_bytes", c.st.LiveBytes)
	w.int("pykv_dead_bytes", c.st.DeadBytes)
	w.uint("pykv_merges", c.st.Merges)
	w.int("pykv_merge_read_bytes", c.st.MergeRead)
	w.int("pykv_merge_written_bytes", c.st.MergeWritten)
	w.int("pykv_merge_reclaimed_bytes", c.st.MergeReclaimed) // negative: the merges grew the files
	w.int("pykv_last_merge_ms", c.st.LastMergeMs)
}

// infoStats reports the counters from the start or the last CONFIG
// RESETSTAT.
func (t *Table) infoStats(w *infoWriter, c *infoCtx) {
	b := c.base
	w.uint("total_connections_received", since(c.si.TotalConnections, b.connections))
	w.uint("total_commands_processed", t.cmds.total())
	w.uint("rejected_connections", since(c.si.RejectedConnections, b.rejectedConns))
	w.uint("expired_keys", since(c.st.ExpiredKeys, b.expired))
	w.int("evicted_keys", 0)
	w.int("evicted_clients", 0)
	w.uint("keyspace_hits", since(c.st.KeyspaceHits, b.hits))
	w.uint("keyspace_misses", since(c.st.KeyspaceMisses, b.misses))
	w.int("pubsub_channels", 0)
	w.int("pubsub_patterns", 0)
	w.int("unexpected_error_replies", 0)
	w.uint("total_error_replies", t.errs.total.Load())
	w.uint("pykv_cache_hits", since(c.st.CacheHits, b.cHits))
	w.uint("pykv_cache_misses", since(c.st.CacheMisses, b.cMiss))
}

func (t *Table) infoReplication(w *infoWriter, c *infoCtx) {
	if c.si.Follower {
		w.str("role", "slave")
		w.str("master_host", c.si.MasterHost)
		w.int("master_port", int64(c.si.MasterPort))
		link := "down"
		if c.si.MasterLinkUp {
			link = "up"
		}
		w.str("master_link_status", link)
		w.uint("slave_repl_offset", c.st.LastSeq)
		w.int("slave_read_only", 1)
	} else {
		w.str("role", "master")
	}
	w.int("connected_slaves", int64(c.si.ConnectedSlaves))
	w.str("master_replid", c.st.DatasetID)
	w.uint("master_repl_offset", c.st.LastSeq)
	w.int("pykv_repl_backlog_segments", int64(c.st.BacklogSegs))
	w.int("pykv_repl_backlog_bytes", c.st.BacklogBytes)
}

// infoKeyspace reports db0 only when it has keys, as Redis leaves out empty
// databases. avg_ttl is the engine's estimate (storage.Stats.AvgTTLMs), in
// milliseconds as Redis's.
func (t *Table) infoKeyspace(w *infoWriter, c *infoCtx) {
	if c.st.Keys == 0 {
		return
	}
	w.str("db0", "keys="+strconv.FormatInt(c.st.Keys, 10)+
		",expires="+strconv.FormatInt(c.st.KeysWithTTL, 10)+",avg_ttl="+strconv.FormatInt(c.st.AvgTTLMs, 10))
}

// infoCtx is what INFO's sections report from, read once per INFO.
type infoCtx struct {
	si   ServerInfo
	st   storage.Stats
	now  time.Time
	base statBase
}

// infoWriter appends INFO's text.
type infoWriter struct {
	b        []byte
	sections int
}

func (w *infoWriter) section(title string) {
	if w.sections > 0 {
		w.b = append(w.b, "\r\n"...)
	}
	w.sections++
	w.b = append(w.b, "# "...)
	w.b = append(w.b, title...)
	w.b = append(w.b, "\r\n"...)
}

// str appends a line; CR and LF in a value would end the line early and
// are replaced, so that a parser never sees half a field.
func (w *infoWriter) str(name, value string) {
	w.b = append(w.b, name...)
	w.b = append(w.b, ':')
	w.b = append(w.b, oneLine(value)...)
	w.b = append(w.b, "\r\n"...)
}

func (w *infoWriter) int(name string, v int64) {
	w.b = append(w.b, name...)
	w.b = append(w.b, ':')
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, "\r\n"...)
}

func (w *infoWriter) uint(name string, v uint64) {
	w.b = append(w.b, name...)
	w.b = append(w.b, ':')
	w.b = strconv.AppendUint(w.b, v, 10)
	w.b = append(w.b, "\r\n"...)
}

// humanBytes formats n as Redis's bytesToHuman: "512B", "1.50K", "2.00M".
func humanBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + "B"
	}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + units[i:i+1]
}
