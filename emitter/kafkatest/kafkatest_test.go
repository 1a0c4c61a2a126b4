package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestKafkaGoRoundTrip(t *testing.T) {
	for _, codec := range []kafka.Compression{0, kafka.Snappy, kafka.Lz4, kafka.Gzip, kafka.Zstd} {
		t.Run(fmt.Sprint(codec), func(t *testing.T) {
			addr, _ := Start(t, "clicks", 3)
			tr := &kafka.Transport{}
			defer tr.CloseIdleConnections()
			w := &kafka.Writer{
				Addr:         kafka.TCP(addr),
				Topic:        "clicks",
				Balancer:     &kafka.Hash{},
				RequiredAcks: kafka.RequireAll,
				BatchTimeout: time.Millisecond,
				Compression:  codec,
				Transport:    tr,
			}
			defer w.Close()
			var msgs []kafka.Message
			for i := 0; i < 100; i++ {
				msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint("k", i%7)), Value: []byte(fmt.Sprint("v", i))})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				t.Fatalf("cannot write: %s", err)
			}
			recs := ReadAll(t, addr, "clicks")
			if len(recs) != len(msgs) {
				t.Fatalf("unexpected record count; got %d; want %d", len(recs), len(msgs))
			}
		})
	}
}

func TestBrokerRestartKeepsRecords(t *testing.T) {
	b := StartBroker(t, "clicks", 2)
	write := func(v string) {
		t.Helper()
		tr := &kafka.Transport{}
		defer tr.CloseIdleConnections()
		w := &kafka.Writer{
			Addr:         kafka.TCP(b.Addr),
			Topic:        "clicks",
			BatchTimeout: time.Millisecond,
			RequiredAcks: kafka.RequireAll, // acks=0 would let Stop race the write
			Transport:    tr,
		}
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.WriteMessages(ctx, kafka.Message{Value: []byte(v)}); err != nil {
			t.Fatalf("cannot write %q: %s", v, err)
		}
	}
	write("before")
	b.Stop()
	b.Restart()
	write("after")
	recs := ReadAll(t, b.Addr, "clicks")
	if len(recs) != 2 {
		t.Fatalf("unexpected record count after restart; got %d (%+v); want 2", len(recs), recs)
	}
}
