package redirect

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// startLimited serves a handler answering 204 with limits l on loopback and
// returns its address and the rejection counters.
func startLimited(t *testing.T, l Limits) (string, map[string]*metrics.Counter) {
	t.Helper()
	set := metrics.NewSet()
	rejected := map[string]*metrics.Counter{}
	for _, r := range rejectReasons {
		rejected[r] = set.NewCounter(`rejected{reason="` + r + `"}`)
	}
	s := newServer("test", func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) },
		l, 4<<10, false, zap.NewNop(), rejected)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(); <-done })
	return ln.Addr().String(), rejected
}

// closedWithin reports how long the server took to close c (reads until
// EOF or a reset), failing the test after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server kept the connection open for more than %v", limit)
	}
	return time.Since(start)
}

const request = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"

func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	addr, _ := startLimited(t, Limits{ReadTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: 600 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// Requests every 100ms keep the connection alive well past the idle
	// timeout: the coalesced idle deadline is re-armed as it comes near.
	for i := 0; i < 15; i++ {
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 204") {
			t.Fatalf("request %d: unexpected answer %q, %v", i, line, err)
		}
		for line != "\r\n" {
			if line, err = br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Then silence: closed after the idle timeout (between 3/4 of it and it).
	if d := closedWithin(t, c, 5*time.Second); d < 100*time.Millisecond {
		t.Fatalf("idle connection closed after %v; want about the idle timeout (600ms)", d)
	}
}

func TestSilentNewConnectionClosedAfterReadTimeout(t *testing.T) {
	addr, _ := startLimited(t, Limits{ReadTimeout: 200 * time.Millisecond, IdleTimeout: time.Minute})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The first request gets the read timeout, not the long idle one.
	closedWithin(t, c, 5*time.Second)
}

func TestSlowRequestBoundedByReadTimeout(t *testing.T) {
	addr, rejected := startLimited(t, Limits{ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A request trickled a byte every 20ms never completes: the read
	// timeout runs from its first byte, however often bytes arrive.
	go func() {
		_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\n")
		for i := 0; i < 500; i++ {
			if _, err := io.WriteString(c, "X"); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	body, _ := io.ReadAll(io.LimitReader(c, 4096))
	if !strings.HasPrefix(string(body), "HTTP/1.1 408") {
		t.Fatalf("unexpected answer to a slow request; got %q; want 408", body)
	}
	if got := rejected["timeout"].Get(); got != 1 {
		t.Fatalf("unexpected timeout rejections; got %d; want 1", got)
	}
}

// countingConn counts deadline changes; reads return one request each.
type countingConn struct {
	net.Conn
	readDL, writeDL     int
	lastRead, lastWrite time.Time
}

func (c *countingConn) SetReadDeadline(t time.Time) error  { c.readDL++; c.lastRead = t; return nil }
func (c *countingConn) SetWriteDeadline(t time.Time) error { c.writeDL++; c.lastWrite = t; return nil }
func (c *countingConn) Read(b []byte) (int, error)         { return copy(b, request), nil }
func (c *countingConn) Write(b []byte) (int, error)        { return len(b), nil }

func TestDeadlinesCoalesced(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	cc := &countingConn{}
	c := &deadlineConn{Conn: cc, limits: &l}
	buf := make([]byte, 64)
	for i := 0; i < 10000; i++ {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	// First request: read timeout; second: the idle timeout; then nothing
	// until a quarter of a timeout has passed.
	if cc.readDL != 2 || cc.writeDL != 1 {
		t.Fatalf("unexpected deadline changes for 10000 requests; got %d read, %d write; want 2, 1", cc.readDL, cc.writeDL)
	}
	// A request split over two reads gets the read timeout from its start,
	// which shortens the idle deadline in place.
	c.Write(nil)
	c.Read(buf)
	before := time.Now()
	c.Read(buf)
	if cc.readDL != 3 || cc.lastRead.Before(before.Add(l.ReadTimeout-time.Second)) || cc.lastRead.After(time.Now().Add(l.ReadTimeout)) {
		t.Fatalf("unexpected deadline for the rest of a request: %d changes, deadline %v from now", cc.readDL, time.Until(cc.lastRead))
	}
}

// TestWriteDeadlineFromHandlerClock: a write right after the handler counts
// its deadline from the handler's last clock reading, once; a later write
// reads the clock itself.
func TestWriteDeadlineFromHandlerClock(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	cc := &countingConn{}
	c := &deadlineConn{Conn: cc, limits: &l}
	handled := time.Now().Add(-2 * time.Second)
	c.handled = monoOf(handled)
	c.Write(nil)
	if cc.writeDL != 1 || !cc.lastWrite.Equal(handled.Add(l.WriteTimeout)) {
		t.Fatalf("unexpected write deadline %v after the handler's reading %v; want the reading plus %v", cc.lastWrite, handled, l.WriteTimeout)
	}
	before := time.Now()
	c.Write(nil) // the deadline in place is 3s away, under three quarters of the timeout
	if cc.writeDL != 2 || cc.lastWrite.Before(before.Add(l.WriteTimeout)) {
		t.Fatalf("unexpected second write deadline %v (%d changes); want the clock read again and %v from now", cc.lastWrite, cc.writeDL, l.WriteTimeout)
	}
}
