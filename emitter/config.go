package emitter

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"go.uber.org/zap"
)

// Limits that Config values are checked against.
const (
	maxBatchTimeout    = 10 * time.Millisecond
	maxEventBytesLimit = 1 << 20
	minSegmentBytes    = 1 << 10
	maxSegmentBytes    = 256 << 20
)

// Config configures a Writer. The zero value is usable: it spools nothing
// and, having no brokers, drops every event with reason "no_broker". A
// production edge sets at least Brokers and SpoolDir.
type Config struct {
	// Brokers lists Kafka bootstrap addresses as host:port. Blank entries
	// are ignored, so splitting an empty flag value yields no brokers.
	//
	// Without brokers the Writer never talks to Kafka: events go only to
	// the spool, to be replayed by a later process that has brokers, or,
	// when SpoolDir is empty too, are counted as dropped with reason
	// "no_broker".
	//
	// Default: none.
	Brokers []string

	// Topic is the Kafka topic every event is written to.
	//
	// Default: "clicks".
	Topic string

	// QueueSize is the number of events held in memory between Emit and
	// the flusher (their keys and values taking at most 64 MiB). When it
	// is full, Emit hands events to the overflow buffer (with a spool) or
	// drops them (reason "queue_full_no_spool").
	//
	// Default: 65536.
	QueueSize int

	// OverflowSize is the number of events held in memory for the spool
	// writer when the queue is full. Emit never writes to disk itself; when
	// this buffer is full too, the event is dropped with reason
	// "queue_full". Unused without SpoolDir.
	//
	// Default: 16384.
	OverflowSize int

	// BatchSize is the largest number of events sent to Kafka in one write
	// and read back from the spool in one replay step.
	//
	// Default: 1000.
	BatchSize int

	// BatchBytes bounds the size of one Kafka produce batch per partition
	// (record bytes before compression). It must exceed MaxEventBytes plus record
	// overhead.
	//
	// Default: 1048576 (1 MiB, the broker's default message.max.bytes).
	BatchBytes int64

	// BatchTimeout is how long the flusher waits for a batch to fill
	// before it sends what it has. At most 10ms.
	//
	// Default: 5ms.
	BatchTimeout time.Duration

	// WriteTimeout bounds one Kafka produce attempt (and the connection
	// dial). A healthy acks=all produce completes in milliseconds; 2s is
	// several times a bad p99.9 yet short enough that a hung broker is
	// detected about when the default queue (65536 events) fills at 30k
	// events/s, so events move to the spool instead of being dropped.
	//
	// Default: 2s.
	WriteTimeout time.Duration

	// MaxAttempts is how many times the producer tries one record batch
	// before the Writer gives up on Kafka and spools the batch. The spool
	// is the real retry mechanism, so this stays small.
	//
	// Default: 2.
	MaxAttempts int

	// Compression is the Kafka batch codec: "none", "snappy", "lz4",
	// "zstd" or "gzip". On click events snappy (S2's fastest encoder)
	// compresses to 0.24 of the raw size at about 2 GB/s per core; lz4 to
	// 0.21 at 0.7 GB/s, zstd to 0.13 at 0.3 GB/s (BenchmarkCompression).
	// The edge compresses on the core that serves requests, so the default
	// is the cheapest codec that still cuts the bytes to Kafka fourfold.
	//
	// Default: "snappy".
	Compression string

	// MaxEventBytes bounds len(key)+len(value) of one event. Larger events
	// are dropped by Emit with reason "too_large". At most 1 MiB.
	//
	// Default: 65536.
	MaxEventBytes int

	// SpoolDir is the directory of the disk spool. It is created when
	// missing and locked against a second Writer. Segments left by a
	// previous process are replayed.
	//
	// Default: "" (no spool: events Kafka cannot take are dropped and
	// counted).
	SpoolDir string

	// SpoolMaxBytes bounds the spool on disk. Events that do not fit are
	// dropped with reason "spool_full".
	//
	// Default: 1073741824 (1 GiB).
	SpoolMaxBytes int64

	// SpoolSegmentBytes is the size at which a spool segment file is
	// closed and a new one started. A segment is deleted once Kafka
	// acknowledged all of its records, and replay holds at most one
	// segment in memory. Between 1 KiB and 256 MiB.
	//
	// Default: 16777216 (16 MiB).
	SpoolSegmentBytes int64

	// SpoolSyncInterval is how often spool writes are fsynced. Every
	// append reaches the file (the OS page cache) before it returns, so a
	// killed process loses nothing already spooled; an OS crash or power
	// loss can lose what was written since the last fsync. A negative
	// value fsyncs after every append.
	//
	// Default: 100ms.
	SpoolSyncInterval time.Duration

	// ReplayBackoffMin is the first wait after a failed replay write; the
	// wait doubles up to ReplayBackoffMax and resets on success. The same
	// backoff paces retries without a spool.
	//
	// Default: 100ms.
	ReplayBackoffMin time.Duration

	// ReplayBackoffMax is the longest wait between replay attempts while
	// Kafka is away.
	//
	// Default: 5s.
	ReplayBackoffMax time.Duration

	// Logger receives state changes (Kafka lost, spool caught up) and spool
	// errors. Nothing is logged per event.
	//
	// Default: zap.NewNop().
	Logger *zap.Logger
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	var brokers []string
	for _, b := range cfg.Brokers {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	cfg.Brokers = brokers
	if cfg.Topic == "" {
		cfg.Topic = "clicks"
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 65536
	}
	if cfg.OverflowSize == 0 {
		cfg.OverflowSize = 16384
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 1000
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = 1 << 20
	}
	if cfg.BatchTimeout == 0 {
		cfg.BatchTimeout = 5 * time.Millisecond
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 2 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 2
	}
	if cfg.Compression == "" {
		cfg.Compression = "snappy"
	}
	if cfg.MaxEventBytes == 0 {
		cfg.MaxEventBytes = 65536
	}
	if cfg.SpoolMaxBytes == 0 {
		cfg.SpoolMaxBytes = 1 << 30
	}
	if cfg.SpoolSegmentBytes == 0 {
		cfg.SpoolSegmentBytes = 16 << 20
	}
	if cfg.SpoolSyncInterval == 0 {
		cfg.SpoolSyncInterval = 100 * time.Millisecond
	}
	if cfg.ReplayBackoffMin == 0 {
		cfg.ReplayBackoffMin = 100 * time.Millisecond
	}
	if cfg.ReplayBackoffMax == 0 {
		cfg.ReplayBackoffMax = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return cfg
}

// validate reports the first field of a defaulted cfg that is out of range.
func (cfg *Config) validate() error {
	for _, b := range cfg.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("cannot use broker address %q: %w", b, err)
		}
	}
	switch {
	case cfg.QueueSize < 0:
		return fmt.Errorf("QueueSize must be positive; got %d", cfg.QueueSize)
	case cfg.OverflowSize < 0:
		return fmt.Errorf("OverflowSize must be positive; got %d", cfg.OverflowSize)
	case cfg.BatchSize < 0:
		return fmt.Errorf("BatchSize must be positive; got %d", cfg.BatchSize)
	case cfg.BatchTimeout < 0 || cfg.BatchTimeout > maxBatchTimeout:
		return fmt.Errorf("BatchTimeout must be in (0, %s]; got %s", maxBatchTimeout, cfg.BatchTimeout)
	case cfg.WriteTimeout < 0:
		return fmt.Errorf("WriteTimeout must be positive; got %s", cfg.WriteTimeout)
	case cfg.MaxAttempts < 0:
		return fmt.Errorf("MaxAttempts must be positive; got %d", cfg.MaxAttempts)
	case cfg.MaxEventBytes < 0 || cfg.MaxEventBytes > maxEventBytesLimit:
		return fmt.Errorf("MaxEventBytes must be in (0, %d]; got %d", maxEventBytesLimit, cfg.MaxEventBytes)
	case cfg.BatchBytes < int64(cfg.MaxEventBytes)+kafkaRecordOverhead:
		return fmt.Errorf("BatchBytes must be at least MaxEventBytes+%d = %d; got %d",
			kafkaRecordOverhead, int64(cfg.MaxEventBytes)+kafkaRecordOverhead, cfg.BatchBytes)
	case cfg.SpoolSegmentBytes < minSegmentBytes || cfg.SpoolSegmentBytes > maxSegmentBytes:
		return fmt.Errorf("SpoolSegmentBytes must be in [%d, %d]; got %d", minSegmentBytes, maxSegmentBytes, cfg.SpoolSegmentBytes)
	case cfg.SpoolMaxBytes < cfg.SpoolSegmentBytes:
		return fmt.Errorf("SpoolMaxBytes must be at least SpoolSegmentBytes (%d); got %d", cfg.SpoolSegmentBytes, cfg.SpoolMaxBytes)
	case cfg.ReplayBackoffMin < 0:
		return fmt.Errorf("ReplayBackoffMin must be positive; got %s", cfg.ReplayBackoffMin)
	case cfg.ReplayBackoffMax < cfg.ReplayBackoffMin:
		return fmt.Errorf("ReplayBackoffMax must be at least ReplayBackoffMin (%s); got %s", cfg.ReplayBackoffMin, cfg.ReplayBackoffMax)
	}
	if _, err := compressionCodec(cfg.Compression); err != nil {
		return err
	}
	return nil
}

// kafkaRecordOverhead is an upper bound on the bytes a record takes in a
// batch besides its key and value (recordOverhead in produce.go).
const kafkaRecordOverhead = 64

// compressionCodec maps a Config.Compression name to kafka-go's codec; nil
// for "none". Snappy uses S2's fastest snappy-compatible encoder in xerial
// framing (what the Java producer writes): kafka-go's default for snappy is
// S2's "better" encoder, 2.6 times slower for 3% smaller batches
// (BenchmarkCompression).
func compressionCodec(name string) (compress.Codec, error) {
	switch name {
	case "none":
		return nil, nil
	case "snappy":
		return newXerialSnappy(), nil
	case "lz4":
		return kafka.Lz4.Codec(), nil
	case "zstd":
		return kafka.Zstd.Codec(), nil
	case "gzip":
		return kafka.Gzip.Codec(), nil
	}
	return nil, fmt.Errorf("cannot use compression %q: want one of none, snappy, lz4, zstd, gzip", name)
}
