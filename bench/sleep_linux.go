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
type sleeper struct{}

// prSetTimerSlack is PR_SET_TIMERSLACK from <linux/prctl.h>.
const prSetTimerSlack = 29

func newSleeper() *sleeper {
	runtime.LockOSThread()
	_, _, _ = syscall.Syscall6(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0, 0, 0, 0)
	return &sleeper{}
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) {
	until := time.Now().Add(d)
	// Long waits sleep on a runtime timer first, so a cancelled run stops.
	for d > 5*time.Millisecond && ctx.Err() == nil {
		t := time.NewTimer(d - 2*time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		d = time.Until(until)
	}
	if d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		_ = syscall.Nanosleep(&ts, nil)
	}
}

func (s *sleeper) close() { runtime.UnlockOSThread() }
