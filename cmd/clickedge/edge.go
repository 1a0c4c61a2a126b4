package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clickedge/clickedge/emitter"
	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/redirect"
	"github.com/clickedge/clickedge/tracking"
)

// edgeFlags are the flags of serve and dev.
type edgeFlags struct {
	listenAddr, internalListenAddr, publicURL string
	trustedProxies, clientIPHeader            string
	readTimeout, writeTimeout, idleTimeout    time.Duration
	lateReads                                 bool
	maxHeaderBytes, maxConcurrency            int
	shutdownDelay                             time.Duration

	redisFlags

	cacheMaxBytes                                 int64
	cacheTTL, cacheNegativeTTL, cacheLookupTimout time.Duration

	adminToken string

	kafkaBrokers, kafkaTopic, spoolDir, geoipDB string
	kafkaCompression                            string
	kafkaWriteTimeout, kafkaBatchTimeout        time.Duration
	spoolMaxBytes                               int64
	queueSize                                   int
	datacenterRanges, visitorKey, edgeName      string

	logLevel, logFormat string
}

// register defines the flags on fs with the defaults of the command.
func (f *edgeFlags) register(fs *flag.FlagSet, dev bool) {
	listen, internal, delay, logFormat := ":8080", ":8081", 5*time.Second, "json"
	if dev {
		listen, internal, delay, logFormat = "127.0.0.1:8080", "127.0.0.1:8081", 0, "console"
	}
	fs.StringVar(&f.listenAddr, "http.listenAddr", listen, "public listener address: link paths only")
	fs.StringVar(&f.internalListenAddr, "http.internalListenAddr", internal, "internal listener address: /health, /ready, /metrics, /debug/pprof/, admin API /api/v1/; keep it off the internet")
	fs.StringVar(&f.publicURL, "http.publicURL", "", "base URL of short links in admin API answers, e.g. https://go.example.com (default: http://<http.listenAddr>)")
	fs.StringVar(&f.trustedProxies, "http.trustedProxies", "", "comma-separated CIDRs or addresses of proxies (CDN, load balancer) whose client-IP header is trusted; empty: the TCP peer is the client")
	fs.StringVar(&f.clientIPHeader, "http.clientIPHeader", "X-Forwarded-For", "header, in X-Forwarded-For syntax, that trusted proxies put the client address in")
	fs.DurationVar(&f.readTimeout, "http.readTimeout", 5*time.Second, "bound on reading one request")
	fs.DurationVar(&f.writeTimeout, "http.writeTimeout", 5*time.Second, "bound on writing one response")
	fs.DurationVar(&f.idleTimeout, "http.idleTimeout", 60*time.Second, "bound on an idle keep-alive connection")
	fs.BoolVar(&f.lateReads, "http.lateReads", true, "with GOMAXPROCS=1, a keep-alive connection reads its next request once the network poller reports it, saving the empty read(2) after each response; false: read at once")
	fs.IntVar(&f.maxHeaderBytes, "http.maxHeaderBytes", 8<<10, "bound on the request line and headers, bytes; larger requests get 431")
	fs.IntVar(&f.maxConcurrency, "http.maxConcurrency", 65536, "bound on concurrent connections per listener; more get 503")
	fs.DurationVar(&f.shutdownDelay, "http.shutdownDelay", delay, "on SIGTERM, time between /ready turning 503 and closing the listeners, so load balancers stop sending traffic")

	f.redisFlags.register(fs, dev, 250*time.Millisecond)

	fs.Int64Var(&f.cacheMaxBytes, "cache.maxBytes", 64<<20, "bound on the in-process link cache, bytes")
	fs.DurationVar(&f.cacheTTL, "cache.ttl", 5*time.Minute, "backstop after which a cached link is refreshed even without an invalidation; stale links keep serving while Redis is away")
	fs.DurationVar(&f.cacheNegativeTTL, "cache.negativeTTL", 2*time.Second, "how long an unknown link is remembered as unknown")
	fs.DurationVar(&f.cacheLookupTimout, "cache.lookupTimeout", 300*time.Millisecond, "bound on resolving an uncached link; past it the click gets 503")

	fs.StringVar(&f.adminToken, "admin.token", "", "bearer token of the admin API; empty disables it (dev generates one)")

	fs.StringVar(&f.kafkaBrokers, "kafka.brokers", "", "comma-separated Kafka brokers for click events; empty: no click events"+devNote(dev, " (dev starts an embedded broker)"))
	fs.StringVar(&f.kafkaTopic, "kafka.topic", "clicks", "Kafka topic of click events")
	fs.StringVar(&f.kafkaCompression, "kafka.compression", "snappy", "codec of click event batches: none, snappy, lz4, zstd or gzip")
	fs.DurationVar(&f.kafkaWriteTimeout, "kafka.writeTimeout", 2*time.Second, "bound on one Kafka write; past it events go to the spool")
	fs.DurationVar(&f.kafkaBatchTimeout, "kafka.batchTimeout", 5*time.Millisecond, "how long click events wait for more to fill a batch before they are sent to Kafka; at most 10ms")
	fs.IntVar(&f.queueSize, "emitter.queueSize", 65536, "click events held in memory on their way to Kafka; past it they go to the spool")
	fs.StringVar(&f.spoolDir, "spool.dir", "", "directory of the disk spool that keeps click events while Kafka is slow or away; empty: such events are dropped and counted"+devNote(dev, " (dev uses a temporary directory)"))
	fs.Int64Var(&f.spoolMaxBytes, "spool.maxBytes", 1<<30, "bound on the spool's size, bytes; past it events are dropped and counted")
	fs.StringVar(&f.geoipDB, "geoip.db", "", "MaxMind GeoIP2/GeoLite2 Country or City mmdb for click countries; empty: no country")
	fs.StringVar(&f.datacenterRanges, "tracking.datacenterRanges", "", "file of CIDRs, one per line, whose clients are bots with reason datacenter")
	fs.StringVar(&f.visitorKey, "tracking.visitorKey", "", "secret key of the visitor hash (at least 16 bytes), the same on every edge so unique clicks are counted across edges; empty: a random key per process")
	fs.StringVar(&f.edgeName, "edge.name", "", "instance name recorded on click events (default: the host name)")

	fs.StringVar(&f.logLevel, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log.format", logFormat, "log format: json or console")
}

// redisFlags are the Redis flags of every command.
type redisFlags struct {
	redisAddr, redisUsername, redisPassword string
	redisDB, redisPoolSize                  int
	redisTimeout                            time.Duration
}

func (f *redisFlags) register(fs *flag.FlagSet, dev bool, timeout time.Duration) {
	fs.StringVar(&f.redisAddr, "redis.addr", "127.0.0.1:6379", "Redis host:port; several comma-separated addresses use Redis Cluster")
	if dev {
		f.redisAddr = ""
		fs.Lookup("redis.addr").DefValue = ""
		fs.Lookup("redis.addr").Usage = "Redis host:port to use instead of the embedded store"
	}
	fs.StringVar(&f.redisUsername, "redis.username", "", "Redis ACL user name")
	fs.StringVar(&f.redisPassword, "redis.password", "", "Redis password")
	fs.IntVar(&f.redisDB, "redis.db", 0, "Redis database number (not with Redis Cluster)")
	fs.IntVar(&f.redisPoolSize, "redis.poolSize", 32, "Redis connections per node")
	fs.DurationVar(&f.redisTimeout, "redis.timeout", timeout, "bound on one Redis call")
}

// newStore connects to the Redis of f.
func (f *redisFlags) newStore(log *zap.Logger) (*linkcache.Store, error) {
	return linkcache.NewStore(linkcache.StoreConfig{
		Addr:     f.redisAddr,
		Username: f.redisUsername,
		Password: f.redisPassword,
		DB:       f.redisDB,
		PoolSize: f.redisPoolSize,
		Timeout:  f.redisTimeout,
		Logger:   log.Named("redis"),
	})
}

func devNote(dev bool, note string) string {
	if dev {
		return note
	}
	return ""
}

// newLogger builds the one logger of the process.
func newLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("cannot parse -log.level %q: want debug, info, warn or error", level)
	}
	cfg := zap.NewProductionConfig()
	switch format {
	case "json":
	case "console":
		cfg.Encoding = "console"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
	default:
		return nil, fmt.Errorf("cannot parse -log.format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.DisableStacktrace = true
	return cfg.Build()
}

// edge is a running edge: the components in start order.
type edge struct {
	log        *zap.Logger
	store      *linkcache.Store
	cache      *linkcache.Cache
	classifier *tracking.Classifier
	emitter    *emitter.Writer
	handler    *redirect.Handler
	internal   *redirect.Internal

	publicLn, internalLn net.Listener
	serveErr             chan error
	stopServers          func(context.Context)
	shutdownDelay        time.Duration
	publicURL            string

	// extraMetrics are written by /metrics after the edge's own (dev adds
	// the rollup's); closers run before the stores close (dev's rollup).
	extraMetrics []func(io.Writer)
	closers      []func()
}

// startEdge builds the components from f and starts both listeners.
func startEdge(f *edgeFlags, log *zap.Logger, extraMetrics ...func(io.Writer)) (*edge, error) {
	proxies, err := redirect.ParseTrustedProxies(f.trustedProxies)
	if err != nil {
		return nil, err
	}
	e := &edge{log: log, serveErr: make(chan error, 2), shutdownDelay: f.shutdownDelay, extraMetrics: extraMetrics}
	e.store, err = f.newStore(log)
	if err != nil {
		return nil, err
	}
	e.cache, err = linkcache.NewCache(linkcache.CacheConfig{
		Store:         e.store,
		MaxBytes:      f.cacheMaxBytes,
		TTL:           f.cacheTTL,
		NegativeTTL:   f.cacheNegativeTTL,
		LookupTimeout: f.cacheLookupTimout,
		Logger:        log.Named("cache"),
	})
	if err != nil {
		e.store.Close()
		return nil, err
	}
	if err := e.startEvents(f); err != nil {
		e.stopStores()
		return nil, err
	}
	e.handler, err = redirect.New(redirect.Config{
		Cache:          e.cache,
		TrustedProxies: proxies,
		ClientIPHeader: f.clientIPHeader,
		Classifier:     e.classifier,
		Emitter:        e.emitter,
		EdgeName:       f.edgeName,
		Logger:         log.Named("redirect"),
	})
	if err != nil {
		e.stopStores()
		return nil, err
	}
	limits := redirect.Limits{
		ReadTimeout:    f.readTimeout,
		WriteTimeout:   f.writeTimeout,
		IdleTimeout:    f.idleTimeout,
		MaxHeaderBytes: f.maxHeaderBytes,
		MaxConcurrency: f.maxConcurrency,
		EagerReads:     !f.lateReads,
	}
	if e.publicLn, err = net.Listen("tcp", f.listenAddr); err != nil {
		e.stopStores()
		return nil, fmt.Errorf("cannot listen on -http.listenAddr %q: %w", f.listenAddr, err)
	}
	if e.internalLn, err = net.Listen("tcp", f.internalListenAddr); err != nil {
		e.publicLn.Close()
		e.stopStores()
		return nil, fmt.Errorf("cannot listen on -http.internalListenAddr %q: %w", f.internalListenAddr, err)
	}
	e.publicURL = f.publicURL
	if e.publicURL == "" {
		e.publicURL = "http://" + displayAddr(e.publicLn.Addr())
	}
	e.internal, err = redirect.NewInternal(redirect.InternalConfig{
		Store:      e.store,
		AdminToken: f.adminToken,
		PublicURL:  e.publicURL,
		Metrics:    e.metricWriters(),
		Logger:     log.Named("admin"),
	})
	if err != nil {
		e.publicLn.Close()
		e.internalLn.Close()
		e.stopStores()
		return nil, err
	}
	publicSrv := e.handler.Server(limits)
	internalSrv := e.internal.Server(limits)
	go func() { e.serveErr <- publicSrv.Serve(e.publicLn) }()
	go func() { e.serveErr <- internalSrv.Serve(e.internalLn) }()
	e.stopServers = func(ctx context.Context) {
		if err := publicSrv.ShutdownWithContext(ctx); err != nil {
			log.Warn("public listener did not drain in time", zap.Error(err))
		}
		if err := internalSrv.ShutdownWithContext(ctx); err != nil {
			log.Warn("internal listener did not drain in time", zap.Error(err))
		}
	}
	e.internal.SetReady(true)
	log.Info("edge started",
		zap.String("public", e.publicLn.Addr().String()),
		zap.String("internal", e.internalLn.Addr().String()),
		zap.String("redis", f.redisAddr),
		zap.Bool("admin_api", f.adminToken != ""))
	return e, nil
}

// startEvents builds the classifier and the emitter when Kafka brokers are
// given; without them the edge redirects and emits nothing.
func (e *edge) startEvents(f *edgeFlags) error {
	if f.kafkaBrokers == "" {
		e.log.Warn("click events are off: set -kafka.brokers to emit them")
		return nil
	}
	var ranges []netip.Prefix
	if f.datacenterRanges != "" {
		var err error
		if ranges, err = tracking.ParseCIDRFile(f.datacenterRanges); err != nil {
			return err
		}
	}
	if f.visitorKey != "" && len(f.visitorKey) < 16 {
		return fmt.Errorf("cannot use -tracking.visitorKey: %d bytes; want at least 16", len(f.visitorKey))
	}
	cl, err := tracking.New(tracking.Config{
		DatacenterRanges: ranges,
		GeoIPPath:        f.geoipDB,
		VisitorKey:       []byte(f.visitorKey),
	})
	if err != nil {
		return err
	}
	if cl.VisitorKeyGenerated() {
		e.log.Warn("no -tracking.visitorKey: using a random key, so the same visitor on two edges or after a restart counts as two")
	}
	em, err := emitter.New(emitter.Config{
		Brokers:       strings.Split(f.kafkaBrokers, ","),
		Topic:         f.kafkaTopic,
		QueueSize:     f.queueSize,
		WriteTimeout:  f.kafkaWriteTimeout,
		BatchTimeout:  f.kafkaBatchTimeout,
		Compression:   f.kafkaCompression,
		SpoolDir:      f.spoolDir,
		SpoolMaxBytes: f.spoolMaxBytes,
		Logger:        e.log.Named("emitter"),
	})
	if err != nil {
		cl.Close()
		return err
	}
	e.classifier, e.emitter = cl, em
	return nil
}

// metricWriters lists every component's metrics for /metrics.
func (e *edge) metricWriters() []func(io.Writer) {
	w := []func(io.Writer){e.handler.WriteMetrics, e.cache.WriteMetrics, e.store.WriteMetrics}
	if e.emitter != nil {
		w = append(w, e.classifier.WriteMetrics, e.emitter.WriteMetrics)
	}
	return append(w, e.extraMetrics...)
}

// stopStores stops, in order, what outlives the listeners: the emitter
// (draining to Kafka or the spool), the classifier, the cache and Redis.
func (e *edge) stopStores() {
	if e.emitter != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := e.emitter.Close(ctx); err != nil {
			e.log.Error("cannot drain click events", zap.Error(err))
		}
		cancel()
		e.classifier.Close()
	}
	for _, c := range e.closers {
		c()
	}
	if e.cache != nil {
		e.cache.Close()
	}
	e.store.Close()
}

// displayAddr makes a listener address usable in a URL: ":8080" → "localhost:8080".
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// waitAndStop blocks until SIGINT or SIGTERM or a listener failure, then stops
// in the order of a graceful drain: /ready 503, the shutdown delay, listeners
// closed after in-flight requests, then the emitter drains to Kafka or the
// spool, then the cache and Redis. A second signal
// exits at once.
func (e *edge) waitAndStop() error {
	serveErr := awaitStop(e.log, e.serveErr, zap.Duration("delay", e.shutdownDelay))
	e.internal.SetReady(false)
	time.Sleep(e.shutdownDelay)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e.stopServers(ctx)
	e.stopStores()
	e.log.Info("stopped")
	_ = e.log.Sync()
	return serveErr
}
