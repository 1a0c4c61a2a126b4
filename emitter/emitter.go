// Package emitter moves click events from the request path to Kafka without
// ever making the request wait, and keeps them on disk while Kafka is slow
// or away.
//
// The emitter knows nothing about the event format: it moves (key, value)
// byte pairs to one topic, partitioned by a hash of the key.
//
// # Data path
//
//	Emit ──► queue (QueueSize) ──► flusher ──► producer ──► Kafka
//	  │                               │ write failed / spool not empty
//	  │ queue full                    ▼
//	  └──► overflow (OverflowSize) ─► spool (segment files) ──► replayer ──► Kafka
//
// Emit appends the event to the queue (events back to back in blocks of
// memory, queue.go) under the Writer's mutex. When the queue is full it does a non-blocking
// send on the overflow buffer, drained by the spool writer goroutine; Emit itself
// never touches the disk, so a slow disk can cost events (counted as
// "queue_full") but never request latency. When both are full, or there is
// no spool, the event is dropped and counted.
//
// The flusher takes the whole queue once it holds BatchSize events, or
// BatchTimeout after its first one, and writes what it took in synchronous
// produce calls of at most BatchSize events each (acks=all, at most
// MaxAttempts tries of WriteTimeout each): the producer (produce.go) encodes
// one Kafka record batch per partition itself and sends the batches of the
// partitions a broker leads in one produce request. Events of a failed
// write go to the spool, and from then on the flusher appends every
// batch to the spool instead of Kafka ("spooling") until the replayer has
// emptied it; overflow events start spooling too. Without a spool the
// flusher retries the failed batch with backoff while the queue absorbs
// new events.
//
// # Spool
//
// SpoolDir holds append-only segment files of at most SpoolSegmentBytes,
// named <20-digit sequence>.seg, beside a LOCK file (flocked, so two
// Writers never share a directory) and a cursor file. Each segment starts
// with the 8-byte magic "clkspl01", followed by records:
//
//	size u32 | crc u32 | ts i64 | klen u32 | key | value     (little-endian)
//
// size counts the bytes after crc, and crc is the CRC-32C of size and
// those bytes; ts is the Kafka record timestamp in Unix milliseconds. The
// spool is bounded by SpoolMaxBytes. The replayer reads records in order,
// writes them to Kafka in BatchSize steps, retrying with exponential
// backoff (ReplayBackoffMin to ReplayBackoffMax) while Kafka is away, and
// deletes a segment only after Kafka acknowledged every record in it. A
// small cursor file remembers how far replay got (saved every second and on
// Close), so a restart does not resend what was acknowledged.
//
// New opens the segments a previous process left, truncates a torn tail of
// the newest one (a record cut by kill -9 or a crash) and replays the rest.
// A record that fails its checksum is skipped by scanning forward for the
// next valid record and is counted as dropped with reason "corrupt"; a
// damaged spool never stops the Writer.
//
// # Loss window
//
// Each spool append is written to the file (the OS page cache) before the
// append returns, and fsynced every SpoolSyncInterval, when a segment is
// sealed, and on Close. So:
//
//   - kill -9 (process death) loses exactly the events held in memory: those
//     in the queue or taken from it by the flusher (at most QueueSize
//     together), in the overflow buffer (at most OverflowSize) and in the
//     batch the spool writer is handling (at most BatchSize), unless Kafka
//     had already acknowledged them. Nothing that reached the spool is lost.
//   - An OS crash or power loss can additionally lose spool data written in
//     the last SpoolSyncInterval (100ms by default).
//
// Replay after a restart can send again records that Kafka had acknowledged
// after the cursor was last saved, and a write that timed out may have
// reached Kafka before it was spooled: the stream is at-least-once and
// consumers deduplicate by click ID.
//
// # Ordering
//
// Events with the same key go to the same partition and, on the normal
// path, arrive in Emit order: one flusher issues one produce call at a
// time and the producer writes a partition's batches in sequence. Exceptions:
//
//   - A write that failed or timed out may still have reached Kafka; its
//     events are spooled and sent again, so a key can see an event twice,
//     the second copy after later events.
//   - Once a write fails, live events are appended to the spool behind the
//     failed ones instead of being sent past them, so order holds through an
//     outage and across a restart (a spool left by a previous process puts
//     the new process in spooling mode from the start). The price: while the
//     backlog is replayed, live events wait behind it.
//   - When the queue overflows, the overflow events are spooled (and
//     spooling starts) while older events are still in the queue; those
//     older events then reach Kafka after the newer overflow events.
//
// # Metrics
//
// WriteMetrics writes, in Prometheus text format:
// clickedge_events_total{result="enqueued"|"sent"|"spooled"|"replayed"}
// (an event in the queue is counted as enqueued when the flusher takes the
// queue: within BatchTimeout while Kafka keeps up; queue_depth counts it
// before),
// clickedge_events_dropped_total{reason=...} (one series per Drop* reason),
// clickedge_emitter_queue_depth, clickedge_emitter_spooling,
// clickedge_spool_bytes, clickedge_spool_segments,
// clickedge_kafka_write_duration_seconds (histogram of produce calls, one
// per flushed batch, all partitions) and clickedge_kafka_write_errors_total
// (failed produce calls).
package emitter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

