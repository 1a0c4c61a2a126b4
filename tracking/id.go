package tracking

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// IDLen is the length of a click ID in bytes.
const IDLen = 26

// crockford is Crockford's base32 alphabet: URL-safe, case-insensitive when
// read back, and in ASCII order, so IDs sort by time as strings.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDGenerator makes click IDs: 26 characters of Crockford base32 encoding 128
// bits, a 48-bit Unix millisecond timestamp followed by a 48-bit random
// per-process value and a 32-bit counter that starts at a random value (the
// layout of a ULID). IDs of one process never repeat; IDs of different
// processes collide only if 80 random bits and the millisecond agree. It is
// safe for concurrent use.
type IDGenerator struct {
	process uint64 // 48 random bits
	counter atomic.Uint32
	now     func() time.Time
}

// NewIDGenerator returns an IDGenerator seeded from crypto/rand.
func NewIDGenerator() *IDGenerator {
	var b [10]byte
	rand.Read(b[:])
	g := &IDGenerator{
		process: binary.BigEndian.Uint64(b[0:8]) >> 16,
		now:     time.Now,
	}
	g.counter.Store(binary.BigEndian.Uint32(b[6:10]))
	return g
}

// Append appends a new click ID (IDLen bytes) to dst. It does not allocate
// when dst has capacity.
func (g *IDGenerator) Append(dst []byte) []byte { return g.AppendAt(dst, g.now()) }

// AppendAt is Append for a click at time t (the ID's timestamp part), for
// callers that already read the clock.
func (g *IDGenerator) AppendAt(dst []byte, t time.Time) []byte {
	ms := uint64(t.UnixMilli())
	n := g.counter.Add(1)
	hi := ms<<16 | g.process>>32
	lo := g.process<<32 | uint64(n)
	return appendBase32(dst, hi, lo)
}

// appendBase32 appends the 128-bit value hi:lo as 26 Crockford base32 digits,
// most significant first (the first digit carries the top 3 bits).
func appendBase32(dst []byte, hi, lo uint64) []byte {
	var out [IDLen]byte
	for i := IDLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(dst, out[:]...)
}
