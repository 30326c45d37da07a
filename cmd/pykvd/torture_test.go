package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto/resp"
	"github.com/pykv/pykv/segment"
)

// TestTortureCrashLoop is the crash loop of `make torture`: a real pykvd
// under write load from several writers, half of them on the native
// protocol and half on RESP, each keeping a ledger of every write the
// daemon acknowledged (torture_ledger_test.go), while another client asks
// for a merge (BGREWRITEAOF) every few milliseconds and the segments are
// small enough to rotate every few dozen writes. Each cycle kills the
// daemon with SIGKILL at a random instant (after a random number of
// acknowledged writes, plus a random delay), runs pykv-check on the
// stopped directory, restarts the daemon and reads every key back through
// the native protocol: each holds its last acknowledged write, or the
// write in flight at the kill (all of its keys or none), with its expiry;
// no key that was never written exists. Then the next cycle writes on.
//
// A process crash loses nothing acknowledged under fsync "always" and
// "everysec" alike (docs/architecture.md, promise 2), so both run.
//
// PYKV_TORTURE_CYCLES sets the cycles per policy (default 3; `make
// torture` runs 1000); PYKV_TORTURE_SEED replays a run's choices (which
// writes, where the kills fall, the merge pacing). The scheduling of the
// goroutines and the daemon is not replayed, so a seed repeats a failure
// in kind, not always to the write.
func TestTortureCrashLoop(t *testing.T) {
	cycles := envInt(t, "PYKV_TORTURE_CYCLES", 3)
	seed := int64(envInt(t, "PYKV_TORTURE_SEED", int(time.Now().UnixNano()%1e12)))
	t.Logf("seed %d, %d cycles per policy (PYKV_TORTURE_SEED=%d PYKV_TORTURE_CYCLES=%d to replay)", seed, cycles, seed, cycles)
	for i, policy := range []string{"always", "everysec"} {
		t.Run(policy, func(t *testing.T) {
			tortureLoop(t, policy, seed, seed+int64(i), cycles)
		})
	}
}

// Load of one cycle. Ranges, not figures: each cycle draws its own.
const (
	tortureWriters = 4
	// A cycle is killed after minKillAcks to maxKillAcks acknowledged
	// writes, then a random delay of up to maxKillDelay.
	minKillAcks  = 50
	maxKillAcks  = 600
	maxKillDelay = 3 * time.Millisecond
	// The merger asks for a merge, then waits up to maxMergeGap.
	maxMergeGap = 25 * time.Millisecond
	// tortureSegmentSize is --segment-size: the smallest pykvd accepts is
	// 4096; at 8 KiB a segment holds a few dozen writes.
	tortureSegmentSize = 8192
	// killWait bounds the wait for a cycle's writes: a daemon that stops
	// acknowledging fails the test.
	killWait = 60 * time.Second
)

// tortureStats are the figures of one policy's loop, for
// docs/reliability.md.
type tortureStats struct {
	cycles          int
	ackedWrites     int // acknowledged writes (an MSET is one)
	inFlight        [4]int
	keysVerified    int // key reads checked against the ledger
	mergesStarted   int // BGREWRITEAOF replies "started"
	mergesBusy      int // ... "already in progress"
	killsTmpFile    int // a snapshot .tmp was in the directory after the kill: killed mid-merge
	killsObsolete   int // pykv-check saw files a finished merge had not yet removed
	tornTails       int // pykv-check saw a torn tail
	killsNewSegment int // the newest segment held no record yet: killed at a rotation
	segmentsCreated int // highest segment id grew by this much over the loop
	maxKeys         int
	cycleTime       time.Duration
}

