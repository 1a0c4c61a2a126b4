// Package prefetch asks the CPU for memory ahead of its use.
//
// The edge's core also runs the kernel's TCP work, which evicts from its
// caches whatever a request does not touch again soon: a queue block written
// a batch ago, a link last served a thousand requests ago. Asking for those
// lines before they are read lets their fetches overlap other work instead
// of stalling each read in turn.
package prefetch

import "unsafe"

// Range asks the CPU to bring the cache lines of p[:n] (n > 0) into its
// caches without waiting for them. It never faults: p may point anywhere.
//
//go:noescape
func Range(p unsafe.Pointer, n uintptr)
