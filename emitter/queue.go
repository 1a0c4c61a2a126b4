package emitter

import (
	"time"
	"unsafe"

	"github.com/clickedge/clickedge/internal/prefetch"
)

// queue holds events between Emit and the flusher: their keys and values
// back to back in blocks of memory, and where each one lies.
//
// The Writer has two queues. Emit appends to one under the Writer's mutex;
// the flusher takes the whole of it in exchange for the other, empty one,
// and reads its events in the order they were written while Emit fills the
// other; a backlog is sent in BatchSize steps. So each event is written
// once, right after the one before it, and read once in the same order:
// memory the CPU's prefetchers follow. With an event copy per Emit in a
// buffer of its own (recycled from a free list), the copy was written to
// memory the kernel's TCP work between two flushes had evicted, one
// scattered buffer per click; under load that cost the edge about as much
// as the copy itself (bench/RESULTS.md).
//
// Blocks have a fixed size, so a growing backlog never copies what the
// queue holds (a single growing buffer would, under the Writer's mutex),
// and they are recycled through the Writer's free list of blocks.
type queue struct {
	blocks [][]byte
	evts   []queued
	bytes  int // the keys and values held
}

// queued is where one event lies: the key at blocks[blk][off:], then the
// value.
type queued struct {
	blk, off, klen, vlen uint32
}

const (
	// queueBlockSize is the size of a queue block: about 5 ms of events
	// at 100 000 events/s. An event larger than a block gets a block of
	// its own, which is not recycled.
	queueBlockSize = 256 << 10
	// maxFreeBlocks bounds the free list of blocks (8 MiB); blocks a
	// backlog needed beyond it go to the GC once delivered.
	maxFreeBlocks = 32
	// initQueueEvents is the initial capacity of a queue's index.
	initQueueEvents = 4096
)

func newQueue() queue { return queue{evts: make([]queued, 0, initQueueEvents)} }

func (q *queue) len() int { return len(q.evts) }

// add appends one event, taking a new block from free when the last one is
// full.
func (q *queue) add(key, value []byte, free *blockList) {
	n := len(key) + len(value)
	last := len(q.blocks) - 1
	if last < 0 || cap(q.blocks[last])-len(q.blocks[last]) < n {
		q.blocks = append(q.blocks, free.get(n))
		last++
	}
	b := q.blocks[last]
	off := len(b)
	b = append(append(b, key...), value...)
	q.blocks[last] = b
	// A block's memory was last touched when the flusher read it, a batch
	// or more ago: under load its lines have left the CPU's caches. Asking
	// for the lines the event after next will be written to lets them
	// arrive while the request is answered; otherwise the copy's stores
	// wait for them at the next atomic instruction (about 55 ns per event
	// under wrk on a KVM guest, bench/RESULTS.md round 12).
	if rest := b[len(b):cap(b)]; len(rest) >= 1024 {
		prefetch.Range(unsafe.Pointer(&rest[512]), 512)
	}
	q.evts = append(q.evts, queued{blk: uint32(last), off: uint32(off), klen: uint32(len(key)), vlen: uint32(len(value))})
	q.bytes += n
}

// reset empties q, putting its blocks on free.
func (q *queue) reset(free *blockList) {
	for i, b := range q.blocks {
		free.put(b)
		q.blocks[i] = nil
	}
	q.blocks, q.evts, q.bytes = q.blocks[:0], q.evts[:0], 0
}

// records appends q's events from..to-1 to dst as records stamped ts. The
// records alias q's blocks until its next reset.
func (q *queue) records(dst []spoolRecord, from, to int, ts time.Time) []spoolRecord {
	ms := ts.UnixMilli()
	for _, e := range q.evts[from:to] {
		b := q.blocks[e.blk]
		kend := e.off + e.klen
		vend := kend + e.vlen
		dst = append(dst, spoolRecord{TS: ms, Key: b[e.off:kend:kend], Value: b[kend:vend:vend]})
	}
	return dst
}

// blockList is a free list of queue blocks, last put first out: the block
// the flusher released last is the likeliest to be in the CPU's caches.
type blockList struct{ blocks [][]byte }

// get returns an empty block that can hold n bytes.
func (l *blockList) get(n int) []byte {
	if n > queueBlockSize {
		return make([]byte, 0, n)
	}
	if k := len(l.blocks); k > 0 {
		b := l.blocks[k-1]
		l.blocks[k-1] = nil
		l.blocks = l.blocks[:k-1]
		return b
	}
	return make([]byte, 0, queueBlockSize)
}

// put keeps a block of the standard size for reuse, up to maxFreeBlocks.
func (l *blockList) put(b []byte) {
	if cap(b) == queueBlockSize && len(l.blocks) < maxFreeBlocks {
		l.blocks = append(l.blocks, b[:0])
	}
}
