package httpapi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pykv/pykv/storage"
)

// scrape fetches /metrics and parses the text exposition.
func scrape(t *testing.T, e *env) map[string]*dto.MetricFamily {
	t.Helper()
	status, h, body := e.do("GET", "/metrics", "", nil)
	if status != 200 {
		t.Fatalf("metrics: %d %s", status, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("metrics Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, body)
	}
	return fams
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	m := f.GetMetric()[0]
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s is a %v", name, f.GetType())
	return 0
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		e.putJSON(map[string]any{"key": fmt.Sprint("k", i), "value": "v"})
	}
	e.do("PUT", "/v1/keys/ttl?ttl_ms=60000", "", strings.NewReader("v"))
	e.do("DELETE", "/delete/k9", "", nil)
	e.do("GET", "/get/k0", "", nil)
	e.do("GET", "/get/k1", "", nil)
	e.do("GET", "/get/missing", "", nil)

	fams := scrape(t, e)
	st := e.db.Stats() // nothing was written since the scrape
	want := []struct {
		name string
		kind dto.MetricType
		v    float64
	}{
		{"pykv_keys", dto.MetricType_GAUGE, 10},
		{"pykv_keys_with_ttl", dto.MetricType_GAUGE, 1},
		{"pykv_last_seq", dto.MetricType_GAUGE, 12},
		{"pykv_writes_total", dto.MetricType_COUNTER, 12},
		{"pykv_keyspace_hits_total", dto.MetricType_COUNTER, float64(st.KeyspaceHits)},
		{"pykv_keyspace_misses_total", dto.MetricType_COUNTER, float64(st.KeyspaceMisses)},
		{"pykv_cache_hits_total", dto.MetricType_COUNTER, float64(st.CacheHits)},
		{"pykv_cache_misses_total", dto.MetricType_COUNTER, float64(st.CacheMisses)},
		{"pykv_expired_keys_total", dto.MetricType_COUNTER, 0},
		{"pykv_fsyncs_total", dto.MetricType_COUNTER, float64(st.Fsyncs)},
		{"pykv_merges_total", dto.MetricType_COUNTER, 0},
		{"pykv_merge_read_bytes_total", dto.MetricType_COUNTER, 0},
		{"pykv_merge_written_bytes_total", dto.MetricType_COUNTER, 0},
		{"pykv_disk_bytes", dto.MetricType_GAUGE, float64(st.DiskBytes)},
		{"pykv_live_bytes", dto.MetricType_GAUGE, float64(st.LiveBytes)},
		{"pykv_dead_bytes", dto.MetricType_GAUGE, float64(st.DeadBytes)},
		{"pykv_cache_bytes", dto.MetricType_GAUGE, float64(st.CacheBytes)},
		{"pykv_cache_budget_bytes", dto.MetricType_GAUGE, storage.DefaultCacheBytes},
		{"pykv_segments", dto.MetricType_GAUGE, 1},
		{"pykv_snapshots", dto.MetricType_GAUGE, 0},
		{"pykv_connected_clients", dto.MetricType_GAUGE, 7},
	}
	for _, w := range want {
		f, ok := fams[w.name]
		if !ok {
			t.Errorf("no metric %s", w.name)
			continue
		}
		if f.GetType() != w.kind {
			t.Errorf("%s is a %v, want %v", w.name, f.GetType(), w.kind)
		}
		if f.GetHelp() == "" || !strings.HasSuffix(f.GetHelp(), ".") {
			t.Errorf("%s: HELP %q is not a sentence", w.name, f.GetHelp())
		}
		if got := value(t, fams, w.name); got != w.v {
			t.Errorf("%s = %v, want %v", w.name, got, w.v)
		}
	}
	if st.KeyspaceHits < 2 || st.KeyspaceMisses < 1 || st.Fsyncs == 0 || st.DiskBytes == 0 || st.LiveBytes == 0 {
		t.Errorf("implausible stats after the writes: %+v", st)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "pykv_http_requests_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no metric %s", name)
		}
	}
	var puts float64
	for _, m := range fams["pykv_http_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["handler"] == "/put" && labels["code"] == "200" {
			puts = m.GetCounter().GetValue()
		}
	}
	if puts != 10 {
		t.Errorf("pykv_http_requests_total{handler=\"/put\",code=\"200\"} = %v, want 10", puts)
	}

	// The figures are read at scrape time.
	e.putJSON(map[string]any{"key": "one-more", "value": "v"})
	if got := value(t, scrape(t, e), "pykv_keys"); got != 11 {
		t.Errorf("pykv_keys after one more write = %v, want 11", got)
	}
}
