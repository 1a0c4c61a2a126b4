package emitter

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter/kafkatest"
	"go.uber.org/zap"
)

// clickValue returns a JSON click event shaped like the tracking package's
// v1 event, about 550 bytes, unique per i, with random click ID and visitor
// hash as in production (they dominate what compression can save).
func clickValue(i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var id [26]byte
	for j := range id {
		id[j] = alphabet[rng.IntN(len(alphabet))]
	}
	return []byte(fmt.Sprintf(`{"v":1,"id":"%s","ts":%d,"code":"spring-sale-%d","level":"partner",`+
		`"program":"p%d","partner":"pa%d","ad":"0","asin":"B0%08d","marketplace":"US","method":"GET","status":302,`+
		`"source":"social","referrer_host":"www.instagram.com","device":"mobile","bot":false,"bot_reason":"",`+
		`"country":"US","visitor":"%016x%016x","ip_prefix":"203.0.%d.0/24",`+
		`"subid1":"newsletter-%d","subid2":"","subid3":"","sharedid":"","edge":"edge-1"}`,
		id[:], 1700000000000+int64(i), i%500, i%40, i%300, rng.IntN(100000), rng.Uint64(), rng.Uint64(),
		rng.IntN(256), i%12))
}

var nopLogger = zap.NewNop()

func clickKey(i int) []byte { return []byte(fmt.Sprintf("p%d:pa%d", i%40, i%300)) }

// BenchmarkEmit measures what the request goroutine pays per Emit.
//
// drained: a goroutine runs the flusher's batching (collect) and recycles
// the buffers without sending them anywhere; a parallel flood still
// outruns it, and drops/op says how many Emit calls found the queue full
// (there is no overflow buffer here).
//
// kafka: the real flusher drains to an in-process broker on the same two
// cores; a flood this fast overruns it and the excess takes the overflow
// and drop paths, which are as cheap for Emit (drops/op says how many).
func BenchmarkEmit(b *testing.B) {
	key, value := clickKey(1), clickValue(1)
	run := func(b *testing.B, w *Writer, parallel bool) {
		b.ReportAllocs()
		b.SetBytes(int64(len(key) + len(value)))
		b.ResetTimer()
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w.Emit(key, value)
				}
			})
		} else {
			for i := 0; i < b.N; i++ {
				w.Emit(key, value)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(w.Stats().DroppedTotal())/float64(b.N), "drops/op")
	}
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("drained/parallel=%v", parallel), func(b *testing.B) {
			w, stop := newDrainedWriter()
			defer stop()
			run(b, w, parallel)
		})
		b.Run(fmt.Sprintf("kafka/parallel=%v", parallel), func(b *testing.B) {
			addr, _ := kafkatest.Start(b, testTopic, 8)
			w, err := New(Config{Brokers: []string{addr}, Topic: testTopic, SpoolDir: b.TempDir()})
			if err != nil {
				b.Fatalf("cannot create writer: %s", err)
			}
			defer w.Close(context.Background())
			run(b, w, parallel)
		})
	}
}

// newDrainedWriter returns a Writer whose queue is emptied by the
// flusher's batching (collect), with no Kafka or disk.
func newDrainedWriter() (*Writer, func()) {
	cfg := Config{}.withDefaults()
	w := &Writer{cfg: cfg, stop: make(chan struct{})}
	w.initQueue()
	w.m = newWriterMetrics(w)
	done := make(chan struct{})
	go func() {
		defer close(done)
		batch := newQueue()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for !w.collect(&batch, timer) {
		}
	}()
	return w, func() {
		close(w.stop)
		<-done
	}
}

