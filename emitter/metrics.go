package emitter

import (
	"github.com/VictoriaMetrics/metrics"
)

// Reasons an event is dropped, the values of the reason label of
// clickedge_events_dropped_total and the keys of Stats.Dropped.
const (
	// DropQueueFullNoSpool: the in-memory queue was full and there is no
	// spool to take the event.
	DropQueueFullNoSpool = "queue_full_no_spool"
	// DropQueueFull: the queue and the overflow buffer in front of the
	// spool were both full (the disk could not keep up).
	DropQueueFull = "queue_full"
	// DropSpoolFull: the spool had reached SpoolMaxBytes.
	DropSpoolFull = "spool_full"
	// DropSpoolError: writing the spool failed (disk error).
	DropSpoolError = "spool_error"
	// DropCorrupt: a spooled record failed its checksum or was torn by a
	// crash; each damaged region counts once.
	DropCorrupt = "corrupt"
	// DropNoBroker: no Brokers and no spool were configured.
	DropNoBroker = "no_broker"
	// DropNoSpool: Kafka could not take the event before Close's context
	// ended and there is no spool to keep it.
	DropNoSpool = "no_spool"
	// DropTooLarge: the event exceeded MaxEventBytes.
	DropTooLarge = "too_large"
	// DropRejected: Kafka refused the event itself (for example larger
	// than the broker allows); retrying cannot help.
	DropRejected = "rejected"
	// DropClosed: Emit was called after Close.
	DropClosed = "closed"
)

// dropReasons lists every reason, in the order of the drop* indexes.
var dropReasons = [...]string{
	DropQueueFullNoSpool, DropQueueFull, DropSpoolFull, DropSpoolError, DropCorrupt,
	DropNoBroker, DropNoSpool, DropTooLarge, DropRejected, DropClosed,
}

const (
	dropQueueFullNoSpool = iota
	dropQueueFull
	dropSpoolFull
	dropSpoolError
	dropCorrupt
	dropNoBroker
	dropNoSpool
	dropTooLarge
	dropRejected
	dropClosed
	numDropReasons
)

// writerMetrics holds the counters of one Writer in a Set of its own, so
// several Writers (tests, or one process with two topics) never collide.
type writerMetrics struct {
	set           *metrics.Set
	enqueued      *metrics.Counter
	sent          *metrics.Counter
	spooled       *metrics.Counter
	replayed      *metrics.Counter
	dropped       [numDropReasons]*metrics.Counter
	writeErrors   *metrics.Counter
	writeDuration *metrics.PrometheusHistogram
}

// kafkaWriteBuckets are the upper bounds of
// clickedge_kafka_write_duration_seconds: one produce round trip is
// expected in milliseconds, and the top buckets catch WriteTimeout.
var kafkaWriteBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newWriterMetrics(w *Writer) *writerMetrics {
	s := metrics.NewSet()
	m := &writerMetrics{
		set:           s,
		enqueued:      s.NewCounter(`clickedge_events_total{result="enqueued"}`),
		sent:          s.NewCounter(`clickedge_events_total{result="sent"}`),
		spooled:       s.NewCounter(`clickedge_events_total{result="spooled"}`),
		replayed:      s.NewCounter(`clickedge_events_total{result="replayed"}`),
		writeErrors:   s.NewCounter(`clickedge_kafka_write_errors_total`),
		writeDuration: s.NewPrometheusHistogramExt(`clickedge_kafka_write_duration_seconds`, kafkaWriteBuckets),
	}
	for i, r := range dropReasons {
		m.dropped[i] = s.NewCounter(`clickedge_events_dropped_total{reason="` + r + `"}`)
	}
	s.NewGauge(`clickedge_emitter_queue_depth`, func() float64 { return float64(w.queueDepth()) })
	s.NewGauge(`clickedge_spool_bytes`, func() float64 { return float64(w.spoolBytes()) })
	s.NewGauge(`clickedge_spool_segments`, func() float64 { return float64(w.spoolSegments()) })
	s.NewGauge(`clickedge_emitter_spooling`, func() float64 {
		if w.spooling() {
			return 1
		}
		return 0
	})
	return m
}
