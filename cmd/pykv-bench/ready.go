package main

import (
	"fmt"
	"time"

	"github.com/pykv/pykv/reply"
)

// readyPoll is the interval of --wait-ready's PINGs.
const readyPoll = 10 * time.Millisecond

// waitReady measures a server's time to ready: it sends PING every
// readyPoll until one is answered with PONG, and reports the time from
// cfg.Since (the server's start, given by the script that started it) or
// from now. A refused connection, or an error reply such as Redis's
// LOADING while it reads its files, is not ready yet.
func (r *runner) waitReady() (readyResult, error) {
	from := time.Now()
	if r.cfg.Since != 0 {
		from = time.Unix(0, r.cfg.Since)
	}
	deadline := time.Now().Add(r.cfg.WaitReady)
	res := readyResult{Test: "ready", Protocol: r.cfg.Protocol, Addr: r.cfg.Addr}
	var lastErr error
	for {
		res.Attempts++
		next := time.Now().Add(readyPoll)
		if lastErr = ping(r.cfg); lastErr == nil {
			res.ReadyMs = float64(time.Since(from)) / float64(time.Millisecond)
			return res, r.printReady(res)
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("not ready after %v (%d attempts): %w", r.cfg.WaitReady, res.Attempts, lastErr)
		}
		time.Sleep(time.Until(next))
	}
}

// ping connects, sends PING and expects PONG.
func ping(cfg Config) error {
	c, err := dial(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.nc.SetDeadline(time.Now().Add(dialTimeout))
	rep, err := c.roundTrip([][]byte{[]byte("PING")})
	if err != nil {
		return err
	}
	if rep.Kind == reply.KindError {
		return fmt.Errorf("PING: %s %s", rep.Code, rep.Msg)
	}
	if rep.Kind != reply.KindStatus || string(rep.Bytes) != "PONG" {
		return fmt.Errorf("PING: unexpected reply kind %d %q", rep.Kind, rep.Bytes)
	}
	return nil
}
