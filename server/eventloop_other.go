//go:build !linux

package server

// serveEventLoops: event loops are Linux's (epoll); elsewhere the
// goroutine server serves.
func (s *Server) serveEventLoops() (ok bool, err error) { return false, nil }
