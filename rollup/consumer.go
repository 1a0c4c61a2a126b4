package rollup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	// Brokers are the Kafka bootstrap brokers. Required.
	Brokers []string
	// Topic is the clicks topic. Default: "clicks".
	Topic string
	// Group is the consumer group; consumers of one group share the
	// topic's partitions. Default: "clickedge-rollup".
	Group string
	// LedgerTopic, when set, receives one record per click with its status,
	// payout and the limits it touched. Default: "" (no ledger).
	LedgerTopic string
	// SessionTimeout is how long the group waits for a member that stopped
	// heartbeating (a crashed consumer) before giving its partitions to
	// others. A consumer that shuts down leaves the group at once. Default:
	// 6s, the smallest most brokers accept.
	SessionTimeout time.Duration
	// InstanceID is this rollup's name, stable across its restarts and
	// unique among running rollups (host name and listen port). When set,
	// the consumer keeps its group member ID in Redis and, on start, removes
	// the member a crashed predecessor left in the group, so counting
	// resumes at once instead of after SessionTimeout. Default: "" (off).
	InstanceID string
	// BatchSize bounds the events applied in one Redis step. Default: 1000.
	BatchSize int
	// BatchWait is how long a batch waits for more events after its first.
	// Default: 20ms: large batches at full load, 20 ms of lag at most when idle.
	BatchWait time.Duration
	// Applier applies the batches. Required.
	Applier *Applier
	// Logger receives errors and group changes. Default: no logging.
	Logger *zap.Logger
	// Metrics receives the consumer metrics. Default: metrics' default set.
	Metrics *metrics.Set
}

// Consumer reads the clicks topic as a member of a consumer group and applies
// each partition's events in batches: Redis first, then the ledger, then the
// Kafka offset commit. It is at-least-once underneath and exactly-once in
// effect through the Applier's watermarks.
type Consumer struct {
	cfg    ConsumerConfig
	log    *zap.Logger
	group  *kafka.ConsumerGroup
	ledger *kafka.Writer

	memberKey  string
	assigned   atomic.Int64
	joined     chan struct{} // closed at the first generation
	cancel     context.CancelFunc
	done       chan struct{}
	closeOnce  sync.Once
	batches    *metrics.Counter
	batchTime  *metrics.PrometheusHistogram
	commitErr  *metrics.Counter
	ledgerErr  *metrics.Counter
	ledgerSent *metrics.Counter
}

// NewConsumer joins the group and starts consuming. Close leaves the group.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("cannot create rollup consumer: Brokers is required")
	}
	if cfg.Applier == nil {
		return nil, errors.New("cannot create rollup consumer: Applier is required")
	}
	if cfg.Topic == "" {
		cfg.Topic = "clicks"
	}
	if cfg.Group == "" {
		cfg.Group = "clickedge-rollup"
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = 6 * time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.GetDefaultSet()
	}
	memberKey := ""
	if cfg.InstanceID != "" {
		memberKey = "ce:rollup:member:" + cfg.Group + ":" + cfg.InstanceID
		removePredecessor(cfg, memberKey)
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     cfg.Group,
		Brokers:                cfg.Brokers,
		Topics:                 []string{cfg.Topic},
		SessionTimeout:         cfg.SessionTimeout,
		HeartbeatInterval:      cfg.SessionTimeout / 6,
		RebalanceTimeout:       2 * cfg.SessionTimeout,
		JoinGroupBackoff:       time.Second,
		Timeout:                5 * time.Second,
		StartOffset:            kafka.FirstOffset,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 2 * time.Second,
		Logger: kafka.LoggerFunc(func(msg string, args ...any) {
			if ce := cfg.Logger.Check(zap.DebugLevel, "kafka consumer group"); ce != nil {
				ce.Write(zap.String("event", fmt.Sprintf(msg, args...)))
			}
		}),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			cfg.Logger.Warn("kafka consumer group", zap.String("error", fmt.Sprintf(msg, args...)))
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot join consumer group %q: %w", cfg.Group, err)
	}
	c := &Consumer{
		cfg: cfg, log: cfg.Logger, group: group, done: make(chan struct{}), joined: make(chan struct{}), memberKey: memberKey,
		batches:    cfg.Metrics.GetOrCreateCounter("clickedge_rollup_batches_total"),
		batchTime:  cfg.Metrics.GetOrCreatePrometheusHistogram("clickedge_rollup_batch_duration_seconds"),
		commitErr:  cfg.Metrics.GetOrCreateCounter("clickedge_rollup_commit_errors_total"),
		ledgerErr:  cfg.Metrics.GetOrCreateCounter("clickedge_rollup_ledger_errors_total"),
		ledgerSent: cfg.Metrics.GetOrCreateCounter("clickedge_rollup_ledger_records_total"),
	}
	cfg.Metrics.GetOrCreateGauge("clickedge_rollup_partitions", func() float64 { return float64(c.assigned.Load()) })
	if cfg.LedgerTopic != "" {
		c.ledger = &kafka.Writer{
			Addr:                   kafka.TCP(cfg.Brokers...),
			Topic:                  cfg.LedgerTopic,
			Balancer:               &kafka.Hash{},
			RequiredAcks:           kafka.RequireAll,
			Compression:            kafka.Lz4,
			BatchSize:              cfg.BatchSize,
			BatchTimeout:           time.Millisecond,
			WriteTimeout:           5 * time.Second,
			MaxAttempts:            3,
			AllowAutoTopicCreation: true,
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx)
	return c, nil
}

