package emitter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/clickedge/clickedge/internal/prefetch"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"
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
// with kafka.Writer) and appends the records of a partition straight into
// one Kafka v2 record batch (varints, CRC-32C, optional compression). The
// batches of all the partitions a broker leads go in one produce request,
// as the Java client and librdkafka do, so a flush costs one request per
// broker rather than one per partition; requests go through kafka-go's
// kafka.Transport (connection pool, routing to the leader, API version
// negotiation). Brokers are written concurrently; a partition's batches are
// written in order, one at a time.

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
//
// With snappy, records are compressed chunk by chunk as they come (the
// xerial framing's 32 KiB chunks): recs holds only the records not yet in a
// full chunk, so the uncompressed batch never exists whole. A flush's
// batches were a quarter of a megabyte of records written and read back
// once, on the serving core, with a 1 MiB L2 cache shared with the kernel's
// TCP work; a chunk stays in the L1 and L2 caches between the records
// being appended and compressed.
type batchBuilder struct {
	// recs holds prefixSize bytes for the size and the batch header, then
	// the records: uncompressed, it is the batch itself; with snappy, the
	// records not compressed yet.
	recs    []byte
	zbuf    []byte // the compressed batch
	codec   compress.Codec
	xs      bool // codec is snappy: zbuf grows chunk by chunk
	total   int  // record bytes appended
	n       int
	firstTS int64
	maxTS   int64
}

// prefixSize is the int32 size a produce request puts before a batch, and
// the batch header.
const prefixSize = 4 + batchHeaderSize

var zeroPrefix [prefixSize]byte

// reset starts an empty batch compressed with codec (nil: none).
func (b *batchBuilder) reset(codec compress.Codec) {
	b.codec = codec
	_, b.xs = codec.(xerialSnappy)
	b.recs = append(b.recs[:0], zeroPrefix[:]...)
	if b.xs {
		b.zbuf = append(append(b.zbuf[:0], zeroPrefix[:]...), xerialHeader...)
	}
	b.n, b.total = 0, 0
}

// size is the number of record bytes appended so far, uncompressed.
func (b *batchBuilder) size() int { return b.total }

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
	before := len(b.recs)
	r := binary.AppendVarint(b.recs, int64(length))
	r = append(r, 0) // attributes
	r = binary.AppendVarint(r, tsDelta)
	r = binary.AppendVarint(r, offDelta)
	r = appendBytes(r, key)
	r = appendBytes(r, value)
	b.recs = append(r, 0) // no headers
	b.n++
	b.total += len(b.recs) - before
	if b.xs && len(b.recs)-prefixSize >= xerialChunk {
		b.compressChunks(false)
	}
}

// compressChunks moves the full chunks of recs, or all of it when last,
// into zbuf as xerial chunks.
func (b *batchBuilder) compressChunks(last bool) {
	src := b.recs[prefixSize:]
	for len(src) >= xerialChunk || last && len(src) > 0 {
		chunk := src[:min(len(src), xerialChunk)]
		b.zbuf = appendXerialChunk(b.zbuf, chunk)
		src = src[len(chunk):]
	}
	b.recs = append(b.recs[:prefixSize], src...)
}