const (
	// maxPooledEventCap keeps rare huge events from pinning memory in the
	// event pool.
	maxPooledEventCap = 16 << 10

	// metadataTTL is how long the producers use a partition count before
	// they read it again from the transport's metadata cache (which
	// kafka-go refreshes from the brokers every 6s).
	metadataTTL = time.Second

	// Backoff between a produce's attempts; short, since the spool is the
	// real retry mechanism.
	kafkaBackoffMin = 20 * time.Millisecond
	kafkaBackoffMax = 200 * time.Millisecond
)

// event is the copy of one event Emit hands to the spool writer when the
// queue is full: key followed by value in buf.
type event struct {
	buf  []byte
	klen int
}

const (
	// maxQueueBytes bounds the keys and values in the queue, beside
	// QueueSize.
	maxQueueBytes = 64 << 20
	// maxFreeEvents bounds the Writer's free list of overflow event
	// copies. In flight are at most the overflow buffer's events; beyond
	// this, released events go to the GC.
	maxFreeEvents = 16384
)

// newEvent takes an overflow event copy from the free list, or makes one;
// w.mu is held. The free list is a stack, so that Emit reuses the copy
// released last, whose memory is the likeliest to be in the CPU's caches.
func (w *Writer) newEvent() *event {
	if n := len(w.free); n > 0 {
		e := w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
		return e
	}
	return new(event)
}

func (e *event) set(key, value []byte) {
	e.buf = append(append(e.buf[:0], key...), value...)
	e.klen = len(key)
}

func (e *event) key() []byte   { return e.buf[:e.klen:e.klen] }
func (e *event) value() []byte { return e.buf[e.klen:] }

// releaseEvents puts the batch's events on the free list, the last one on
// top, and clears batch.
func (w *Writer) releaseEvents(batch []*event) {
	w.mu.Lock()
	for i, e := range batch {
		if cap(e.buf) > maxPooledEventCap {
			e.buf = nil
		}
		if len(w.free) < maxFreeEvents {
			w.free = append(w.free, e)
		}
		batch[i] = nil
	}
	w.mu.Unlock()
}

