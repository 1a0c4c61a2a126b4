//go:build unix

package redirect

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// initRawRead lets c read late (lateread.go): it reads with its own read(2)
// calls through the runtime's poller, which can wait before the first one.
// A connection that is not a plain *net.TCPConn (a wrapper may have a Read
// of its own) reads through Conn.Read.
func (c *deadlineConn) initRawRead() {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	c.raw = raw
	c.readFD = c.readSyscall
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
		var oe *net.OpError
		if errors.As(err, &oe) {
			oe.Op = "read" // not "raw-read": the same text as Conn.Read's errors
		}
		return 0, err
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(),
			Err: os.NewSyscallError("read", rerr)}
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
		n, err := syscall.Read(int(fd), c.rb)
		switch err {
		case nil:
			c.rn = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.rerr = err
			return true
		}
	}
}
