package emitter

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func queueOf(free *blockList, events ...string) queue {
	q := newQueue()
	for i, v := range events {
		q.add([]byte(fmt.Sprintf("k%d", i)), []byte(v), free)
	}
	return q
}

// wantRecords checks that recs are the events "k<first+i>" → values[i],
// stamped ts.
func wantRecords(t *testing.T, recs []spoolRecord, first int, values []string, ts int64) {
	t.Helper()
	if len(recs) != len(values) {
		t.Fatalf("got %d records; want %d", len(recs), len(values))
	}
	for i, r := range recs {
		if k := fmt.Sprintf("k%d", first+i); string(r.Key) != k || string(r.Value) != values[i] || r.TS != ts {
			t.Fatalf("record %d: got (%q, %q, %d); want (%q, %q, %d)", i, r.Key, r.Value, r.TS, k, values[i], ts)
		}
	}
}

func TestQueueRecords(t *testing.T) {
	// Events that fill a block exactly, spill into the next ones and need
	// a block of their own.
	values := []string{`{"a":1}`, "", `{"b":"two"}`, strings.Repeat("x", queueBlockSize-2-7-2-2-2-11),
		"next block", strings.Repeat("y", 2*queueBlockSize), "after the big one"}
	var free blockList
	q := queueOf(&free, values...)
	if q.len() != len(values) {
		t.Fatalf("len: got %d; want %d", q.len(), len(values))
	}
	if len(q.blocks) != 4 {
		t.Fatalf("blocks: got %d; want 4 (a full one, the next, a big event's own, the rest)", len(q.blocks))
	}
	if n := len(q.blocks[0]); n != queueBlockSize {
		t.Fatalf("the first block holds %d bytes; want %d", n, queueBlockSize)
	}
	ts := time.UnixMilli(1700000000123)
	recs := q.records(nil, 0, q.len(), ts)
	wantRecords(t, recs, 0, values, ts.UnixMilli())
	// A record's key and value cannot reach into the next event.
	recs[0].Key = append(recs[0].Key, 'Z')
	recs[0].Value = append(recs[0].Value, 'Z')
	wantRecords(t, q.records(nil, 1, q.len(), ts), 1, values[1:], ts.UnixMilli())
	// A range, appended to what dst holds.
	recs = q.records(recs[:1], 1, 3, ts)
	wantRecords(t, recs[1:], 1, values[1:3], ts.UnixMilli())
}

func TestQueueRecyclesBlocks(t *testing.T) {
	var free blockList
	q := queueOf(&free, "a", "b")
	first := &q.blocks[0][:1][0]
	q.reset(&free)
	if q.len() != 0 || q.bytes != 0 || len(q.blocks) != 0 || len(free.blocks) != 1 {
		t.Fatalf("after reset: %d events, %d bytes, %d blocks, %d free; want 0, 0, 0, 1", q.len(), q.bytes, len(q.blocks), len(free.blocks))
	}
	q.add([]byte("k"), []byte("v"), &free)
	if &q.blocks[0][:1][0] != first {
		t.Fatalf("the queue did not reuse its free block")
	}
	// A big event's block is not kept, and the free list is bounded.
	q.add(nil, make([]byte, queueBlockSize+1), &free)
	for range 2 * maxFreeBlocks {
		q.add(nil, make([]byte, queueBlockSize), &free)
	}
	q.reset(&free)
	if len(free.blocks) != maxFreeBlocks {
		t.Fatalf("free blocks: got %d; want %d", len(free.blocks), maxFreeBlocks)
	}
	for _, b := range free.blocks {
		if cap(b) != queueBlockSize || len(b) != 0 {
			t.Fatalf("a free block has length %d, capacity %d; want 0, %d", len(b), cap(b), queueBlockSize)
		}
	}
}

// TestEmitQueueBytesBound fills the queue of a Writer with no flusher with
// the largest events: Emit stops taking them at maxQueueBytes, whatever
// QueueSize allows, and counts the rest as dropped.
func TestEmitQueueBytesBound(t *testing.T) {
	cfg := Config{MaxEventBytes: maxEventBytesLimit}.withDefaults()
	w := &Writer{cfg: cfg, stop: make(chan struct{})}
	w.initQueue()
	w.m = newWriterMetrics(w)
	value := make([]byte, maxEventBytesLimit-2)
	const fit = maxQueueBytes / maxEventBytesLimit
	for range fit + 3 {
		w.Emit([]byte("k1"), value)
	}
	s := w.Stats()
	if s.Enqueued != fit || s.QueueDepth != fit || s.Dropped[DropQueueFullNoSpool] != 3 {
		t.Fatalf("enqueued %d, queue depth %d, dropped %d; want %d, %d, 3",
			s.Enqueued, s.QueueDepth, s.Dropped[DropQueueFullNoSpool], fit, fit)
	}
	if w.q.bytes > maxQueueBytes {
		t.Fatalf("the queue holds %d bytes; want at most %d", w.q.bytes, maxQueueBytes)
	}
}