// Writer sends events to Kafka, spooling them to disk when Kafka cannot
// take them. Emit, Stats and WriteMetrics are safe for concurrent use.
type Writer struct {
	cfg       Config
	log       *zap.Logger
	live      *producer        // the flusher's; nil without Brokers
	replay    *producer        // the replayer's; nil without Brokers
	transport *kafka.Transport // nil without Brokers
	conns     *connTracker     // nil without Brokers
	sp        *spool           // nil without SpoolDir
	m         *writerMetrics

	// mu guards the queue (q, oldest first), the count of what the
	// flusher took from it and has not delivered (held and heldBytes),
	// closed and the free list of overflow event copies. Together the
	// queue and what the flusher holds are at most QueueSize events and
	// maxQueueBytes bytes. Emit takes mu once: an uncontended lock is two
	// atomic operations, where a channel send, a separate free list and a
	// count of Emit calls in progress took six.
	mu        sync.Mutex
	q         queue
	blocks    blockList // the free blocks of both queues
	held      int       // events the flusher took and has not delivered
	heldBytes int       // the bytes of the flusher's batch
	free      []*event
	closed    bool // Close has begun: Emit adds nothing any more
	// wake holds a token once the queue turned non-empty, for a flusher
	// waiting for its next batch's first event.
	wake chan struct{}

	overflow chan *event // nil without a spool
	noSink   bool        // no brokers and no spool: every event is dropped

	// writeDeadline bounds one produce call: every attempt,
	// backoff and the metadata lookup.
	writeDeadline time.Duration

	stop       chan struct{} // closed by Close once closed is set: no Emit adds any more
	abortCtx   context.Context
	abort      context.CancelFunc // Close's context ended: stop using Kafka
	replayCtx  context.Context
	stopReplay context.CancelFunc

	// failing is set by the flusher while Kafka writes fail (for logging
	// state changes once).
	failing bool

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, opens the spool (replaying what a previous process
// left) and starts the Writer's goroutines. Close stops them.
func New(cfg Config) (*Writer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cannot create emitter for topic %q: %w", cfg.Topic, err)
	}
	w := &Writer{
		cfg:  cfg,
		log:  cfg.Logger.With(zap.String("topic", cfg.Topic)),
		stop: make(chan struct{}),
		writeDeadline: time.Duration(cfg.MaxAttempts)*(cfg.WriteTimeout+kafkaBackoffMax) +
			cfg.WriteTimeout,
	}
	w.initQueue()
	w.abortCtx, w.abort = context.WithCancel(context.Background())
	w.replayCtx, w.stopReplay = context.WithCancel(context.Background())
	w.m = newWriterMetrics(w)

	if len(cfg.Brokers) > 0 {
		codec, _ := compressionCodec(cfg.Compression) // checked by validate
		w.conns = newConnTracker()
		w.transport = &kafka.Transport{
			Dial:        w.conns.dial,
			DialTimeout: cfg.WriteTimeout,
			ClientID:    "clickedge",
		}
		pcfg := producerConfig{
			client:       &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: w.transport},
			topic:        cfg.Topic,
			codec:        codec,
			batchBytes:   int(cfg.BatchBytes),
			maxAttempts:  cfg.MaxAttempts,
			writeTimeout: cfg.WriteTimeout,
			backoffMin:   kafkaBackoffMin,
			backoffMax:   kafkaBackoffMax,
			metadataTTL:  metadataTTL,
		}
		w.live, w.replay = newProducer(pcfg), newProducer(pcfg)
	}
	if cfg.SpoolDir != "" {
		sp, corrupt, err := openSpool(spoolConfig{
			dir:          cfg.SpoolDir,
			maxBytes:     cfg.SpoolMaxBytes,
			segmentBytes: cfg.SpoolSegmentBytes,
			syncInterval: cfg.SpoolSyncInterval,
			log:          w.log,
		}, w.live != nil)
		if err != nil {
			w.abort()
			w.stopReplay()
			return nil, err
		}
		w.sp = sp
		w.overflow = make(chan *event, cfg.OverflowSize)
		w.m.dropped[dropCorrupt].Add(corrupt)
		if sp.detoured() {
			w.log.Info("spool holds events from a previous run; replaying",
				zap.String("dir", cfg.SpoolDir), zap.Int64("bytes", sp.totalBytes.Load()))
		}
	}
	w.noSink = w.live == nil && w.sp == nil

	w.wg.Add(1)
	go w.runFlusher()
	if w.sp != nil {
		w.wg.Add(1)
		go w.runSpooler()
		if w.live != nil {
			w.wg.Add(1)
			go w.runReplayer()
		}
	}
	return w, nil
}

