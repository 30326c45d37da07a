//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package client

import "net"

// connCheck cannot peek at a socket on this platform: every idle
// connection passes, and one the server closed fails its next command.
func connCheck(net.Conn) error { return nil }