// tortureLoop runs one policy's cycles; baseSeed is the run's, printed to
// replay it, seed this loop's own.
func tortureLoop(t *testing.T, policy string, baseSeed, seed int64, cycles int) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce: PYKV_TORTURE_SEED=%d PYKV_TORTURE_CYCLES=%d go test -count=1 -run 'TestTortureCrashLoop/%s' ./cmd/pykvd/",
				baseSeed, cycles, policy)
		}
	})
	check := testdaemon.Tool(t, "pykv-check")
	rng := rand.New(rand.NewSource(seed))
	writers := make([]*ledgerWriter, tortureWriters)
	for i := range writers {
		writers[i] = newLedgerWriter(i, rng.Int63())
	}
	d := testdaemon.Start(t, testdaemon.Options{Fsync: policy, Args: []string{
		"--segment-size", strconv.Itoa(tortureSegmentSize),
		"--log-level", "warn", // a merge every few ms logs a line each at info
	}})
	var st tortureStats
	firstSeg := highestSegment(t, d.DataDir())
	start := time.Now()
	for cycle := 0; cycle < cycles; cycle++ {
		crng := rand.New(rand.NewSource(rng.Int63()))
		killMs := loadAndKill(t, d, writers, crng, &st)
		inspectKilled(t, d.DataDir(), check, &st)
		d.Restart()
		verifyLedger(t, d, writers, killMs, &st)
		st.cycles++
		if t.Failed() {
			t.Fatalf("cycle %d of fsync=%s failed (PYKV_TORTURE_SEED=%d)", cycle, policy, baseSeed)
		}
	}
	st.cycleTime = time.Since(start) / time.Duration(max(cycles, 1))
	st.segmentsCreated = highestSegment(t, d.DataDir()) - firstSeg
	if st.ackedWrites == 0 || st.keysVerified == 0 {
		t.Fatalf("no write was acknowledged or verified: %+v", st)
	}
	if cycles >= 20 && st.mergesStarted == 0 {
		t.Errorf("no merge started in %d cycles", cycles)
	}
	t.Logf("fsync=%s: %d cycles, %d acknowledged writes, %d key reads verified (at most %d live keys); "+
		"writes in flight at the kill: %d applied, %d not applied, %d either way; "+
		"%d merges started (%d asked while one ran); kills mid-merge: %d with a snapshot .tmp, %d with a merged file not yet removed; "+
		"%d kills with the newest segment still empty (at a rotation); %d torn tails; %d segments created; %v per cycle",
		policy, st.cycles, st.ackedWrites, st.keysVerified, st.maxKeys,
		st.inFlight[inFlightApplied], st.inFlight[inFlightNotApplied], st.inFlight[inFlightNoChange],
		st.mergesStarted, st.mergesBusy, st.killsTmpFile, st.killsObsolete, st.killsNewSegment, st.tornTails, st.segmentsCreated,
		st.cycleTime.Round(time.Millisecond))
}

// loadAndKill runs the writers and the merger until the cycle's chosen
// number of acknowledged writes, waits the chosen delay, kills the daemon
// and waits for every writer to see its connection break. It returns the
// time of the kill, unix ms.
func loadAndKill(t *testing.T, d *testdaemon.Daemon, writers []*ledgerWriter, rng *rand.Rand, st *tortureStats) int64 {
	t.Helper()
	target := int64(minKillAcks + rng.Intn(maxKillAcks-minKillAcks+1))
	delay := time.Duration(rng.Int63n(int64(maxKillDelay)))
	var (
		acks    atomic.Int64
		killed  atomic.Bool
		reached = make(chan struct{})
		once    sync.Once
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		errs    = make(chan error, len(writers)+1)
	)
	onAck := func() {
		if acks.Add(1) == target {
			once.Do(func() { close(reached) })
		}
	}
	for i, w := range writers {
		send := dialSender(t, d, i%2 == 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer send.close()
			if err := runWriter(w, send, stop, onAck); err != nil && !killed.Load() {
				errs <- fmt.Errorf("writer %d (%s), before the kill: %w", w.id, send.proto, err)
			}
		}()
	}
	mrng := rand.New(rand.NewSource(rng.Int63()))
	mc, err := client.New(client.Options{Addr: d.Addr(), PoolSize: 1, ReadTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer mc.Close()
		for {
			r, err := mc.Do(context.Background(), "BGREWRITEAOF").Result()
			switch {
			case err == nil:
				st.mergesStarted++
			case r.Kind == command.KindError && strings.Contains(r.Msg, "already in progress"):
				st.mergesBusy++
			case killed.Load():
				return // the kill broke the connection
			default:
				errs <- fmt.Errorf("merger, before the kill: %v", err)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(mrng.Int63n(int64(maxMergeGap)))): // pacing, not a wait for anything
			}
		}
	}()

	select {
	case <-reached:
	case err := <-errs:
		close(stop)
		d.Kill()
		wg.Wait()
		t.Fatal(err)
	case <-time.After(killWait):
		t.Errorf("only %d of %d writes acknowledged within %v", acks.Load(), target, killWait)
	}
	time.Sleep(delay) // a random instant after the target, drawn from the seed
	killed.Store(true)
	killMs := time.Now().UnixMilli()
	d.Kill()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st.ackedWrites += int(acks.Load())
	return killMs
}