// initQueue makes the queue, with a few blocks ready for it.
func (w *Writer) initQueue() {
	w.q = newQueue()
	for range 4 {
		w.blocks.put(make([]byte, 0, queueBlockSize))
	}
	w.wake = make(chan struct{}, 1)
}

// Emit copies key and value into the in-memory queue and returns at once;
// the caller may reuse both slices as soon as it returns. Emit never blocks
// and never does I/O: when the queue is full the event goes to the overflow
// buffer of the spool, and when that is full too (or there is no spool) it
// is dropped and counted. Emit is safe for concurrent use and makes no
// allocations in steady state.
func (w *Writer) Emit(key, value []byte) {
	if len(key)+len(value) > w.cfg.MaxEventBytes {
		w.m.dropped[dropTooLarge].Inc()
		return
	}
	if w.noSink {
		w.m.dropped[dropNoBroker].Inc()
		return
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.m.dropped[dropClosed].Inc()
		return
	}
	if n := w.q.len(); n+w.held < w.cfg.QueueSize && w.q.bytes+w.heldBytes+len(key)+len(value) <= maxQueueBytes {
		// The queue's events are counted as enqueued when the flusher
		// takes them (take): an atomic add per batch instead of per event.
		w.q.add(key, value, &w.blocks)
		w.mu.Unlock()
		if n == 0 {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		return
	}
	// The queue is full. The overflow send happens under mu, so that Close,
	// once it has set closed, knows no Emit will add to the overflow
	// buffer behind the spool writer's final drain.
	counted := w.emitOverflow(key, value)
	w.mu.Unlock()
	counted.Inc()
}

// emitOverflow hands a copy of the event to the spool writer without
// blocking; w.mu is held. It returns the counter the event belongs to:
// enqueued, or the reason it was dropped.
func (w *Writer) emitOverflow(key, value []byte) *metrics.Counter {
	if w.overflow == nil {
		return w.m.dropped[dropQueueFullNoSpool]
	}
	if len(w.overflow) == cap(w.overflow) {
		return w.m.dropped[dropQueueFull]
	}
	e := w.newEvent()
	e.set(key, value)
	w.overflow <- e // only Emit sends, under mu: there is room
	return w.m.enqueued
}

// runFlusher batches events from the queue and delivers them until Close
// stops it with the queue empty.
func (w *Writer) runFlusher() {
	defer w.wg.Done()
	d := newDeliverer(w.cfg.BatchSize)
	batch := newQueue()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		done := w.collect(&batch, timer)
		if batch.len() > 0 {
			w.deliver(d, &batch)
		}
		if done {
			return
		}
	}
}

// collect takes the queue into batch once it holds BatchSize events, or
// BatchTimeout after its first one. done is true when Close has begun and
// the queue is empty.
//
// After the first event, collect does not take event by event: it sleeps
// in steps of a quarter BatchTimeout, checking the queue length, and then
// takes the queue's events at once. A flusher woken by every Emit makes
// every Emit pay for waking it; this way the flusher is woken once per
// batch. BenchmarkEmitPaced (100k events/s, pacing cost subtracted): about
// 320 CPU-ns per event with a channel receive per event, 185 with this
// loop.
func (w *Writer) collect(batch *queue, timer *time.Timer) bool {
	for w.queueLen() == 0 {
		select {
		case <-w.wake:
		case <-w.stop:
			// Emit adds nothing any more: take what is left without waiting.
			w.take(batch)
			return w.queueLen() == 0
		}
	}
	deadline := time.Now().Add(w.cfg.BatchTimeout)
	step := w.cfg.BatchTimeout / 4
	for w.queueLen() < w.cfg.BatchSize {
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		timer.Reset(min(wait, step))
		select {
		case <-timer.C:
		case <-w.stop:
			timer.Stop()
			w.take(batch)
			return false
		}
	}
	w.take(batch)
	return false
}

