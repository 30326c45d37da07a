package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/reply"
)

// The modes that watch or walk a server rather than run a command, in
// redis-cli's manner and output shapes: --scan, --bigkeys, --stat,
// --latency and --latency-history. -r bounds them (lines, or samples for
// --latency) and -i paces them; Ctrl-C ends them, --bigkeys with its
// summary of what it saw.

// Defaults of the modes, redis-cli's.
const (
	// statInterval is --stat's interval without -i.
	statInterval = time.Second
	// latencyInterval is how long --latency samples without a terminal
	// (and without -r) before it prints its line.
	latencyInterval = time.Second
	// latencyHistoryInterval is --latency-history's interval without -i.
	latencyHistoryInterval = 15 * time.Second
	// latencySampleRate is the pause between two PINGs of --latency.
	latencySampleRate = 10 * time.Millisecond
	// statHeaderEvery is how many lines of --stat come between two
	// headers.
	statHeaderEvery = 20
	// bigkeysPauseEvery is how many SCANs of --bigkeys come between two
	// pauses of -i.
	bigkeysPauseEvery = 100
)

// isLoopMode reports whether mode is one of this file's.
func isLoopMode(mode string) bool {
	switch mode {
	case "--scan", "--bigkeys", "--stat", "--latency", "--latency-history":
		return true
	}
	return false
}

// monitor runs one of the modes.
type monitor struct {
	c      *client.Client
	addr   string
	out    io.Writer
	errOut io.Writer
	tty    bool // standard output is a terminal: live lines
	raw    bool // --raw, or standard output is not a terminal
	json   bool // --json
	// repeat and repeatSet are -r and whether it was given; interval is
	// -i in seconds, 0 for the mode's default.
	repeat    int
	repeatSet bool
	interval  float64
	pattern   string // --pattern, "" for every key
	count     int    // --count, 0 for the server's default
	now       func() time.Time
}

// run runs mode and returns the exit code.
func (m *monitor) run(ctx context.Context, mode string) int {
	switch mode {
	case "--scan":
		return m.scanKeys(ctx)
	case "--bigkeys":
		return m.bigKeys(ctx)
	case "--stat":
		return m.statLines(ctx)
	case "--latency":
		return m.latencyMode(ctx, false)
	default:
		return m.latencyMode(ctx, true)
	}
}

// every returns -i as a duration, or def when -i is 0.
func (m *monitor) every(def time.Duration) time.Duration {
	if m.interval == 0 {
		return def
	}
	return time.Duration(m.interval * float64(time.Second))
}

// bounded reports whether -r limits the mode, and to how many.
func (m *monitor) bounded() (int, bool) {
	return m.repeat, m.repeatSet && m.repeat >= 0
}

// fail prints why a command got no reply, or its error reply, and returns
// exit code 1.
func (m *monitor) fail(what string, err error) int {
	fmt.Fprintf(m.errOut, "pykv-cli: %s: %s\n", what, describe(err, m.addr))
	return 1
}

// scanKeys is --scan: every key SCAN returns, one per line, quoted in the
// standard form, bare in the raw one, a JSON string with --json; -i
// pauses between two SCANs. A key written during the walk may be listed
// twice or not at all, as SCAN promises.
func (m *monitor) scanKeys(ctx context.Context) int {
	pause := m.every(0)
	var cursor uint64
	var b strings.Builder
	for {
		page, err := m.c.Scan(ctx, cursor, m.pattern, int64(m.count)).Result()
		if ctx.Err() != nil {
			return 0
		}
		if err != nil {
			return m.fail("SCAN", err)
		}
		b.Reset()
		for _, k := range page.Keys {
			switch {
			case m.json:
				writeJSONBytes(&b, []byte(k))
			case m.raw:
				b.WriteString(k)
			default:
				writeQuoted(&b, []byte(k))
			}
			b.WriteByte('\n')
		}
		io.WriteString(m.out, b.String())
		if cursor = page.Cursor; cursor == 0 {
			return 0
		}
		if pause > 0 && !sleep(ctx, pause) {
			return 0
		}
	}
}

