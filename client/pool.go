package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// PoolStats counts what the connection pool did, for metrics and tests.
type PoolStats struct {
	Hits       uint64 // a call found an idle connection to reuse
	Misses     uint64 // a call had to dial a new connection
	Timeouts   uint64 // a call gave up waiting for a free connection (ErrPoolTimeout)
	StaleConns uint64 // idle connections closed instead of reused: too old, or found closed by the server
	Discarded  uint64 // connections closed after an I/O error, a protocol error or a cancellation

	TotalConns uint32 // connections open now, idle and in use
	IdleConns  uint32 // connections idle in the pool now
}

// pool hands out connections, at most size at a time. A token in the
// tokens channel stands for a connection in use (or being dialled); idle
// connections hold none, and a new one is dialled only when none is idle,
// so the open connections never outnumber size.
type pool struct {
	dial        func(context.Context) (*conn, error)
	timeout     time.Duration // PoolTimeout; < 0: none
	maxIdleTime time.Duration // ConnMaxIdleTime; < 0: none
	tokens      chan struct{}
	// now reads the clock by which ConnMaxIdleTime is measured: time.Now,
	// or a fake clock in tests (export_test.go), which then need no sleep.
	now func() time.Time

	mu     sync.Mutex
	idle   []*conn // a stack: the most recently used is reused first, so that surplus ones age out
	closed bool

	hits, misses, timeouts, stale, discarded atomic.Uint64
	open                                     atomic.Int32
}

func newPool(o *Options, dial func(context.Context) (*conn, error)) *pool {
	return &pool{
		dial:        dial,
		timeout:     o.PoolTimeout,
		maxIdleTime: o.ConnMaxIdleTime,
		tokens:      make(chan struct{}, o.PoolSize),
		now:         time.Now,
	}
}

// get returns a connection for one round trip: an idle one that is still
// healthy, or a new one.
func (p *pool) get(ctx context.Context) (*conn, error) {
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			p.release()
			return nil, ErrClosed
		}
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		cn := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if p.healthy(cn) {
			p.hits.Add(1)
			return cn, nil
		}
		p.stale.Add(1)
		p.open.Add(-1)
		cn.close()
	}
	p.misses.Add(1)
	cn, err := p.dial(ctx)
	if err != nil {
		p.release()
		return nil, err
	}
	p.open.Add(1)
	return cn, nil
}

// acquire takes a token, waiting at most the pool timeout.
func (p *pool) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ctxError(ctx)
	}
	select {
	case p.tokens <- struct{}{}:
		return nil
	default:
	}
	var expired <-chan time.Time
	if p.timeout > 0 {
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case p.tokens <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctxError(ctx)
	case <-expired:
		p.timeouts.Add(1)
		return ErrPoolTimeout
	}
}

func (p *pool) release() { <-p.tokens }

// healthy reports whether an idle connection may be reused: not idle for
// too long, and not closed by the server meanwhile (a restart, its idle
// timeout). The second check peeks at the socket without blocking, so a
// dead connection is replaced before a command is written to it, rather
// than failing a command that may or may not have run.
func (p *pool) healthy(cn *conn) bool {
	if p.maxIdleTime > 0 && p.now().Sub(cn.usedAt) > p.maxIdleTime {
		return false
	}
	return connCheck(cn.netConn()) == nil
}

// put returns a connection after a round trip that left it in step.
func (p *pool) put(cn *conn) {
	cn.usedAt = p.now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.open.Add(-1)
		cn.close()
	} else {
		p.idle = append(p.idle, cn)
		p.mu.Unlock()
	}
	p.release()
}

// remove closes a connection that cannot be trusted any more.
func (p *pool) remove(cn *conn) {
	p.discarded.Add(1)
	p.open.Add(-1)
	cn.close()
	p.release()
}

// close closes the idle connections; those in use are closed as they come
// back.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	for _, cn := range idle {
		p.open.Add(-1)
		cn.close()
	}
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{
		Hits:       p.hits.Load(),
		Misses:     p.misses.Load(),
		Timeouts:   p.timeouts.Load(),
		StaleConns: p.stale.Load(),
		Discarded:  p.discarded.Load(),
		TotalConns: uint32(p.open.Load()),
		IdleConns:  uint32(idle),
	}
}