// queueLen is the number of events in the queue.
func (w *Writer) queueLen() int {
	w.mu.Lock()
	n := w.q.len()
	w.mu.Unlock()
	return n
}

// take makes batch the queue's events, and batch's memory the queue Emit
// appends to. Emit counts the batch's events against QueueSize until the
// flusher has delivered them (release).
func (w *Writer) take(batch *queue) {
	w.mu.Lock()
	batch.reset(&w.blocks)
	w.q, *batch = *batch, w.q
	w.held, w.heldBytes = batch.len(), batch.bytes
	w.m.enqueued.Add(batch.len())
	w.mu.Unlock()
}

// release notes that the flusher delivered n more of the events it took;
// once it has delivered them all, their memory is free too.
func (w *Writer) release(n int) {
	w.mu.Lock()
	w.held -= n
	if w.held == 0 {
		w.heldBytes = 0
	}
	w.mu.Unlock()
}

// deliverer is the scratch space of one goroutine that delivers batches.
type deliverer struct {
	recs []spoolRecord
	outs []outcome
}

func newDeliverer(n int) *deliverer {
	return &deliverer{recs: make([]spoolRecord, 0, n), outs: make([]outcome, 0, n)}
}

// deliver sends a batch taken from the queue to Kafka or the spool, at
// most BatchSize events per produce call (a backlog makes a batch larger).
func (w *Writer) deliver(d *deliverer, batch *queue) {
	for from := 0; from < batch.len(); {
		to := min(from+w.cfg.BatchSize, batch.len())
		d.recs = batch.records(d.recs[:0], from, to, time.Now())
		w.deliverRecords(d)
		w.release(to - from)
		from = to
	}
}

// deliverRecords sends d.recs to Kafka or the spool.
func (w *Writer) deliverRecords(d *deliverer) {
	if w.live == nil {
		w.spoolRecords(d.recs)
		return
	}
	if w.sp != nil && w.sp.detoured() {
		if res, ok := w.sp.append(d.recs, false, true); ok {
			w.countAppend(res)
			return
		}
		// The spool emptied meanwhile: back to Kafka.
	}
	if w.abortCtx.Err() != nil {
		// Close's context ended: no more Kafka attempts.
		w.spoolOrDrop(d.recs)
		return
	}

	err := w.writeRecords(d)
	if err == nil {
		w.m.sent.Add(len(d.recs))
		w.setFailing(false, nil)
		return
	}
	var sent int
	d.recs, sent = keepFailed(w.m, d.recs[:0], d.recs, d.outs)
	w.m.sent.Add(sent)
	w.setFailing(true, err)
	if w.sp != nil {
		w.spoolRecords(d.recs)
	} else {
		w.retryWithoutSpool(d)
	}
}

// writeRecords writes d.recs to Kafka in one produce call bounded by the
// write deadline; each record's outcome is left in d.outs.
func (w *Writer) writeRecords(d *deliverer) error {
	ctx, cancel := context.WithTimeout(w.abortCtx, w.writeDeadline)
	defer cancel()
	return w.write(ctx, w.live, d)
}

// write produces d.recs, leaving their outcomes in d.outs, and records the
// call's duration and failure.
func (w *Writer) write(ctx context.Context, p *producer, d *deliverer) error {
	d.outs = append(d.outs[:0], make([]outcome, len(d.recs))...)
	start := time.Now()
	err := p.produce(ctx, d.recs, d.outs)
	w.m.writeDuration.UpdateDuration(start)
	if err != nil {
		w.m.writeErrors.Inc()
	}
	return err
}

// abandoned reports whether a produce gave up waiting for Kafka's answer
// (the request may still reach Kafka).
func abandoned(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// rejected reports whether Kafka refused a message for what it is, so
// retrying can never succeed.
func rejected(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kafka.InvalidMessage, kafka.MessageSizeTooLarge, kafka.InvalidRecord, kafka.InvalidTimestamp:
		return true
	}
	return false
}

