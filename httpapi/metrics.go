package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pykv/pykv/storage"
)

// newRegistry makes the server's own registry (no global state, so that
// two servers in one process, as in tests, do not collide): the engine's
// statistics, the HTTP requests served, and Go's runtime and process
// collectors.
func (s *Server) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pykv_http_requests_total",
		Help: "HTTP requests served, by route, method and status code.",
	}, []string{"handler", "method", "code"})
	reg.MustRegister(s.cfg.Collectors...)
	reg.MustRegister(
		newStatsCollector(s.cfg.DB.Stats, s.cfg.ClientCount),
		s.requests,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// metrics serves the registry in Prometheus's text exposition format (or
// OpenMetrics when a scraper asks for it).
func (s *Server) metrics() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorLog:          promLogger{s},
		EnableOpenMetrics: true,
	})
}

// count counts the requests of one route in pykv_http_requests_total.
func (s *Server) count(path string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(s.requests.MustCurryWith(prometheus.Labels{"handler": path}), h)
}

// promLogger passes promhttp's errors (a collector that failed) to slog.
type promLogger struct{ s *Server }

func (l promLogger) Println(v ...any) { l.s.log.Error("metrics", "err", v) }

// statsMetric is one metric read from storage.Stats.
type statsMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(storage.Stats) float64
}

// statsCollector reads the engine's Stats once per scrape and reports
// them; nothing is kept between scrapes, so the figures are never stale.
type statsCollector struct {
	stats   func() storage.Stats
	clients func() int64
	metrics []statsMetric
	conns   *prometheus.Desc
}

func newStatsCollector(stats func() storage.Stats, clients func() int64) *statsCollector {
	gauge := func(name, help string, v func(storage.Stats) float64) statsMetric {
		return statsMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v}
	}
	counter := func(name, help string, v func(storage.Stats) float64) statsMetric {
		return statsMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, v}
	}
	c := &statsCollector{stats: stats, clients: clients}
	c.metrics = []statsMetric{
		gauge("pykv_keys", "Keys in the keyspace, expired keys not yet removed included.",
			func(s storage.Stats) float64 { return float64(s.Keys) }),
		gauge("pykv_keys_with_ttl", "Keys that have an expiry.",
			func(s storage.Stats) float64 { return float64(s.KeysWithTTL) }),
		gauge("pykv_last_seq", "Sequence number of the newest record in the log.",
			func(s storage.Stats) float64 { return float64(s.LastSeq) }),
		gauge("pykv_disk_bytes", "Bytes of every data file: log segments and snapshots.",
			func(s storage.Stats) float64 { return float64(s.DiskBytes) }),
		gauge("pykv_live_bytes", "Bytes of the records the index points at.",
			func(s storage.Stats) float64 { return float64(s.LiveBytes) }),
		gauge("pykv_dead_bytes", "Bytes of overwritten, deleted or expired records that a merge would reclaim.",
			func(s storage.Stats) float64 { return float64(s.DeadBytes) }),
		gauge("pykv_cache_bytes", "Bytes of values held by the value cache.",
			func(s storage.Stats) float64 { return float64(s.CacheBytes) }),
		gauge("pykv_cache_budget_bytes", "Byte budget of the value cache.",
			func(s storage.Stats) float64 { return float64(s.CacheBudget) }),
		counter("pykv_cache_hits_total", "Reads of a value served from the cache.",
			func(s storage.Stats) float64 { return float64(s.CacheHits) }),
		counter("pykv_cache_misses_total", "Reads of a value that went to disk.",
			func(s storage.Stats) float64 { return float64(s.CacheMisses) }),
		counter("pykv_keyspace_hits_total", "Key lookups that found the key.",
			func(s storage.Stats) float64 { return float64(s.KeyspaceHits) }),
		counter("pykv_keyspace_misses_total", "Key lookups that found no key.",
			func(s storage.Stats) float64 { return float64(s.KeyspaceMisses) }),
		counter("pykv_expired_keys_total", "Keys removed because their time to live passed.",
			func(s storage.Stats) float64 { return float64(s.ExpiredKeys) }),
		counter("pykv_writes_total", "Records appended to the log.",
			func(s storage.Stats) float64 { return float64(s.Writes) }),
		counter("pykv_fsyncs_total", "Fsyncs of the log.",
			func(s storage.Stats) float64 { return float64(s.Fsyncs) }),
		counter("pykv_merges_total", "Merges of the log into a snapshot completed.",
			func(s storage.Stats) float64 { return float64(s.Merges) }),
		counter("pykv_merge_read_bytes_total", "Bytes of data files merges read and removed.",
			func(s storage.Stats) float64 { return float64(s.MergeRead) }),
		counter("pykv_merge_written_bytes_total", "Bytes of snapshot files merges wrote.",
			func(s storage.Stats) float64 { return float64(s.MergeWritten) }),
		counter("pykv_log_bytes_written_total", "Bytes appended to the log: the write rate that sizes the replication backlog.",
			func(s storage.Stats) float64 { return float64(s.LogBytes) }),
		gauge("pykv_repl_backlog_bytes", "Bytes of merged log kept on disk for followers (the replication backlog).",
			func(s storage.Stats) float64 { return float64(s.BacklogBytes) }),
		gauge("pykv_segments", "Log segment files.",
			func(s storage.Stats) float64 { return float64(s.Segments) }),
		gauge("pykv_snapshots", "Snapshot files (two for a moment during a merge).",
			func(s storage.Stats) float64 { return float64(s.Snapshots) }),
	}
	if clients != nil {
		c.conns = prometheus.NewDesc("pykv_connected_clients",
			"Client connections open on the native and RESP listeners.", nil, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
	if c.conns != nil {
		ch <- c.conns
	}
}

// Collect implements prometheus.Collector: one Stats call per scrape.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(st))
	}
	if c.conns != nil {
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(c.clients()))
	}
}
