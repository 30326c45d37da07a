//go:build unix

package command

import (
	"strconv"
	"strings"
	"syscall"
)

// infoCPU reports the process's CPU time from getrusage, as Redis's
// used_cpu_sys and used_cpu_user; pykv has no children and no main
// thread apart from the others, so only those two.
func (t *Table) infoCPU(w *infoWriter, _ *infoCtx) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	w.str("used_cpu_sys", cpuSeconds(ru.Stime))
	w.str("used_cpu_user", cpuSeconds(ru.Utime))
}

// cpuSeconds formats a timeval as Redis does, "%ld.%06ld".
func cpuSeconds(tv syscall.Timeval) string {
	us := strconv.FormatInt(int64(tv.Usec), 10)
	return strconv.FormatInt(int64(tv.Sec), 10) + "." + strings.Repeat("0", max(0, 6-len(us))) + us
}
