package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Config configures one load run against one target.
type Config struct {
	// Target is the base URL of the server under load ("http://127.0.0.1:8080");
	// link paths are appended to it. Only the scheme and host:port are used.
	// Required.
	Target string
	// Traffic draws the requests. Required.
	Traffic *Traffic
	// Name labels the target in results and reports. Default: Target's host.
	Name string
	// Connections is the number of concurrent connections, one worker each.
	// In closed loop every worker sends its next request as soon as the
	// previous answer arrived; in open loop it bounds requests in flight.
	// Default: 64.
	Connections int
	// Rate is the open-loop request rate, requests per second over all
	// connections. Requests are scheduled at fixed intervals and latency is
	// measured from each request's scheduled send time, so a stalled server
	// shows in the percentiles instead of slowing the load down (coordinated
	// omission corrected). On Linux the pacer sleeps on a timerfd, precise
	// to tens of microseconds even with GOMAXPROCS=1 (see sleeper).
	// Default: 0 (closed loop).
	Rate float64
	// Duration is how long requests are measured, after Warmup. Default: 10s.
	Duration time.Duration
	// Warmup is how long requests are sent, and answers counted as served,
	// before measuring starts. Default: 0.
	Warmup time.Duration
	// Timeout bounds one request, connecting included: an answer that takes
	// longer counts as a timeout error. A server that stays silent is given
	// up on at most a quarter of Timeout later, so that the connection's
	// deadline need not move on every request. Default: 2s.
	Timeout time.Duration
	// Progress receives one progress line per ProgressInterval while the run
	// lasts. Default: nil (no progress).
	Progress io.Writer
	// ProgressInPlace rewrites the progress line in place (for a terminal)
	// instead of writing one line per interval. Default: false.
	ProgressInPlace bool
	// ProgressInterval is the time between progress lines. Default: 1s.
	ProgressInterval time.Duration
}

// Latency percentiles are recorded in microseconds from 1µs to 60s with three
// significant digits.
const (
	histMaxMicros = 60_000_000
	histSigFigs   = 3
)

// maxConnections bounds Connections: far past what one load-generator core
// drives.
const maxConnections = 10000

// Buffer sizes of a connection. A response's header must fit the read
// buffer; a request (path, query, user agent, referrer, X-Forwarded-For) fits
// the write buffer and goes out in one write.
const (
	readBufferSize  = 4096
	writeBufferSize = 2048
)

// maxBodySize bounds one response body; a redirect has none.
const maxBodySize = 1 << 20

// Run sends the configured load to cfg.Target and returns what it measured.
// It stops early, returning what it has, when ctx is done. A target that
// cannot be reached at all is an error before any load is sent.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.probe(); err != nil {
		return nil, err
	}
	return r.run(ctx), nil
}

type runner struct {
	cfg  Config
	addr string      // host:port, dialled and sent as Host
	tls  *tls.Config // nil for http:// targets
	// armFor is how far ahead a connection's deadline is set: past Timeout,
	// so that it moves only once per quarter of Timeout, not per request.
	armFor time.Duration

	start, warmEnd, end time.Time
	hardStop            time.Time
	interval            time.Duration

	// progress counters, measured phase only
	done, failed atomic.Int64
	// unsent counts open-loop slots dropped because the queue was full.
	unsent atomic.Int64
}

