//go:build unix

package bench

import (
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLoadClosedLoop is the load generator's cost per request: short
// closed-loop runs against the baseline, served by this test binary in a
// process of its own so that the CPU time measured is the generator's alone.
// ns/op is wall time per request, cpu-ns/req the generator's CPU time per
// request, allocs/req and B/req its allocations per request, run setup
// included.
func BenchmarkLoadClosedLoop(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(os.Args[0], "-test.run=^TestBaselineProcess$")
	srv.Env = append(os.Environ(), baselineProcessEnv+"=1")
	srv.ExtraFiles = []*os.File{lf}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	lf.Close()
	defer func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	}()
	tr := benchTraffic(b)
	cfg := Config{Target: "http://" + addr, Traffic: tr, Connections: 8, Duration: 250 * time.Millisecond}
	var requests, errs int64
	var wall time.Duration
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	for b.Loop() {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		requests += res.Sent
		errs += res.ErrorCount()
		wall += time.Duration(res.Seconds * float64(time.Second))
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	if requests == 0 || errs > 0 {
		b.Fatalf("unexpected run: %d requests, %d errors", requests, errs)
	}
	n := float64(requests)
	b.ReportMetric(float64(wall.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/req")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/req")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/req")
}

// baselineProcessEnv tells the test binary that it runs as
// BenchmarkLoadClosedLoop's server.
const baselineProcessEnv = "CLICKBENCH_BASELINE_PROCESS"

// TestBaselineProcess serves the baseline on the listener passed as file 3
// when BenchmarkLoadClosedLoop runs the test binary as its server, until it
// is killed; in any other run it is skipped.
func TestBaselineProcess(t *testing.T) {
	if os.Getenv(baselineProcessEnv) == "" {
		t.Skip("serves BenchmarkLoadClosedLoop's baseline")
	}
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewBaseline(BaselineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(srv.Serve(ln))
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