// bigStats is what --bigkeys found.
type bigStats struct {
	sampled, keyBytes, valueBytes int64
	biggest                       int64  // the size of the biggest value, 0 for none yet
	biggestKey                    string // its key, quoted as redis-cli quotes it
}

// bigKeys is --bigkeys: redis-cli's walk of the keyspace with SCAN,
// sizing every string with STRLEN (in one pipeline per SCAN, with TYPE so
// that a key deleted meanwhile is skipped), printing each new biggest
// value as it is found and a summary at the end. pykv has strings only,
// so the summary has only the strings' line. Ctrl-C stops the walk and
// prints the summary of the keys seen.
func (m *monitor) bigKeys(ctx context.Context) int {
	total, err := m.c.DBSize(ctx).Result()
	if err != nil {
		return m.fail("DBSIZE", err)
	}
	io.WriteString(m.out, "\n# Scanning the entire keyspace to find biggest keys as well as\n"+
		"# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n"+
		"# per 100 SCAN commands (not usually needed).\n\n")
	pause := m.every(0)
	var st bigStats
	var cursor uint64
	var pct float64
	scans := 0
	interrupted := false
	for {
		pct = 0
		if total > 0 {
			pct = 100 * float64(st.sampled) / float64(total)
		}
		page, err := m.c.Scan(ctx, cursor, m.pattern, int64(m.count)).Result()
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if err != nil {
			return m.fail("SCAN", err)
		}
		scans++
		if err := m.sizeKeys(ctx, page.Keys, pct, &st); err != nil {
			if ctx.Err() != nil {
				interrupted = true
				break
			}
			return m.fail("TYPE and STRLEN", err)
		}
		if cursor = page.Cursor; cursor == 0 {
			break
		}
		if pause > 0 && scans%bigkeysPauseEvery == 0 && !sleep(ctx, pause) {
			interrupted = true
			break
		}
	}
	var b strings.Builder
	b.WriteString("\n-------- summary -------\n\n")
	if interrupted {
		fmt.Fprintf(&b, "[%05.2f%%] ", pct)
	}
	fmt.Fprintf(&b, "Sampled %d keys in the keyspace!\n", st.sampled)
	fmt.Fprintf(&b, "Total key length in bytes is %d (avg len %.2f)\n\n", st.keyBytes, ratio(st.keyBytes, st.sampled))
	if st.biggestKey != "" {
		fmt.Fprintf(&b, "Biggest string found '%s' has %d bytes\n", st.biggestKey, st.biggest)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%d strings with %d bytes (%05.2f%% of keys, avg size %.2f)\n",
		st.sampled, st.valueBytes, 100*ratio(st.sampled, st.sampled), ratio(st.valueBytes, st.sampled))
	io.WriteString(m.out, b.String())
	return 0
}

// ratio is a/b, 0 when b is.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// sizeKeys sends TYPE and STRLEN for keys in one pipeline and adds what
// they say to st, printing each new biggest value.
func (m *monitor) sizeKeys(ctx context.Context, keys []string, pct float64, st *bigStats) error {
	if len(keys) == 0 {
		return nil
	}
	p := m.c.Pipeline()
	types := make([]*client.Result[reply.Reply], len(keys))
	lens := make([]*client.Result[reply.Reply], len(keys))
	for i, k := range keys {
		types[i] = p.Do(ctx, "TYPE", k)
		lens[i] = p.Do(ctx, "STRLEN", k)
	}
	if err := p.Exec(ctx); err != nil {
		return err
	}
	var b strings.Builder
	for i, k := range keys {
		if t := types[i].Val(); t.Kind != reply.KindStatus || string(t.Bytes) != "string" {
			continue // gone since SCAN listed it
		}
		n := lens[i].Val().Int
		st.sampled++
		st.keyBytes += int64(len(k))
		st.valueBytes += n
		if n > st.biggest {
			var q strings.Builder
			writeQuoted(&q, []byte(k))
			st.biggest, st.biggestKey = n, q.String()
			fmt.Fprintf(&b, "[%05.2f%%] Biggest string found so far '%s' with %d bytes\n", pct, st.biggestKey, n)
		}
	}
	io.WriteString(m.out, b.String())
	return nil
}

