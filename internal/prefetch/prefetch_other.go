//go:build !amd64

// Package prefetch asks the CPU for memory ahead of its use; on this
// architecture it does nothing.
package prefetch

import "unsafe"

// Range does nothing on this architecture.
func Range(p unsafe.Pointer, n uintptr) {}
