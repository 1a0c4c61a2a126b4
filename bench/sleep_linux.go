package bench

import (
	"context"
	"runtime"
	"syscall"
	"time"
)

// sleeper sleeps precisely on a dedicated OS thread. The Go runtime's timers
// wake up to a millisecond late on Linux when the process is otherwise idle
// (its netpoller waits in whole milliseconds), which would add up to 1 ms to
// every open-loop latency. nanosleep with a 1 ns timer slack on a locked
// thread wakes within tens of microseconds.
//
// A goroutine in nanosleep keeps its P until the runtime's monitor takes it
// back (20 µs to 10 ms later): with GOMAXPROCS=1 the workers would starve,
// so then the sleeper falls back to runtime timers and their precision.
// clickbench raises GOMAXPROCS to 2 for open-loop runs.
//
// At high rates the runtime timers are the better choice: the process is
// busy, so they are checked every few microseconds, while the pacer's thread
// sharing a core with the workers' thread waits for the kernel to preempt
// them. Measured on 2 vCPUs against the baseline, generator on one core
// (p50/p99): 5 000/s 0.16/0.58 ms with nanosleep vs 0.63/1.41 ms with timers;
// 20 000/s 0.14/2.2 vs 0.17/2.6; 40 000/s 0.90/6.6 vs 0.12/3.6.
type sleeper struct {
	precise bool
	timer
}

// preciseMinInterval is the slot interval below which the pacer uses runtime
// timers: 40 µs, 25 000 requests/s.
const preciseMinInterval = 40 * time.Microsecond

// prSetTimerSlack is PR_SET_TIMERSLACK from <linux/prctl.h>.
const prSetTimerSlack = 29

func newSleeper(interval time.Duration) *sleeper {
	if runtime.GOMAXPROCS(0) < 2 || interval < preciseMinInterval {
		return &sleeper{}
	}
	runtime.LockOSThread()
	_, _, _ = syscall.Syscall6(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0, 0, 0, 0)
	return &sleeper{precise: true}
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) {
	if !s.precise {
		s.wait(ctx, d)
		return
	}
	until := time.Now().Add(d)
	// Long waits sleep on a runtime timer first, so a cancelled run stops.
	for d > 5*time.Millisecond && ctx.Err() == nil {
		s.wait(ctx, d-2*time.Millisecond)
		d = time.Until(until)
	}
	if d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		_ = syscall.Nanosleep(&ts, nil)
	}
}

func (s *sleeper) close() {
	if s.precise {
		runtime.UnlockOSThread()
	}
}
