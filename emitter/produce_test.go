package emitter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/produce"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/clickedge/clickedge/emitter/kafkatest"
)

func TestPartitionOfMatchesKafkaHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 12, 64} {
		parts := make([]int, n)
		for i := range parts {
			parts[i] = i
		}
		for i := 0; i < 2000; i++ {
			key := make([]byte, 1+rng.IntN(40))
			for j := range key {
				key[j] = byte(rng.Uint32())
			}
			want := (&kafka.Hash{}).Balance(kafka.Message{Key: key}, parts...)
			if got := partitionOf(key, n); got != want {
				t.Fatalf("unexpected partition of key %x over %d; got %d; want %d (kafka.Hash)", key, n, got, want)
			}
		}
	}
}

// decodeBatch parses b (size-prefixed, as finish returns it) with franz-go's
// decoder, checks the CRC independently and returns the records.
func decodeBatch(t *testing.T, b []byte, codec string) (kmsg.RecordBatch, []kmsg.Record) {
	t.Helper()
	if got := int(binary.BigEndian.Uint32(b)); got != len(b)-4 {
		t.Fatalf("unexpected size prefix; got %d; want %d", got, len(b)-4)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b[4:]); err != nil {
		t.Fatalf("cannot decode record batch: %v", err)
	}
	if want := int32(crc32.Checksum(b[4+offAttributes:], crc32.MakeTable(crc32.Castagnoli))); rb.CRC != want {
		t.Fatalf("unexpected CRC; got %08x; want %08x", rb.CRC, want)
	}
	if int(rb.Length) != len(b)-4-12 || rb.Magic != 2 || rb.ProducerID != -1 || rb.PartitionLeaderEpoch != -1 {
		t.Fatalf("unexpected batch header: %+v", rb)
	}
	raw := rb.Records
	if codec != "none" {
		c, _ := compressionCodec(codec)
		if int16(c.Code()) != rb.Attributes&7 {
			t.Fatalf("unexpected compression bits; got %d; want %d", rb.Attributes&7, c.Code())
		}
		r := c.NewReader(bytes.NewReader(raw))
		var err error
		raw, err = io.ReadAll(r)
		if err != nil {
			t.Fatalf("cannot decompress records with %s: %v", codec, err)
		}
	} else if rb.Attributes != 0 {
		t.Fatalf("unexpected attributes; got %d; want 0", rb.Attributes)
	}
	recs := make([]kmsg.Record, 0, rb.NumRecords)
	for i := int32(0); i < rb.NumRecords; i++ {
		var r kmsg.Record
		// Each record starts with its varint length.
		l, n := binary.Varint(raw)
		if n <= 0 || int(l)+n > len(raw) {
			t.Fatalf("record %d: bad length", i)
		}
		if err := r.ReadFrom(raw[:n+int(l)]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		raw = raw[n+int(l):]
		recs = append(recs, r)
	}
	if len(raw) != 0 {
		t.Fatalf("unexpected %d bytes after %d records", len(raw), rb.NumRecords)
	}
	return rb, recs
}

func TestBatchBuilderEncodesKafkaRecordBatch(t *testing.T) {
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixMilli()
	in := []spoolRecord{
		{TS: base, Key: []byte("k0"), Value: []byte(`{"v":1}`)},
		{TS: base - 1500, Key: nil, Value: []byte("older, no key")}, // replayed records keep their own times
		{TS: base + 86_400_000, Key: bytes.Repeat([]byte("k"), 300), Value: bytes.Repeat([]byte("x"), 70_000)},
		{TS: base + 1, Key: []byte("k3"), Value: nil},
	}
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			c, err := compressionCodec(codec)
			if err != nil {
				t.Fatal(err)
			}
			var b batchBuilder
			for round := 0; round < 2; round++ { // a reused builder starts clean
				b.reset(c)
				for _, r := range in {
					b.add(r.Key, r.Value, r.TS)
				}
				out, err := b.finish()
				if err != nil {
					t.Fatal(err)
				}
				rb, recs := decodeBatch(t, out, codec)
				if rb.NumRecords != int32(len(in)) || rb.LastOffsetDelta != int32(len(in)-1) {
					t.Fatalf("unexpected counts; got %d records, last delta %d", rb.NumRecords, rb.LastOffsetDelta)
				}
				if rb.FirstTimestamp != base || rb.MaxTimestamp != base+86_400_000 {
					t.Fatalf("unexpected timestamps; got first %d max %d", rb.FirstTimestamp, rb.MaxTimestamp)
				}
				for i, r := range recs {
					if got := rb.FirstTimestamp + r.TimestampDelta64; got != in[i].TS {
						t.Fatalf("record %d: unexpected timestamp; got %d; want %d", i, got, in[i].TS)
					}
					if int(r.OffsetDelta) != i || !bytes.Equal(r.Key, in[i].Key) || !bytes.Equal(r.Value, in[i].Value) || len(r.Headers) != 0 {
						t.Fatalf("record %d: unexpected record %+v", i, r)
					}
					if (in[i].Key == nil) != (r.Key == nil) {
						t.Fatalf("record %d: empty key must be encoded as null", i)
					}
				}
			}
		})
	}
}