// finish returns the encoded batch, preceded by its int32 size as a produce
// request carries it. The result aliases b's buffers until the next reset.
func (b *batchBuilder) finish() ([]byte, error) {
	var attrs int16
	out := b.recs
	switch codec := b.codec; {
	case b.xs:
		attrs = int16(codec.Code())
		b.compressChunks(true)
		out = b.zbuf
	case codec != nil:
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
	// metadataTTL is how long a partition count and the partitions'
	// leaders are used before they are read again from the brokers.
	metadataTTL time.Duration
}

// producer writes records to one topic. produce calls must not overlap:
// the flusher and the replayer each own a producer.
type producer struct {
	cfg producerConfig

	nparts  int
	partsAt time.Time
	stale   atomic.Bool // a leader moved: read the metadata again
	rr      int
	parts   []partBatch     // by partition ID
	leaders []*leaderWriter // the partitions grouped by leader
	wg      sync.WaitGroup
}

func newProducer(cfg producerConfig) *producer {
	return &producer{cfg: cfg}
}

// partBatch is one partition's share of a produce call: the indexes of its
// records and the batch being sent.
type partBatch struct {
	id    int32
	idx   []int32 // indexes into the call's records, in order
	next  int     // idx[next:] is not settled yet
	end   int     // idx[next:end] is in the built batch
	done  bool    // a batch failed: the rest of idx failed with it
	b     batchBuilder
	batch []byte
	rd    *bytes.Reader
}

// settle records the outcome of the built batch and moves past it.
func (pb *partBatch) settle(out []outcome, o outcome) {
	for _, i := range pb.idx[pb.next:pb.end] {
		out[i] = o
	}
	pb.next = pb.end
}

// failRest marks every unsettled record failed and stops the partition:
// its later records must not overtake the failed ones.
func (pb *partBatch) failRest(out []outcome) {
	for _, i := range pb.idx[pb.next:] {
		out[i] = outcomeFailed
	}
	pb.next, pb.done = len(pb.idx), true
}

// build encodes the partition's next batch: at least one record, at most
// batchBytes of them.
func (pb *partBatch) build(recs []spoolRecord, cfg *producerConfig) error {
	pb.b.reset(cfg.codec)
	end := pb.next
	for end < len(pb.idx) {
		// The records lie in queue blocks written a batch ago: the
		// lines of the record two ahead are asked for while this one is
		// copied.
		if ahead := end + 2; ahead < len(pb.idx) {
			if v := recs[pb.idx[ahead]].Value; len(v) > 0 {
				prefetch.Range(unsafe.Pointer(&v[0]), uintptr(len(v)))
			}
		}
		r := &recs[pb.idx[end]]
		if end > pb.next && pb.b.size()+len(r.Key)+len(r.Value)+recordOverhead > cfg.batchBytes {
			break
		}
		pb.b.add(r.Key, r.Value, r.TS)
		end++
	}
	pb.end = end
	batch, err := pb.b.finish()
	if err != nil {
		return err
	}
	pb.batch = batch
	return nil
}

// recordSet returns the built batch for a request.
func (pb *partBatch) recordSet() protocol.RawRecordSet {
	if pb.rd == nil {
		pb.rd = new(bytes.Reader)
	}
	pb.rd.Reset(pb.batch)
	return protocol.RawRecordSet{Reader: pb.rd}
}

// abandon is called when a request carrying the batch was given up on:
// kafka-go's connection goroutine may still be reading it. The batch's bytes
// are never written again, so a retry sends them through a new reader; the
// builder gets fresh buffers for the next batch.
func (pb *partBatch) abandon() {
	pb.b.recs, pb.b.zbuf, pb.rd = nil, nil, nil
}

// leaderWriter writes the partitions one broker leads: each round sends the
// next batch of every partition in one produce request.
type leaderWriter struct {
	p       *producer
	parts   []int32
	pending []*partBatch
	retry   []*partBatch
	req     *rawproduce.Request // nil after a request was given up on
	reqPart []rawproduce.RequestPartition
	err     error // the first failure of this produce call
}

// partitions reads the topic's partition count and leaders from the brokers
// at most once per metadataTTL, or at once after a leader moved.
func (p *producer) partitions(ctx context.Context, now time.Time) (int, error) {
	if p.nparts > 0 && now.Sub(p.partsAt) < p.cfg.metadataTTL && !p.stale.Load() {
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
	n := len(t.Partitions)
	if n == 0 {
		return 0, fmt.Errorf("metadata of topic %q: %w", p.cfg.topic, kafka.UnknownTopicOrPartition)
	}
	leader := make([]int, n)
	for _, part := range t.Partitions {
		if part.ID < 0 || part.ID >= n {
			return 0, fmt.Errorf("metadata of topic %q: partition %d of %d", p.cfg.topic, part.ID, n)
		}
		leader[part.ID] = part.Leader.ID
	}
	for len(p.parts) < n {
		p.parts = append(p.parts, partBatch{id: int32(len(p.parts))})
	}
	byLeader := map[int]*leaderWriter{}
	p.leaders = p.leaders[:0]
	for id := range n {
		lw := byLeader[leader[id]]
		if lw == nil {
			lw = &leaderWriter{p: p}
			byLeader[leader[id]] = lw
			p.leaders = append(p.leaders, lw)
		}
		lw.parts = append(lw.parts, int32(id))
	}
	p.nparts, p.partsAt = n, now
	p.stale.Store(false)
	return n, nil
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
	for i := range p.parts[:n] {
		pb := &p.parts[i]
		pb.idx, pb.next, pb.end, pb.done = pb.idx[:0], 0, 0, false
	}
	for i := range recs {
		// The keys lie in queue blocks written a batch ago, one key every
		// few hundred bytes: asking for the key eight ahead hides the
		// wait for each (produce went from about 70 to 25 ns per record).
		if j := i + 8; j < len(recs) && len(recs[j].Key) > 0 {
			prefetch.Range(unsafe.Pointer(&recs[j].Key[0]), 1)
		}
		var part int
		if len(recs[i].Key) == 0 {
			part = p.rr % n
			p.rr++
		} else {
			part = partitionOf(recs[i].Key, n)
		}
		p.parts[part].idx = append(p.parts[part].idx, int32(i))
	}
	for _, lw := range p.leaders {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			lw.write(ctx, recs, out)
		}()
	}
	p.wg.Wait()
	var first error
	for _, lw := range p.leaders {
		if first == nil {
			first = lw.err
		}
		lw.err = nil
	}
	return first
}

func (lw *leaderWriter) fail(err error) {
	if lw.err == nil {
		lw.err = err
	}
}

// write sends the records of lw's partitions in rounds, one produce request
// per round holding the next batch of each partition that has records
// left, until every record is settled. A partition stops at its first
// failed batch.
func (lw *leaderWriter) write(ctx context.Context, recs []spoolRecord, out []outcome) {
	cfg := &lw.p.cfg
	for {
		lw.pending = lw.pending[:0]
		for _, id := range lw.parts {
			pb := &lw.p.parts[id]
			if pb.done || pb.next >= len(pb.idx) {
				continue
			}
			if err := pb.build(recs, cfg); err != nil {
				pb.failRest(out)
				lw.fail(err)
				continue
			}
			lw.pending = append(lw.pending, pb)
		}
		if len(lw.pending) == 0 {
			return
		}
		lw.send(ctx, out)
	}
}

// send produces the built batches of lw.pending with acks=all, trying a
// batch up to maxAttempts times while its failure is temporary, and
// settles each.
func (lw *leaderWriter) send(ctx context.Context, out []outcome) {
	cfg := &lw.p.cfg
	backoff := cfg.backoffMin
	pending := lw.pending
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.writeTimeout)
		errs := lw.roundTrip(actx, pending)
		cancel()
		lw.retry = lw.retry[:0]
		for i, pb := range pending {
			err := errs[i]
			if err == nil {
				pb.settle(out, outcomeSent)
				continue
			}
			err = fmt.Errorf("cannot produce to %s[%d]: %w", cfg.topic, pb.id, err)
			if abandoned(err) {
				pb.abandon()
			}
			switch {
			case rejected(err):
				pb.settle(out, outcomeRejected)
				lw.fail(err)
			case attempt < cfg.maxAttempts && temporary(err) && ctx.Err() == nil:
				lw.retry = append(lw.retry, pb)
			default:
				pb.failRest(out)
				lw.fail(err)
			}
			if leaderMoved(err) {
				lw.p.stale.Store(true)
			}
		}
		if len(lw.retry) == 0 {
			return
		}
		pending = append(pending[:0], lw.retry...)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, cfg.backoffMax)
	}
}