func newRunner(cfg Config) (*runner, error) {
	if cfg.Traffic == nil {
		return nil, errors.New("cannot create load run: Traffic is required")
	}
	u, err := url.Parse(cfg.Target)
	if err != nil || cfg.Target == "" {
		return nil, fmt.Errorf("cannot parse target %q: want a URL such as http://127.0.0.1:8080", cfg.Target)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("cannot parse target %q: want an http:// or https:// URL with a host", cfg.Target)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("cannot use target %q: give only scheme and host:port; link paths come from the links", cfg.Target)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	switch {
	case cfg.Connections == 0:
		cfg.Connections = 64
	case cfg.Connections < 0 || cfg.Connections > maxConnections:
		return nil, fmt.Errorf("cannot create load run: Connections %d; want 1 to %d", cfg.Connections, maxConnections)
	}
	if cfg.Rate < 0 || cfg.Rate > 10e6 {
		return nil, fmt.Errorf("cannot create load run: Rate %v; want 0 (closed loop) up to 10000000 requests/s", cfg.Rate)
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Duration < 0 || cfg.Warmup < 0 {
		return nil, fmt.Errorf("cannot create load run: Duration %v and Warmup %v must not be negative", cfg.Duration, cfg.Warmup)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("cannot create load run: Timeout %v must be positive", cfg.Timeout)
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = time.Second
	}
	if cfg.Name == "" {
		cfg.Name = u.Host
	}
	r := &runner{cfg: cfg, addr: addr, armFor: cfg.Timeout + cfg.Timeout/4}
	if u.Scheme == "https" {
		// Redials resume the TLS session, as a returning browser does.
		r.tls = &tls.Config{ServerName: u.Hostname(), ClientSessionCache: tls.NewLRUClientSessionCache(0)}
	}
	if cfg.Rate > 0 {
		r.interval = time.Duration(float64(time.Second) / cfg.Rate)
		if r.interval <= 0 {
			r.interval = 1
		}
	}
	return r, nil
}

// probe sends one request so that an unreachable target is an error rather
// than a run full of failures.
func (r *runner) probe() error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetHost(r.addr)
	req.Header.SetMethod(fasthttp.MethodHead)
	req.SetRequestURI("/")
	resp.SkipBody = true
	c := newConn()
	defer c.close()
	if _, err := r.roundTrip(c, req, resp, time.Now()); err != nil {
		return fmt.Errorf("cannot reach target %q: %w", r.cfg.Target, err)
	}
	return nil
}

// conn is one worker's connection to the target. Each worker owns one, so
// a request costs one write and one read on it and nothing else: no pool,
// no hand-off to another goroutine.
type conn struct {
	nc net.Conn // nil until dialled, and after it ended
	br *bufio.Reader
	bw *bufio.Writer
	// deadline is nc's read and write deadline.
	deadline time.Time
}

func newConn() *conn {
	return &conn{br: bufio.NewReaderSize(nil, readBufferSize), bw: bufio.NewWriterSize(nil, writeBufferSize)}
}

func (c *conn) close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}

// dial connects c, TLS handshake included, within the Timeout of the
// request sent at t0.
func (r *runner) dial(c *conn, t0 time.Time) error {
	d := net.Dialer{Deadline: t0.Add(r.cfg.Timeout)}
	nc, err := d.Dial("tcp", r.addr)
	if err != nil {
		return err
	}
	c.deadline = t0.Add(r.armFor)
	if err := nc.SetDeadline(c.deadline); err != nil {
		_ = nc.Close()
		return err
	}
	if r.tls != nil {
		tc := tls.Client(nc, r.tls)
		if err := tc.Handshake(); err != nil {
			_ = nc.Close()
			return err
		}
		nc = tc
	}
	c.nc = nc
	c.br.Reset(nc)
	c.bw.Reset(nc)
	return nil
}

// roundTrip sends req on c at t0, dialling c first if needed, reads the
// answer into resp and returns when it arrived. An answer later than
// Timeout is a timeout error, as if the deadline had been t0 + Timeout. A
// connection that failed or that the server ends is closed, to be redialled
// by the next request.
func (r *runner) roundTrip(c *conn, req *fasthttp.Request, resp *fasthttp.Response, t0 time.Time) (time.Time, error) {
	if c.nc == nil {
		if err := r.dial(c, t0); err != nil {
			return time.Now(), err
		}
	} else if c.deadline.Sub(t0) < r.cfg.Timeout {
		c.deadline = t0.Add(r.armFor)
		if err := c.nc.SetDeadline(c.deadline); err != nil {
			c.close()
			return time.Now(), err
		}
	}
	err := req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	keepAlive := false
	if err == nil {
		if resp.SkipBody {
			keepAlive, err = readBodiless(c.br, resp)
		} else {
			err = resp.ReadLimitBody(c.br, maxBodySize)
			keepAlive = err == nil && !resp.ConnectionClose()
		}
	}
	t1 := time.Now()
	if !keepAlive {
		c.close()
	}
	if err != nil {
		return t1, err
	}
	if t1.Sub(t0) > r.cfg.Timeout {
		return t1, fasthttp.ErrTimeout
	}
	return t1, nil
}