func TestProducerWritesPartitionsInOrder(t *testing.T) {
	const parts = 4
	addr, _ := kafkatest.Start(t, testTopic, parts)
	for _, codec := range []string{"none", "snappy", "lz4"} {
		t.Run(codec, func(t *testing.T) {
			c, _ := compressionCodec(codec)
			p := testProducer(addr)
			p.cfg.codec = c
			p.cfg.batchBytes = 4 << 10 // several produce requests per partition
			p.cfg.maxAttempts = 1
			ts := time.Now().Add(-time.Hour).UnixMilli()
			var recs []spoolRecord
			for i := 0; i < 3000; i++ {
				recs = append(recs, spoolRecord{
					TS:    ts + int64(i%7),
					Key:   []byte(fmt.Sprintf("%s-key%d", codec, i%50)),
					Value: []byte(fmt.Sprintf("%s-%06d", codec, i)),
				})
			}
			outs := make([]outcome, len(recs))
			for i := range outs {
				outs[i] = outcomeFailed
			}
			if err := p.produce(context.Background(), recs, outs); err != nil {
				t.Fatal(err)
			}
			for i, o := range outs {
				if o != outcomeSent {
					t.Fatalf("record %d: unexpected outcome %d", i, o)
				}
			}
			next := map[string]int{}
			got := 0
			for _, r := range kafkatest.ReadAll(t, addr, testTopic) {
				if !bytes.HasPrefix(r.Value, []byte(codec+"-")) {
					continue
				}
				var i int
				fmt.Sscanf(string(r.Value[len(codec)+1:]), "%d", &i)
				in := recs[i]
				if !bytes.Equal(r.Key, in.Key) || int(r.Partition) != partitionOf(in.Key, parts) || r.Timestamp.UnixMilli() != in.TS {
					t.Fatalf("unexpected record %d: key %q partition %d time %d", i, r.Key, r.Partition, r.Timestamp.UnixMilli())
				}
				if i < next[string(r.Key)] {
					t.Fatalf("key %q: record %d after a later one", r.Key, i)
				}
				next[string(r.Key)] = i + 1
				got++
			}
			if got != len(recs) {
				t.Fatalf("unexpected record count on the topic; got %d; want %d", got, len(recs))
			}
		})
	}
}

// keyedRecords returns n records over 100 keys, values "<tag>-<index>".
func keyedRecords(tag string, n int) []spoolRecord {
	recs := make([]spoolRecord, n)
	for i := range recs {
		recs[i] = spoolRecord{TS: time.Now().UnixMilli(), Key: []byte(fmt.Sprintf("key%d", i%100)), Value: []byte(fmt.Sprintf("%s-%06d", tag, i))}
	}
	return recs
}

// testProducer returns a producer to the test brokers; tests adjust its
// cfg before the first produce.
func testProducer(addrs ...string) *producer {
	return newProducer(producerConfig{
		client:       &kafka.Client{Addr: kafka.TCP(addrs...), Transport: &kafka.Transport{MetadataTTL: 50 * time.Millisecond}},
		topic:        testTopic,
		batchBytes:   1 << 20,
		maxAttempts:  3,
		writeTimeout: 5 * time.Second,
		backoffMin:   20 * time.Millisecond,
		backoffMax:   100 * time.Millisecond,
		metadataTTL:  time.Hour, // only a moved leader makes it read the metadata again
	})
}

