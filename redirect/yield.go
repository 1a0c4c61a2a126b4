package redirect

import (
	"runtime"
	"sync/atomic"
)

// Reading the next request late.
//
// After a response, fasthttp reads the connection again at once. Under load
// the client has rarely sent its next request by then: the read(2) finds
// nothing (EAGAIN), the runtime parks the goroutine on its network poller
// and reads again once the request is there. The empty read is a third of
// the system calls of a keep-alive request and about half a microsecond of
// the edge's core (bench/RESULTS.md).
//
// A connection whose next request was already there when it last read late
// is hot: after its next response it yields (runtime.Gosched) before
// reading, so the connections ahead of it in the run queue are served
// first and its request has usually arrived by the time it reads. A cold
// connection reads at once, as fasthttp does, and tries a late read once
// every probeEvery responses to find out whether it has turned hot.
//
// The runtime polls the network only when no goroutine is runnable, and
// yielding goroutines keep the run queue from emptying: a connection that
// waits on the poller (an idle keep-alive one whose next request just came,
// or a new one) could wait until the runtime's monitor polls, up to 10 ms.
// So yields draw on a budget of yieldBudget, refilled whenever the poller
// hands a connection its data: between two polls at most yieldBudget
// requests are served ahead of anything waiting on the poller.
type readYield struct{ budget atomic.Int32 }

const (
	// yieldBudget is how many late reads may happen between two times the
	// network poller woke a connection.
	yieldBudget = 64
	// probeEvery is how often (in responses) a cold connection reads late.
	probeEvery = 16
)

func newReadYield() *readYield {
	y := &readYield{}
	y.refill()
	return y
}

// take spends one yield of the budget, reporting false when there is none.
// Concurrent takes may overdraw by a few; the bound is approximate.
func (y *readYield) take() bool {
	if y.budget.Load() <= 0 {
		return false
	}
	y.budget.Add(-1)
	return true
}

// refill restores the budget; the network poller just woke a connection.
func (y *readYield) refill() { y.budget.Store(yieldBudget) }

// readLate yields before c reads its next request when c is hot (or
// probes) and the budget allows, reporting whether it did.
func (c *deadlineConn) readLate() bool {
	if c.yield == nil {
		return false
	}
	if !c.hot {
		c.probe++
		if c.probe%probeEvery != 0 {
			return false
		}
	}
	if !c.yield.take() {
		return false
	}
	runtime.Gosched()
	return true
}
