package tracking

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// maxCachedUALen is the longest user agent kept in the cache. Real user agents
// are far shorter; longer ones are classified on every request (still without
// allocating), which bounds the cache's memory by about UACacheSize * 1 KiB.
const maxCachedUALen = 1024

// uaWays is the associativity of the user-agent cache.
const uaWays = 4

// uaEntry is the cached result for one user agent. Entries are immutable once
// published.
type uaEntry struct {
	key    string
	hash   uint64
	class  uaClass
	digest [2]uint64
}

// uaCache is a bounded, lock-free, 4-way set-associative cache from user agent
// to uaEntry. A lookup hashes the user agent once, loads at most four slot
// pointers and compares keys, so concurrent hits never write shared memory
// (BenchmarkClassifySeenUAParallel; a map behind sharded RWMutexes spent its
// time on the lock's reader count bouncing between cores). A miss publishes a
// new entry into a free way of its set or over a pseudo-randomly chosen one.
type uaCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[uaEntry]
	mask  uint64 // number of sets - 1
}

func newUACache(size int) *uaCache {
	sets := 1
	if size > uaWays {
		sets = 1 << bits.Len(uint((size-1)/uaWays))
	}
	return &uaCache{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[uaEntry], sets*uaWays),
		mask:  uint64(sets - 1),
	}
}

func (c *uaCache) hash(ua []byte) uint64 {
	return maphash.Bytes(c.seed, ua)
}

// get returns the entry for ua; h is c.hash(ua). It does not allocate.
func (c *uaCache) get(h uint64, ua []byte) (*uaEntry, bool) {
	set := c.slots[(h&c.mask)*uaWays:][:uaWays]
	for i := range set {
		e := set[i].Load()
		if e != nil && e.hash == h && e.key == string(ua) {
			return e, true
		}
	}
	return nil, false
}

// put publishes e (e.hash set) and reports whether it evicted another entry.
func (c *uaCache) put(e *uaEntry) (evicted bool) {
	set := c.slots[(e.hash&c.mask)*uaWays:][:uaWays]
	for i := range set {
		if set[i].CompareAndSwap(nil, e) {
			return false
		}
	}
	// The set is full: replace a way picked by hash bits the set index does
	// not use.
	set[(e.hash>>58)%uaWays].Store(e)
	return true
}

// len returns the number of cached user agents.
func (c *uaCache) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