// BenchmarkEmitPaced emits at a steady 100k events/s, in bursts of 100
// every millisecond like many request goroutines would, and reports the
// process CPU time spent per event: Emit plus the batching goroutine
// behind it (no Kafka, no disk). The pace sub-benchmark runs the same loop
// without Emit, the cost to subtract.
func BenchmarkEmitPaced(b *testing.B) {
	for _, emit := range []bool{false, true} {
		name := "pace"
		if emit {
			name = "emit"
		}
		b.Run(name, func(b *testing.B) {
			w, stop := newDrainedWriter()
			defer stop()
			key, value := clickKey(1), clickValue(1)
			const burst = 100
			cpu0 := processCPU()
			start := time.Now()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if emit {
					w.Emit(key, value)
				}
				if i%burst == burst-1 {
					next := start.Add(time.Duration(i/burst+1) * time.Millisecond)
					time.Sleep(time.Until(next))
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/event")
			b.ReportMetric(float64(w.Stats().DroppedTotal())/float64(b.N), "drops/op")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkThroughput measures events per second from Emit to broker
// acknowledgement through the in-process broker (which shares the CPU).
func BenchmarkThroughput(b *testing.B) {
	for _, bs := range []int{250, 1000, 4000} {
		for _, codec := range []string{"snappy", "lz4"} {
			b.Run(fmt.Sprintf("batch=%d/%s", bs, codec), func(b *testing.B) {
				addr, _ := kafkatest.Start(b, testTopic, 8)
				w, err := New(Config{
					Brokers:     []string{addr},
					Topic:       testTopic,
					BatchSize:   bs,
					Compression: codec,
					QueueSize:   1 << 20,
				})
				if err != nil {
					b.Fatalf("cannot create writer: %s", err)
				}
				defer w.Close(context.Background())
				const n = 20000
				keys, vals := make([][]byte, n), make([][]byte, n)
				for i := range vals {
					keys[i], vals[i] = clickKey(i), clickValue(i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					before := w.Stats().Sent
					for j := 0; j < n; j++ {
						w.Emit(keys[j], vals[j])
					}
					for w.Stats().Sent-before < n {
						time.Sleep(100 * time.Microsecond)
					}
				}
				b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "events/s")
				if d := w.Stats().DroppedTotal(); d != 0 {
					b.Fatalf("unexpected drops; got %d; want 0", d)
				}
			})
		}
	}
}

// BenchmarkSpoolAppend measures appending 100-event batches to the spool,
// as the flusher does while Kafka is away.
func BenchmarkSpoolAppend(b *testing.B) {
	for _, sync := range []time.Duration{100 * time.Millisecond, -1} {
		b.Run(fmt.Sprintf("sync=%s", sync), func(b *testing.B) {
			sp, _, err := openSpool(spoolConfig{
				dir:          b.TempDir(),
				maxBytes:     1 << 40,
				segmentBytes: 16 << 20,
				syncInterval: sync,
				log:          nopLogger,
			}, true)
			if err != nil {
				b.Fatalf("cannot open spool: %s", err)
			}
			defer sp.close()
			recs, size := clickRecords(100)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res, _ := sp.append(recs, true, false); res.written != len(recs) {
					b.Fatalf("unexpected append result; got %+v", res)
				}
				if i%1000 == 999 {
					// Keep the disk footprint bounded: replay what was written.
					drainSpool(b, sp)
				}
			}
			b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// clickRecords returns n spool records of click events and their encoded
// size in the spool.
func clickRecords(n int) ([]spoolRecord, int) {
	recs := make([]spoolRecord, n)
	size := 0
	for i := range recs {
		recs[i] = spoolRecord{TS: 1, Key: clickKey(i), Value: clickValue(i)}
		size += recs[i].encodedSize()
	}
	return recs, size
}

// BenchmarkSpoolReplayRead measures reading spooled events back.
func BenchmarkSpoolReplayRead(b *testing.B) {
	sp, _, err := openSpool(spoolConfig{dir: b.TempDir(), maxBytes: 1 << 40, segmentBytes: 16 << 20, syncInterval: time.Second, log: nopLogger}, true)
	if err != nil {
		b.Fatalf("cannot open spool: %s", err)
	}
	defer sp.close()
	recs, size := clickRecords(1000)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sp.append(recs, true, false)
		b.StartTimer()
		n := 0
		for n < len(recs) {
			c, err := sp.rd.next(1000)
			if err != nil {
				b.Fatalf("cannot read spool: %s", err)
			}
			n += len(c.recs)
			sp.ack(c.seq, c.end)
		}
	}
}

func drainSpool(b *testing.B, sp *spool) {
	for {
		c, err := sp.rd.next(1000)
		if err != nil {
			b.Fatalf("cannot read spool: %s", err)
		}
		sp.ack(c.seq, c.end)
		if len(c.recs) == 0 && c.corrupt == 0 {
			return
		}
	}
}

// BenchmarkCompression compares the Kafka codecs on a batch of click events;
// ratio is compressed/raw size.
func BenchmarkCompression(b *testing.B) {
	var raw []byte
	for i := 0; i < 1000; i++ {
		raw = append(raw, clickValue(i)...)
	}
	for _, name := range []string{"snappy", "lz4", "zstd", "gzip"} {
		b.Run(name, func(b *testing.B) {
			codec, _ := compressionCodec(name)
			var out bytes.Buffer
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for i := 0; i < b.N; i++ {
				out.Reset()
				cw := codec.NewWriter(&out)
				if _, err := cw.Write(raw); err != nil {
					b.Fatalf("cannot compress: %s", err)
				}
				if err := cw.Close(); err != nil {
					b.Fatalf("cannot compress: %s", err)
				}
			}
			b.ReportMetric(float64(out.Len())/float64(len(raw)), "ratio")
		})
	}
}