// runWriter writes w's next writes until stop or until the connection
// fails, which the kill does. A reply other than the ledger's is an error.
func runWriter(w *ledgerWriter, send *sender, stop <-chan struct{}, onAck func()) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		op := w.next(time.Now().UnixMilli())
		w.pending = op
		r, err := send.do(op.argv)
		if err != nil {
			return err // left pending: it may or may not have been applied
		}
		if !sameReply(r, op.want) {
			return fmt.Errorf("%.100q: reply %v, the ledger expects %v", strings.Join(op.argv, " "), r, op.want)
		}
		w.acked(op, time.Now().UnixMilli())
		onAck()
	}
}

// sender sends one command at a time over the native protocol (the client
// library) or RESP (the resp codec over a plain connection).
type sender struct {
	proto string
	do    func(argv []string) (command.Reply, error)
	close func()
}

func dialSender(t *testing.T, d *testdaemon.Daemon, useRESP bool) *sender {
	t.Helper()
	if !useRESP {
		c, err := client.New(client.Options{Addr: d.Addr(), PoolSize: 1, ReadTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return &sender{proto: "native", close: func() { c.Close() }, do: func(argv []string) (command.Reply, error) {
			args := make([]any, len(argv))
			for i, a := range argv {
				args[i] = a
			}
			r, err := c.Do(context.Background(), args...).Result()
			var ce *client.Error
			if errors.As(err, &ce) {
				return r, nil // an error reply is a reply: the ledger judges it
			}
			return r, err
		}}
	}
	nc, err := net.DialTimeout("tcp", d.RESPAddr(), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(nc)
	rw, rr := resp.NewWriter(bw), resp.NewReader(bufio.NewReader(nc), resp.Limits{})
	return &sender{proto: "RESP", close: func() { nc.Close() }, do: func(argv []string) (command.Reply, error) {
		nc.SetDeadline(time.Now().Add(ioTimeout))
		args := make([][]byte, len(argv))
		for i, a := range argv {
			args[i] = []byte(a)
		}
		if err := rw.WriteCommand(args); err != nil {
			return command.Reply{}, err
		}
		if err := bw.Flush(); err != nil {
			return command.Reply{}, err
		}
		return rr.ReadReply()
	}}
}

// inspectKilled runs pykv-check on the directory the kill left and notes
// what the kill cut: a snapshot being written, a merge not yet finished, a
// record being appended.
func inspectKilled(t *testing.T, dir, check string, st *tortureStats) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		st.killsTmpFile++
	}
	if newestSegmentEmpty(t, dir) {
		st.killsNewSegment++
	}
	out, err := exec.Command(check, "-q", dir).CombinedOutput()
	if err != nil {
		t.Errorf("pykv-check %s after kill -9: %v\n%s", dir, err, out)
		return
	}
	text := string(out)
	if strings.Contains(text, "DAMAGE") {
		t.Errorf("pykv-check exited 0 but reports damage:\n%s", text)
	}
	if strings.Contains(text, "torn tail") {
		st.tornTails++
	}
	if strings.Contains(text, "obsolete file") {
		st.killsObsolete++
	}
}

// verifyLedger reads every writer's keys back through the native protocol
// and checks them against the ledgers, then looks for keys no writer
// wrote.
func verifyLedger(t *testing.T, d *testdaemon.Daemon, writers []*ledgerWriter, killMs int64, st *tortureStats) {
	t.Helper()
	ctx := context.Background()
	c, err := client.New(client.Options{Addr: d.Addr(), PoolSize: 1, ReadTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	universe := map[string]bool{}
	live := 0
	for _, w := range writers {
		keys := w.keys()
		for _, k := range keys {
			universe[k] = true
		}
		obs, err := readBack(ctx, c, keys)
		if err != nil {
			t.Fatalf("read back writer %d: %v", w.id, err)
		}
		res, err := w.verify(obs, killMs)
		st.inFlight[res]++
		st.keysVerified += len(keys)
		if err != nil {
			t.Error(err)
		}
		live += w.live()
	}
	st.maxKeys = max(st.maxKeys, live)
	var phantoms []string
	it := uint64(0)
	seen := 0
	for {
		page, err := c.Scan(ctx, it, "", 1000).Result()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		for _, k := range page.Keys {
			seen++
			if !universe[k] {
				phantoms = append(phantoms, k)
			}
		}
		if it = page.Cursor; it == 0 {
			break
		}
	}
	if len(phantoms) > 0 {
		sort.Strings(phantoms)
		t.Errorf("%d keys no writer wrote: %.20q", len(phantoms), phantoms)
	}
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if int(n) != live {
		t.Errorf("DBSIZE %d, the ledgers hold %d live keys (SCAN saw %d)", n, live, seen)
	}
}

// readBack reads keys' values and TTLs in one pipeline.
func readBack(ctx context.Context, c *client.Client, keys []string) (map[string]observed, error) {
	p := c.Pipeline()
	vals := p.MGet(ctx, keys...)
	ttls := make([]*client.Result[time.Duration], len(keys))
	for i, k := range keys {
		ttls[i] = p.PTTL(ctx, k)
	}
	lo := time.Now().UnixMilli()
	if err := p.Exec(ctx); err != nil {
		return nil, err
	}
	hi := time.Now().UnixMilli()
	vs, err := vals.Result()
	if err != nil {
		return nil, err
	}
	obs := make(map[string]observed, len(keys))
	for i, k := range keys {
		ttl, err := ttls[i].Result()
		if err != nil {
			return nil, err
		}
		o := observed{exists: vs[i] != nil, val: string(vs[i])}
		switch {
		case ttl == client.KeyMissing:
			if o.exists {
				return nil, fmt.Errorf("%s: MGET has a value, PTTL says missing", k)
			}
		case !o.exists:
			return nil, fmt.Errorf("%s: MGET says missing, PTTL %v", k, ttl)
		case ttl == client.NoExpiry:
			o.pttl = -1
		default:
			o.pttl = ttl.Milliseconds()
			o.lo, o.hi = lo+o.pttl, hi+o.pttl
		}
		obs[k] = o
	}
	return obs, nil
}

// newestSegmentEmpty reports whether the newest segment of dir holds no
// record: its header is unfinished, or zeros (preallocated space) follow
// it. A kill then fell between a rotation and the first append to the new
// segment.
func newestSegmentEmpty(t *testing.T, dir string) bool {
	t.Helper()
	id := highestSegment(t, dir)
	if id == 0 {
		return false
	}
	b, err := os.ReadFile(segment.Path(dir, uint32(id)))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < segment.HeaderSize+segment.RecordHeaderSize {
		return true
	}
	for _, c := range b[segment.HeaderSize : segment.HeaderSize+segment.RecordHeaderSize] {
		if c != 0 {
			return false
		}
	}
	return true
}

// highestSegment returns the highest segment id in dir, from the file
// names (docs/format.md: ten decimal digits and .log).
func highestSegment(t *testing.T, dir string) int {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	high := 0
	for _, n := range names {
		if id, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(n), ".log")); err == nil {
			high = max(high, id)
		}
	}
	return high
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
