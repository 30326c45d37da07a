//go:build !linux

package testdaemon

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal; t.Cleanup
// stops the daemon.
func sysProcAttr() *syscall.SysProcAttr { return nil }