// readBodiless reads the answer to a HEAD request from br into resp and
// reports whether the connection stays open. fasthttp's parser takes an
// answer without Content-Length for one whose body runs to the end of the
// connection, and so says the connection ends; but that is how a fasthttp
// server, the edge included, answers HEAD, and a HEAD answer has no body.
// Taking the parser's word would redial after every HEAD. So the answer's
// header is looked at while still in br: an HTTP/1.1 answer ends the
// connection only with "Connection: close". When the header is not in br
// whole, or the parser read more than it, the parser's word stands.
func readBodiless(br *bufio.Reader, resp *fasthttp.Response) (keepAlive bool, err error) {
	if _, err := br.Peek(1); err != nil {
		return false, err
	}
	b, _ := br.Peek(br.Buffered())
	n, closes := scanHeader(b)
	left := len(b) - n
	if err := resp.ReadLimitBody(br, maxBodySize); err != nil {
		return false, err
	}
	if !resp.ConnectionClose() {
		return true, nil
	}
	return n > 0 && br.Buffered() == left && !closes && resp.Header.IsHTTP11() && resp.Header.ContentLength() == -2, nil
}

var (
	headerEnd        = []byte("\r\n\r\n")
	headerConnection = []byte("Connection")
	connectionClose  = []byte("close")
)