// statFields are what a line of --stat shows, read from one INFO.
type statFields struct {
	keys, usedMemory, clients, blocked int64
	requests, connections              int64
	hits, misses                       int64
	merging                            bool
}

// parseStat reads INFO's text into the fields of --stat: keys is the sum
// of every dbN's keys=, so that it also reads a Redis INFO.
func parseStat(info string) statFields {
	var f statFields
	for _, line := range strings.Split(info, "\n") {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(value, 10, 64)
		switch name {
		case "used_memory":
			f.usedMemory = n
		case "connected_clients":
			f.clients = n
		case "blocked_clients":
			f.blocked = n
		case "total_commands_processed":
			f.requests = n
		case "total_connections_received":
			f.connections = n
		case "keyspace_hits":
			f.hits = n
		case "keyspace_misses":
			f.misses = n
		case "aof_rewrite_in_progress":
			f.merging = n != 0
		default:
			if strings.HasPrefix(name, "db") {
				for _, kv := range strings.Split(value, ",") {
					if v, ok := strings.CutPrefix(kv, "keys="); ok {
						k, _ := strconv.ParseInt(v, 10, 64)
						f.keys += k
					}
				}
			}
		}
	}
	return f
}

// The header of --stat: redis-cli's columns, then the lookups that hit
// and missed a key (INFO's keyspace_hits and keyspace_misses) and
// "merge" while pykv merges (where redis-cli shows a child process).
const statHeader = "------- data ------ --------------------- load -------------------- ------- lookups ------ - merge -\n" +
	"keys       mem      clients blocked requests            connections hits       misses     \n"

// formatStat renders a line of --stat; prev is the requests of the line
// before, -1 for the first line, whose delta is 0 as in redis-cli.
func formatStat(f statFields, prev int64) string {
	delta := int64(0)
	if prev >= 0 {
		delta = f.requests - prev
	}
	line := fmt.Sprintf("%-11d%-8s %-8d%-8d%-19s %-12d%-11d%-11d",
		f.keys, humanBytes(f.usedMemory), f.clients, f.blocked,
		fmt.Sprintf("%d (+%d)", f.requests, delta), f.connections, f.hits, f.misses)
	if f.merging {
		line += "merge"
	}
	return line + "\n"
}

// formatStatJSON renders a line of --stat --json.
func formatStatJSON(f statFields, prev int64) string {
	delta := int64(0)
	if prev >= 0 {
		delta = f.requests - prev
	}
	return fmt.Sprintf(`{"keys":%d,"used_memory":%d,"clients":%d,"blocked_clients":%d,"requests":%d,"requests_delta":%d,`+
		`"connections":%d,"keyspace_hits":%d,"keyspace_misses":%d,"merging":%t}`+"\n",
		f.keys, f.usedMemory, f.clients, f.blocked, f.requests, delta, f.connections, f.hits, f.misses, f.merging)
}

// humanBytes is redis-cli's bytesToHuman: "512B", "1.50K", "2.00M".
func humanBytes(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	if n < 1024 {
		return sign + strconv.FormatInt(n, 10) + "B"
	}
	const units = "KMGTPE"
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return sign + strconv.FormatFloat(f, 'f', 2, 64) + units[i:i+1]
}

// statLines is --stat: a line of INFO's figures every -i seconds (1 by
// default), the header every 20 lines as in redis-cli, -r lines at most.
// The requests column is total_commands_processed and, in brackets, how
// many more than on the line before: the requests per second at the
// default interval. A failed INFO is reported on standard error and the
// next interval tries again; the exit code is then 1.
func (m *monitor) statLines(ctx context.Context) int {
	limit, bounded := m.bounded()
	pause := m.every(statInterval)
	prev := int64(-1)
	code := 0
	for i := 0; !bounded || i < limit; i++ {
		if i > 0 && !sleep(ctx, pause) {
			break
		}
		info, err := m.c.Info(ctx).Result()
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			fmt.Fprintf(m.errOut, "pykv-cli: INFO: %s\n", describe(err, m.addr))
			code = 1
			continue
		}
		f := parseStat(info)
		switch {
		case m.json:
			io.WriteString(m.out, formatStatJSON(f, prev))
		default:
			if i%statHeaderEvery == 0 {
				io.WriteString(m.out, statHeader)
			}
			io.WriteString(m.out, formatStat(f, prev))
		}
		prev = f.requests
	}
	return code
}

