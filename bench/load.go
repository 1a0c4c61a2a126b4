package bench

import (
	"context"
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
	// omission corrected). Up to 25 000/s the pacer sleeps on its own thread
	// and is only precise with GOMAXPROCS >= 2 (see sleeper).
	// Default: 0 (closed loop).
	Rate float64
	// Duration is how long requests are measured, after Warmup. Default: 10s.
	Duration time.Duration
	// Warmup is how long requests are sent, and answers counted as served,
	// before measuring starts. Default: 0.
	Warmup time.Duration
	// Timeout bounds one request, connecting included. Default: 2s.
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
	cfg    Config
	addr   string
	client *fasthttp.HostClient

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
	r := &runner{cfg: cfg, addr: addr}
	r.client = &fasthttp.HostClient{
		Addr:                     addr,
		IsTLS:                    u.Scheme == "https",
		Name:                     "clickbench",
		NoDefaultUserAgentHeader: true,
		MaxConns:                 cfg.Connections,
		MaxConnWaitTimeout:       cfg.Timeout,
		ReadTimeout:              cfg.Timeout,
		WriteTimeout:             cfg.Timeout,
		MaxIdleConnDuration:      time.Minute,
		MaxResponseBodySize:      1 << 20,
		DisablePathNormalizing:   true,
		// The load is the measurement: never retry behind its back.
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
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
	if err := r.client.DoTimeout(req, resp, r.cfg.Timeout); err != nil {
		return fmt.Errorf("cannot reach target %q: %w", r.cfg.Target, err)
	}
	return nil
}

// worker is one connection's loop; it owns its histogram and counters.
type worker struct {
	hist     *hdrhistogram.Histogram
	status   map[int]int64
	errs     map[string]int64
	errFirst string
	sent     int64
	served   int64
	measured int64
	backlog  int64
	last     time.Time
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
		w := &worker{
			hist:   hdrhistogram.New(1, histMaxMicros, histSigFigs),
			status: map[int]int64{},
			errs:   map[string]int64{},
		}
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
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	s := &sender{r: r, w: w, rng: rng, req: req, resp: resp, uri: make([]byte, 0, 256)}
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
	req  *fasthttp.Request
	resp *fasthttp.Response
	uri  []byte
	draw Request
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
	err := r.client.DoDeadline(req, s.resp, t0.Add(r.cfg.Timeout))
	t1 := time.Now()
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
	us := t1.Sub(sched).Microseconds()
	if us < 1 {
		us = 1
	}
	if us > histMaxMicros {
		us = histMaxMicros
	}
	_ = w.hist.RecordValue(us)
	r.done.Add(1)
}

// pace sends the scheduled time of every open-loop request into slots, on
// time, and closes slots at the end. Workers take the slots as they become
// free, so a slow answer delays the requests behind it and their latency,
// measured from the slot, shows it. A slot that finds the queue full (more
// than a second of requests waiting) is counted as not sent.
func (r *runner) pace(ctx context.Context, slots chan<- time.Time) {
	defer close(slots)
	sl := newSleeper(r.interval)
	defer sl.close()
	for i := int64(0); ctx.Err() == nil; i++ {
		sched := r.start.Add(time.Duration(i) * r.interval)
		if !sched.Before(r.end) {
			return
		}
		if d := time.Until(sched); d > 0 {
			sl.sleep(ctx, d)
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
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_connection"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
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

func (r *runner) result(workers []*worker) *Result {
	hist := hdrhistogram.New(1, histMaxMicros, histSigFigs)
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
	return res
}
