package bench

import (
	"context"
	"testing"
	"time"
)

// TestSleeperTimerfd: on Linux the pacer's sleeper waits on a timerfd; a
// sleep never ends early, short or long (a long one starts on a runtime
// timer), and the sleeper can sleep again and again; a cancelled run's
// sleep returns at once.
func TestSleeperTimerfd(t *testing.T) {
	s := newSleeper()
	defer s.close()
	if s.tfd == nil {
		t.Fatal("no timerfd: the sleeper fell back to runtime timers")
	}
	for _, d := range []time.Duration{20 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond, 7 * time.Millisecond, 20 * time.Microsecond} {
		start := time.Now()
		s.sleep(context.Background(), d)
		if got := time.Since(start); got < d {
			t.Fatalf("a sleep of %s returned after %s", d, got)
		}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	s.sleep(cancelled, time.Hour) // returns: the run has ended
}

// BenchmarkSleeperOvershoot is how late a 20 µs sleep ends in a process
// that has nothing else to do, as the open-loop pacer's does whenever every
// request in flight has been answered: on a runtime timer, which an idle
// runtime waits for in epoll_wait with a timeout of whole milliseconds, and
// on the sleeper's timerfd. ns/op is the sleep's duration; overshoot-ns is
// the mean time past the 20 µs.
func BenchmarkSleeperOvershoot(b *testing.B) {
	const d = 20 * time.Microsecond
	run := func(b *testing.B, sleep func(time.Duration)) {
		var over time.Duration
		n := 0
		for b.Loop() {
			start := time.Now()
			sleep(d)
			over += time.Since(start) - d
			n++
		}
		b.ReportMetric(float64(over.Nanoseconds())/float64(n), "overshoot-ns")
	}
	b.Run("timer", func(b *testing.B) {
		var w timer
		run(b, func(d time.Duration) { w.wait(context.Background(), d) })
	})
	b.Run("timerfd", func(b *testing.B) {
		s := newSleeper()
		defer s.close()
		run(b, func(d time.Duration) { s.sleep(context.Background(), d) })
	})
}
