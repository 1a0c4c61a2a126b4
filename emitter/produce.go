package emitter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
)

// The producer writes click events to Kafka as pre-encoded record batches.
//
// kafka-go's Writer is general: every WriteMessages call looks the topic up
// in the metadata cache, balances each message into a per-partition batch
// through goroutines and channels, and encodes the produce request by
// reflection, record by record through interfaces. On the edge, which runs
// the whole click path on one core next to the HTTP server, that cost about
// 2 µs of CPU per event (profile in bench/RESULTS.md). The producer does the
// same job for one topic of small records: it hashes each key to a
// partition (the same FNV-1a hash as kafka.Hash, so keys land where they did
// with kafka.Writer), appends the records of a partition straight into one
// Kafka v2 record batch (varints, CRC-32C, optional compression) and sends
// it with kafka-go's RawProduce, which routes it to the partition's leader
// through the same kafka.Transport (connection pool, metadata cache, API
// version negotiation). Partitions are written concurrently; a partition's
// batches are written in order, one at a time.

// Record batch v2 layout (offsets from the start of the batch):
//
//	baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 (2) |
//	crc u32 (CRC-32C of everything after it) | attributes i16 |
//	lastOffsetDelta i32 | firstTimestamp i64 | maxTimestamp i64 |
//	producerId i64 | producerEpoch i16 | baseSequence i32 | recordCount i32 |
//	records (compressed as a whole when attributes say so)
//
// and each record:
//
//	length varint | attributes i8 | timestampDelta varint | offsetDelta varint |
//	keyLength varint | key | valueLength varint | value | headerCount varint
const (
	batchHeaderSize = 61
	offBatchLength  = 8
	offCRC          = 17
	offAttributes   = 21
	// recordOverhead bounds the bytes a record adds besides key and value:
	// five varints of at most 5 bytes (length, key and value lengths,
	// offset delta, header count), a timestamp delta of at most 10, and
	// the attributes byte.
	recordOverhead = 5*5 + 10 + 1
)

// batchBuilder encodes one Kafka v2 record batch. The zero value is ready
// for reset.
type batchBuilder struct {
	// recs holds prefixSize bytes for the size and the batch header, then
	// the records: uncompressed, it is the batch itself.
	recs    []byte
	zbuf    []byte // the compressed batch
	n       int
	firstTS int64
	maxTS   int64
}

// prefixSize is the int32 size a produce request puts before a batch, and
// the batch header.
const prefixSize = 4 + batchHeaderSize

var zeroPrefix [prefixSize]byte

// reset starts an empty batch.
func (b *batchBuilder) reset() {
	b.recs = append(b.recs[:0], zeroPrefix[:]...)
	b.n = 0
}

// size is the number of record bytes appended so far.
func (b *batchBuilder) size() int { return len(b.recs) - prefixSize }

// add appends one record with timestamp ts (Unix milliseconds).
func (b *batchBuilder) add(key, value []byte, ts int64) {
	if b.n == 0 {
		b.firstTS, b.maxTS = ts, ts
	}
	b.maxTS = max(b.maxTS, ts)
	tsDelta := ts - b.firstTS
	offDelta := int64(b.n)
	length := 1 + varintLen(tsDelta) + varintLen(offDelta) +
		bytesLen(key) + bytesLen(value) + 1
	r := binary.AppendVarint(b.recs, int64(length))
	r = append(r, 0) // attributes
	r = binary.AppendVarint(r, tsDelta)
	r = binary.AppendVarint(r, offDelta)
	r = appendBytes(r, key)
	r = appendBytes(r, value)
	b.recs = append(r, 0) // no headers
	b.n++
}

