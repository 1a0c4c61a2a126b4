package redirect

import (
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Server is a fasthttp.Server whose connections enforce the Limits'
// timeouts with coalesced deadlines.
//
// fasthttp, given ReadTimeout, WriteTimeout and IdleTimeout, sets three
// socket deadlines on every keep-alive request (idle, read, write); each is
// a clock read and a change to the runtime's timer heap, and on the edge's
// core they cost about half a microsecond per redirect, a twentieth of the
// whole request. Serve instead hands fasthttp connections that apply a
// deadline only when the one already set is too far off: a keep-alive
// connection whose requests each arrive in one read re-arms its idle and
// write deadlines about once every quarter of their timeout instead of on
// every request. The bounds still hold, slightly tightened: the idle
// timeout and the write timeout of one response take effect between three
// quarters of their value and their value; the read timeout bounds a
// request from its first byte exactly, as before. Unless Limits.EagerReads
// is set, busy connections also read their next request late (yield.go).
type Server struct {
	*fasthttp.Server
	limits Limits
	yield  *readYield
}

// Serve accepts connections on ln and serves them until ln fails or
// Shutdown is called.
func (s *Server) Serve(ln net.Listener) error {
	return s.Server.Serve(&deadlineListener{Listener: ln, limits: &s.limits, yield: s.yield})
}

// newDeadlineServer returns fs wrapped in a Server enforcing l's timeouts;
// fs's own timeouts are cleared, so fasthttp sets no deadline itself.
func newDeadlineServer(fs *fasthttp.Server, l Limits) *Server {
	fs.ReadTimeout, fs.WriteTimeout, fs.IdleTimeout = 0, 0, 0
	s := &Server{Server: fs, limits: l}
	if !l.EagerReads && runtime.GOMAXPROCS(0) == 1 {
		s.yield = newReadYield() // late reads: yield.go
	}
	return s
}

type deadlineListener struct {
	net.Listener
	limits *Limits
	yield  *readYield
}

func (dl *deadlineListener) Accept() (net.Conn, error) {
	c, err := dl.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, limits: dl.limits, peer: tcpPeer(c.RemoteAddr())}
	dc.initRawRead(dl.yield)
	return dc, nil
}

// deadlineConn tracks where a connection is in its request cycle: a read
// after a response (or on a new connection) waits for the next request and
// gets the idle timeout (the read timeout for the first request); once a
// read returned bytes, later reads belong to the same request and share
// the read timeout counted from its first byte; a write sends a response.
//
// A deadline is applied only when the one in place is later than wanted
// (so it must shorten) or earlier than wanted by more than a quarter of
// the timeout. fasthttp uses a connection from one goroutine at a time.
type deadlineConn struct {
	net.Conn
	limits *Limits
	peer   netip.Addr // the TCP peer, parsed once per connection

	served    bool      // a response was written
	inRequest bool      // a read returned bytes since the last write
	reqStart  time.Time // the start of the request's second read; zero until then
	readDL    time.Time // the read deadline in place; zero (before any want): none
	writeDL   time.Time // the write deadline in place; zero (before any want): none
	// handled is the clock reading the handler took as it returned; the
	// next Write uses it instead of reading the clock again. Zero: none.
	handled time.Time
	wrote   time.Time // the clock reading of the last write

	// Late reads (yield.go); raw and yield are nil when late reads are
	// off or the connection is not a plain *net.TCPConn, and then it reads
	// through Conn.Read and never late.
	raw    syscall.RawConn
	yield  *readYield
	readFD func(fd uintptr) bool // readSyscall, bound once
	hot    bool                  // the last late read found the request there
	probe  uint8                 // counts a cold connection's responses; it reads late at each multiple of probeEvery
	waited bool                  // the last read waited on the poller
	rb     []byte                // readSyscall's buffer,
	rn     int                   // its count
	rerr   error                 // and its error
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	late := c.served && !c.inRequest && c.readLate()
	var want time.Time
	var slack time.Duration
	switch {
	case c.inRequest:
		if c.reqStart.IsZero() {
			// The request's first bytes came with the last read, just
			// before it was parsed.
			c.reqStart = time.Now()
		}
		want = c.reqStart.Add(c.limits.ReadTimeout)
	case c.served:
		// Right after a response: the idle time counts from its write,
		// whose clock reading saves one here.
		want, slack = c.wrote.Add(c.limits.IdleTimeout), c.limits.IdleTimeout/4
	default:
		want, slack = time.Now().Add(c.limits.ReadTimeout), c.limits.ReadTimeout/4
	}
	if c.readDL.After(want) || c.readDL.Before(want.Add(-slack)) {
		if err := c.Conn.SetReadDeadline(want); err != nil {
			return 0, err
		}
		c.readDL = want
	}
	n, err := c.read(b)
	if late {
		c.hot = !c.waited
	}
	if n > 0 && !c.inRequest {
		c.inRequest, c.reqStart = true, time.Time{}
	}
	return n, err
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	now := c.handled
	if now.IsZero() {
		now = time.Now()
	} else {
		c.handled = time.Time{}
	}
	c.wrote = now
	want := now.Add(c.limits.WriteTimeout)
	if c.writeDL.Before(want.Add(-c.limits.WriteTimeout / 4)) {
		if err := c.Conn.SetWriteDeadline(want); err != nil {
			return 0, err
		}
		c.writeDL = want
	}
	c.served, c.inRequest = true, false
	return c.Conn.Write(b)
}
