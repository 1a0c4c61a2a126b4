package bench

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper sleeps precisely without holding a thread: on a timerfd that the
// runtime's network poller waits on.
//
// The runtime's own timers are precise while the process is busy, but an
// idle process waits for them in epoll_wait, whose timeout is whole
// milliseconds: a timer due in 20 µs fires up to a millisecond late. In an
// open loop the generator idles between answers whenever every request in
// flight has been answered, so every such gap delayed the next slots by up
// to a millisecond, and the p99 of any server measured 1.3-1.6 ms at
// 30 000-44 000 requests/s (bench/RESULTS.md). A timerfd is an hrtimer with
// no slack: epoll_wait returns when it expires, whatever its timeout, and
// the goroutine reading it is woken like one reading a socket.
//
// Waits over 5 ms sleep on a runtime timer first, so that a cancelled run
// stops at once; the last few milliseconds are on the timerfd.
type sleeper struct {
	timer
	tfd *os.File // nil: runtime timers only
	fd  int      // tfd's descriptor (File.Fd would make tfd blocking)
	buf [8]byte
}

func newSleeper() *sleeper {
	s := &sleeper{}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return s
	}
	// A non-blocking descriptor becomes a File the network poller waits on.
	s.tfd, s.fd = os.NewFile(uintptr(fd), "timerfd"), fd
	return s
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) {
	if s.tfd == nil {
		s.wait(ctx, d)
		return
	}
	until := time.Now().Add(d)
	for d > 5*time.Millisecond && ctx.Err() == nil {
		s.wait(ctx, d-2*time.Millisecond)
		d = time.Until(until)
	}
	if d > 0 && ctx.Err() == nil {
		if err := s.timerfdWait(d); err != nil {
			s.wait(ctx, time.Until(until))
		}
	}
}

// timerfdWait arms the timerfd once, d from now, and waits for it. On an
// error sleep falls back to a runtime timer.
func (s *sleeper) timerfdWait(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(s.fd, 0, &spec, nil); err != nil {
		return err
	}
	_, err := s.tfd.Read(s.buf[:])
	return err
}

func (s *sleeper) close() {
	if s.tfd != nil {
		_ = s.tfd.Close()
	}
}
