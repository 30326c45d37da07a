package main

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chaosProxy forwards TCP connections from its own loopback listener to
// a target (a follower's --replicaof points at it, the target is the
// leader) and, while chaos is on, does to them what a bad network does:
// it cuts connections, in the middle of a frame as often as not, after a
// random lifetime or at a random chunk; delays chunks; splits them into
// pieces written apart; and stalls a direction for a while. Its choices
// come from a seeded source, one stream per connection and direction, so
// that a seed names a run (the timing of the daemons still varies).
//
// Besides chaos it can refuse connections (accept and close them at
// once, as a leader that is down would look) and pause a connection after
// a given number of leader-to-follower bytes, for a test that must act
// at a known point of a transfer.
type chaosProxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	seed   uint64

	chaos  atomic.Bool
	refuse atomic.Bool

	mu    sync.Mutex
	links map[*proxyLink]struct{}
	n     uint64      // connections accepted: numbers their random streams
	pause *pausePoint // for links accepted from now on; nil: none
	first int64       // under chaos, links are cut within this many bytes from the leader until one is; 0: not

	// What chaos did, for the test to assert that it did something.
	accepted, cuts, stalls, delays, splits atomic.Int64

	wg sync.WaitGroup
}

// Chaos parameters.
const (
	proxyChunk       = 32 << 10
	proxyMinLife     = 300 * time.Millisecond // a link lives at least this long under chaos
	proxyMaxLife     = 2 * time.Second
	proxyCutPer1000  = 3 // chunks after which the link is cut mid-chunk
	proxyStallPer100 = 2 // chunks before which the direction stalls
	proxyMaxStall    = 700 * time.Millisecond
	proxyDelayPer100 = 20 // chunks delayed by up to proxyMaxDelay
	proxyMaxDelay    = 15 * time.Millisecond
	proxySplitPer100 = 30 // chunks written in several pieces
)

// startProxy listens on 127.0.0.1 and forwards to target, clean until
// SetChaos. It is closed, with every link, by t's cleanup.
func startProxy(t testing.TB, target string, seed uint64) *chaosProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &chaosProxy{t: t, ln: ln, target: target, seed: seed, links: map[*proxyLink]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's address, for --replicaof.
func (p *chaosProxy) Addr() string { return p.ln.Addr().String() }

// SetChaos turns chaos on or off, for the links open now and later.
func (p *chaosProxy) SetChaos(on bool) { p.chaos.Store(on) }

// Refuse makes the proxy close new connections at once (on), or forward
// them again (off).
func (p *chaosProxy) Refuse(on bool) { p.refuse.Store(on) }

// pausePoint is where links stop forwarding from the leader.
type pausePoint struct {
	after  int64         // bytes from the leader forwarded before the pause
	once   sync.Once     // closes paused
	paused chan struct{} // closed once a link has paused
	resume chan struct{} // closed to let paused links go on
}

// PauseAfter makes links accepted from now on stop forwarding from the
// target once they have forwarded n bytes of it, until Resume. The
// channel returned is closed when a link has paused.
func (p *chaosProxy) PauseAfter(n int64) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pause = &pausePoint{after: n, paused: make(chan struct{}), resume: make(chan struct{})}
	return p.pause.paused
}

// Resume lets paused links go on and stops pausing new ones.
func (p *chaosProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pause != nil {
		close(p.pause.resume)
	}
	p.pause = nil
}

// CutFirstWithin makes chaos cut a link at a random point of its first n
// bytes from the target, such as the middle of a full sync: every link,
// until one has been cut so (an earlier one may be cut sooner, by the
// rest of the chaos).
func (p *chaosProxy) CutFirstWithin(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.first = n
}

// CutAll closes every open link.
func (p *chaosProxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.cut()
	}
}

