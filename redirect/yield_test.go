//go:build unix

package redirect

import (
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestReadYieldBudget(t *testing.T) {
	y := newReadYield()
	for i := range yieldBudget {
		if !y.take() {
			t.Fatalf("take %d of a full budget of %d refused", i+1, yieldBudget)
		}
	}
	if y.take() || y.budget.Load() != 0 {
		t.Fatalf("take granted past the budget, or overdrew it to %d", y.budget.Load())
	}
	y.refill()
	if !y.take() || y.budget.Load() != yieldBudget-1 {
		t.Fatalf("after refilling an exhausted budget: budget %d; want %d after one take", y.budget.Load(), yieldBudget-1)
	}
	y.refill() // not exhausted: no change
	if y.budget.Load() != yieldBudget-1 {
		t.Fatalf("refill of a budget not exhausted changed it to %d", y.budget.Load())
	}
}

// tcpDeadlineConn returns the server side of a loopback TCP connection
// wrapped as the server wraps it, with budget y (nil: late reads off), and
// the client side.
func tcpDeadlineConn(t *testing.T, l *Limits, y *readYield) (*deadlineConn, net.Conn) {
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
	sc, err := (&deadlineListener{Listener: ln, limits: l, yield: y}).Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	c := sc.(*deadlineConn)
	if y != nil && c.raw == nil {
		t.Fatal("a TCP connection with a late-read budget does not read through its raw connection")
	}
	return c, client
}

func writeOrFail(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// waitReadable returns once c has bytes to read, without reading them.
func waitReadable(t *testing.T, c *deadlineConn) {
	t.Helper()
	var b [1]byte
	err := c.raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return n > 0 || (err != nil && err != syscall.EAGAIN)
	})
	if err != nil {
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

// TestLateRead: a hot connection whose request is there reads late and
// stays hot; one whose late read waits for the request turns cold, and the
// poller's wake-up refills the exhausted budget; a cold connection reads
// late once every probeEvery responses; without budget nothing reads late.
func TestLateRead(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	y := newReadYield()
	c, client := tcpDeadlineConn(t, &l, y)
	buf := make([]byte, 64)

	c.hot = true
	writeOrFail(t, c, "response 1")
	writeOrFail(t, client, request)
	waitReadable(t, c)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != request {
		t.Fatalf("read %q, %v; want the request", buf[:n], err)
	}
	if !c.hot || c.waited || y.budget.Load() != yieldBudget-1 {
		t.Fatalf("after a late read that found the request: hot %v, waited %v, budget %d; want true, false, %d",
			c.hot, c.waited, y.budget.Load(), yieldBudget-1)
	}

	writeOrFail(t, c, "response 2")
	y.budget.Store(1) // this late read takes the last one
	var n int
	done := readParked(t, func() (err error) { n, err = c.Read(buf); return err })
	writeOrFail(t, client, request)
	if err := <-done; err != nil || string(buf[:n]) != request {
		t.Fatalf("read %q, %v; want the request", buf[:n], err)
	}
	if c.hot || !c.waited || y.budget.Load() != yieldBudget {
		t.Fatalf("after a late read that waited: hot %v, waited %v, budget %d; want false, true, %d",
			c.hot, c.waited, y.budget.Load(), yieldBudget)
	}

	// Cold: probeEvery-1 responses read at once, the next one late.
	late := 0
	for range probeEvery {
		writeOrFail(t, c, "response")
		if c.readLate() {
			late++
		}
	}
	if late != 1 {
		t.Fatalf("a cold connection read late %d times in %d responses; want 1", late, probeEvery)
	}
	c.hot = true
	y.budget.Store(0)
	if c.readLate() {
		t.Fatal("read late without budget")
	}
}

// TestRawReadErrors: the raw read reports what net.Conn.Read does: a
// timeout at the deadline, net.ErrClosed when the connection is closed
// under a parked read (as Shutdown does), io.EOF when the peer closed, an
// error naming the reset when the peer reset.
func TestRawReadErrors(t *testing.T) {
	l := Limits{ReadTimeout: 50 * time.Millisecond, WriteTimeout: time.Second, IdleTimeout: time.Second}
	c, _ := tcpDeadlineConn(t, &l, newReadYield())
	buf := make([]byte, 64)
	_, err := c.Read(buf) // a new connection: the read timeout
	var ne net.Error
	var oe *net.OpError
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read past the read timeout returned %v; want a read timeout", err)
	}

	l.ReadTimeout = time.Minute
	c, _ = tcpDeadlineConn(t, &l, newReadYield())
	done := readParked(t, func() error { _, err := c.Read(buf); return err })
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read parked when the connection closed returned %v; want net.ErrClosed", err)
	}

	c, client := tcpDeadlineConn(t, &l, newReadYield())
	client.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed returned %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read returned %d, %v; want 0, nil", n, err)
	}

	c, client = tcpDeadlineConn(t, &l, newReadYield())
	if err := client.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	client.Close() // linger 0: a reset
	if _, err := c.Read(buf); err == nil || !strings.Contains(err.Error(), "reset by peer") {
		t.Fatalf("read after the peer reset returned %v; want a connection reset error", err)
	}
}

func TestRawReadAllocatesNothing(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	c, client := tcpDeadlineConn(t, &l, newReadYield())
	buf := make([]byte, 64)
	msg := []byte(request)
	c.hot = true // every read late; one that finds nothing waits, which allocates nothing either
	allocs := testing.AllocsPerRun(1000, func() {
		c.Write(nil) // a response: the next read is late
		client.Write(msg)
		if n, err := c.Read(buf); err != nil || n != len(msg) {
			t.Fatalf("read %d, %v; want %d bytes", n, err, len(msg))
		}
		c.yield.refill()
	})
	if allocs != 0 {
		t.Fatalf("a late raw read allocates %.1f times; want 0", allocs)
	}
}

// TestLateReadsOnlyWithOneP: a server reads late only with GOMAXPROCS=1
// and without EagerReads; otherwise connections read through Conn.Read.
func TestLateReadsOnlyWithOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		procs int
		eager bool
		late  bool
	}{{1, false, true}, {1, true, false}, {2, false, false}} {
		runtime.GOMAXPROCS(tc.procs)
		s := newDeadlineServer(&fasthttp.Server{}, Limits{EagerReads: tc.eager})
		if (s.yield != nil) != tc.late {
			t.Fatalf("GOMAXPROCS=%d, EagerReads %v: late-read budget %v; want %v", tc.procs, tc.eager, s.yield != nil, tc.late)
		}
		c, _ := tcpDeadlineConn(t, &s.limits, s.yield)
		c.hot = true
		if !tc.late && (c.raw != nil || c.readLate()) {
			t.Fatalf("GOMAXPROCS=%d, EagerReads %v: a connection reads raw (%v) or late", tc.procs, tc.eager, c.raw != nil)
		}
	}
}
