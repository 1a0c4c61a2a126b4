package emitter

import (
	"context"
	"errors"
	"net"
	"sync"
)

// errConnsCut is returned by dials after connTracker.cutAll.
var errConnsCut = errors.New("broker connections cut by Close")

// connTracker dials broker connections for kafka-go and can cut them all
// at once. kafka-go's connection goroutines finish an abandoned produce
// until its timeout runs out; cutting the connections ends such a produce
// at once, so Close honours its context.
type connTracker struct {
	dialer net.Dialer

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	cut   bool
}

func newConnTracker() *connTracker {
	return &connTracker{conns: make(map[*trackedConn]struct{})}
}

// dial is the kafka.Transport's Dial function.
func (t *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	t.mu.Lock()
	cut := t.cut
	t.mu.Unlock()
	if cut {
		return nil, errConnsCut
	}
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		_ = c.Close()
		return nil, errConnsCut
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// cutAll closes every connection and refuses new ones.
func (t *connTracker) cutAll() {
	t.mu.Lock()
	t.cut = true
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}
