package daemon

import (
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pykv/pykv/repl"
)

// replCollector reports replication's state on /metrics, read once per
// scrape: the same figures as INFO replication.
type replCollector struct {
	state func() repl.State

	followers, acked, ackAge                       *prometheus.Desc
	fullServed, partialServed, partialRefused      *prometheus.Desc
	following, linkUp, syncing, lagRecords, leader *prometheus.Desc
	fullReceived, partialReceived                  *prometheus.Desc
}

func newReplCollector(state func() repl.State) *replCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &replCollector{
		state:           state,
		followers:       d("pykv_repl_connected_followers", "Followers connected to this leader."),
		acked:           d("pykv_repl_follower_acked_seq", "The last seq a follower acknowledged as logged.", "follower"),
		ackAge:          d("pykv_repl_follower_ack_age_seconds", "Seconds since a follower last acknowledged.", "follower"),
		fullServed:      d("pykv_repl_full_syncs_served_total", "Full syncs this leader served."),
		partialServed:   d("pykv_repl_partial_syncs_served_total", "Partial syncs this leader served."),
		partialRefused:  d("pykv_repl_partial_syncs_refused_total", "Partial syncs asked for that needed a full sync (the log was no longer kept)."),
		following:       d("pykv_repl_following", "1 while this daemon follows a leader."),
		linkUp:          d("pykv_repl_link_up", "1 while a follower's link to its leader is up and synced."),
		syncing:         d("pykv_repl_sync_in_progress", "1 while a follower receives a full sync."),
		lagRecords:      d("pykv_repl_lag_records", "Records the leader had logged, as last heard, that this follower has not applied."),
		leader:          d("pykv_repl_leader_seq", "The leader's last seq, as this follower last heard it."),
		fullReceived:    d("pykv_repl_full_syncs_received_total", "Full syncs this follower received."),
		partialReceived: d("pykv_repl_partial_syncs_received_total", "Partial syncs this follower began."),
	}
}

// Describe implements prometheus.Collector.
func (c *replCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.followers, c.acked, c.ackAge, c.fullServed, c.partialServed, c.partialRefused,
		c.following, c.linkUp, c.syncing, c.lagRecords, c.leader, c.fullReceived, c.partialReceived} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *replCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.state()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.followers, float64(len(st.Followers)))
	for _, f := range st.Followers {
		name := net.JoinHostPort(f.IP, strconv.Itoa(f.Port))
		gauge(c.acked, float64(f.Acked), name)
		gauge(c.ackAge, f.Lag.Seconds(), name)
	}
	counter(c.fullServed, st.Full)
	counter(c.partialServed, st.Partial)
	counter(c.partialRefused, st.Refused)
	fs := st.Follower
	gauge(c.following, float64(boolInt(st.Following)))
	gauge(c.linkUp, float64(boolInt(st.Following && fs.LinkUp && !fs.Syncing)))
	gauge(c.syncing, float64(boolInt(fs.Syncing)))
	gauge(c.lagRecords, float64(fs.LeaderSeq-min(fs.LeaderSeq, fs.AppliedSeq)))
	gauge(c.leader, float64(fs.LeaderSeq))
	counter(c.fullReceived, fs.FullSyncs)
	counter(c.partialReceived, fs.PartialSyncs)
}
