package testdaemon

import "syscall"

// sysProcAttr makes the kernel kill the daemon if the test process dies
// without its cleanups (a panic, go test's -timeout), so that no pykvd is
// left behind holding a port. The Go runtime does not end the threads it
// starts processes from, which Pdeathsig is tied to.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
