//go:build !unix

package emitter

import "os"

// lockDir creates path. Without flock, nothing stops a second Writer from
// sharing the spool directory on this platform.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// unlockDir releases a lock taken by lockDir.
func unlockDir(f *os.File) error {
	return f.Close()
}

// syncDir is a no-op on platforms that cannot fsync directories.
func syncDir(string) {}
