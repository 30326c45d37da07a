//go:build !unix

package main

// monotonicUsec is 0 where there is no CLOCK_MONOTONIC (nor systemd to
// tell).
func monotonicUsec() int64 { return 0 }
