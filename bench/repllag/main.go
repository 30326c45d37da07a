// Command repllag measures how far pykv followers trail their leader, for
// bench/replication.sh. It polls ROLE over the native protocol, on the
// leader (its last logged seq) and on each follower (its last applied
// seq), each server from its own goroutine every --interval, for
// --duration, while a load runs against the leader. Then it goes on
// polling the followers, up to --drain, until they have applied the last
// seq it saw on the leader, and prints one line (or one JSON object with
// --json) with, pooled over the followers:
//
//   - lag in records: at each follower poll, the leader's seq at that
//     instant (interpolated between the leader's polls) minus the
//     follower's applied seq;
//   - lag in ms: for each leader poll, the time until the follower's
//     first poll that had applied that seq (so its resolution is the
//     interval);
//
// as p50, p99 and max. Only polls inside the span in which the leader's
// seq moved count, so that the idle time before and after the load adds
// no zeros.
//
// With --sync it measures a full sync instead: it polls the one follower
// until ROLE says "connected" with an applied seq at or past the leader's
// (the leader takes no writes meanwhile), and prints the time since
// --since (the unix ns at which the script started the follower) and the
// follower's INFO counters of full syncs received.
//
// It always stops by itself: --duration plus --drain in the first mode,
// --duration in the second. Exit codes: 0 measured, 1 a server could not
// be polled or the followers did not catch up in time, 2 a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/reply"
)

// maxDuration bounds --duration and --drain: the tool must stop by itself.
const maxDuration = time.Hour

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is one invocation.
type config struct {
	leader    string
	followers []string
	password  string
	duration  time.Duration
	drain     time.Duration
	interval  time.Duration
	sync      bool
	since     int64
	json      bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fl := flag.NewFlagSet("repllag", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.leader, "leader", "127.0.0.1:7380", "the leader's native address")
	followers := fl.String("followers", "", "the followers' native addresses, comma-separated")
	fl.StringVar(&c.password, "a", "", "password for AUTH, on every server")
	fl.DurationVar(&c.duration, "duration", 5*time.Second, "how long to poll (with --sync: how long to wait at most)")
	fl.DurationVar(&c.drain, "drain", 30*time.Second, "after --duration, how long the followers may take to catch up")
	fl.DurationVar(&c.interval, "interval", 5*time.Millisecond, "time between two polls of a server")
	fl.BoolVar(&c.sync, "sync", false, "wait for the one follower's full sync instead, and print its time")
	fl.Int64Var(&c.since, "since", 0, "with --sync: measure from this unix time in ns (the follower's start), not from now")
	fl.BoolVar(&c.json, "json", false, "print one JSON object")
	if err := fl.Parse(args); err != nil {
		return c, err
	}
	for a := range strings.SplitSeq(*followers, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.followers = append(c.followers, a)
		}
	}
	switch {
	case fl.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fl.Arg(0))
	case len(c.followers) == 0:
		return c, errors.New("--followers: name at least one follower")
	case c.sync && len(c.followers) != 1:
		return c, fmt.Errorf("--sync: name one follower, not %d", len(c.followers))
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("--duration %v: want more than 0 and at most %v", c.duration, maxDuration)
	case c.drain < 0 || c.drain > maxDuration:
		return c, fmt.Errorf("--drain %v: want 0 to %v", c.drain, maxDuration)
	case c.interval <= 0 || c.interval > time.Second:
		return c, fmt.Errorf("--interval %v: want more than 0 and at most 1s", c.interval)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "repllag: %v\n", err)
		return 2
	}
	if c.sync {
		err = measureSync(c, stdout)
	} else {
		err = measureLag(c, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "repllag: %v\n", err)
		return 1
	}
	return 0
}

// role is what ROLE says of a server.
type role struct {
	follower  bool
	connected bool // a follower's link is up and not in a full sync
	seq       uint64
}

// parseRole reads ROLE's reply: ["master", seq, [...]] or ["slave", host,
// port, state, seq].
func parseRole(r reply.Reply) (role, error) {
	bad := fmt.Errorf("unexpected ROLE reply %v", r)
	if r.Kind != reply.KindArray || len(r.Array) < 3 {
		return role{}, bad
	}
	switch string(r.Array[0].Bytes) {
	case "master":
		if r.Array[1].Kind != reply.KindInt {
			return role{}, bad
		}
		return role{seq: uint64(r.Array[1].Int)}, nil
	case "slave":
		if len(r.Array) != 5 || r.Array[4].Kind != reply.KindInt {
			return role{}, bad
		}
		return role{follower: true, connected: string(r.Array[3].Bytes) == "connected", seq: uint64(r.Array[4].Int)}, nil
	}
	return role{}, bad
}

// server is one polled server.
type server struct {
	addr string
	c    *client.Client
}

func dial(addr, password string) (*server, error) {
	c, err := client.New(client.Options{Addr: addr, Password: password, PoolSize: 1})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return &server{addr: addr, c: c}, nil
}

// poll runs ROLE once and returns its seq with the middle of the round trip.
func (s *server) poll(ctx context.Context) (role, time.Time, error) {
	t0 := time.Now()
	r, err := s.c.Do(ctx, "ROLE").Result()
	t1 := time.Now()
	if err != nil {
		return role{}, t1, fmt.Errorf("ROLE on %s: %w", s.addr, err)
	}
	ro, err := parseRole(r)
	if err != nil {
		return role{}, t1, fmt.Errorf("%s: %w", s.addr, err)
	}
	return ro, t0.Add(t1.Sub(t0) / 2), nil
}