// finish returns the encoded batch, preceded by its int32 size as a produce
// request carries it. The result aliases b's buffers until the next reset.
func (b *batchBuilder) finish(codec compress.Codec) ([]byte, error) {
	var attrs int16
	out := b.recs
	if codec != nil {
		attrs = int16(codec.Code())
		w := bytes.NewBuffer(append(b.zbuf[:0], zeroPrefix[:]...))
		cw := codec.NewWriter(w)
		_, err := cw.Write(b.recs[prefixSize:])
		if cerr := cw.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("cannot compress record batch with %s: %w", codec.Name(), err)
		}
		out = w.Bytes()
		b.zbuf = out
	}
	// The header, written over the prefix.
	h := out[:0]
	h = binary.BigEndian.AppendUint32(h, uint32(len(out)-4))                  // size
	h = binary.BigEndian.AppendUint64(h, 0)                                   // baseOffset
	h = binary.BigEndian.AppendUint32(h, uint32(len(out)-4-offBatchLength-4)) // batchLength
	h = binary.BigEndian.AppendUint32(h, 0xffffffff)                          // partitionLeaderEpoch -1
	h = append(h, 2)                                                          // magic
	h = binary.BigEndian.AppendUint32(h, 0)                                   // crc, set below
	h = binary.BigEndian.AppendUint16(h, uint16(attrs))                       // attributes
	h = binary.BigEndian.AppendUint32(h, uint32(b.n-1))                       // lastOffsetDelta
	h = binary.BigEndian.AppendUint64(h, uint64(b.firstTS))                   // firstTimestamp
	h = binary.BigEndian.AppendUint64(h, uint64(b.maxTS))                     // maxTimestamp
	h = binary.BigEndian.AppendUint64(h, 0xffffffffffffffff)                  // producerId -1
	h = binary.BigEndian.AppendUint16(h, 0xffff)                              // producerEpoch -1
	h = binary.BigEndian.AppendUint32(h, 0xffffffff)                          // baseSequence -1
	_ = binary.BigEndian.AppendUint32(h, uint32(b.n))                         // recordCount
	binary.BigEndian.PutUint32(out[4+offCRC:], crc32.Checksum(out[4+offAttributes:], castagnoli))
	return out, nil
}

func varintLen(v int64) int {
	u := uint64(v)<<1 ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// bytesLen is the encoded size of a nullable byte string; an empty key is
// encoded as null, as kafka-go does for a nil key.
func bytesLen(p []byte) int {
	if len(p) == 0 {
		return 1
	}
	return varintLen(int64(len(p))) + len(p)
}

func appendBytes(dst, p []byte) []byte {
	if len(p) == 0 {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(p))), p...)
}

// partitionOf maps key onto one of n partitions exactly as kafka.Hash does
// (FNV-1a, Sarama's arithmetic).
func partitionOf(key []byte, n int) int {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	p := int32(h) % int32(n)
	if p < 0 {
		p = -p
	}
	return int(p)
}

// outcome is what became of one record of a produce call.
type outcome uint8

const (
	outcomeSent     outcome = iota // acknowledged by Kafka
	outcomeFailed                  // not acknowledged; may be tried again
	outcomeRejected                // refused by Kafka for what it is: retrying cannot help
)

// producerConfig configures a producer.
type producerConfig struct {
	client       *kafka.Client
	topic        string
	codec        compress.Codec // nil: no compression
	batchBytes   int            // record bytes per produce request and partition
	maxAttempts  int
	writeTimeout time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	// metadataTTL is how long a partition count is used before it is read
	// again from the transport's metadata cache.
	metadataTTL time.Duration
}

// producer writes records to one topic. produce calls must not overlap:
// the flusher and the replayer each own a producer.
type producer struct {
	cfg producerConfig

	nparts  int
	partsAt time.Time
	rr      int
	parts   []partWriter
	byPart  [][]int32 // record indexes per partition, reused
	wg      sync.WaitGroup
}

func newProducer(cfg producerConfig) *producer {
	return &producer{cfg: cfg}
}

// partWriter writes the batches of one partition.
type partWriter struct {
	p   *producer
	id  int
	b   batchBuilder
	err error
}

// partitions returns the topic's partition count, read through the
// transport's metadata cache at most once per metadataTTL.
func (p *producer) partitions(ctx context.Context, now time.Time) (int, error) {
	if p.nparts > 0 && now.Sub(p.partsAt) < p.cfg.metadataTTL {
		return p.nparts, nil
	}
	mctx, cancel := context.WithTimeout(ctx, p.cfg.writeTimeout)
	defer cancel()
	res, err := p.cfg.client.Metadata(mctx, &kafka.MetadataRequest{Topics: []string{p.cfg.topic}})
	if err != nil {
		return 0, err
	}
	if len(res.Topics) != 1 {
		return 0, fmt.Errorf("metadata of topic %q: %d topics in the answer", p.cfg.topic, len(res.Topics))
	}
	t := res.Topics[0]
	if t.Error != nil {
		return 0, fmt.Errorf("metadata of topic %q: %w", p.cfg.topic, t.Error)
	}
	if len(t.Partitions) == 0 {
		return 0, fmt.Errorf("metadata of topic %q: %w", p.cfg.topic, kafka.UnknownTopicOrPartition)
	}
	p.nparts, p.partsAt = len(t.Partitions), now
	return p.nparts, nil
}

