//go:build !linux

package bench

import (
	"context"
	"time"
)

// sleeper sleeps on a runtime timer; see sleep_linux.go for why Linux does
// better.
type sleeper struct{ timer }

func newSleeper() *sleeper { return &sleeper{} }

func (s *sleeper) sleep(ctx context.Context, d time.Duration) { s.wait(ctx, d) }

func (s *sleeper) close() {}
