//go:build unix

package redirect

import (
	"errors"
	"io"
	"net"
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
	if y.take() {
		t.Fatal("take granted past the budget")
	}
	y.refill()
	if !y.take() {
		t.Fatal("take refused after refill")
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

// TestLateRead: a hot connection whose request is there reads late and
// stays hot; one whose late read waits for the request turns cold and
// refills the budget (the poller woke it); a cold connection reads late
// once every probeEvery responses.
func TestLateRead(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	y := newReadYield()
	c, client := tcpDeadlineConn(t, &l, y)
	buf := make([]byte, 64)

	c.hot = true
	writeOrFail(t, c, "response 1")
	writeOrFail(t, client, request)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != request {
		t.Fatalf("read %q, %v; want the request", buf[:n], err)
	}
	if !c.hot || c.waited || y.budget.Load() != yieldBudget-1 {
		t.Fatalf("after a late read that found the request: hot %v, waited %v, budget %d; want true, false, %d",
			c.hot, c.waited, y.budget.Load(), yieldBudget-1)
	}

	writeOrFail(t, c, "response 2")
	y.budget.Store(1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		client.Write([]byte(request))
	}()
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != request {
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
	// Without budget, a hot connection reads at once.
	c.hot = true
	y.budget.Store(0)
	if c.readLate() {
		t.Fatal("read late without budget")
	}
}

// TestRawReadErrors: the raw read reports what net.Conn.Read does: io.EOF
// when the peer closed, a timeout at the deadline.
func TestRawReadErrors(t *testing.T) {
	l := Limits{ReadTimeout: 50 * time.Millisecond, WriteTimeout: time.Second, IdleTimeout: time.Second}
	c, client := tcpDeadlineConn(t, &l, newReadYield())
	buf := make([]byte, 64)
	_, err := c.Read(buf) // a new connection: the read timeout
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the read timeout returned %v; want a timeout", err)
	}
	c, client = tcpDeadlineConn(t, &l, newReadYield())
	client.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed returned %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read returned %d, %v; want 0, nil", n, err)
	}
}

func TestRawReadAllocatesNothing(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	c, client := tcpDeadlineConn(t, &l, newReadYield())
	buf := make([]byte, 64)
	msg := []byte(request)
	allocs := testing.AllocsPerRun(1000, func() {
		client.Write(msg)
		if n, err := c.Read(buf); err != nil || n != len(msg) {
			t.Fatalf("read %d, %v; want %d bytes", n, err, len(msg))
		}
	})
	if allocs != 0 {
		t.Fatalf("a raw read allocates %.1f times; want 0", allocs)
	}
}

// TestEagerReads: with late reads off, connections read through Conn.Read
// and never yield.
func TestEagerReads(t *testing.T) {
	s := newDeadlineServer(&fasthttp.Server{}, Limits{EagerReads: true})
	if s.yield != nil {
		t.Fatal("a server with EagerReads has a late-read budget")
	}
	c, _ := tcpDeadlineConn(t, &s.limits, s.yield)
	c.hot = true
	if c.raw != nil || c.readLate() {
		t.Fatalf("with EagerReads a connection reads raw (%v) or late", c.raw != nil)
	}
}
