package tracking

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// cacheWays is the associativity of the classification caches.
const cacheWays = 4

// cacheEntry is one cached result. Entries are immutable once published.
type cacheEntry[V any] struct {
	key  string
	hash uint64
	val  V
}

// setCache is a bounded, lock-free, 4-way set-associative cache from a byte
// string (a user agent, a referrer's origin) to a classification. A lookup
// hashes the key once, loads at most four slot pointers and compares keys,
// so concurrent hits never write shared memory (BenchmarkClassifySeenUAParallel;
// a map behind sharded RWMutexes spent its time on the lock's reader count
// bouncing between cores). A miss publishes a new entry into a free way of
// its set or over a pseudo-randomly chosen one.
type setCache[V any] struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry[V]]
	mask  uint64 // number of sets - 1
}

// newSetCache returns a cache of at least size entries (rounded up to a
// power of two sets).
func newSetCache[V any](size int) *setCache[V] {
	sets := 1
	if size > cacheWays {
		sets = 1 << bits.Len(uint((size-1)/cacheWays))
	}
	return &setCache[V]{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[cacheEntry[V]], sets*cacheWays),
		mask:  uint64(sets - 1),
	}
}

func (c *setCache[V]) hash(key []byte) uint64 {
	return maphash.Bytes(c.seed, key)
}

// get returns the entry for key; h is c.hash(key). It does not allocate.
func (c *setCache[V]) get(h uint64, key []byte) (*cacheEntry[V], bool) {
	set := c.slots[(h&c.mask)*cacheWays:][:cacheWays]
	for i := range set {
		e := set[i].Load()
		if e != nil && e.hash == h && e.key == string(key) {
			return e, true
		}
	}
	return nil, false
}

// put publishes e (e.hash set) and reports whether it evicted another entry.
func (c *setCache[V]) put(e *cacheEntry[V]) (evicted bool) {
	set := c.slots[(e.hash&c.mask)*cacheWays:][:cacheWays]
	for i := range set {
		if set[i].CompareAndSwap(nil, e) {
			return false
		}
	}
	// The set is full: replace a way picked by hash bits the set index does
	// not use.
	set[(e.hash>>58)%cacheWays].Store(e)
	return true
}

// len returns the number of cached entries.
func (c *setCache[V]) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
