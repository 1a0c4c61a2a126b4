//go:build !linux

package bench

import (
	"context"
	"time"
)

// sleeper sleeps on one runtime timer, reset for every wait; see
// sleep_linux.go for why Linux does better and why the timer is reused.
type sleeper struct{ t *time.Timer }

func newSleeper(time.Duration) *sleeper { return &sleeper{} }

func (s *sleeper) sleep(ctx context.Context, d time.Duration) {
	if s.t == nil {
		s.t = time.NewTimer(d)
	} else {
		s.t.Reset(d) // since Go 1.23 a Reset timer never delivers an earlier expiry
	}
	select {
	case <-s.t.C:
	case <-ctx.Done():
		s.t.Stop()
	}
}

func (s *sleeper) close() {}
