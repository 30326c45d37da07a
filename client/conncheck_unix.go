//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package client

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// errUnexpectedRead is connCheck's verdict on an idle connection with
// bytes waiting: the server sent something no request asked for (an error
// before closing, a TLS alert), so the stream is out of step.
var errUnexpectedRead = errors.New("pykv/client: unexpected read from an idle connection")

// connCheck peeks at an idle connection without blocking and without
// consuming anything: nil when nothing is waiting (the healthy case),
// io.EOF when the server has closed it, errUnexpectedRead when bytes wait.
// A connection it cannot peek at (not a socket) passes.
func connCheck(nc net.Conn) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var checkErr error
	err = raw.Read(func(fd uintptr) bool {
		var buf [1]byte
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n == 0 && err == nil:
			checkErr = io.EOF
		case n > 0:
			checkErr = errUnexpectedRead
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			checkErr = nil
		default:
			checkErr = err
		}
		return true // never wait for readiness: this is a poll
	})
	if err != nil {
		return err
	}
	return checkErr
}
