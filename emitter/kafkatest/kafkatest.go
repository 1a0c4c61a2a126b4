// Package kafkatest runs an in-process Kafka-protocol broker for tests and
// reads topics back with a real client.
//
// The broker is github.com/twmb/franz-go/pkg/kfake listening on loopback
// TCP, so the code under test talks the real wire protocol (the emitter's
// producer over kafka-go's transport in the emitter and the redirect tests,
// kafka-go's consumer group in the rollup). Topics are seeded with
// kfake.SeedTopics rather than created on first use: kfake refuses
// auto-creation unless kfake.AllowAutoTopicCreation is given, so a seeded
// topic keeps the tests independent of that default.
//
// Compatibility of kafka-go v0.4.51 with kfake, checked by this package's
// tests: no workaround is needed. ApiVersions negotiation picks versions
// both sides know (kafka-go speaks Produce up to v8), and record batches
// compressed with kafka-go's snappy, lz4, gzip or zstd codecs are decoded
// by the franz-go client ReadAll uses.
//
// Outages: a Gate placed in front of the broker's listener (StartGated)
// simulates a frozen broker (Freeze: connections stay open but no byte
// moves) and an unreachable one (Sever: every connection is closed and new
// ones are dropped). The broker advertises the gated listener's own
// address, so clients cannot route around it after the first metadata
// response. A Broker (StartBroker) can be stopped, so clients get
// connection refused, and restarted on the same port with its log intact.
package kafkatest

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one record read back from a topic.
type Record struct {
	// Partition is the partition the record was read from.
	Partition int32
	// Offset is the record's offset in its partition.
	Offset int64
	// Key is the record key; nil when the record had none.
	Key []byte
	// Value is the record value.
	Value []byte
	// Timestamp is the record's timestamp.
	Timestamp time.Time
}

// Start runs a single-broker kfake cluster on a free loopback port with topic
// seeded with the given number of partitions, and closes it when the test
// ends. It returns the broker address for clients and the cluster for
// inspection.
func Start(t testing.TB, topic string, partitions int) (string, *kfake.Cluster) {
	t.Helper()
	addrs, c, _ := start(t, topic, partitions, 1, false)
	return addrs[0], c
}

// StartCluster is like Start with several brokers, each leading some of the
// topic's partitions. It returns every broker's address.
func StartCluster(t testing.TB, topic string, partitions, brokers int) ([]string, *kfake.Cluster) {
	t.Helper()
	addrs, c, _ := start(t, topic, partitions, brokers, false)
	return addrs, c
}

// StartGated is like Start, but puts a Gate in front of the broker's listener
// so the test can freeze or sever the broker while clients are connected.
func StartGated(t testing.TB, topic string, partitions int) (string, *kfake.Cluster, *Gate) {
	t.Helper()
	addrs, c, g := start(t, topic, partitions, 1, true)
	return addrs[0], c, g
}

func start(t testing.TB, topic string, partitions, brokers int, gated bool) ([]string, *kfake.Cluster, *Gate) {
	t.Helper()
	if partitions <= 0 {
		t.Fatalf("cannot start broker for topic %q: partitions must be positive; got %d", topic, partitions)
	}
	var g *Gate
	opts := []kfake.Opt{
		kfake.NumBrokers(brokers),
		kfake.SeedTopics(int32(partitions), topic),
		// Consumer tests restart members quickly; other topics (a
		// ledger) are created on first use.
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
		kfake.AllowAutoTopicCreation(),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			// kfake asks for 127.0.0.1: tests never listen on other
			// interfaces.
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			if gated {
				g = newGate(ln)
				return g, nil
			}
			return ln, nil
		}),
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("cannot start kfake broker for topic %q: %s", topic, err)
	}
	t.Cleanup(func() {
		if g != nil {
			g.Open()
		}
		c.Close()
		if g != nil {
			g.closeAll()
		}
	})
	addrs := c.ListenAddrs()
	if len(addrs) != brokers {
		t.Fatalf("unexpected broker count; got %d; want %d", len(addrs), brokers)
	}
	// kfake picks each partition's leader at random, which can put every
	// partition on one broker (with 6 partitions and 3 brokers, about one
	// cluster in 240); partition p is led by broker p mod brokers instead.
	if brokers > 1 {
		for p := range partitions {
			if err := c.MoveTopicPartition(topic, int32(p), int32(p%brokers)); err != nil {
				t.Fatalf("cannot place the leader of partition %d: %s", p, err)
			}
		}
	}
	return addrs, c, g
}

// Broker is a single kfake broker on a fixed loopback port that keeps its
// log in a directory, so a test can stop it (clients then get connection
// refused) and start it again with every record it had acknowledged.
type Broker struct {
	// Addr is the broker address for clients; it survives Restart.
	Addr string

	t          testing.TB
	port       int
	dir        string
	topic      string
	partitions int

	mu sync.Mutex
	c  *kfake.Cluster // nil while stopped
}

// StartBroker runs a restartable broker with topic seeded with the given
// number of partitions and stops it when the test ends.
func StartBroker(t testing.TB, topic string, partitions int) *Broker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %s", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	b := &Broker{
		Addr:       net.JoinHostPort("127.0.0.1", fmt.Sprint(port)),
		t:          t,
		port:       port,
		dir:        t.TempDir(),
		topic:      topic,
		partitions: partitions,
	}
	b.Restart()
	t.Cleanup(b.Stop)
	return b
}

