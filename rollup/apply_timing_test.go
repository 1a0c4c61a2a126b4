package rollup

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

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
	b.ReportAllocs()
	b.ResetTimer()
	off := int64(0)
	for done := 0; done < b.N; done += len(msgs) {
		for i := range msgs {
			msgs[i] = Message{Offset: off, Value: events[i].Value}
			off++
		}
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
	for {
		n := uint64(0)
		for _, name := range []string{"applied", "redelivered", "duplicate_id", "malformed"} {
			if name == "applied" {
				for _, s := range AllStatuses() {
					n += set.GetOrCreateCounter(`clickedge_rollup_clicks_total{status="` + s.String() + `"}`).Get()
				}
				continue
			}
			n += set.GetOrCreateCounter(fmt.Sprintf(`clickedge_rollup_skipped_total{reason=%q}`, name)).Get()
		}
		if n >= uint64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