// produce writes recs to Kafka and reports each record's outcome in out
// (len(out) == len(recs)). Records of one partition keep their order. The
// error is the first failure met, or nil when every record was sent. The
// records' bytes are copied: the caller may reuse them when produce
// returns, even after a timeout.
func (p *producer) produce(ctx context.Context, recs []spoolRecord, out []outcome) error {
	n, err := p.partitions(ctx, time.Now())
	if err != nil {
		for i := range out {
			out[i] = outcomeFailed
		}
		return err
	}
	for len(p.parts) < n {
		p.parts = append(p.parts, partWriter{p: p, id: len(p.parts)})
		p.byPart = append(p.byPart, nil)
	}
	for i := range p.byPart[:n] {
		p.byPart[i] = p.byPart[i][:0]
	}
	for i := range recs {
		var part int
		if len(recs[i].Key) == 0 {
			part = p.rr % n
			p.rr++
		} else {
			part = partitionOf(recs[i].Key, n)
		}
		p.byPart[part] = append(p.byPart[part], int32(i))
	}
	for i := range n {
		idx := p.byPart[i]
		if len(idx) == 0 {
			continue
		}
		pw := &p.parts[i]
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pw.write(ctx, recs, idx, out)
		}()
	}
	p.wg.Wait()
	var first error
	for i := range n {
		if pw := &p.parts[i]; pw.err != nil {
			if first == nil {
				first = pw.err
			}
			pw.err = nil
		}
	}
	return first
}

// write sends the records idx of recs, all of this partition, in batches of
// at most batchBytes, in order; it stops at the first batch that fails and
// marks it and every later record failed.
func (pw *partWriter) write(ctx context.Context, recs []spoolRecord, idx []int32, out []outcome) {
	for start := 0; start < len(idx); {
		pw.b.reset()
		end := start
		for end < len(idx) {
			r := &recs[idx[end]]
			if end > start && pw.b.size()+len(r.Key)+len(r.Value)+recordOverhead > pw.p.cfg.batchBytes {
				break
			}
			pw.b.add(r.Key, r.Value, r.TS)
			end++
		}
		res := outcomeSent
		err := pw.send(ctx)
		if err != nil {
			res = outcomeFailed
			if rejected(err) {
				res = outcomeRejected
			}
			pw.err = err
		}
		for _, i := range idx[start:end] {
			out[i] = res
		}
		if err != nil && res == outcomeFailed {
			for _, i := range idx[end:] {
				out[i] = outcomeFailed
			}
			return
		}
		start = end
	}
}

// send produces the built batch with acks=all, trying up to maxAttempts
// times while the failure is temporary.
func (pw *partWriter) send(ctx context.Context) error {
	cfg := &pw.p.cfg
	batch, err := pw.b.finish(cfg.codec)
	if err != nil {
		return err
	}
	backoff := cfg.backoffMin
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.writeTimeout)
		res, err := cfg.client.RawProduce(actx, &kafka.RawProduceRequest{
			Topic:        cfg.topic,
			Partition:    pw.id,
			RequiredAcks: kafka.RequireAll,
			RawRecords:   protocol.RawRecordSet{Reader: bytes.NewReader(batch)},
		})
		cancel()
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err == nil {
			return nil
		}
		err = fmt.Errorf("cannot produce to %s[%d]: %w", cfg.topic, pw.id, err)
		if abandoned(err) {
			// kafka-go's connection goroutine may still read the batch:
			// the next one gets fresh buffers.
			pw.b.recs, pw.b.zbuf = nil, nil
			if ctx.Err() != nil {
				return err
			}
		}
		if attempt >= cfg.maxAttempts || rejected(err) || !temporary(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		backoff = min(2*backoff, cfg.backoffMax)
	}
}

// temporary reports whether another attempt may succeed: network and
// timeout errors, and Kafka's retriable error codes.
func temporary(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	return true
}
