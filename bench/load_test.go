package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
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
	if res.RPS <= 0 || res.Mode != "closed" || res.RunID != "test-run" || res.Name != "baseline" {
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