// TestProducerOneRequestPerBroker: a produce call sends one request to each
// broker, carrying a batch for every partition that broker leads.
func TestProducerOneRequestPerBroker(t *testing.T) {
	const parts, brokers = 6, 3
	addrs, c := kafkatest.StartCluster(t, testTopic, parts, brokers)
	var mu sync.Mutex
	type request struct {
		node  int32
		parts []int32
	}
	var reqs []request
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		req := request{node: c.CurrentNode()}
		for _, rt := range r.(*kmsg.ProduceRequest).Topics {
			for _, rp := range rt.Partitions {
				req.parts = append(req.parts, rp.Partition)
			}
		}
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		return nil, nil, false // observe only: the broker handles it
	})
	p := testProducer(addrs...)
	recs := keyedRecords("one", 600)
	outs := make([]outcome, len(recs))
	if err := p.produce(context.Background(), recs, outs); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o != outcomeSent {
			t.Fatalf("record %d: unexpected outcome %d", i, o)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	leaders := map[int32]bool{}
	seen := map[int32]bool{}
	for _, r := range reqs {
		for _, part := range r.parts {
			if l := c.LeaderFor(testTopic, part); l != r.node {
				t.Fatalf("partition %d sent to broker %d; its leader is %d", part, r.node, l)
			}
			if seen[part] {
				t.Fatalf("partition %d in two requests; want one batch per partition", part)
			}
			seen[part] = true
		}
		leaders[r.node] = true
	}
	if len(reqs) != len(leaders) || len(seen) != parts {
		t.Fatalf("unexpected requests %v; want one per broker covering all %d partitions", reqs, parts)
	}
	if len(reqs) < 2 {
		t.Fatalf("unexpected leaders: all %d partitions on one broker; want them spread", parts)
	}
	if got := len(kafkatest.ReadAll(t, addrs[0], testTopic)); got != len(recs) {
		t.Fatalf("unexpected record count on the topic; got %d; want %d", got, len(recs))
	}
}

// TestProducerLeaderMoves moves a partition to another broker: the records
// that fail meanwhile are produced again, the producer reads the new
// leaders, and every record lands once, in order per key.
func TestProducerLeaderMoves(t *testing.T) {
	const parts, brokers = 4, 2
	addrs, c := kafkatest.StartCluster(t, testTopic, parts, brokers)
	p := testProducer(addrs...)
	produceAll := func(recs []spoolRecord) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(recs) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d records still not sent after 10s", len(recs))
			}
			outs := make([]outcome, len(recs))
			p.produce(context.Background(), recs, outs)
			failed, _ := keepFailed(newWriterMetrics(nil), nil, recs, outs)
			recs = failed
		}
	}
	produceAll(keyedRecords("before", 400))
	const moved = 0
	from := c.LeaderFor(testTopic, moved)
	if err := c.MoveTopicPartition(testTopic, moved, (from+1)%brokers); err != nil {
		t.Fatal(err)
	}
	produceAll(keyedRecords("after", 400))
	produceAll(keyedRecords("last", 40)) // reads the metadata again if a failure asked for it
	for _, lw := range p.leaders {
		for _, part := range lw.parts {
			if l := c.LeaderFor(testTopic, part); l != c.LeaderFor(testTopic, lw.parts[0]) {
				t.Fatalf("partitions %v grouped under one leader; partition %d is led by %d", lw.parts, part, l)
			}
		}
	}
	got := kafkatest.ReadAll(t, addrs[0], testTopic)
	var values []string
	for _, r := range got {
		if int(r.Partition) != partitionOf(r.Key, parts) {
			t.Fatalf("record %q on partition %d; want %d", r.Value, r.Partition, partitionOf(r.Key, parts))
		}
		values = append(values, string(r.Value))
	}
	slices.Sort(values)
	if n := len(slices.Compact(values)); n != 840 {
		t.Fatalf("unexpected distinct records on the topic; got %d; want 840", n)
	}
}

