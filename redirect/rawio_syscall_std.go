//go:build unix && !(linux && !race && !msan && !asan)

package redirect

import "syscall"

// The standard library's read(2) and write(2), where rawio_syscall.go's raw
// calls are not used. Raw system calls are Linux's only: OpenBSD refuses
// system calls made outside libc, macOS keeps only libc's interface
// stable, and illumos has no SYS_READ. Under the race detector and the
// memory sanitizers, socket I/O goes through syscall.Read and
// syscall.Write as well: they tell the race detector that what a goroutine
// did before it wrote to a socket happens before what the reader of those
// bytes does next (a test that orders its steps through the network would
// see races that are not otherwise). `make test` runs the raw I/O tests
// without -race as well.

func sysRead(fd uintptr, b []byte) (int, syscall.Errno) { return errnoOf(syscall.Read(int(fd), b)) }

func sysWrite(fd uintptr, b []byte) (int, syscall.Errno) { return errnoOf(syscall.Write(int(fd), b)) }

func errnoOf(n int, err error) (int, syscall.Errno) {
	if err == nil {
		return n, 0
	}
	if errno, ok := err.(syscall.Errno); ok {
		return 0, errno
	}
	return 0, syscall.EIO
}
