//go:build !linux

package index

// adviseHuge does nothing where transparent huge pages are not known.
func adviseHuge([]byte) []byte { return nil }

func unadviseHuge([]byte) {}