// removePredecessor removes from the group the member that a previous run of
// this instance recorded, if it is still there: a crashed rollup never left.
// Errors are logged; the group then drops that member after its session
// timeout.
func removePredecessor(cfg ConsumerConfig, memberKey string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	old, err := cfg.Applier.rdb.Get(ctx, memberKey).Result()
	if err != nil || old == "" {
		return
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 5 * time.Second}
	resp, err := client.LeaveGroup(ctx, &kafka.LeaveGroupRequest{
		Addr:    kafka.TCP(cfg.Brokers...),
		GroupID: cfg.Group,
		Members: []kafka.LeaveGroupRequestMember{{ID: old}},
	})
	if err == nil {
		err = resp.Error
		for _, m := range resp.Members {
			if err == nil {
				err = m.Error
			}
		}
	}
	if err != nil {
		cfg.Logger.Info("no predecessor to remove from the group", zap.String("member", old), zap.Error(err))
		return
	}
	cfg.Logger.Info("removed the member a previous run left in the group", zap.String("member", old))
}

// Joined is closed once the consumer has been part of a group generation.
func (c *Consumer) Joined() <-chan struct{} { return c.joined }

// Done is closed once the consumer has stopped (after Close).
func (c *Consumer) Done() <-chan struct{} { return c.done }

// Close stops fetching, lets each partition finish its batch (apply, ledger,
// commit), leaves the group and closes the ledger writer.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.group.Close() // ends the generation, waits for the partitions, leaves
		<-c.done
		if c.ledger != nil {
			c.ledger.Close()
		}
	})
	return nil
}

func (c *Consumer) run(ctx context.Context) {
	defer close(c.done)
	for {
		gen, err := c.group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return
			}
			c.log.Warn("cannot join the consumer group; retrying", zap.String("group", c.cfg.Group), zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		select {
		case <-c.joined:
		default:
			close(c.joined)
		}
		if c.memberKey != "" {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := c.cfg.Applier.rdb.Set(sctx, c.memberKey, gen.MemberID, 30*24*time.Hour).Err(); err != nil {
				c.log.Warn("cannot record the group member ID", zap.Error(err))
			}
			cancel()
		}
		parts := gen.Assignments[c.cfg.Topic]
		c.assigned.Store(int64(len(parts)))
		ids := make([]int, len(parts))
		for i, p := range parts {
			ids[i] = p.ID
			gen.Start(func(genCtx context.Context) { c.consume(genCtx, gen, p.ID, p.Offset) })
		}
		c.log.Info("consumer group generation", zap.Int32("generation", gen.ID), zap.Ints("partitions", ids))
	}
}

// consume applies one partition until the generation ends: at a rebalance or
// when the consumer closes.
func (c *Consumer) consume(genCtx context.Context, gen *kafka.Generation, partition int, offset int64) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:         c.cfg.Brokers,
		Topic:           c.cfg.Topic,
		Partition:       partition,
		MinBytes:        1,
		MaxBytes:        16 << 20,
		MaxWait:         100 * time.Millisecond,
		QueueCapacity:   c.cfg.BatchSize,
		ReadLagInterval: -1,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			c.log.Warn("kafka reader", zap.Int("partition", partition), zap.String("error", fmt.Sprintf(msg, args...)))
		}),
	})
	defer r.Close()
	if offset < 0 {
		offset = kafka.FirstOffset
	}
	if err := r.SetOffset(offset); err != nil {
		c.log.Error("cannot seek", zap.Int("partition", partition), zap.Int64("offset", offset), zap.Error(err))
		return
	}
	batch := make([]Message, 0, c.cfg.BatchSize)
	for {
		batch = batch[:0]
		m, err := r.FetchMessage(genCtx)
		if err != nil {
			return // the generation ended or the consumer closes
		}
		batch = append(batch, Message{Offset: m.Offset, Value: m.Value})
		fill, cancel := context.WithTimeout(genCtx, c.cfg.BatchWait)
		for len(batch) < c.cfg.BatchSize {
			m, err := r.FetchMessage(fill)
			if err != nil {
				break
			}
			batch = append(batch, Message{Offset: m.Offset, Value: m.Value})
		}
		cancel()
		if !c.process(genCtx, gen, partition, batch) {
			return
		}
	}
}