// pollUntil polls s every interval until the deadline, or, when stop is
// set, until a poll satisfies it; it returns the samples.
func (s *server) pollUntil(ctx context.Context, interval time.Duration, deadline time.Time, stop func(role) bool) ([]Sample, error) {
	var out []Sample
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		ro, at, err := s.poll(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, Sample{At: at, Seq: ro.seq})
		if stop != nil && stop(ro) {
			return out, nil
		}
		<-tick.C
	}
	return out, nil
}

// measureLag polls every server for c.duration, then the followers until
// they have the leader's last seq, and prints the figures.
func measureLag(c config, stdout io.Writer) error {
	ctx := context.Background()
	addrs := append([]string{c.leader}, c.followers...)
	servers := make([]*server, len(addrs))
	for i, a := range addrs {
		s, err := dial(a, c.password)
		if err != nil {
			return err
		}
		defer s.c.Close()
		servers[i] = s
	}
	end := time.Now().Add(c.duration)
	samples := make([][]Sample, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { samples[i], errs[i] = s.pollUntil(ctx, c.interval, end, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	leader := samples[0]
	if len(leader) == 0 {
		return fmt.Errorf("no poll of the leader %s in %v", c.leader, c.duration)
	}
	last := leader[len(leader)-1].Seq
	drainEnd := time.Now().Add(c.drain)
	for i, s := range servers[1:] {
		more, err := s.pollUntil(ctx, c.interval, drainEnd, func(r role) bool { return r.seq >= last })
		if err != nil {
			return err
		}
		samples[i+1] = append(samples[i+1], more...)
		if n := len(samples[i+1]); n == 0 || samples[i+1][n-1].Seq < last {
			return fmt.Errorf("follower %s had not applied seq %d %v after the polls ended", s.addr, last, c.drain)
		}
	}
	return report(stdout, c.json, len(c.followers), len(leader), Compute(leader, samples[1:]))
}

// lagReport is measureLag's output.
type lagReport struct {
	Followers     int     `json:"followers"`
	LeaderPolls   int     `json:"leader_polls"`
	RecordsP50    float64 `json:"lag_records_p50"`
	RecordsP99    float64 `json:"lag_records_p99"`
	RecordsMax    float64 `json:"lag_records_max"`
	MillisP50     float64 `json:"lag_ms_p50"`
	MillisP99     float64 `json:"lag_ms_p99"`
	MillisMax     float64 `json:"lag_ms_max"`
	RecordSamples int     `json:"record_samples"`
	MillisSamples int     `json:"ms_samples"`
	Unreached     int     `json:"unreached"`
}

func report(w io.Writer, asJSON bool, followers, leaderPolls int, l Lags) error {
	r := lagReport{
		Followers: followers, LeaderPolls: leaderPolls,
		RecordsP50: Percentile(l.Records, 50), RecordsP99: Percentile(l.Records, 99), RecordsMax: Percentile(l.Records, 100),
		MillisP50: Percentile(l.Millis, 50), MillisP99: Percentile(l.Millis, 99), MillisMax: Percentile(l.Millis, 100),
		RecordSamples: len(l.Records), MillisSamples: len(l.Millis), Unreached: l.Unreached,
	}
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "lag records p50 %.0f p99 %.0f max %.0f; lag ms p50 %.1f p99 %.1f max %.1f (%d followers, %d leader polls, %d follower polls)\n",
		r.RecordsP50, r.RecordsP99, r.RecordsMax, r.MillisP50, r.MillisP99, r.MillisMax, followers, leaderPolls, r.RecordSamples)
	return err
}

// syncReport is measureSync's output.
type syncReport struct {
	SyncMs    float64 `json:"sync_ms"`
	Seq       uint64  `json:"seq"`
	FullSyncs uint64  `json:"full_syncs_received"`
}

// measureSync waits for the follower to be connected with the leader's
// seq, and prints the time since c.since.
func measureSync(c config, stdout io.Writer) error {
	ctx := context.Background()
	from := time.Now()
	if c.since != 0 {
		from = time.Unix(0, c.since)
	}
	deadline := time.Now().Add(c.duration)
	leader, err := dial(c.leader, c.password)
	if err != nil {
		return err
	}
	defer leader.c.Close()
	lr, _, err := leader.poll(ctx)
	if err != nil {
		return err
	}
	f, err := dial(c.followers[0], c.password)
	if err != nil {
		return err
	}
	defer f.c.Close()
	var done time.Time
	for {
		if !time.Now().Before(deadline) {
			return fmt.Errorf("follower %s not in sync with seq %d after %v", f.addr, lr.seq, c.duration)
		}
		next := time.Now().Add(c.interval)
		// A follower still starting refuses the connection: poll again.
		if fr, _, err := f.poll(ctx); err == nil && fr.follower && fr.connected && fr.seq >= lr.seq {
			done = time.Now()
			break
		}
		time.Sleep(time.Until(next))
	}
	r := syncReport{SyncMs: float64(done.Sub(from)) / float64(time.Millisecond), Seq: lr.seq}
	info, err := f.c.Info(ctx, "replication").Result()
	if err != nil {
		return fmt.Errorf("INFO on %s: %w", f.addr, err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "pykv_full_syncs_received:"); ok {
			r.FullSyncs, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	if c.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	_, err = fmt.Fprintf(stdout, "in sync with seq %d after %.0f ms (%d full syncs received)\n", r.Seq, r.SyncMs, r.FullSyncs)
	return err
}
