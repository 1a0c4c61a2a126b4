//go:build linux && !race && !msan && !asan

package redirect

import (
	"syscall"
	"unsafe"
)

// sysRead is read(2) as a raw system call (rawio_unix.go); len(b) > 0.
func sysRead(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}

// sysWrite is write(2) as a raw system call; len(b) > 0.
func sysWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}
