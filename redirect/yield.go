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
// the system calls of a keep-alive request (bench/RESULTS.md).
//
// A connection whose next request was already there when it last read late
// is hot. After its next response it yields (runtime.Gosched) before
// reading: the connections ahead of it in the run queue are served first,
// and by then its request has usually arrived. A cold connection reads at
// once, as fasthttp does, and reads late once in probeEvery responses to
// find out whether it has turned hot.
//
// With one P (GOMAXPROCS=1), the runtime polls the network only when no
// goroutine is runnable, or when its monitor finds no poll in the last
// 10 ms. Yielding goroutines keep the run queue from emptying, so without
// a bound a connection waiting on the poller (a new one, or an idle one
// whose next request just came) could wait 10-20 ms. So late reads draw on
// a budget of yieldBudget. A read the poller woke refills an exhausted
// budget. Between two polls, late reads number at most yieldBudget plus
// the connections one poll wakes.
//
// Late reads are only used with one P. With more, Gosched takes the
// scheduler's global lock and can move goroutines between threads; that
// cost was not measured to pay off.
type readYield struct{ budget atomic.Int32 }

const (
	// yieldBudget bounds late reads between two polls of the network.
	yieldBudget = 64
	// probeEvery is how often (in responses) a cold connection reads late.
	probeEvery = 16
)

// newReadYield returns a full budget.
func newReadYield() *readYield {
	y := &readYield{}
	y.budget.Store(yieldBudget)
	return y
}

// take spends one late read of the budget, reporting false when there is
// none.
func (y *readYield) take() bool {
	return y.budget.Load() > 0 && y.budget.Add(-1) >= 0
}

// refill restores an exhausted budget; the poller just woke a connection.
func (y *readYield) refill() {
	if y.budget.Load() <= 0 {
		y.budget.Store(yieldBudget)
	}
}

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