// roundTrip sends one produce request with the batches of parts and
// returns each one's error. When the transport's view of the leaders
// differs from the producer's (a leader just moved), it sends the batches
// one request each, which the transport routes on its own.
func (lw *leaderWriter) roundTrip(ctx context.Context, parts []*partBatch) []error {
	errs := make([]error, len(parts))
	c := lw.p.cfg.client
	timeout := lw.p.cfg.writeTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if lw.req == nil {
		lw.req = new(rawproduce.Request)
	}
	lw.req.Acks = int16(kafka.RequireAll)
	lw.req.Timeout = int32(max(timeout.Milliseconds(), 1))
	lw.reqPart = lw.reqPart[:0]
	for _, pb := range parts {
		lw.reqPart = append(lw.reqPart, rawproduce.RequestPartition{Partition: pb.id, RecordSet: pb.recordSet()})
	}
	lw.req.Topics = append(lw.req.Topics[:0], rawproduce.RequestTopic{Topic: lw.p.cfg.topic, Partitions: lw.reqPart})
	transport := c.Transport
	if transport == nil {
		transport = kafka.DefaultTransport
	}
	m, err := transport.RoundTrip(ctx, c.Addr, lw.req)
	if abandoned(err) {
		// kafka-go's connection goroutine may still use the request.
		lw.req, lw.reqPart = nil, nil
	}
	var split *rawproduce.Error
	if errors.As(err, &split) && len(parts) > 1 {
		lw.p.stale.Store(true)
		for i := range parts {
			copy(errs[i:i+1], lw.roundTrip(ctx, parts[i:i+1]))
		}
		return errs
	}
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	res, ok := m.(*produce.Response)
	if !ok || len(res.Topics) != 1 {
		for i := range errs {
			errs[i] = errors.New("unexpected produce response")
		}
		return errs
	}
	answerErrors(errs, parts, res.Topics[0].Partitions)
	return errs
}

// answerErrors sets errs[i] to what the produce response says of parts[i]:
// nil when its partition was acknowledged, its Kafka error, or an error when
// the response does not mention it. The last is formatted only when it
// happens, not on every request.
func answerErrors(errs []error, parts []*partBatch, answered []produce.ResponsePartition) {
	for i, pb := range parts {
		errs[i] = nil
		found := false
		for _, a := range answered {
			if a.Partition == pb.id {
				found = true
				if a.ErrorCode != 0 {
					errs[i] = kafka.Error(a.ErrorCode)
				}
				break
			}
		}
		if !found {
			errs[i] = fmt.Errorf("no answer for partition %d", pb.id)
		}
	}
}

// leaderMoved reports whether Kafka says the partition is led elsewhere.
func leaderMoved(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kafka.NotLeaderForPartition, kafka.LeaderNotAvailable, kafka.UnknownTopicOrPartition:
		return true
	}
	return false
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
