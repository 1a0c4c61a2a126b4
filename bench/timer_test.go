package bench

import (
	"context"
	"testing"
	"time"
)

// TestTimerReuse: the reused timer ends a wait when the context ends, and a
// later wait lasts its own duration, whatever the earlier waits left behind.
func TestTimerReuse(t *testing.T) {
	var w timer
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	w.wait(cancelled, time.Hour) // returns: the context has ended
	for _, d := range []time.Duration{time.Millisecond, 3 * time.Millisecond, time.Millisecond} {
		start := time.Now()
		w.wait(context.Background(), d)
		if got := time.Since(start); got < d {
			t.Fatalf("a wait of %s returned after %s", d, got)
		}
	}
	w.wait(cancelled, time.Hour)
}
