package prefetch

import (
	"testing"
	"unsafe"
)

// TestRangeNeverFaults: Range over lengths that cross pages, and at an
// address nothing is mapped at (nil), does not fault; a prefetch that
// faulted would crash the test.
func TestRangeNeverFaults(t *testing.T) {
	b := make([]byte, 3*4096)
	Range(unsafe.Pointer(&b[1]), uintptr(len(b)-1))
	Range(nil, 64)
}
