package rollup

import (
	"strconv"
	"sync"

	"github.com/clickedge/clickedge/tracking"
)

// scriptArgs builds the arguments of one script call in one buffer. Each
// argument is a *argRef to its bytes, which go-redis writes as they are
// (encoding.BinaryMarshaler): boxing a pointer allocates nothing, where
// boxing each string or number allocated once or twice, for the ten or more
// arguments of every click.
type scriptArgs struct {
	buf  []byte
	refs []argRef
	args []any
}

// argRef is one argument: the bytes buf[lo:hi] of its scriptArgs.
type argRef struct {
	s      *scriptArgs
	lo, hi int
}

// MarshalBinary returns the argument's bytes, valid until the scriptArgs is
// reset.
func (r *argRef) MarshalBinary() ([]byte, error) { return r.s.buf[r.lo:r.hi], nil }

var scriptArgsPool = sync.Pool{New: func() any { return new(scriptArgs) }}

// reset empties s for a call of n arguments.
func (s *scriptArgs) reset(n int) {
	s.buf = s.buf[:0]
	// A reference already handed out stays valid if refs grows: it points
	// into the old array, whose element never changes. Sizing refs for the
	// call keeps it from growing at all.
	if cap(s.refs) < n {
		s.refs = make([]argRef, 0, n)
		s.args = make([]any, 0, n)
	}
	s.refs, s.args = s.refs[:0], s.args[:0]
}

// end makes buf[lo:] the next argument.
func (s *scriptArgs) end(lo int) {
	s.refs = append(s.refs, argRef{s: s, lo: lo, hi: len(s.buf)})
	s.args = append(s.args, &s.refs[len(s.refs)-1])
}

func (s *scriptArgs) int(n int64) {
	lo := len(s.buf)
	s.buf = strconv.AppendInt(s.buf, n, 10)
	s.end(lo)
}

func (s *scriptArgs) str(v string) {
	lo := len(s.buf)
	s.buf = append(s.buf, v...)
	s.end(lo)
}

func (s *scriptArgs) bytes(v []byte) {
	lo := len(s.buf)
	s.buf = append(s.buf, v...)
	s.end(lo)
}

// cell appends the rollup cell of c as the next argument.
func (s *scriptArgs) cell(c *tracking.Click) {
	lo := len(s.buf)
	s.buf = appendCell(s.buf, c)
	s.end(lo)
}