// keepFailed appends to dst the items a produce did not deliver (outs holds
// each item's outcome) and returns how many it delivered. Items Kafka
// rejected for good are left out and counted as dropped. dst may be
// items[:0].
func keepFailed[T any](m *writerMetrics, dst, items []T, outs []outcome) (failed []T, sent int) {
	for i, o := range outs {
		switch o {
		case outcomeSent:
			sent++
		case outcomeRejected:
			m.dropped[dropRejected].Inc()
		default:
			dst = append(dst, items[i])
		}
	}
	return dst, sent
}

// retryWithoutSpool retries the records Kafka failed to take (d.recs) when
// there is no spool, with backoff, until they are delivered or Close's
// context ends (then they are dropped with reason "no_spool").
func (w *Writer) retryWithoutSpool(d *deliverer) {
	backoff := w.cfg.ReplayBackoffMin
	for len(d.recs) > 0 {
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.abortCtx.Done():
			t.Stop()
			w.m.dropped[dropNoSpool].Add(len(d.recs))
			return
		}
		backoff = min(2*backoff, w.cfg.ReplayBackoffMax)
		err := w.writeRecords(d)
		if err == nil {
			w.m.sent.Add(len(d.recs))
			w.setFailing(false, nil)
			return
		}
		var sent int
		d.recs, sent = keepFailed(w.m, d.recs[:0], d.recs, d.outs)
		w.m.sent.Add(sent)
	}
}

// setFailing logs transitions between Kafka taking writes and not.
func (w *Writer) setFailing(failing bool, err error) {
	if failing == w.failing {
		return
	}
	w.failing = failing
	if failing {
		if w.sp != nil {
			w.log.Warn("cannot write to kafka; spooling events", zap.Error(err))
		} else {
			w.log.Error("cannot write to kafka and no spool is configured; holding events in memory", zap.Error(err))
		}
		return
	}
	w.log.Info("kafka writes succeed again")
}

// spoolOrDrop spools records, or drops them with reason "no_spool" when
// there is no spool.
func (w *Writer) spoolOrDrop(recs []spoolRecord) {
	if w.sp == nil {
		w.m.dropped[dropNoSpool].Add(len(recs))
		return
	}
	w.spoolRecords(recs)
}

// spoolRecords appends records to the spool, putting live events on the
// detour through it, and counts the outcome.
func (w *Writer) spoolRecords(recs []spoolRecord) {
	if len(recs) == 0 {
		return
	}
	res, _ := w.sp.append(recs, true, false)
	w.countAppend(res)
}

func (w *Writer) countAppend(res appendResult) {
	w.m.spooled.Add(res.written)
	w.m.dropped[dropSpoolFull].Add(res.full)
	w.m.dropped[dropSpoolError].Add(res.failed)
}

func eventRecords(dst []spoolRecord, batch []*event, now time.Time) []spoolRecord {
	ts := now.UnixMilli()
	for _, e := range batch {
		dst = append(dst, spoolRecord{TS: ts, Key: e.key(), Value: e.value()})
	}
	return dst
}

// runSpooler writes overflow events to the spool and fsyncs it every
// SpoolSyncInterval, until Close stops it with the overflow buffer empty.
func (w *Writer) runSpooler() {
	defer w.wg.Done()
	var tick <-chan time.Time
	if w.cfg.SpoolSyncInterval > 0 {
		t := time.NewTicker(w.cfg.SpoolSyncInterval)
		defer t.Stop()
		tick = t.C
	}
	d := newDeliverer(w.cfg.BatchSize)
	batch := make([]*event, 0, w.cfg.BatchSize)
	drain := func() bool {
		for len(batch) < cap(batch) {
			select {
			case e := <-w.overflow:
				batch = append(batch, e)
			default:
				return len(batch) > 0
			}
		}
		return true
	}
	spool := func() {
		d.recs = eventRecords(d.recs[:0], batch, time.Now())
		w.spoolRecords(d.recs)
		w.releaseEvents(batch)
	}
	for {
		select {
		case e := <-w.overflow:
			batch = append(batch[:0], e)
			drain()
			spool()
		case <-tick:
			w.sp.sync()
		case <-w.stop:
			for batch = batch[:0]; drain(); batch = batch[:0] {
				spool()
			}
			return
		}
	}
}

