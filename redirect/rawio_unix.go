//go:build unix

package redirect

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Raw socket I/O.
//
// A plain TCP connection reads and writes with its own read(2) and write(2)
// calls through the runtime's poller (syscall.RawConn): the poller still
// parks the goroutine while the socket is not ready and enforces the
// deadlines, and Close still waits for a call in progress, but the calls
// are raw system calls on Linux (rawio_syscall.go; elsewhere the standard
// library's, rawio_syscall_std.go). The socket is non-blocking, so neither
// call can block: it returns at once with what it did or EAGAIN. A raw system call
// skips the runtime's bookkeeping for one that might block (entering and
// leaving the syscall state, about 35 ns each on the edge's core, two per
// keep-alive request; bench/RESULTS.md), and, with one P, a hand-off of
// the P that could not help: whatever a call does in the kernel, loopback's
// delivery to the peer included, is work for the same core. A connection
// that is not a plain *net.TCPConn (a wrapper may have a Read of its own)
// reads and writes through Conn.Read and Conn.Write.

// initRawIO lets c read and write with raw system calls, and read late
// (lateread.go) when late is set.
func (c *deadlineConn) initRawIO(late bool) {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	c.raw, c.late = raw, late
	c.readFD, c.writeFD = c.readSyscall, c.writeSyscall
}

// read reads into b as net.Conn.Read does (io.EOF when the peer closed; a
// *net.OpError otherwise, whose Timeout reports a deadline). When late is
// set it waits for the poller to report the socket readable before it
// calls read(2). It notes in c.drained whether the read left the socket
// empty.
func (c *deadlineConn) read(b []byte, late bool) (int, error) {
	if c.raw == nil {
		return c.Conn.Read(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.rb, c.await, c.parked = b, late, false
	err := c.raw.Read(c.readFD) // deadlines and Close end the wait with err
	n, rerr := c.rn, c.rerr
	c.rb, c.rn, c.rerr, c.await = nil, 0, nil, false
	c.drained = n > 0 && n < len(b)
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case rerr != nil:
		return 0, c.opError("read", rerr)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readSyscall is the poller's callback: one read(2) into c.rb. It returns
// false on EAGAIN, and on a late read's first call without reading, to be
// called again once the socket is readable.
func (c *deadlineConn) readSyscall(fd uintptr) bool {
	if c.await {
		c.await, c.parked = false, true
		return false
	}
	for {
		c.readCalls++
		n, errno := sysRead(fd, c.rb)
		switch errno {
		case 0:
			c.rn = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.rerr = os.NewSyscallError("read", errno)
			return true
		}
	}
}

// maxRawWrite is the most one write(2) is given (responses are far smaller).
const maxRawWrite = 64 << 10

// write writes all of b as net.Conn.Write does: it returns len(b), or fewer
// bytes and a *net.OpError (a deadline, a closed connection, the peer's
// reset).
func (c *deadlineConn) write(b []byte) (int, error) {
	if c.raw == nil {
		return c.Conn.Write(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.wb = b
	err := c.raw.Write(c.writeFD) // deadlines and Close end the wait with err
	n, werr := c.wn, c.werr
	c.wb, c.wn, c.werr = nil, 0, nil
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case werr != nil:
		return n, c.opError("write", werr)
	}
	return n, nil
}

// writeSyscall is the poller's callback: write(2) calls until c.wb is
// written. It returns false on EAGAIN, to be called again once the socket
// is writable.
func (c *deadlineConn) writeSyscall(fd uintptr) bool {
	for c.wn < len(c.wb) {
		// At most maxRawWrite per call: a raw call holds its P, and a large
		// write to loopback copies all of it at once.
		n, errno := sysWrite(fd, c.wb[c.wn:min(len(c.wb), c.wn+maxRawWrite)])
		switch errno {
		case 0:
			if n == 0 {
				c.werr = io.ErrUnexpectedEOF // as poll.FD.Write
				return true
			}
			c.wn += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = os.NewSyscallError("write", errno)
			return true
		}
	}
	return true
}

// opError is err as Conn.Read and Conn.Write report it: the raw
// connection's errors name the operation "raw-read" or "raw-write".
func (c *deadlineConn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		oe.Op = op
		return err
	}
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
