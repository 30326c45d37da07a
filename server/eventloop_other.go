//go:build !linux

package server

// serveEventLoops: event loops are Linux's (epoll); elsewhere the
// goroutine server serves.
func (s *Server) serveEventLoops() (ok bool, err error) { return false, nil }

// EventLoops returns how many event loops serve the listener: none off
// Linux.
func (s *Server) EventLoops() int { return 0 }