// runReplayer sends spooled records to Kafka in order and trims the spool
// behind them, until Close.
func (w *Writer) runReplayer() {
	defer w.wg.Done()
	rd := &w.sp.rd
	d := newDeliverer(w.cfg.BatchSize)
	backoff := w.cfg.ReplayBackoffMin
	lastSave := time.Now()
	behind, failing := false, false
	wait := func() bool {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, w.cfg.ReplayBackoffMax)
		select {
		case <-t.C:
			return true
		case <-w.replayCtx.Done():
			return false
		}
	}
	for w.replayCtx.Err() == nil {
		c, err := rd.next(w.cfg.BatchSize)
		w.m.dropped[dropCorrupt].Add(c.corrupt)
		if err != nil {
			w.log.Error("cannot read spool", zap.Error(err))
			if !wait() {
				return
			}
			continue
		}
		if len(c.recs) == 0 {
			w.sp.ack(c.seq, c.end)
			if c.corrupt > 0 {
				continue
			}
			if behind && !w.sp.detoured() {
				w.log.Info("spool replayed; sending events to kafka directly")
				behind = false
			}
			select {
			case <-w.sp.kick:
			case <-w.replayCtx.Done():
				return
			}
			continue
		}
		behind = true
		d.recs = d.recs[:0]
		for _, r := range c.recs {
			if len(r.Key)+len(r.Value) > w.cfg.MaxEventBytes {
				w.m.dropped[dropTooLarge].Inc()
				continue
			}
			d.recs = append(d.recs, r)
		}
		for len(d.recs) > 0 {
			ctx, cancel := context.WithTimeout(w.replayCtx, w.writeDeadline)
			err := w.write(ctx, w.replay, d)
			cancel()
			if err == nil {
				w.m.replayed.Add(len(d.recs))
				backoff = w.cfg.ReplayBackoffMin
				if failing {
					w.log.Info("replaying spool to kafka again")
					failing = false
				}
				break
			}
			if !failing {
				w.log.Warn("cannot replay spool to kafka; retrying with backoff", zap.Error(err))
				failing = true
			}
			var sent int
			d.recs, sent = keepFailed(w.m, d.recs[:0], d.recs, d.outs)
			w.m.replayed.Add(sent)
			if len(d.recs) == 0 {
				break
			}
			if !wait() {
				return
			}
		}
		w.sp.ack(c.seq, c.end)
		if time.Since(lastSave) >= cursorSaveEvery {
			w.sp.saveCursor()
			lastSave = time.Now()
		}
	}
}

// Close stops accepting events (later Emit calls are dropped with reason
// "closed"), drains the queue and the overflow buffer to Kafka or, when
// Kafka fails or ctx ends first, to the spool, fsyncs the spool and waits
// for every goroutine of the Writer. Replay of older spooled events stops
// at once; they stay on disk for the next process. Without a spool, events
// Kafka has not taken when ctx ends are dropped with reason "no_spool".
//
// Close returns an error when events were dropped while closing or the
// spool could not be closed cleanly. A Kafka write in flight when ctx ends
// is abandoned and its broker connections are closed, so Close returns
// soon after ctx ends. Calling Close again returns the first call's
// result.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { w.closeErr = w.close(ctx) })
	return w.closeErr
}

