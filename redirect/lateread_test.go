//go:build unix

package redirect

import (
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
)

// tcpDeadlineConn returns the server side of a loopback TCP connection
// wrapped as the server wraps it, reading late or not, and the client side.
func tcpDeadlineConn(t *testing.T, l *Limits, late bool) (*deadlineConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sc, err := (&deadlineListener{Listener: ln, limits: l, lateReads: late}).Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	c := sc.(*deadlineConn)
	if c.raw == nil || c.late != late {
		t.Fatalf("a TCP connection reads raw: %v, late: %v; want raw, late %v", c.raw != nil, c.late, late)
	}
	return c, client
}

func writeOrFail(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// readParked starts read in a goroutine and returns, once the goroutine is
// parked on the network poller, a channel with read's error.
func readParked(t *testing.T, read func() error) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	buf := make([]byte, 1<<20)
	for range 2000 {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[IO wait") && strings.Contains(g, "readParked") {
				return done
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the read did not park on the network poller")
	return nil
}

// serveOne reads the request the client sends on a new connection, which
// leaves the socket empty, and answers it.
func serveOne(t *testing.T, c *deadlineConn, client net.Conn) {
	t.Helper()
	writeOrFail(t, client, request)
	buf := make([]byte, 512)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != request {
		t.Fatalf("read %q, %v; want the request", buf[:n], err)
	}
	if !c.drained {
		t.Fatal("a read of less than its buffer did not note the socket empty")
	}
	writeOrFail(t, c, "response")
}

// readNext reads the next request, which the client sends once the read
// has parked, and returns the read(2) calls it took.
func readNext(t *testing.T, c *deadlineConn, client net.Conn) int {
	t.Helper()
	calls := c.readCalls
	buf := make([]byte, 512)
	var n int
	done := readParked(t, func() (err error) { n, err = c.Read(buf); return err })
	writeOrFail(t, client, request)
	if err := <-done; err != nil || string(buf[:n]) != request {
		t.Fatalf("read %q, %v; want the request", buf[:n], err)
	}
	return c.readCalls - calls
}

// TestLateRead: after a read that left the socket empty and a response,
// the next read waits for the request on the poller and reads it with one
// read(2); a connection that reads at once finds nothing first and takes
// two: after a read that filled its buffer, when the idle timeout is
// shorter than lateReadBound, and when late reads are off.
func TestLateRead(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	c, client := tcpDeadlineConn(t, &l, true)
	serveOne(t, c, client)
	for i := range 3 {
		if calls := readNext(t, c, client); calls != 1 {
			t.Fatalf("late read %d: %d read(2) calls; want 1", i, calls)
		}
		writeOrFail(t, c, "response")
	}
	if c.expired != 0 {
		t.Fatalf("%d late reads reached their bound; want none", c.expired)
	}

	// A read that filled its buffer may have left bytes behind.
	c, client = tcpDeadlineConn(t, &l, true)
	writeOrFail(t, client, request)
	small := make([]byte, 4)
	if n, err := c.Read(small); n != len(small) || err != nil || c.drained {
		t.Fatalf("read %d, %v, socket empty %v; want %d bytes, not empty", n, err, c.drained, len(small))
	}
	writeOrFail(t, c, "response")
	if calls := c.readCalls; func() int { n, _ := c.Read(make([]byte, 512)); return n }() != len(request)-len(small) || c.readCalls != calls+1 {
		t.Fatal("the rest of a request was not read at once")
	}
	writeOrFail(t, c, "response")
	if calls := readNext(t, c, client); calls != 1 {
		t.Fatalf("late read after the socket was emptied again: %d read(2) calls; want 1", calls)
	}

	short := l
	short.IdleTimeout = lateReadBound / 2
	c, client = tcpDeadlineConn(t, &short, true)
	serveOne(t, c, client)
	if calls := readNext(t, c, client); calls != 2 {
		t.Fatalf("idle timeout shorter than the bound: %d read(2) calls; want 2 (at once, then after the wait)", calls)
	}

	c, client = tcpDeadlineConn(t, &l, false)
	writeOrFail(t, client, request)
	if n, err := c.Read(make([]byte, 512)); n != len(request) || err != nil {
		t.Fatalf("read %d, %v; want the request", n, err)
	}
	writeOrFail(t, c, "response")
	if calls := readNext(t, c, client); calls != 2 {
		t.Fatalf("late reads off: %d read(2) calls; want 2 (at once, then after the wait)", calls)
	}
}

// TestLateReadBound: a request whose report the poller took before the
// read began is not reported again; the read finds it once the wait
// reaches lateReadBound. A connection whose client sends nothing within the
// bound goes on waiting under the idle timeout.
func TestLateReadBound(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Hour}
	c, client := tcpDeadlineConn(t, &l, true)
	set := metrics.NewSet()
	c.lateMissed = set.NewCounter("missed_total")
	serveOne(t, c, client)
	writeOrFail(t, client, request)
	// The poller reports sockets in the order they became readable: once a
	// read parked on a second connection has been woken by its request,
	// the poller has taken the first connection's report too.
	c2, client2 := tcpDeadlineConn(t, &l, true)
	done := readParked(t, func() error { _, err := c2.Read(make([]byte, 512)); return err })
	writeOrFail(t, client2, request)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	var n int
	read := make(chan error, 1)
	go func() { var err error; n, err = c.Read(buf); read <- err }()
	select {
	case err := <-read:
		if err != nil || string(buf[:n]) != request {
			t.Fatalf("read %q, %v; want the request", buf[:n], err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request whose report the poller had taken was not read within 10s")
	}
	if c.expired != 1 || c.lateMissed.Get() != 1 {
		t.Fatalf("%d late reads reached their bound, %d found their request waiting; want 1, 1",
			c.expired, c.lateMissed.Get())
	}
	writeOrFail(t, c, "response")

	// Nothing within the bound: the read goes on under the idle timeout.
	time.Sleep(2 * lateReadBound)
	if calls := readNext(t, c, client); calls != 2 || c.expired != 2 || c.lateMissed.Get() != 1 {
		t.Fatalf("request after the bound: %d read(2) calls, %d late reads past the bound, %d missed; "+
			"want 2 (empty, then the request), 2, 1 (an idle wait is not a missed request)",
			calls, c.expired, c.lateMissed.Get())
	}
	writeOrFail(t, c, "response")

	// A late read that begins past its bound (the server stalled after the
	// response) does not wait: the request it finds at once was not missed.
	time.Sleep(2 * lateReadBound)
	writeOrFail(t, client, request)
	time.Sleep(10 * time.Millisecond) // the request is in the socket before the read begins
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != request {
		t.Fatalf("read %q, %v; want the request", buf[:n], err)
	}
	if c.expired != 3 || c.lateMissed.Get() != 1 {
		t.Fatalf("late read begun past its bound: %d late reads past the bound, %d missed; want 3, 1 (it did not wait)",
			c.expired, c.lateMissed.Get())
	}
}

// TestRawReadErrors: the raw read reports what net.Conn.Read does: a
// timeout at the deadline, net.ErrClosed when the connection is closed
// under a parked read (as Shutdown does), io.EOF when the peer closed, an
// error naming the reset when the peer reset.
func TestRawReadErrors(t *testing.T) {
	l := Limits{ReadTimeout: 50 * time.Millisecond, WriteTimeout: time.Second, IdleTimeout: time.Second}
	c, _ := tcpDeadlineConn(t, &l, true)
	buf := make([]byte, 64)
	_, err := c.Read(buf) // a new connection: the read timeout
	var ne net.Error
	var oe *net.OpError
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read past the read timeout returned %v; want a read timeout", err)
	}

	l.ReadTimeout = time.Minute
	c, _ = tcpDeadlineConn(t, &l, true)
	done := readParked(t, func() error { _, err := c.Read(buf); return err })
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read parked when the connection closed returned %v; want net.ErrClosed", err)
	}

	c, client := tcpDeadlineConn(t, &l, true)
	client.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed returned %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read returned %d, %v; want 0, nil", n, err)
	}

	c, client = tcpDeadlineConn(t, &l, true)
	if err := client.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	client.Close() // linger 0: a reset
	if _, err := c.Read(buf); err == nil || !strings.Contains(err.Error(), "reset by peer") {
		t.Fatalf("read after the peer reset returned %v; want a connection reset error", err)
	}
}

