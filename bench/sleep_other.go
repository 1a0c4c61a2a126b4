//go:build !linux

package bench

import (
	"context"
	"time"
)

// sleeper sleeps on runtime timers; see sleep_linux.go for why Linux does
// better.
type sleeper struct{}

func newSleeper(time.Duration) *sleeper { return &sleeper{} }

func (s *sleeper) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *sleeper) close() {}