// latencyStats are the round trips of PING over a span, in microseconds.
type latencyStats struct {
	min, max, total time.Duration
	count           int64
}

func (l *latencyStats) add(d time.Duration) {
	if l.count == 0 || d < l.min {
		l.min = d
	}
	if d > l.max {
		l.max = d
	}
	l.total += d
	l.count++
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (l *latencyStats) avg() time.Duration {
	if l.count == 0 {
		return 0
	}
	return l.total / time.Duration(l.count)
}

// format renders l as redis-cli does in each output form, in
// milliseconds: redis-cli measures whole milliseconds, pykv-cli
// microseconds, so min and max have two decimals like the average.
func (m *monitor) format(l *latencyStats) string {
	switch {
	case m.json:
		return fmt.Sprintf(`{"min": %.2f, "max": %.2f, "avg": %.2f, "count": %d}`, ms(l.min), ms(l.max), ms(l.avg()), l.count)
	case m.raw:
		return fmt.Sprintf("%.2f %.2f %.2f %d", ms(l.min), ms(l.max), ms(l.avg()), l.count)
	}
	return fmt.Sprintf("min: %.2f, max: %.2f, avg: %.2f (%d samples)", ms(l.min), ms(l.max), ms(l.avg()), l.count)
}

// latencyMode is --latency and, with history, --latency-history: a PING
// every 10 ms, its round trip measured.
//
// --latency on a terminal (and neither --raw nor --json) shows a live line
// of min, max and average until Ctrl-C or -r samples; otherwise it
// samples for -i seconds (1 by default), or -r samples when -r is given,
// and prints one line, as redis-cli does when its output is not a
// terminal.
//
// --latency-history prints a line per interval of -i seconds (15 by
// default), each about that interval only, ending in " -- 15.00 seconds
// range" in the standard form; on a terminal the line is live until the
// interval ends. -r bounds the number of lines.
func (m *monitor) latencyMode(ctx context.Context, history bool) int {
	live := m.tty && !m.raw && !m.json
	limit, bounded := m.bounded()
	span := m.every(latencyInterval)
	if history {
		span = m.every(latencyHistoryInterval)
	}
	// A first PING, not measured, dials the connection and its handshake,
	// as redis-cli connects before it measures.
	if _, err := m.c.Ping(ctx).Result(); err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return m.fail("PING", err)
	}
	var l latencyStats
	start := m.now()
	lines := 0
	emit := func(final bool) {
		text := m.format(&l)
		if history && !m.raw && !m.json {
			text += fmt.Sprintf(" -- %.2f seconds range", m.now().Sub(start).Seconds())
		}
		if live {
			text = "\x1b[0G\x1b[2K" + text
			if !final {
				io.WriteString(m.out, text)
				return
			}
		}
		io.WriteString(m.out, text+"\n")
	}
	for {
		t0 := time.Now()
		_, err := m.c.Ping(ctx).Result()
		d := time.Since(t0)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if live {
				io.WriteString(m.out, "\n")
			}
			return m.fail("PING", err)
		}
		l.add(d)
		switch {
		case history:
			if m.now().Sub(start) >= span {
				emit(true)
				lines++
				if bounded && lines >= limit {
					return 0
				}
				l, start = latencyStats{}, m.now()
			} else if live {
				emit(false)
			}
		case bounded && l.count >= int64(limit):
			emit(true)
			return 0
		case live:
			emit(false)
		case !bounded && m.now().Sub(start) >= span:
			emit(true)
			return 0
		}
		if !sleep(ctx, latencySampleRate) {
			break
		}
	}
	// Interrupted: finish the live line.
	if live {
		io.WriteString(m.out, "\n")
	}
	return 0
}
