//go:build unix && race

package redirect

import "syscall"

// Under the race detector socket I/O goes through syscall.Read and
// syscall.Write, which tell the detector that what a goroutine did before
// it wrote to a socket happens before what the reader of those bytes does
// next. Raw system calls do not: a test that orders its steps through the
// network (a request, then its response) would see races that are not.
// `make test` runs the raw I/O tests without -race as well.

func sysRead(fd uintptr, b []byte) (int, syscall.Errno) { return errnoOf(syscall.Read(int(fd), b)) }

func sysWrite(fd uintptr, b []byte) (int, syscall.Errno) { return errnoOf(syscall.Write(int(fd), b)) }

func errnoOf(n int, err error) (int, syscall.Errno) {
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}
