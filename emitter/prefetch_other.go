//go:build !amd64

package emitter

import "unsafe"

// prefetch does nothing on this architecture.
func prefetch(p unsafe.Pointer, n uintptr) {}