// scanHeader returns the length of the HTTP header at the start of b, 0 if
// b does not hold all of it, and whether a Connection header in it lists
// close.
func scanHeader(b []byte) (n int, closes bool) {
	i := bytes.Index(b, headerEnd)
	if i < 0 {
		return 0, false
	}
	_, h, _ := bytes.Cut(b[:i+2], []byte("\n")) // after the status line
	for len(h) > 0 {
		var line []byte
		line, h, _ = bytes.Cut(h, []byte("\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), headerConnection) {
			continue
		}
		for len(value) > 0 {
			var option []byte
			option, value, _ = bytes.Cut(value, []byte(","))
			if bytes.EqualFold(bytes.TrimSpace(option), connectionClose) {
				closes = true
			}
		}
	}
	return i + 4, closes
}

// worker is one connection's loop; it owns its histogram and counters.
type worker struct {
	hist     *hdrhistogram.Histogram
	lag      *hdrhistogram.Histogram // open loop: how late each request left
	status   map[int]int64
	errs     map[string]int64
	errFirst string
	sent     int64
	served   int64
	measured int64
	backlog  int64
	last     time.Time
}

func newWorker() *worker {
	return &worker{
		hist:   hdrhistogram.New(1, histMaxMicros, histSigFigs),
		lag:    hdrhistogram.New(1, histMaxMicros, histSigFigs),
		status: map[int]int64{},
		errs:   map[string]int64{},
	}
}

func (r *runner) run(ctx context.Context) *Result {
	r.start = time.Now()
	r.warmEnd = r.start.Add(r.cfg.Warmup)
	r.end = r.warmEnd.Add(r.cfg.Duration)
	r.hardStop = r.end.Add(r.cfg.Timeout)
	if r.hardStop.Sub(r.end) < time.Second {
		r.hardStop = r.end.Add(time.Second)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopProgress := r.startProgress(ctx)

	var slots chan time.Time
	if r.interval > 0 {
		// Up to a second of requests may wait for a free connection.
		slots = make(chan time.Time, min(max(int(r.cfg.Rate), r.cfg.Connections), 1<<20))
		go r.pace(ctx, slots)
	}
	workers := make([]*worker, r.cfg.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker()
		workers[i] = w
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r.work(ctx, w, rand.New(rand.NewPCG(r.cfg.Traffic.cfg.Seed, uint64(i)+1)), slots)
		}(i)
	}
	wg.Wait()
	stopProgress()
	return r.result(workers)
}

func (r *runner) work(ctx context.Context, w *worker, rng *rand.Rand, slots <-chan time.Time) {
	s := r.newSender(w, rng)
	defer s.close()
	if slots == nil {
		for ctx.Err() == nil {
			t0 := time.Now()
			if !t0.Before(r.end) {
				return
			}
			s.send(t0, t0)
		}
		return
	}
	for sched := range slots {
		if ctx.Err() != nil {
			continue // drain, so the pacer never blocks
		}
		if now := time.Now(); now.After(r.hardStop) {
			// Far behind schedule after the end: what is left was never sent.
			w.backlog++
			continue
		} else {
			s.send(sched, now)
		}
	}
}

// sender sends one worker's requests.
type sender struct {
	r    *runner
	w    *worker
	rng  *rand.Rand
	conn *conn
	req  *fasthttp.Request
	resp *fasthttp.Response
	uri  []byte
	draw Request
}

func (r *runner) newSender(w *worker, rng *rand.Rand) *sender {
	return &sender{
		r: r, w: w, rng: rng, conn: newConn(),
		req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
		uri: make([]byte, 0, 256),
	}
}

func (s *sender) close() {
	s.conn.close()
	fasthttp.ReleaseRequest(s.req)
	fasthttp.ReleaseResponse(s.resp)
}

// send sends one request scheduled at sched and records its latency from
// sched (in closed loop sched is the send time t0).
func (s *sender) send(sched, t0 time.Time) {
	r, w, req, draw := s.r, s.w, s.req, &s.draw
	r.cfg.Traffic.Draw(s.rng, draw)
	req.Reset()
	req.Header.DisableNormalizing()
	if draw.Head {
		req.Header.SetMethod(fasthttp.MethodHead)
	}
	s.uri = append(append(s.uri[:0], draw.PathBase...), draw.Query...)
	req.SetRequestURIBytes(s.uri)
	req.Header.SetHost(r.addr)
	if len(draw.UserAgent) > 0 {
		req.Header.SetUserAgentBytes(draw.UserAgent)
	}
	if len(draw.Referer) > 0 {
		req.Header.SetRefererBytes(draw.Referer)
	}
	req.Header.SetBytesV(fasthttp.HeaderXForwardedFor, draw.ClientIP)
	// A HEAD answer has no body, whatever its headers say; a fasthttp server
	// sends it without Content-Length, which would otherwise mean a body up
	// to the end of the connection.
	s.resp.SkipBody = draw.Head
	t1, err := r.roundTrip(s.conn, req, s.resp, t0)
	w.sent++
	w.last = t1
	measured := !sched.Before(r.warmEnd)
	if err != nil {
		if measured {
			w.countError(err)
			r.failed.Add(1)
		}
		return
	}
	w.served++
	if !measured {
		return
	}
	w.measured++
	w.status[s.resp.StatusCode()]++
	_ = w.hist.RecordValue(clampMicros(t1.Sub(sched), 1))
	if r.interval > 0 {
		_ = w.lag.RecordValue(clampMicros(t0.Sub(sched), 0))
	}
	r.done.Add(1)
}

// paceStep is the shortest sleep of the open-loop pacer. Slots closer
// together than that are released in steps: after each sleep, every slot
// that has come due. A sleep per slot (every 21 µs at 47 000 requests/s)
// cost the generator's core more in timer wake-ups than the requests: on a
// 2-vCPU KVM guest clickbench used the whole core at 47 000/s, four fifths
// of it in the kernel, and measured the bare fasthttp server's p99 at
// 2.9 ms. With 50 µs steps it used 85% of the core and measured 0.46-0.99
// ms (bench/RESULTS.md). A slot is released at most paceStep late, which
// its latency, counted from the slot, includes; slots further apart than
// paceStep are each released on time.
const paceStep = 50 * time.Microsecond

// pace sends the scheduled time of every open-loop request into slots, on
// time (see paceStep), and closes slots at the end. Workers take the slots
// as they become free, so a slow answer delays the requests behind it and
// their latency, measured from the slot, shows it. A slot that finds the
// queue full (more than a second of requests waiting) is counted as not
// sent.
func (r *runner) pace(ctx context.Context, slots chan<- time.Time) {
	defer close(slots)
	sl := newSleeper()
	defer sl.close()
	for i := int64(0); ctx.Err() == nil; i++ {
		sched := r.start.Add(time.Duration(i) * r.interval)
		if !sched.Before(r.end) {
			return
		}
		if d := time.Until(sched); d > 0 {
			sl.sleep(ctx, max(d, paceStep))
		}
		select {
		case slots <- sched:
		default:
			r.unsent.Add(1)
		}
	}
}

func (w *worker) countError(err error) {
	kind := errorKind(err)
	w.errs[kind]++
	if kind == "other" && w.errFirst == "" {
		w.errFirst = err.Error()
	}
}

// errorKind sorts request errors into a fixed set of names.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	}
	return "other"
}

