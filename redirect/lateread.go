package redirect

import "time"

// Reading the next request late.
//
// After a response, fasthttp reads the connection again at once. Under load
// the client has rarely sent its next request by then: the read(2) finds
// nothing (EAGAIN), the runtime parks the goroutine on its network poller
// and reads again once epoll reports the request. The bare fasthttp server
// makes two read(2) calls per keep-alive request, one of them empty
// (bench/RESULTS.md).
//
// A connection whose last read left its socket empty (it returned fewer
// bytes than it had room for) skips that empty read: its next read waits
// on the poller first and calls read(2) once the socket is reported
// readable. Every byte that arrives after a read has emptied the socket
// makes epoll report the socket again, so a wait that begins before the
// request arrives cannot miss it. One case remains: the runtime clears what the
// poller saw when a read begins, so a request the poller reported before
// the read began is not reported again. With one P that takes a poll
// between the response and the next read, which under saturation the
// runtime's monitor thread does every 10 ms (it polls when no P has waited
// on the network for that long). The wait is therefore bounded: it gets a
// read deadline lateReadBound after the response, and past it the
// connection reads as fasthttp does, finding such a request at once, or
// waiting for one under the idle timeout. The bound costs no timer change
// per request: like the other deadlines it is moved only when the one in
// place is off by more than a quarter. Measured (bench/RESULTS.md): at
// full load one late read in 8 000 reached the bound, idle connections at
// the end of the runs included; at half load one in a million did. The
// requests found waiting at the bound are counted in
// clickedge_http_late_reads_missed_total: at most one in 21 000 to 42 000
// at 40 000 requests/s on a noisier machine.
//
// Waiting goroutines park instead of spinning, so the run queue empties
// and the runtime polls the network as often as before. Late reads are used
// with one P (GOMAXPROCS=1) only, on plain TCP connections, unless
// Limits.EagerReads is set: with more Ps, another P's poll takes a
// request's report before the read begins far more often (GOMAXPROCS=2,
// the edge sharing its two cores with wrk: 0.3% of late reads reached the
// bound and wrk's p99 rose from 5.4-5.9 ms to 21 ms, though the edge served
// 4-9% more requests for 4-9% less CPU each).
//
// lateReadBound is the longest a request can wait unseen, in the case
// above; an idle connection also reads once, finding nothing, this long
// after its last response.
const lateReadBound = 25 * time.Millisecond