// process applies a batch, writes its ledger records and commits its offset.
// It retries Redis and the ledger until they succeed or the generation ends
// (a rebalance must not wait for a Redis outage); it reports whether
// consuming may go on.
func (c *Consumer) process(ctx context.Context, gen *kafka.Generation, partition int, batch []Message) bool {
	start := time.Now()
	var res []Result
	for attempt := 0; ; attempt++ {
		// A batch in flight finishes even while the consumer closes: its
		// Redis step is atomic per contract, so cutting it short is safe,
		// but finishing it commits the work already fetched.
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		res, err = c.cfg.Applier.Apply(actx, partition, batch)
		cancel()
		if err == nil {
			break
		}
		c.log.Warn("cannot apply a batch; retrying", zap.Int("partition", partition), zap.Int64("offset", batch[0].Offset), zap.Error(err))
		if !sleep(ctx, backoff(attempt)) {
			return false // not committed: the next owner applies it, exactly once
		}
	}
	if c.ledger != nil {
		recs := ledgerRecords(res)
		for attempt := 0; len(recs) > 0; attempt++ {
			lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := c.ledger.WriteMessages(lctx, recs...)
			cancel()
			if err == nil {
				c.ledgerSent.Add(len(recs))
				break
			}
			c.ledgerErr.Inc()
			c.log.Warn("cannot write ledger records; retrying", zap.Int("partition", partition), zap.Error(err))
			if !sleep(ctx, backoff(attempt)) {
				return false // not committed: redelivery writes them again
			}
		}
	}
	next := batch[len(batch)-1].Offset + 1
	if err := gen.CommitOffsets(map[string]map[int]int64{c.cfg.Topic: {partition: next}}); err != nil {
		// Harmless: the watermarks skip what a new owner reads again.
		c.commitErr.Inc()
		c.log.Warn("cannot commit offset", zap.Int("partition", partition), zap.Int64("offset", next), zap.Error(err))
	}
	c.batches.Inc()
	c.batchTime.UpdateDuration(start)
	return ctx.Err() == nil
}

func backoff(attempt int) time.Duration {
	return min(50*time.Millisecond<<min(attempt, 6), 2*time.Second)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ledgerRecords returns the ledger records of the decided clicks of a batch,
// keyed like the click events.
func ledgerRecords(res []Result) []kafka.Message {
	var out []kafka.Message
	for i := range res {
		r := &res[i]
		if !r.Decided || (r.Skip != Applied && r.Skip != Redelivered) {
			continue
		}
		out = append(out, kafka.Message{Key: []byte(r.Program + ":" + r.Partner), Value: r.LedgerJSON()})
	}
	return out
}

// LedgerJSON returns the ledger record of r:
//
//	{"v":1,"id":"...","ts":1732000000000,"program":"...","partner":"...",
//	 "status":"payable","payout_micros":100000,
//	 "limits":[{"metric":"clicks","period":"day","window_start":"2026-11-21T00:00:00-05:00"}]}
func (r *Result) LedgerJSON() []byte {
	limits := r.Limits
	if limits == nil {
		limits = []LimitRef{}
	}
	b, err := json.Marshal(struct {
		V            int        `json:"v"`
		ID           string     `json:"id"`
		TS           int64      `json:"ts"`
		Program      string     `json:"program"`
		Partner      string     `json:"partner"`
		Status       string     `json:"status"`
		PayoutMicros int64      `json:"payout_micros"`
		Limits       []LimitRef `json:"limits"`
	}{1, r.ID, r.TS, r.Program, r.Partner, r.Status.String(), r.PayoutMicros, limits})
	if err != nil {
		panic("BUG: cannot encode a ledger record: " + err.Error())
	}
	return b
}
