package rollup

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/segmentio/kafka-go"

	"github.com/clickedge/clickedge/tracking"

	"github.com/clickedge/clickedge/emitter/kafkatest"
	"github.com/clickedge/clickedge/linkcache/redistest"
)

// BenchmarkApply measures the rollup step: decoding, contract matching and
// the atomic Redis script, for batches of 1000 events over four contracts
// with two limits each, against a real redis-server. One op is one event.
func BenchmarkApply(b *testing.B) {
	srv := redistest.Start(b)
	store := seedKill(b, srv.Addr)
	a, err := New(Config{Store: store, Metrics: metrics.NewSet()})
	if err != nil {
		b.Fatal(err)
	}
	events := killEvents(1000)
	msgs := make([]Message, len(events))
	ids := tracking.NewIDGenerator()
	var click tracking.Click
	b.ReportAllocs()
	b.ResetTimer()
	off := int64(0)
	for done := 0; done < b.N; done += len(msgs) {
		b.StopTimer() // fresh click IDs, so every round decides anew
		for i := range msgs {
			v := events[i].Value
			if tracking.DecodeClick(&click, v) == nil {
				click.ID = ids.Append(click.ID[:0])
				v = click.AppendJSON(nil)
			}
			msgs[i] = Message{Offset: off, Value: v}
			off++
		}
		b.StartTimer()
		if _, err := a.Apply(context.Background(), 0, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkConsumer measures the consumer end to end: events already on a
// three-partition topic of the in-process broker, read, applied and
// committed by one rollup. One op is one event.
func BenchmarkConsumer(b *testing.B) {
	addr, _ := kafkatest.Start(b, "clicks", 3)
	srv := redistest.Start(b)
	store := seedKill(b, srv.Addr)
	events := killEvents(b.N)
	produce(b, addr, events)
	set := metrics.NewSet()
	a, err := New(Config{Store: store, Metrics: set})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	c, err := NewConsumer(ConsumerConfig{Brokers: []string{addr}, SessionTimeout: time.Second, Applier: a, Metrics: set})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for applied(set) < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkConsumerLag streams fresh clicks at 50 000 and 75 000 per second
// (about the edge's rate in the load suite) into the
// in-process broker while one rollup consumes them, and reports the
// click-to-applied lag at the 99th percentile as the upper bound of its
// clickedge_rollup_lag_seconds bucket. One op is one event.
func BenchmarkConsumerLag(b *testing.B) {
	for _, rate := range []int{50_000, 75_000} {
		b.Run(strconv.Itoa(rate)+"/s", func(b *testing.B) { benchmarkConsumerLag(b, rate) })
	}
}

func benchmarkConsumerLag(b *testing.B, rate int) {
	addr, _ := kafkatest.Start(b, "clicks", 3)
	srv := redistest.Start(b)
	store := seedKill(b, srv.Addr)
	set := metrics.NewSet()
	a, err := New(Config{Store: store, Metrics: set})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewConsumer(ConsumerConfig{Brokers: []string{addr}, SessionTimeout: time.Second, Applier: a, Metrics: set})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	<-c.Joined()
	template := killEvents(1000)
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "clicks", Balancer: &kafka.Hash{}, BatchTimeout: time.Millisecond, BatchSize: 1000}
	defer w.Close()
	ids := tracking.NewIDGenerator()
	var click tracking.Click
	b.ResetTimer()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; sent < b.N; {
		<-tick.C
		n := min(rate/100, b.N-sent)
		batch := make([]kafka.Message, n)
		now := time.Now().UnixMilli()
		for i := range batch {
			m := template[(sent+i)%len(template)]
			if tracking.DecodeClick(&click, m.Value) != nil {
				batch[i] = m
				continue
			}
			click.ID, click.TS = ids.Append(click.ID[:0]), now
			batch[i] = kafka.Message{Key: m.Key, Value: click.AppendJSON(nil)}
		}
		if err := w.WriteMessages(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	for applied(set) < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(lagP99(b, set)*1000, "p99-lag-ms")
}

// decided counts the clicks the rollup gave a status.
func decided(set *metrics.Set) uint64 {
	n := uint64(0)
	for _, s := range AllStatuses() {
		n += set.GetOrCreateCounter(`clickedge_rollup_clicks_total{status="` + s.String() + `"}`).Get()
	}
	return n
}

// applied counts the events the rollup has handled, whatever became of them.
func applied(set *metrics.Set) uint64 {
	n := decided(set)
	for _, r := range skipNames[1:] {
		n += set.GetOrCreateCounter(`clickedge_rollup_skipped_total{reason="` + r + `"}`).Get()
	}
	return n
}

// lagP99 returns the upper bound of the lag histogram bucket that holds the
// 99th percentile.
func lagP99(b *testing.B, set *metrics.Set) float64 {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	var bounds []float64
	var counts []float64
	total := 0.0
	for _, line := range strings.Split(buf.String(), "\n") {
		if !strings.HasPrefix(line, `clickedge_rollup_lag_seconds_bucket{le="`) {
			continue
		}
		le, rest, _ := strings.Cut(strings.TrimPrefix(line, `clickedge_rollup_lag_seconds_bucket{le="`), `"} `)
		bound, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			bound, err = math.Inf(1), nil
		}
		n, err2 := strconv.ParseFloat(rest, 64)
		if err != nil || err2 != nil {
			b.Fatalf("cannot parse %q", line)
		}
		bounds, counts = append(bounds, bound), append(counts, n)
		total = n
	}
	for i, n := range counts {
		if n >= 0.99*total {
			return bounds[i]
		}
	}
	return math.Inf(1)
}
