//go:build unix

package emitter

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir creates path and takes an exclusive flock on it, so two Writers
// never share a spool directory. The lock dies with the process.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another Writer holds %q", path)
		}
		return nil, err
	}
	return f, nil
}

// unlockDir releases a lock taken by lockDir.
func unlockDir(f *os.File) error {
	return f.Close()
}

// syncDir fsyncs a directory so entries created in it survive an OS crash.
// Errors are ignored: some file systems refuse to fsync directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