// Stop closes the broker and every connection to it. Stopping a stopped
// broker does nothing.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}

// Restart starts the broker again on the same port with the same log; it
// starts it first when it was never started.
func (b *Broker) Restart() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		return
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(b.port),
		kfake.DataDir(b.dir),
		kfake.SeedTopics(int32(b.partitions), b.topic),
	)
	if err != nil {
		b.t.Fatalf("cannot start kfake broker on port %d: %s", b.port, err)
	}
	b.c = c
}

// ReadAll reads every record currently in topic, from the start of each
// partition to the high watermark observed when ReadAll began, sorted by
// partition and offset. It fails the test when the records cannot be read
// within 30 seconds.
func ReadAll(t testing.TB, addr, topic string) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := readAll(ctx, addr, topic)
	if err != nil {
		t.Fatalf("cannot read topic %q from %q: %s", topic, addr, err)
	}
	return recs
}

func readAll(ctx context.Context, addr, topic string) ([]Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return nil, err
	}
	offsets := make(map[int32]kgo.Offset, len(ends))
	remaining := 0
	for p, end := range ends {
		if end > 0 {
			offsets[p] = kgo.NewOffset().AtStart()
			remaining++
		}
	}
	if remaining == 0 {
		return nil, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets})

	var recs []Record
	done := make(map[int32]bool, len(ends))
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cannot read all records before the deadline: %w", err)
		}
		for _, fe := range fs.Errors() {
			return nil, fmt.Errorf("cannot fetch partition %d: %w", fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			recs = append(recs, Record{Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
			if r.Offset == ends[r.Partition]-1 && !done[r.Partition] {
				done[r.Partition] = true
				remaining--
			}
		})
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
	return recs, nil
}

// endOffsets returns the high watermark of every partition of topic.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("cannot load metadata of %q: %w", topic, err)
	}
	if len(mresp.Topics) != 1 || mresp.Topics[0].ErrorCode != 0 {
		return nil, fmt.Errorf("cannot load metadata of %q: unexpected topic answer %+v", topic, mresp.Topics)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p.Partition
		rp.Timestamp = -1 // latest
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("cannot list offsets of %q: %w", topic, err)
	}
	ends := make(map[int32]int64)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("cannot list offsets of %q partition %d: error code %d", topic, p.Partition, p.ErrorCode)
			}
			ends[p.Partition] = p.Offset
		}
	}
	return ends, nil
}

// Gate is a net.Listener wrapper that can freeze or sever every connection
// accepted through it. It is safe for concurrent use.
type Gate struct {
	net.Listener

	mu     sync.Mutex
	state  gateState
	change chan struct{} // closed and replaced on every state change
	conns  map[*gateConn]struct{}
}

type gateState int

const (
	gateOpen gateState = iota
	gateFrozen
	gateSevered
)

func newGate(ln net.Listener) *Gate {
	return &Gate{Listener: ln, change: make(chan struct{}), conns: make(map[*gateConn]struct{})}
}

// Open lets bytes flow again and accepts new connections.
func (g *Gate) Open() { g.set(gateOpen) }

// Freeze keeps every connection open but stops moving bytes in either
// direction, like a broker that hangs. New connections are accepted and
// frozen too.
func (g *Gate) Freeze() { g.set(gateFrozen) }

// Sever closes every connection and closes new ones as soon as they are
// accepted, like a broker that went away, until Open.
func (g *Gate) Sever() {
	g.set(gateSevered)
	g.closeAll()
}

func (g *Gate) set(s gateState) {
	g.mu.Lock()
	g.state = s
	close(g.change)
	g.change = make(chan struct{})
	g.mu.Unlock()
}

func (g *Gate) closeAll() {
	g.mu.Lock()
	conns := make([]*gateConn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Accept accepts the next connection that the gate lets through.
func (g *Gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		if g.state == gateSevered {
			g.mu.Unlock()
			_ = c.Close()
			continue
		}
		gc := &gateConn{Conn: c, g: g, closed: make(chan struct{})}
		g.conns[gc] = struct{}{}
		g.mu.Unlock()
		return gc, nil
	}
}

type gateConn struct {
	net.Conn
	g         *Gate
	closeOnce sync.Once
	closed    chan struct{}
}

// wait blocks while the gate is frozen; it fails when the gate is severed or
// the connection is closed.
func (c *gateConn) wait() error {
	for {
		c.g.mu.Lock()
		s, ch := c.g.state, c.g.change
		c.g.mu.Unlock()
		switch s {
		case gateOpen:
			return nil
		case gateSevered:
			return net.ErrClosed
		}
		select {
		case <-ch:
		case <-c.closed:
			return net.ErrClosed
		}
	}
}

func (c *gateConn) Read(b []byte) (int, error) {
	if err := c.wait(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if werr := c.wait(); werr != nil {
		// Bytes that arrived just before a freeze are held until the
		// gate opens; a severed connection delivers nothing more.
		return 0, werr
	}
	return n, err
}

func (c *gateConn) Write(b []byte) (int, error) {
	if err := c.wait(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *gateConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.g.mu.Lock()
		delete(c.g.conns, c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}
