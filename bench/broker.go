package bench

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// BrokerConfig configures the in-process Kafka-protocol broker.
type BrokerConfig struct {
	// Listen is the broker's listen address. Default: "127.0.0.1:9092".
	Listen string
	// Topic is created at start. Default: "clicks".
	Topic string
	// Partitions is the topic's partition count. Default: 3.
	Partitions int
}

// segmentBytes is the broker's log segment size (see StartBroker).
const segmentBytes = 4 << 20

// Broker is a single-node Kafka-protocol broker (franz-go's kfake) for local
// stacks and load runs. It keeps every record in memory: a 60 s run at
// 50 000 clicks/s holds about 2 GB.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// StartBroker starts a broker on cfg.Listen with the topic seeded.
func StartBroker(cfg BrokerConfig) (*Broker, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:9092"
	}
	if cfg.Topic == "" {
		cfg.Topic = "clicks"
	}
	switch {
	case cfg.Partitions == 0:
		cfg.Partitions = 3
	case cfg.Partitions < 0 || cfg.Partitions > 1000:
		return nil, fmt.Errorf("cannot start broker: %d partitions; want 1 to 1000", cfg.Partitions)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot start broker on %q: %w", cfg.Listen, err)
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(cfg.Partitions), cfg.Topic),
		kfake.AllowAutoTopicCreation(),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }),
		// kfake keeps each log segment in one in-memory buffer that doubles
		// as it fills: with its default 100 MiB segments, every partition
		// copies a 64 MiB buffer into a fresh 128 MiB one every few dozen
		// seconds at the edge's full rate, tens of milliseconds of the
		// core the broker shares with the load generator, which showed up as
		// 40-50 ms stalls in the edge's latency. 4 MiB segments keep each
		// copy under a millisecond.
		kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(segmentBytes)}),
	)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot start broker: %w", err)
	}
	return &Broker{cluster: c, addr: ln.Addr().String()}, nil
}

// Addr is the broker's address for clients.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker; its records are gone.
func (b *Broker) Close() { b.cluster.Close() }