func TestRawIOAllocatesNothing(t *testing.T) {
	// One P, and each request written before the late read: its wait
	// ends at the runtime's next poll, or at the bound when a poll took the
	// request's report first (rare; allocations there would be averaged
	// over the runs).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	c, client := tcpDeadlineConn(t, &l, true)
	serveOne(t, c, client)
	client.Read(make([]byte, 64)) // serveOne's response
	buf, cbuf := make([]byte, 64), make([]byte, 64)
	msg, resp := []byte(request), []byte("HTTP/1.1 204 No Content\r\n\r\n")
	allocs := testing.AllocsPerRun(1000, func() {
		client.Write(msg)
		if n, err := c.Read(buf); err != nil || n != len(msg) {
			t.Fatalf("read %d, %v; want %d bytes", n, err, len(msg))
		}
		if n, err := c.Write(resp); err != nil || n != len(resp) { // the next read is late
			t.Fatalf("wrote %d, %v; want %d bytes", n, err, len(resp))
		}
		if n, err := io.ReadFull(client, cbuf[:len(resp)]); err != nil {
			t.Fatalf("the client read %d, %v; want the response", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a late raw read and a raw write allocate %.1f times; want 0", allocs)
	}
}

// TestLateReadsOnlyWithOneP: a server reads late only with GOMAXPROCS=1
// and without EagerReads; its TCP connections read raw either way.
func TestLateReadsOnlyWithOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		procs int
		eager bool
		late  bool
	}{{1, false, true}, {1, true, false}, {2, false, false}} {
		runtime.GOMAXPROCS(tc.procs)
		s := newDeadlineServer(&fasthttp.Server{}, Limits{EagerReads: tc.eager})
		if s.lateReads != tc.late {
			t.Fatalf("GOMAXPROCS=%d, EagerReads %v: late reads %v; want %v", tc.procs, tc.eager, s.lateReads, tc.late)
		}
		c, _ := tcpDeadlineConn(t, &s.limits, s.lateReads)
		if c.late != tc.late {
			t.Fatalf("GOMAXPROCS=%d, EagerReads %v: a connection reads late: %v; want %v", tc.procs, tc.eager, c.late, tc.late)
		}
	}
}
