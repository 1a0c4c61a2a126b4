package emitter

import "unsafe"

// prefetch asks the CPU to bring the cache lines of p[:n] (n > 0) into its
// caches without waiting for them.
//
//go:noescape
func prefetch(p unsafe.Pointer, n uintptr)