func TestProducerUnknownTopicFails(t *testing.T) {
	addr, _ := kafkatest.Start(t, testTopic, 1)
	p := testProducer(addr)
	p.cfg.topic = "no-such-topic"
	p.cfg.maxAttempts = 1
	outs := []outcome{outcomeSent}
	err := p.produce(context.Background(), []spoolRecord{{Key: []byte("k"), Value: []byte("v")}}, outs)
	if err == nil || outs[0] != outcomeFailed {
		t.Fatalf("unexpected result for a missing topic; got %v, outcome %d; want an error and outcome failed", err, outs[0])
	}
}

func BenchmarkBatchBuilder(b *testing.B) {
	value := bytes.Repeat([]byte(`{"v":1,"id":"0123456789abcdef","ua":"Mozilla/5.0"}`), 8)
	key := []byte("visitor-0123456789")
	for _, codec := range []string{"none", "lz4", "snappy"} {
		b.Run(codec, func(b *testing.B) {
			c, _ := compressionCodec(codec)
			var bb batchBuilder
			const per = 500
			b.ReportAllocs()
			b.SetBytes(int64(len(key) + len(value)))
			for i := 0; i < b.N; i += per {
				bb.reset(c)
				for j := 0; j < per; j++ {
					bb.add(key, value, 1_700_000_000_000)
				}
				if _, err := bb.finish(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestProducerRetriesAfterTimeout freezes the broker so that the first
// attempt times out, and lets it answer again during the retries: the
// retries resend the batch the abandoned attempt carried, and every record
// reported sent is on the topic.
func TestProducerRetriesAfterTimeout(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 3)
	p := testProducer(addr)
	p.cfg.maxAttempts, p.cfg.writeTimeout = 4, 300*time.Millisecond
	p.cfg.backoffMin, p.cfg.backoffMax = 50*time.Millisecond, 50*time.Millisecond
	outs := make([]outcome, 1)
	if err := p.produce(context.Background(), keyedRecords("warm", 1), outs); err != nil {
		t.Fatal(err) // metadata read and connection made while the broker answers
	}
	gate.Freeze()
	time.AfterFunc(400*time.Millisecond, gate.Open)
	recs := keyedRecords("retried", 300)
	outs = make([]outcome, len(recs))
	err := p.produce(context.Background(), recs, outs)
	sent := map[string]bool{}
	for i, o := range outs {
		if o == outcomeSent {
			sent[string(recs[i].Value)] = true
		}
	}
	if err != nil || len(sent) != len(recs) {
		t.Fatalf("%d of %d records sent, error %v; want the retries after the broker came back to deliver all", len(sent), len(recs), err)
	}
	on := map[string]bool{}
	for _, r := range kafkatest.ReadAll(t, addr, testTopic) {
		on[string(r.Value)] = true
	}
	for v := range sent {
		if !on[v] {
			t.Fatalf("record %q reported sent but not on the topic", v)
		}
	}
}

// A produce response settles each partition of the request: acknowledged,
// refused with a Kafka error, or not mentioned at all.
func TestAnswerErrors(t *testing.T) {
	parts := []*partBatch{{id: 0}, {id: 1}, {id: 2}}
	errs := []error{errors.New("left from the last request"), nil, nil}
	answerErrors(errs, parts, []produce.ResponsePartition{
		{Partition: 2, ErrorCode: int16(kafka.NotLeaderForPartition)},
		{Partition: 0},
	})
	if errs[0] != nil {
		t.Fatalf("unexpected error for the acknowledged partition; got %v; want nil", errs[0])
	}
	if errs[1] == nil || errs[1].Error() != "no answer for partition 1" {
		t.Fatalf("unexpected error for the partition the response leaves out; got %v", errs[1])
	}
	if !errors.Is(errs[2], kafka.NotLeaderForPartition) || !leaderMoved(errs[2]) {
		t.Fatalf("unexpected error for the refused partition; got %v; want %v", errs[2], kafka.NotLeaderForPartition)
	}
}
