package bench

import (
	"context"
	"time"
)

// timer waits on one runtime timer, reset for every wait. The open-loop
// pacer waits once per request slot: a new timer each time (35 000 a second
// at half the edge's rate) made garbage enough for a GC cycle every second
// or two, whose pauses on the generator's core showed up as the latency of
// every target.
type timer struct{ t *time.Timer }

// wait waits d, or until ctx ends.
func (w *timer) wait(ctx context.Context, d time.Duration) {
	if w.t == nil {
		w.t = time.NewTimer(d)
	} else {
		w.t.Reset(d) // since Go 1.23 a Reset timer never delivers an earlier expiry
	}
	select {
	case <-w.t.C:
	case <-ctx.Done():
		w.t.Stop()
	}
}
