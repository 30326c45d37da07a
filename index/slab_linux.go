package index

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHuge asks the kernel to back the whole 2 MiB pages inside b with
// transparent huge pages (MADV_HUGEPAGE; honoured where THP is "madvise" or
// "always"), and returns the range it advised, for unadviseHuge. b must not
// have been touched yet for this to take effect at the first fault. It is
// advice only: an error changes nothing but speed.
func adviseHuge(b []byte) []byte {
	r := hugeRange(b)
	if r != nil && unix.Madvise(r, unix.MADV_HUGEPAGE) != nil {
		return nil
	}
	return r
}

// unadviseHuge withdraws the advice (MADV_NOHUGEPAGE). The huge pages
// already there stay; what it prevents is khugepaged later collapsing
// memory that the Go runtime has handed back to the kernel into huge pages
// again, which would grow the resident set behind the runtime's back (the
// reason Go itself stopped advising huge pages).
func unadviseHuge(r []byte) {
	if r != nil {
		_ = unix.Madvise(r, unix.MADV_NOHUGEPAGE)
	}
}

// hugeRange returns the whole 2 MiB pages inside b, or nil.
func hugeRange(b []byte) []byte {
	if len(b) < 2*hugePageSize {
		return nil
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	from := (start + hugePageSize - 1) &^ (hugePageSize - 1)
	to := (start + uintptr(len(b))) &^ (hugePageSize - 1)
	if to <= from {
		return nil
	}
	return b[from-start : to-start]
}
