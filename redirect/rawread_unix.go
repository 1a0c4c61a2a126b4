//go:build unix

package redirect

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// initRawRead lets c read late with budget y: it reads with its own
// read(2) calls, through the runtime's poller, to learn whether a read had
// to wait (see readYield). Without a budget (late reads are off), or on a
// connection that is not a plain *net.TCPConn (a wrapper may have a Read of
// its own), c reads through Conn.Read.
func (c *deadlineConn) initRawRead(y *readYield) {
	if y == nil {
		return
	}
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	c.raw, c.yield = raw, y
	c.readFD = c.readSyscall
}

// read reads into b as net.Conn.Read does (io.EOF when the peer closed; a
// *net.OpError otherwise, whose Timeout reports a deadline), noting in
// c.waited whether it had to wait for data.
func (c *deadlineConn) read(b []byte) (int, error) {
	c.waited = false
	if c.raw == nil {
		return c.Conn.Read(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.rb = b
	err := c.raw.Read(c.readFD) // deadlines and Close end the wait with err
	n, rerr := c.rn, c.rerr
	c.rb, c.rn, c.rerr = nil, 0, nil
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
// false on EAGAIN, to be called again once the socket is readable.
func (c *deadlineConn) readSyscall(fd uintptr) bool {
	if c.waited {
		c.yield.refill() // the poller woke us
	}
	for {
		n, err := syscall.Read(int(fd), c.rb)
		switch err {
		case nil:
			c.rn = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.waited = true
			return false
		default:
			c.rerr = err
			return true
		}
	}
}
