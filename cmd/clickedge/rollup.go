package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/zap"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/redirect"
	"github.com/clickedge/clickedge/rollup"
)

// rollupFlags are the flags of the rollup consumer; dev registers the ones
// the edge does not have.
type rollupFlags struct {
	internalListenAddr string
	redisFlags
	kafkaBrokers, kafkaTopic     string
	kafkaGroup, kafkaLedgerTopic string
	kafkaSessionTimeout          time.Duration
	instanceID                   string
	batchSize                    int
	retention, contractTTL       time.Duration
	logLevel, logFormat          string
}

func (f *rollupFlags) register(fs *flag.FlagSet, dev bool) {
	if !dev {
		fs.StringVar(&f.internalListenAddr, "http.internalListenAddr", ":8082", "internal listener address: /health, /ready, /metrics, /debug/pprof/")
		f.redisFlags.register(fs, false, 2*time.Second)
		fs.StringVar(&f.kafkaBrokers, "kafka.brokers", "", "comma-separated Kafka brokers (required)")
		fs.StringVar(&f.kafkaTopic, "kafka.topic", "clicks", "Kafka topic of click events")
		fs.StringVar(&f.logLevel, "log.level", "info", "log level: debug, info, warn, error")
		fs.StringVar(&f.logFormat, "log.format", "json", "log format: json or console")
	}
	fs.StringVar(&f.kafkaGroup, "kafka.group", "clickedge-rollup", "Kafka consumer group of the rollup; the topic's partitions are shared among its members")
	fs.StringVar(&f.kafkaLedgerTopic, "kafka.ledgerTopic", "", "Kafka topic that receives one record per click with its status, payout and limits touched; empty: no ledger")
	fs.DurationVar(&f.kafkaSessionTimeout, "kafka.sessionTimeout", 6*time.Second, "how long the group waits for a crashed rollup before its partitions move; a rollup that stops leaves at once")
	fs.StringVar(&f.instanceID, "rollup.instanceID", "", "name of this rollup, stable across restarts and unique among rollups; a restarted rollup removes the group member its crashed predecessor left, so counting resumes at once (default: <host name>:<internal listen port>)")
	fs.IntVar(&f.batchSize, "rollup.batchSize", 1000, "bound on the click events applied in one atomic Redis step")
	fs.DurationVar(&f.retention, "rollup.retention", 90*24*time.Hour, "how long hourly rollups and closed limit windows are kept")
	fs.DurationVar(&f.contractTTL, "rollup.contractTTL", 2*time.Second, "how long a contract is used before it is read again: contract edits apply within it")
}

// startRollup builds the applier and joins the consumer group.
func startRollup(f *rollupFlags, store *linkcache.Store, set *metrics.Set, log *zap.Logger) (*rollup.Consumer, error) {
	if f.kafkaBrokers == "" {
		return nil, fmt.Errorf("cannot start the rollup: -kafka.brokers is required")
	}
	if f.batchSize < 1 || f.batchSize > 100_000 {
		return nil, fmt.Errorf("cannot use -rollup.batchSize %d: want 1 to 100000", f.batchSize)
	}
	if f.kafkaSessionTimeout < 100*time.Millisecond {
		return nil, fmt.Errorf("cannot use -kafka.sessionTimeout %s: want at least 100ms (brokers usually require 6s)", f.kafkaSessionTimeout)
	}
	a, err := rollup.New(rollup.Config{
		Store:       store,
		Topic:       f.kafkaTopic,
		Retention:   f.retention,
		ContractTTL: f.contractTTL,
		Logger:      log,
		Metrics:     set,
	})
	if err != nil {
		return nil, err
	}
	return rollup.NewConsumer(rollup.ConsumerConfig{
		Brokers:        strings.Split(f.kafkaBrokers, ","),
		Topic:          f.kafkaTopic,
		Group:          f.kafkaGroup,
		LedgerTopic:    f.kafkaLedgerTopic,
		SessionTimeout: f.kafkaSessionTimeout,
		InstanceID:     f.instanceID,
		BatchSize:      f.batchSize,
		Applier:        a,
		Logger:         log,
		Metrics:        set,
	})
}

// runRollup runs the rollup consumer with its internal listener.
func runRollup(args []string) error {
	fs := flag.NewFlagSet("rollup", flag.ContinueOnError)
	var f rollupFlags
	f.register(fs, false)
	fs.Usage = usage(fs, "Runs the rollup: consumes click events, decides each click's status and payout\nunder its partnership's contract, and keeps usage, limits and hourly rollups\nin Redis, exactly once. Probes and metrics on -http.internalListenAddr.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	store, err := f.newStore(log)
	if err != nil {
		return err
	}
	defer store.Close()
	set := metrics.NewSet()
	internal, err := redirect.NewInternal(redirect.InternalConfig{
		Store:   store,
		NoAPI:   true,
		Metrics: []func(io.Writer){set.WritePrometheus, store.WriteMetrics},
		Logger:  log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.internalListenAddr)
	if err != nil {
		return fmt.Errorf("cannot listen on -http.internalListenAddr %q: %w", f.internalListenAddr, err)
	}
	if f.instanceID == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		f.instanceID = host + ":" + port
	}
	srv := internal.Server(redirect.Limits{})
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	c, err := startRollup(&f, store, set, log.Named("rollup"))
	if err != nil {
		_ = srv.Shutdown()
		return err
	}
	go func() { // ready once the consumer is a member of the group
		select {
		case <-c.Joined():
			internal.SetReady(true)
		case <-c.Done():
		}
	}()
	log.Info("rollup started", zap.String("internal", ln.Addr().String()), zap.String("brokers", f.kafkaBrokers),
		zap.String("topic", f.kafkaTopic), zap.String("group", f.kafkaGroup), zap.String("ledger", f.kafkaLedgerTopic))

	err = awaitStop(log, serveErr)
	// Stop fetching, finish the batches in flight, commit, leave the group.
	internal.SetReady(false)
	c.Close()
	_ = srv.Shutdown()
	log.Info("stopped")
	_ = log.Sync()
	return err
}
