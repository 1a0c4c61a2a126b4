package redirect

import "unsafe"

// b2s returns a string that shares b's memory, to call string APIs without a
// copy on the hot path. The string must not outlive b's next modification: the
// callers here only pass it to parsers that do not retain it (netip.ParseAddr
// without a zone, map lookups). Justified by BenchmarkHandlerHit's 0 allocs.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