func (p *chaosProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if p.refuse.Load() {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, ioTimeout)
		if err != nil {
			c.Close()
			continue
		}
		p.accepted.Add(1)
		p.mu.Lock()
		l := &proxyLink{p: p, follower: c, leader: up, done: make(chan struct{}), pause: p.pause}
		p.n++
		n, first := p.n, p.first
		p.links[l] = struct{}{}
		p.mu.Unlock()
		if p.chaos.Load() {
			r := rand.New(rand.NewPCG(p.seed, n<<2))
			if first > 0 {
				l.cutAt = 1 + r.Int64N(first)
			}
			life := proxyMinLife + time.Duration(r.Int64N(int64(proxyMaxLife-proxyMinLife)))
			time.AfterFunc(life, func() {
				if p.chaos.Load() && l.cut() {
					p.cuts.Add(1)
				}
			})
		}
		p.wg.Go(func() { l.pipe(l.follower, l.leader, rand.New(rand.NewPCG(p.seed, n<<2|1)), false) })
		p.wg.Go(func() { l.pipe(l.leader, l.follower, rand.New(rand.NewPCG(p.seed, n<<2|2)), true) })
	}
}

func (p *chaosProxy) close() {
	p.ln.Close()
	p.CutAll()
	p.Resume()
	p.wg.Wait()
}

// proxyLink is one forwarded connection.
type proxyLink struct {
	p                *chaosProxy
	follower, leader net.Conn
	once             sync.Once
	done             chan struct{} // closed by cut

	pause *pausePoint // nil: none; set to nil once passed
	cutAt int64       // leader-to-follower bytes after which chaos cuts the link; 0: none
	down  int64       // leader-to-follower bytes forwarded
}

// cut closes both sides of the link, and reports whether it was this call
// that did.
func (l *proxyLink) cut() bool {
	did := false
	l.once.Do(func() {
		did = true
		close(l.done)
		l.follower.Close()
		l.leader.Close()
		l.p.mu.Lock()
		delete(l.p.links, l)
		l.p.mu.Unlock()
	})
	return did
}

// wait waits d, or less if the link is cut; it reports whether the link
// is still up.
func (l *proxyLink) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.done:
		return false
	}
}

// pipe copies src to dst, chunk by chunk, with chaos while it is on.
// fromLeader marks the leader-to-follower direction, the one pauses
// apply to.
func (l *proxyLink) pipe(src, dst net.Conn, r *rand.Rand, fromLeader bool) {
	defer l.cut()
	buf := make([]byte, proxyChunk)
	for {
		n, err := src.Read(buf)
		if n > 0 && !l.forward(dst, buf[:n], r, fromLeader) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward writes b to dst and reports whether the link is still up.
func (l *proxyLink) forward(dst net.Conn, b []byte, r *rand.Rand, fromLeader bool) bool {
	if pp := l.pause; fromLeader && pp != nil {
		if left := pp.after - l.down; left <= int64(len(b)) {
			if !l.write(dst, b[:left]) {
				return false
			}
			l.down += left
			pp.once.Do(func() { close(pp.paused) })
			select {
			case <-pp.resume:
			case <-l.done:
				return false
			}
			l.pause = nil
			b = b[left:]
		}
	}
	if fromLeader {
		l.down += int64(len(b))
	}
	if !l.p.chaos.Load() {
		return l.write(dst, b)
	}
	if fromLeader && l.cutAt > 0 && l.down >= l.cutAt {
		l.write(dst, b[:int64(len(b))-(l.down-l.cutAt)])
		if l.cut() {
			l.p.cuts.Add(1)
		}
		l.p.mu.Lock()
		l.p.first = 0
		l.p.mu.Unlock()
		return false
	}
	if r.IntN(100) < proxyStallPer100 {
		l.p.stalls.Add(1)
		if !l.wait(time.Duration(r.Int64N(int64(proxyMaxStall)))) {
			return false
		}
	}
	if r.IntN(100) < proxyDelayPer100 {
		l.p.delays.Add(1)
		if !l.wait(time.Duration(r.Int64N(int64(proxyMaxDelay)))) {
			return false
		}
	}
	if r.IntN(1000) < proxyCutPer1000 {
		l.write(dst, b[:r.IntN(len(b)+1)])
		if l.cut() {
			l.p.cuts.Add(1)
		}
		return false
	}
	if len(b) > 1 && r.IntN(100) < proxySplitPer100 {
		l.p.splits.Add(1)
		at := 1 + r.IntN(len(b)-1)
		if !l.write(dst, b[:at]) || !l.wait(time.Duration(r.Int64N(int64(time.Millisecond)))) {
			return false
		}
		b = b[at:]
	}
	return l.write(dst, b)
}

func (l *proxyLink) write(dst net.Conn, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	dst.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := dst.Write(b)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.cut()
	}
	return err == nil
}