// startProgress prints a progress line per interval until the returned stop
// is called.
func (r *runner) startProgress(ctx context.Context) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.ProgressInterval)
		defer t.Stop()
		var lastN int64
		last := time.Now()
		for {
			select {
			case <-done:
				if r.cfg.ProgressInPlace {
					fmt.Fprint(r.cfg.Progress, "\r\033[K")
				}
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				n := r.done.Load()
				rate := float64(n-lastN) / now.Sub(last).Seconds()
				lastN, last = n, now
				phase := "measure"
				elapsed := now.Sub(r.warmEnd)
				total := r.cfg.Duration
				if now.Before(r.warmEnd) {
					phase, elapsed, total = "warmup", now.Sub(r.start), r.cfg.Warmup
				}
				if elapsed > total {
					elapsed = total
				}
				line := fmt.Sprintf("%s %-7s %5.1fs/%.0fs  %9s req/s  %11s done  %s errors",
					r.cfg.Name, phase, elapsed.Seconds(), total.Seconds(), formatCount(int64(rate)), formatCount(n), formatCount(r.failed.Load()))
				if r.cfg.ProgressInPlace {
					fmt.Fprint(r.cfg.Progress, "\r\033[K"+line)
				} else {
					fmt.Fprintln(r.cfg.Progress, line)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// clampMicros is d in microseconds, at least lo and at most what the
// histograms hold.
func clampMicros(d time.Duration, lo int64) int64 {
	return min(max(d.Microseconds(), lo), histMaxMicros)
}

func (r *runner) result(workers []*worker) *Result {
	hist := hdrhistogram.New(1, histMaxMicros, histSigFigs)
	lag := hdrhistogram.New(1, histMaxMicros, histSigFigs)
	res := &Result{
		Name:        r.cfg.Name,
		Target:      r.cfg.Target,
		RunID:       r.cfg.Traffic.RunID(),
		Mode:        "closed",
		Connections: r.cfg.Connections,
		Rate:        r.cfg.Rate,
		Status:      map[string]int64{},
		Errors:      map[string]int64{},
	}
	if r.cfg.Rate > 0 {
		res.Mode = "open"
	}
	last := r.warmEnd
	for _, w := range workers {
		hist.Merge(w.hist)
		lag.Merge(w.lag)
		for code, n := range w.status {
			res.Status[strconv.Itoa(code)] += n
		}
		for k, n := range w.errs {
			res.Errors[k] += n
		}
		if res.FirstError == "" {
			res.FirstError = w.errFirst
		}
		if w.backlog > 0 {
			res.Errors["not_sent_behind_schedule"] += w.backlog
		}
		res.Sent += w.sent
		res.Served += w.served
		res.Requests += w.measured
		if w.last.After(last) {
			last = w.last
		}
	}
	if n := r.unsent.Load(); n > 0 {
		res.Errors["not_sent_behind_schedule"] += n
	}
	// Requests sent before the end are answered a little after it: the
	// measured window ends with the last answer.
	elapsed := last.Sub(r.warmEnd)
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.RPS = float64(res.Requests) / res.Seconds
	}
	res.setHistogram(hist)
	if r.interval > 0 && lag.TotalCount() > 0 {
		l := latencyOf(lag)
		res.SendLag = &l
	}
	return res
}
