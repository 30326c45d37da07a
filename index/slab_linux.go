package index

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHuge asks the kernel to back the whole 2 MiB pages inside b with
// transparent huge pages (MADV_HUGEPAGE; honoured where THP is "madvise" or
// "always"). b must not have been touched yet for this to take effect at
// the first fault. It is advice only: an error changes nothing but speed.
func adviseHuge(b []byte) {
	if len(b) < 2*hugePageSize {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	from := (start + hugePageSize - 1) &^ (hugePageSize - 1)
	to := (start + uintptr(len(b))) &^ (hugePageSize - 1)
	if to <= from {
		return
	}
	_ = unix.Madvise(b[from-start:to-start], unix.MADV_HUGEPAGE)
}
