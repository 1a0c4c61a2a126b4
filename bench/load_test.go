package bench

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// startBaseline serves the baseline on a loopback port and returns its URL.
func startBaseline(t *testing.T) string {
	t.Helper()
	srv, err := NewBaseline(BaselineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func testTraffic(t *testing.T) *Traffic {
	t.Helper()
	tr, err := NewTraffic(TrafficConfig{Links: []string{"/a", "/b", "/c/p/0/prog"}, Zipf: 1, Bots: 0.2, Head: 0.1, Clients: 50, RunID: "test-run"})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestRunClosedLoop(t *testing.T) {
	target := startBaseline(t)
	res, err := Run(context.Background(), Config{Target: target, Traffic: testTraffic(t), Name: "baseline", Connections: 4, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Status["302"] != res.Requests {
		t.Fatalf("unexpected answers; got %d requests, status %v; want every request answered 302", res.Requests, res.Status)
	}
	if n := res.ErrorCount(); n != 0 {
		t.Fatalf("unexpected errors against the baseline: %v (%s)", res.Errors, res.FirstError)
	}
	if res.Served <= res.Requests || res.Sent != res.Served {
		t.Fatalf("unexpected counts; got sent %d, served %d, measured %d; want warmup answers served but not measured", res.Sent, res.Served, res.Requests)
	}
	l := res.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Fatalf("unexpected latency percentiles: %+v", l)
	}
	if res.RPS <= 0 || res.Mode != "closed" || res.RunID != "test-run" || res.Name != "baseline" || res.SendLag != nil {
		t.Fatalf("unexpected result: %+v", res)
	}
	last := -1.0
	for _, p := range res.Percentiles {
		if p.Percentile <= last && p.Percentile != 100 {
			t.Fatalf("percentiles not increasing: %v", res.Percentiles)
		}
		last = p.Percentile
	}
	if res.Percentiles[len(res.Percentiles)-1].Percentile != 100 {
		t.Fatalf("unexpected last chart point %v; want the maximum", res.Percentiles[len(res.Percentiles)-1])
	}
}

// TestRunOpenLoopSendsTheSchedule checks that the open loop sends exactly
// rate × duration requests, each answered or counted as an error.
func TestRunOpenLoopSendsTheSchedule(t *testing.T) {
	target := startBaseline(t)
	res, err := Run(context.Background(), Config{Target: target, Traffic: testTraffic(t), Connections: 8, Rate: 400, Duration: 500 * time.Millisecond, Warmup: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Requests + res.ErrorCount(); got != 200 {
		t.Fatalf("unexpected measured requests; got %d (errors %v); want 200 (400/s for 0.5s)", got, res.Errors)
	}
	if res.Sent != 300 {
		t.Fatalf("unexpected requests sent; got %d; want 300 (warmup included)", res.Sent)
	}
	if res.Mode != "open" || res.Rate != 400 {
		t.Fatalf("unexpected mode %q rate %v", res.Mode, res.Rate)
	}
	// A request's send lag is part of its latency, so every percentile of
	// the lags is at most the latency's.
	if g, l := res.SendLag, res.Latency; g == nil || g.P50 > l.P50 || g.P99 > l.P99 || g.P999 > l.P999 || g.Max > l.Max {
		t.Fatalf("unexpected send lag %+v for latency %+v", res.SendLag, res.Latency)
	}
}

// TestPaceReleasesEverySlotNeverEarly: the pacer releases every slot of
// the schedule once, in order, and none before its time, also when slots
// come closer together than paceStep and are released in steps.
func TestPaceReleasesEverySlotNeverEarly(t *testing.T) {
	for _, interval := range []time.Duration{paceStep / 5, 2 * paceStep} {
		r := &runner{interval: interval, start: time.Now()}
		r.end = r.start.Add(400 * interval)
		slots := make(chan time.Time, 1000)
		go r.pace(context.Background(), slots)
		n := 0
		for sched := range slots {
			if now := time.Now(); now.Before(sched) {
				t.Fatalf("interval %s: unexpected early slot %d; released %s before its time", interval, n, sched.Sub(now))
			}
			if want := r.start.Add(time.Duration(n) * interval); !sched.Equal(want) {
				t.Fatalf("interval %s: unexpected slot %d; got %s after the start; want %s", interval, n, sched.Sub(r.start), want.Sub(r.start))
			}
			n++
		}
		if n != 400 || r.unsent.Load() != 0 {
			t.Fatalf("interval %s: unexpected slots; got %d released, %d unsent; want 400, 0", interval, n, r.unsent.Load())
		}
	}
}

func TestRunUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Run(context.Background(), Config{Target: "http://" + addr, Traffic: testTraffic(t), Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot reach target") {
		t.Fatalf("unexpected error; got %v; want cannot reach target", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	target := startBaseline(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Result)
	go func() {
		res, err := Run(ctx, Config{Target: target, Traffic: testTraffic(t), Connections: 2, Duration: time.Hour})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case res := <-done:
		if res == nil || res.Requests == 0 {
			t.Fatalf("unexpected result of a cancelled run: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop when its context was cancelled")
	}
}

func TestNewRunnerRejectsBadConfig(t *testing.T) {
	tr := testTraffic(t)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Target: "http://127.0.0.1:1"}, "Traffic is required"},
		{Config{Traffic: tr}, "cannot parse target"},
		{Config{Target: "127.0.0.1:8080", Traffic: tr}, "cannot parse target"},
		{Config{Target: "ftp://127.0.0.1", Traffic: tr}, "http:// or https://"},
		{Config{Target: "http://127.0.0.1:8080/alice", Traffic: tr}, "only scheme and host"},
		{Config{Target: "http://127.0.0.1:8080", Traffic: tr, Connections: -1}, "Connections"},
		{Config{Target: "http://127.0.0.1:8080", Traffic: tr, Rate: -5}, "Rate"},
		{Config{Target: "http://127.0.0.1:8080", Traffic: tr, Duration: -time.Second}, "negative"},
		{Config{Target: "http://127.0.0.1:8080", Traffic: tr, Timeout: -time.Second}, "Timeout"},
	} {
		if _, err := newRunner(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("unexpected error for %+v; got %v; want one containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestErrorKind(t *testing.T) {
	if got := errorKind(context.DeadlineExceeded); got != "timeout" {
		t.Fatalf("unexpected kind of a deadline; got %q; want timeout", got)
	}
	if got := errorKind(net.ErrClosed); got != "other" {
		t.Fatalf("unexpected kind of net.ErrClosed; got %q; want other", got)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// startFasthttp serves handler on a loopback port and returns its URL and
// its listener.
func startFasthttp(t *testing.T, handler fasthttp.RequestHandler) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &fasthttp.Server{Handler: handler, NoDefaultServerHeader: true, NoDefaultContentType: true}
	go srv.Serve(cl)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String(), cl
}

// startRaw serves each accepted connection with serve, in a goroutine of
// its own, and returns the listener's URL. n counts connections from 0; the
// probe's is the first.
func startRaw(t *testing.T, serve func(n int, c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(n, c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// readRequest reads one request's header (clickbench's have no body).
func readRequest(br *bufio.Reader) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

const testAnswer = "HTTP/1.1 302 Found\r\nLocation: https://example.com/\r\nContent-Length: 0\r\n\r\n"

// TestRunReconnectsAfterConnectionClose checks that a server that ends
// every connection after one answer is counted as served throughout: each
// request is sent on a new connection.
func TestRunReconnectsAfterConnectionClose(t *testing.T) {
	target, ln := startFasthttp(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusFound)
		ctx.SetConnectionClose()
	})
	res := runAllFound(t, target)
	if got := ln.accepted.Load(); got != res.Sent+1 {
		t.Fatalf("unexpected connections; got %d; want %d, one per request and the probe's", got, res.Sent+1)
	}
}

// TestRunKeepsConnectionsAcrossHeadAnswers checks that HEAD answers
// without Content-Length, as a fasthttp server sends them, are counted and
// leave the connection open.
func TestRunKeepsConnectionsAcrossHeadAnswers(t *testing.T) {
	target, ln := startFasthttp(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusFound)
	})
	runAllFound(t, target)
	if got := ln.accepted.Load(); got != 3 {
		t.Fatalf("unexpected connections; got %d; want 3, the probe's and one per worker", got)
	}
}

func TestScanHeader(t *testing.T) {
	for _, tc := range []struct {
		b      string
		n      int
		closes bool
	}{
		{"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", 36, false},
		{"HTTP/1.1 302 Found\r\nConnection: close\r\n\r\nHTTP/1.1", 41, true},
		{"HTTP/1.1 200 OK\r\nconnection:Keep-Alive, CLOSE \r\n\r\n", 50, true},
		{"HTTP/1.1 200 OK\r\nConnection: closed\r\nX-Connection: close\r\n\r\n", 60, false},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\n", 0, false},
		{"HTTP/1.1 200 OK\r\n\r\n", 19, false},
		{"", 0, false},
	} {
		n, closes := scanHeader([]byte(tc.b))
		if n != tc.n || closes != tc.closes {
			t.Fatalf("unexpected scan of %q; got %d, %v; want %d, %v", tc.b, n, closes, tc.n, tc.closes)
		}
	}
}

// TestRunCountsConnectionClosedMidAnswer checks that an answer cut off by
// the server, in its header or its body, is a connection_closed error and
// that the requests after it are answered on a new connection.
func TestRunCountsConnectionClosedMidAnswer(t *testing.T) {
	target := startRaw(t, func(n int, c net.Conn, br *bufio.Reader) {
		// One whole answer, then one cut off, alternately in the header
		// and in the body.
		cut := []string{"HTTP/1.1 302 Fou", "HTTP/1.1 302 Found\r\nContent-Length: 10\r\n\r\nabc"}[n%2]
		for _, answer := range []string{testAnswer, cut} {
			if readRequest(br) != nil {
				return
			}
			if _, err := io.WriteString(c, answer); err != nil {
				return
			}
		}
	})
	res, err := Run(context.Background(), Config{Target: target, Traffic: testTraffic(t), Connections: 1, Duration: 200 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	closed := res.Errors["connection_closed"]
	if closed < 2 || res.ErrorCount() != closed {
		t.Fatalf("unexpected errors %v (%s); want at least two, all connection_closed", res.Errors, res.FirstError)
	}
	if res.Status["302"] < closed || res.Status["302"] != res.Requests {
		t.Fatalf("unexpected answers %v with %d cut off (%v, %s); want one 302 before each cut-off answer", res.Status, closed, res.Errors, res.FirstError)
	}
}

// TestRunTimesOutOnSilentServer checks that requests to a server that
// answers the probe and then nothing are timeout errors, each given up
// within about Timeout.
func TestRunTimesOutOnSilentServer(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	target := startRaw(t, func(n int, c net.Conn, br *bufio.Reader) {
		if n == 0 && readRequest(br) == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
		<-stop
	})
	timeout := 100 * time.Millisecond
	done := make(chan *Result, 1)
	go func() {
		res, err := Run(context.Background(), Config{Target: target, Traffic: testTraffic(t), Connections: 2, Duration: 250 * time.Millisecond, Timeout: timeout})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	var res *Result
	select {
	case res = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("run against a silent server did not end")
	}
	if res == nil {
		return
	}
	// Each worker's requests time out one after another.
	if n := res.Errors["timeout"]; n < 2 || n != res.ErrorCount() || res.Requests != 0 || res.Sent != n {
		t.Fatalf("unexpected result: %d sent, %d answered, errors %v (%s); want every request a timeout", res.Sent, res.Requests, res.Errors, res.FirstError)
	}
}

// TestRunCountsRefusedConnections checks that a target that goes away
// after the probe gives connection_refused errors, one per request.
func TestRunCountsRefusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		if readRequest(bufio.NewReader(c)) == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}
	}()
	res, err := Run(context.Background(), Config{Target: "http://" + ln.Addr().String(), Traffic: testTraffic(t), Connections: 1, Rate: 200, Duration: 100 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Errors["connection_refused"]; n != 20 || res.ErrorCount() != n || res.Sent != n {
		t.Fatalf("unexpected result: %d sent, errors %v (%s); want 20 requests, each connection_refused", res.Sent, res.Errors, res.FirstError)
	}
}

// TestRunVerifiesTLSTargets checks that an https:// target is dialled with
// TLS and its certificate verified.
func TestRunVerifiesTLSTargets(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, err := Run(context.Background(), Config{Target: srv.URL, Traffic: testTraffic(t), Duration: time.Second})
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) || !strings.Contains(err.Error(), "cannot reach target") {
		t.Fatalf("unexpected error; got %v; want cannot reach target, the certificate's authority unknown", err)
	}
}

// TestSendDoesNotAllocate checks that a request on an open connection,
// drawn, sent, answered and recorded, allocates nothing.
func TestSendDoesNotAllocate(t *testing.T) {
	target := startBaseline(t)
	r, err := newRunner(Config{Target: target, Traffic: testTraffic(t)})
	if err != nil {
		t.Fatal(err)
	}
	r.start = time.Now()
	r.warmEnd, r.end = r.start, r.start.Add(time.Hour)
	w := newWorker()
	s := r.newSender(w, rand.New(rand.NewPCG(1, 2)))
	defer s.close()
	send := func() {
		now := time.Now()
		s.send(now, now)
	}
	for range 10 {
		send()
	}
	if allocs := testing.AllocsPerRun(200, send); allocs != 0 {
		t.Fatalf("unexpected allocations per request: %v; want 0", allocs)
	}
	r.interval = time.Millisecond // open loop: the send lag is recorded too
	if allocs := testing.AllocsPerRun(200, send); allocs != 0 || w.lag.TotalCount() == 0 {
		t.Fatalf("unexpected open-loop allocations per request: %v (%d lags recorded); want 0", allocs, w.lag.TotalCount())
	}
	if len(w.errs) != 0 || w.served != w.sent {
		t.Fatalf("unexpected errors: %v (%s)", w.errs, w.errFirst)
	}
}

// runAllFound runs two connections for 200 ms against target, half the
// requests HEAD, and fails the test unless every request was answered 302.
func runAllFound(t *testing.T, target string) *Result {
	t.Helper()
	tr, err := NewTraffic(TrafficConfig{Links: []string{"/a", "/b"}, Head: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{Target: target, Traffic: tr, Connections: 2, Duration: 200 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Status["302"] != res.Requests || res.ErrorCount() != 0 {
		t.Fatalf("unexpected answers; got %d requests, status %v, errors %v (%s); want every request answered 302", res.Requests, res.Status, res.Errors, res.FirstError)
	}
	return res
}