func (w *Writer) close(ctx context.Context) error {
	droppedBefore := w.drainDrops()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	aborted := make(chan struct{})
	stopAbort := context.AfterFunc(ctx, func() {
		w.abort()
		close(aborted)
	})
	w.stopReplay()
	close(w.stop)
	w.wg.Wait()
	if !stopAbort() {
		<-aborted
	}
	w.abort()

	var errs []error
	if w.live != nil {
		// Every write of ours has returned; what kafka-go still does is
		// an abandoned write (spooled already, or kept on disk for
		// replay). Cut it short instead of waiting for WriteTimeout.
		w.conns.cutAll()
		w.transport.CloseIdleConnections()
	}
	if w.sp != nil {
		if err := w.sp.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if n := w.drainDrops() - droppedBefore; n > 0 {
		err := fmt.Errorf("cannot drain emitter for topic %q: %d events dropped while closing", w.cfg.Topic, n)
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", err, ctx.Err())
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// drainDrops counts the drops that draining the queue can cause.
func (w *Writer) drainDrops() uint64 {
	return w.m.dropped[dropNoSpool].Get() + w.m.dropped[dropSpoolFull].Get() + w.m.dropped[dropSpoolError].Get()
}

// Stats is a snapshot of a Writer's counters since New.
type Stats struct {
	// Enqueued counts events Emit accepted (into the queue or the
	// overflow buffer).
	Enqueued uint64
	// Sent counts events Kafka acknowledged from the live path.
	Sent uint64
	// Spooled counts events written to the spool.
	Spooled uint64
	// Replayed counts spooled events Kafka acknowledged, including events
	// spooled by a previous process.
	Replayed uint64
	// Dropped counts lost events by reason; every Drop* reason is present.
	Dropped map[string]uint64
	// QueueDepth is the number of events waiting in memory (queue and
	// overflow buffer).
	QueueDepth int
	// SpoolBytes is the size of the spool on disk.
	SpoolBytes int64
	// SpoolSegments is the number of spool segment files.
	SpoolSegments int
	// Spooling is true while live events go to the spool instead of
	// Kafka: Kafka failed, or the spool still holds older events.
	Spooling bool
	// KafkaWriteErrors counts failed produce calls.
	KafkaWriteErrors uint64
}

// DroppedTotal returns the sum of s.Dropped.
func (s Stats) DroppedTotal() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// Stats returns the Writer's counters. It is safe for concurrent use.
func (w *Writer) Stats() Stats {
	s := Stats{
		Enqueued:         w.enqueued(),
		Sent:             w.m.sent.Get(),
		Spooled:          w.m.spooled.Get(),
		Replayed:         w.m.replayed.Get(),
		Dropped:          make(map[string]uint64, numDropReasons),
		QueueDepth:       w.queueDepth(),
		SpoolBytes:       w.spoolBytes(),
		SpoolSegments:    w.spoolSegments(),
		Spooling:         w.spooling(),
		KafkaWriteErrors: w.m.writeErrors.Get(),
	}
	for i, r := range dropReasons {
		s.Dropped[r] = w.m.dropped[i].Get()
	}
	return s
}

// WriteMetrics writes the Writer's metrics in Prometheus text format. It is
// safe for concurrent use.
func (w *Writer) WriteMetrics(out io.Writer) {
	w.m.set.WritePrometheus(out)
}

// enqueued is the number of events Emit has accepted: those counted so far
// and those still in the queue, which take counts.
func (w *Writer) enqueued() uint64 {
	w.mu.Lock()
	n := w.m.enqueued.Get() + uint64(w.q.len())
	w.mu.Unlock()
	return n
}

// queueDepth is the number of events waiting in memory: in the queue, in
// the flusher's hands and in the overflow buffer.
func (w *Writer) queueDepth() int {
	w.mu.Lock()
	n := w.q.len() + w.held
	w.mu.Unlock()
	return n + len(w.overflow)
}

func (w *Writer) spoolBytes() int64 {
	if w.sp == nil {
		return 0
	}
	return w.sp.totalBytes.Load()
}

func (w *Writer) spoolSegments() int {
	if w.sp == nil {
		return 0
	}
	return int(w.sp.segCount.Load())
}

func (w *Writer) spooling() bool {
	return w.sp != nil && w.sp.detoured()
}
