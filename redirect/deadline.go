package redirect

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
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
// is set, connections also read their next request late (lateread.go).
type Server struct {
	*fasthttp.Server
	limits    Limits
	lateReads bool
	// lateMissed counts the requests a late read found waiting once it
	// had waited out lateReadBound (the poller had reported them before
	// the read began). Nil: not counted.
	lateMissed *metrics.Counter
}

// Serve accepts connections on ln and serves them until ln fails or
// Shutdown is called.
func (s *Server) Serve(ln net.Listener) error {
	return s.Server.Serve(&deadlineListener{Listener: ln, limits: &s.limits, lateReads: s.lateReads, lateMissed: s.lateMissed})
}

// newDeadlineServer returns fs wrapped in a Server enforcing l's timeouts;
// fs's own timeouts are cleared, so fasthttp sets no deadline itself.
func newDeadlineServer(fs *fasthttp.Server, l Limits) *Server {
	fs.ReadTimeout, fs.WriteTimeout, fs.IdleTimeout = 0, 0, 0
	return &Server{Server: fs, limits: l, lateReads: !l.EagerReads && runtime.GOMAXPROCS(0) == 1}
}

type deadlineListener struct {
	net.Listener
	limits     *Limits
	lateReads  bool
	lateMissed *metrics.Counter
}

func (dl *deadlineListener) Accept() (net.Conn, error) {
	c, err := dl.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, limits: dl.limits, peer: tcpPeer(c.RemoteAddr()), lateMissed: dl.lateMissed}
	dc.initRawIO(dl.lateReads)
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

	// The times below are monoTimes: a deadline check per read and write
	// is an integer comparison.
	served    bool     // a response was written
	inRequest bool     // a read returned bytes since the last write
	reqStart  monoTime // the start of the request's second read; zero until then
	readDL    monoTime // the read deadline in place; zero (before any want): none
	writeDL   monoTime // the write deadline in place; zero (before any want): none
	// handled is the clock reading the handler took as it returned; the
	// next Write uses it instead of reading the clock again. Zero: none.
	handled monoTime
	wrote   monoTime // the clock reading of the last write

	// Raw I/O (rawio_unix.go): raw is nil when the connection is not a
	// plain *net.TCPConn, and then it reads and writes through Conn.Read
	// and Conn.Write, never late. Late reads (lateread.go) need late too.
	raw       syscall.RawConn
	late      bool
	readFD    func(fd uintptr) bool // readSyscall, bound once
	writeFD   func(fd uintptr) bool // writeSyscall, bound once
	wb        []byte                // writeSyscall's buffer,
	wn        int                   // the bytes of it written
	werr      error                 // and its error (an *os.SyscallError, or io.ErrUnexpectedEOF)
	drained   bool                  // the last read left the socket empty
	await     bool                  // readSyscall's next call waits for the poller instead of reading
	parked    bool                  // the last read waited on the poller without reading first
	rb        []byte                // readSyscall's buffer,
	rn        int                   // its count
	rerr      error                 // and its error (an *os.SyscallError)
	readCalls int                   // read(2) calls, for tests
	expired   int                   // late reads that reached lateReadBound, for tests
	// lateMissed counts the requests a late read found waiting once it
	// had waited out its bound. Nil: not counted.
	lateMissed *metrics.Counter
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	var want, slack monoTime
	late := false
	switch {
	case c.inRequest:
		if c.reqStart == 0 {
			// The request's first bytes came with the last read, just
			// before it was parsed.
			c.reqStart = monoNow()
		}
		want = c.reqStart + monoTime(c.limits.ReadTimeout)
	case c.served:
		// Right after a response: the idle time counts from its write,
		// whose clock reading saves one here.
		want, slack = c.idle()
		if c.drained && c.late {
			if bound := c.wrote + monoTime(lateReadBound); bound < want {
				want, slack, late = bound, monoTime(lateReadBound/4), true
			}
		}
	default:
		want, slack = monoNow()+monoTime(c.limits.ReadTimeout), monoTime(c.limits.ReadTimeout/4)
	}
	if err := c.setReadDeadline(want, slack); err != nil {
		return 0, err
	}
	n, err := c.read(b, late)
	if late && n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		// No request within the bound, or the poller had taken its
		// signal before the wait began: read as fasthttp does, under
		// the idle timeout.
		c.expired++
		if err := c.setReadDeadline(c.idle()); err != nil {
			return 0, err
		}
		waited, calls := c.parked, c.readCalls
		n, err = c.read(b, false)
		if waited && n > 0 && c.readCalls == calls+1 {
			// The late read waited out its bound, and the first read(2)
			// after it found the request: it had been waiting, its report
			// taken before the late read began (an idle connection's read
			// finds nothing first, and a late read that began past its
			// bound did not wait). With one busy P the runtime may poll
			// only every 10 ms, so a request that came in up to that long
			// before the bound passed is counted too: an upper bound.
			if c.lateMissed != nil {
				c.lateMissed.Inc()
			}
		}
	}
	if n > 0 && !c.inRequest {
		c.inRequest, c.reqStart = true, 0
	}
	return n, err
}

// idle is the read deadline after a response, and its slack: the idle
// timeout counted from the response's write.
func (c *deadlineConn) idle() (want, slack monoTime) {
	return c.wrote + monoTime(c.limits.IdleTimeout), monoTime(c.limits.IdleTimeout / 4)
}

// setReadDeadline applies want unless the deadline in place is no later
// than want and no earlier than want less slack.
func (c *deadlineConn) setReadDeadline(want, slack monoTime) error {
	if c.readDL > want || c.readDL < want-slack {
		if err := c.Conn.SetReadDeadline(want.Time()); err != nil {
			return err
		}
		c.readDL = want
	}
	return nil
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	now := c.handled
	if now == 0 {
		now = monoNow()
	} else {
		c.handled = 0
	}
	c.wrote = now
	want := now + monoTime(c.limits.WriteTimeout)
	if c.writeDL < want-monoTime(c.limits.WriteTimeout/4) {
		if err := c.Conn.SetWriteDeadline(want.Time()); err != nil {
			return 0, err
		}
		c.writeDL = want
	}
	c.served, c.inRequest = true, false
	return c.write(b)
}

// monoTime is a reading of the monotonic clock: the time since monoEpoch.
type monoTime time.Duration

// monoEpoch is the origin of monoTimes, a little before any of them.
var monoEpoch = time.Now()

// monoNow reads the monotonic clock (one vDSO call; time.Now makes two).
func monoNow() monoTime { return monoTime(time.Since(monoEpoch)) }

// monoOf is t, a time.Now reading, as a monoTime.
func monoOf(t time.Time) monoTime { return monoTime(t.Sub(monoEpoch)) }

// Time is m as a time.Time, for the connection's deadlines.
func (m monoTime) Time() time.Time { return monoEpoch.Add(time.Duration(m)) }
