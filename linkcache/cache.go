package linkcache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
	"github.com/clickedge/clickedge/internal/prefetch"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Store resolves misses. Required.
	Store *Store
	// MaxBytes bounds the memory held by cached targets and keys. Default: 64 MiB.
	MaxBytes int64
	// TTL is the backstop after which an entry is refreshed even if no
	// invalidation arrived. A stale entry keeps serving while it is refreshed and
	// while Redis is away. Default: 5m.
	TTL time.Duration
	// NegativeTTL is how long an unknown link is remembered as unknown. Creating
	// the link invalidates it at once. Default: 2s.
	NegativeTTL time.Duration
	// LookupTimeout bounds a miss, however many Redis calls it needs. Default: 300ms.
	LookupTimeout time.Duration
	// Logger receives invalidation and refresh problems. Default: no logging.
	Logger *zap.Logger
}

// Status says how Get answered.
type Status uint8

// Get results.
const (
	// Hit is a fresh cached target.
	Hit Status = iota
	// Stale is a cached target past its TTL or invalidation generation, served
	// while a refresh runs in the background or Redis is away.
	Stale
	// Miss is a target resolved from Redis by this call.
	Miss
	// NotFound is an unknown link, cached or just looked up.
	NotFound
	// Unavailable means the link is not cached and Redis cannot resolve it now.
	Unavailable
)

// String returns the metric label of s.
func (s Status) String() string {
	switch s {
	case Hit:
		return "hit"
	case Stale:
		return "stale"
	case Miss:
		return "miss"
	case NotFound:
		return "not_found"
	case Unavailable:
		return "unavailable"
	}
	return "unknown"
}

const numShards = 64

// Cache is the in-process link cache in front of the Store: bounded memory,
// a TTL backstop, negative caching, one Redis resolution per concurrent miss,
// and invalidation over Redis pub/sub. Safe for concurrent use.
type Cache struct {
	cfg    CacheConfig
	store  *Store
	log    *zap.Logger
	seed   maphash.Seed
	shards [numShards]shard
	gen    atomic.Uint64
	// epoch counts invalidations; a lookup that overlapped one is not cached,
	// so it cannot put back what the invalidation removed.
	epoch  atomic.Uint64
	flight singleflight.Group

	// skew is added to the clock; tests move time forward with it.
	skew atomic.Int64

	refreshQ chan *entry
	stop     chan struct{}
	wg       sync.WaitGroup

	metrics       *metrics.Set
	hits          *metrics.Counter
	stales        *metrics.Counter
	misses        *metrics.Counter
	negativeHits  *metrics.Counter
	evictions     *metrics.Counter
	invalidations *metrics.Counter
	subscribed    atomic.Bool
}

// entry is one cached key; t == nil marks an unknown link. The fields a
// hit reads come first.
type entry struct {
	key        string
	t          *Target
	hot        uintptr // of a known link: the bytes a hit reads from the key's start
	expires    int64   // unix nanoseconds
	gen        uint64
	ref        atomic.Bool
	refreshing atomic.Bool
	size       int64
	prev, next *entry
}

// linkEntry is the entry of a known link with its own copy of the Target,
// and the key's bytes at the start of the Target's buffer: a hit reads one
// allocation and the buffer, with the key (which the map compares) just
// before the Location and the click's fields. A redirect of a link last
// served thousands of requests ago finds none of it in the CPU's caches;
// with the map's slot, the key, the entry, the Target and its buffer each
// in an allocation of its own, the edge waited for memory about 600 ns per
// redirect (perf, bench/ab.sh with 1 000 links).
type linkEntry struct {
	entry
	target Target
}

// linkEntrySize is how much of a linkEntry a hit reads: all but the
// Target's cold fields.
const linkEntrySize = unsafe.Offsetof(linkEntry{}.target) + unsafe.Offsetof(Target{}.Code)

// newEntry returns the entry of key for t (nil: an unknown link).
func newEntry(key string, t *Target) *entry {
	if t == nil {
		return &entry{key: key, size: int64(len(key)) + entryOverhead}
	}
	le := &linkEntry{target: Target{Passthrough: t.Passthrough}}
	views := t.views()
	parts := make([][]byte, len(views))
	for i, v := range views {
		parts[i] = *v
	}
	buf := le.target.pack([]byte(key), parts)
	le.key = unsafe.String(unsafe.SliceData(buf), len(key))
	le.t = &le.target
	le.hot = uintptr(len(key) + le.target.hot())
	le.size = int64(le.target.Size()) + entryOverhead
	return &le.entry
}

// shard is a map plus a FIFO list evicted with a second chance (CLOCK): a hit
// sets ref under the read lock; eviction skips and clears referenced entries.
type shard struct {
	mu         sync.RWMutex
	m          map[string]*entry
	head, tail *entry
	bytes      int64
}

// entryOverhead approximates the map slot, entry struct and list links.
const entryOverhead = 128

// NewCache creates a Cache over cfg.Store and subscribes to invalidations.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Store == nil {
		return nil, errors.New("cannot create cache: Store is required")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.TTL == 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = 2 * time.Second
	}
	if cfg.LookupTimeout == 0 {
		cfg.LookupTimeout = 300 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MaxBytes < numShards*1024 {
		return nil, fmt.Errorf("cannot create cache: MaxBytes %d is below the minimum %d", cfg.MaxBytes, numShards*1024)
	}
	if cfg.TTL < 0 || cfg.NegativeTTL < 0 || cfg.LookupTimeout < 0 {
		return nil, errors.New("cannot create cache: negative TTL or timeout")
	}
	c := &Cache{
		cfg:      cfg,
		store:    cfg.Store,
		log:      cfg.Logger,
		seed:     maphash.MakeSeed(),
		refreshQ: make(chan *entry, 1024),
		stop:     make(chan struct{}),
		metrics:  metrics.NewSet(),
	}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*entry)
	}
	c.hits = c.metrics.NewCounter(`clickedge_cache_requests_total{result="hit"}`)
	c.stales = c.metrics.NewCounter(`clickedge_cache_requests_total{result="stale"}`)
	c.misses = c.metrics.NewCounter(`clickedge_cache_requests_total{result="miss"}`)
	c.negativeHits = c.metrics.NewCounter(`clickedge_cache_requests_total{result="negative_hit"}`)
	c.evictions = c.metrics.NewCounter(`clickedge_cache_evictions_total`)
	c.invalidations = c.metrics.NewCounter(`clickedge_cache_invalidations_total`)
	c.metrics.NewGauge(`clickedge_cache_entries`, func() float64 { n, _ := c.Len(); return float64(n) })
	c.metrics.NewGauge(`clickedge_cache_bytes`, func() float64 { _, b := c.Len(); return float64(b) })
	c.wg.Add(2)
	go c.refreshLoop()
	go c.subscribeLoop()
	return c, nil
}

// Close stops the background loops. It does not close the Store.
func (c *Cache) Close() {
	close(c.stop)
	c.wg.Wait()
}

// WriteMetrics writes the cache's metrics in Prometheus text format.
func (c *Cache) WriteMetrics(w io.Writer) { c.metrics.WritePrometheus(w) }

// Subscribed reports whether the invalidation subscription is live.
func (c *Cache) Subscribed() bool { return c.subscribed.Load() }

// Len returns the number of entries and the bytes they account for.
func (c *Cache) Len() (n int, bytes int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		bytes += s.bytes
		s.mu.RUnlock()
	}
	return n, bytes
}

// now returns the cache's clock in unix nanoseconds.
func (c *Cache) now() int64 { return c.clock(time.Now()) }

// clock returns the cache's clock at t in unix nanoseconds.
func (c *Cache) clock(t time.Time) int64 { return t.UnixNano() + c.skew.Load() }

func (c *Cache) shard(key []byte) *shard {
	return &c.shards[maphash.Bytes(c.seed, key)%numShards]
}

// Get returns the target of key (see Store.Resolve for the key forms). A cached
// key costs no allocation and no I/O; a stale one is served at once and
// refreshed in the background. A miss waits for at most LookupTimeout. The
// Target is nil unless the Status is Hit, Stale or Miss.
func (c *Cache) Get(key []byte) (*Target, Status) { return c.GetAt(key, time.Now()) }

// GetAt is Get with the caller's reading of the clock, which decides whether
// a cached entry is fresh: a server that read the clock for the request
// saves a clock read per lookup.
func (c *Cache) GetAt(key []byte, now time.Time) (*Target, Status) {
	s := c.shard(key)
	s.mu.RLock()
	e := s.m[string(key)]
	s.mu.RUnlock()
	if e != nil {
		// The map's key compare has brought the buffer's first line; ask
		// for the rest of what the redirect reads at once, so that its
		// misses overlap instead of following one another.
		prefetch.Range(unsafe.Pointer(e), linkEntrySize)
		if e.hot > 0 {
			prefetch.Range(unsafe.Pointer(unsafe.StringData(e.key)), e.hot)
		}
		fresh := c.isFresh(e, c.clock(now))
		if !e.ref.Load() {
			e.ref.Store(true)
		}
		switch {
		case fresh && e.t != nil:
			c.hits.Inc()
			return e.t, Hit
		case fresh:
			c.negativeHits.Inc()
			return nil, NotFound
		case e.t != nil:
			c.stales.Inc()
			if e.refreshing.CompareAndSwap(false, true) {
				select {
				case c.refreshQ <- e:
				default:
					e.refreshing.Store(false)
				}
			}
			return e.t, Stale
		}
	}
	c.misses.Inc()
	return c.resolve(string(key))
}

// resolve looks key up in Redis, once for all concurrent callers.
func (c *Cache) resolve(key string) (*Target, Status) {
	type result struct {
		t  *Target
		st Status
	}
	v, _, _ := c.flight.Do(key, func() (any, error) {
		// A resolution that finished between the caller's lookup and this
		// call has filled the entry: use it rather than ask Redis again.
		if e := c.fresh(key); e != nil {
			if e.t != nil {
				return result{e.t, Hit}, nil
			}
			return result{nil, NotFound}, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LookupTimeout)
		defer cancel()
		gen, epoch := c.gen.Load(), c.epoch.Load()
		t, err := c.store.Resolve(ctx, key)
		switch {
		case err == nil:
			c.insert(key, t, gen, epoch, c.cfg.TTL)
			return result{t, Miss}, nil
		case errors.Is(err, ErrNotFound):
			c.insert(key, nil, gen, epoch, c.cfg.NegativeTTL)
			return result{nil, NotFound}, nil
		case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			return result{nil, Unavailable}, nil
		default:
			// Stored data that cannot make a destination: answer as unknown,
			// remember briefly, and say so in the log.
			c.log.Warn("cannot resolve link", zap.String("key", key), zap.Error(err))
			c.insert(key, nil, gen, epoch, c.cfg.NegativeTTL)
			return result{nil, NotFound}, nil
		}
	})
	r := v.(result)
	return r.t, r.st
}

// fresh returns key's entry when it is cached and fresh, else nil.
func (c *Cache) fresh(key string) *entry {
	s := c.shard([]byte(key))
	s.mu.RLock()
	e := s.m[key]
	s.mu.RUnlock()
	if e == nil || !c.isFresh(e, c.now()) {
		return nil
	}
	return e
}

// isFresh reports whether e is within its TTL at now (the cache's clock)
// and no invalidation came since it was stored.
func (c *Cache) isFresh(e *entry, now int64) bool {
	return now < e.expires && e.gen == c.gen.Load()
}

// refreshLoop refreshes stale entries one at a time. A failure leaves the stale
// entry serving.
func (c *Cache) refreshLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case e := <-c.refreshQ:
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LookupTimeout)
			gen, epoch := c.gen.Load(), c.epoch.Load()
			t, err := c.store.Resolve(ctx, e.key)
			cancel()
			switch {
			case err == nil:
				c.insert(e.key, t, gen, epoch, c.cfg.TTL)
			case errors.Is(err, ErrNotFound):
				c.insert(e.key, nil, gen, epoch, c.cfg.NegativeTTL)
			}
			e.refreshing.Store(false)
		}
	}
}

// insert stores key, replacing what was there, and evicts to stay in budget.
// It does nothing when an invalidation arrived since epoch was read.
func (c *Cache) insert(key string, t *Target, gen, epoch uint64, ttl time.Duration) {
	e := newEntry(key, t)
	e.gen, e.expires = gen, c.now()+int64(ttl)
	s := c.shard([]byte(key))
	max := c.cfg.MaxBytes / numShards
	s.mu.Lock()
	if c.epoch.Load() != epoch {
		s.mu.Unlock()
		return
	}
	if old := s.m[key]; old != nil {
		s.unlink(old)
	}
	s.m[e.key] = e // e.key: the key's bytes in e's buffer, which a hit then reads
	s.pushBack(e)
	evicted := 0
	for s.bytes > max && s.head != nil && s.head != e {
		h := s.head
		if h.ref.Load() {
			h.ref.Store(false)
			s.unlink(h)
			s.m[h.key] = h
			s.pushBack(h)
			continue
		}
		s.unlink(h)
		evicted++
	}
	s.mu.Unlock()
	c.evictions.Add(evicted)
}

// pushBack appends e to the list and the map accounting; the caller holds mu
// and has put e in the map.
func (s *shard) pushBack(e *entry) {
	e.prev, e.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
	s.bytes += e.size
}

// unlink removes e from the list and the map; the caller holds mu.
func (s *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
	s.bytes -= e.size
	if s.m[e.key] == e {
		delete(s.m, e.key)
	}
}

// Invalidate applies one invalidation message: "c <code>" drops a short code,
// "p <program>" drops every link of a program, "*" marks everything stale.
// Unknown messages are ignored.
func (c *Cache) Invalidate(msg string) {
	c.invalidations.Inc()
	c.epoch.Add(1)
	switch {
	case msg == "*":
		c.gen.Add(1)
	case strings.HasPrefix(msg, "c "):
		key := msg[2:]
		s := c.shard([]byte(key))
		s.mu.Lock()
		if e := s.m[key]; e != nil {
			s.unlink(e)
		}
		s.mu.Unlock()
	case strings.HasPrefix(msg, "p "):
		program := msg[2:]
		for i := range c.shards {
			s := &c.shards[i]
			s.mu.Lock()
			for e := s.head; e != nil; {
				next := e.next
				if e.t != nil && string(e.t.Program) == program || e.t == nil && strings.HasPrefix(e.key, "c/") && strings.HasSuffix(e.key, "/"+program) {
					s.unlink(e)
				}
				e = next
			}
			s.mu.Unlock()
		}
	}
}

// subscribeLoop applies invalidations from Redis pub/sub. Messages published
// while the subscription was down are lost, so every re-subscription marks the
// whole cache stale: entries keep serving and refresh one by one.
func (c *Cache) subscribeLoop() {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps := c.store.client.Subscribe(ctx, InvalidationChannel)
	defer ps.Close()
	// Receive blocks in a read that ignores ctx; closing the PubSub ends it.
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-c.stop:
			cancel()
			_ = ps.Close()
		case <-stopped:
		}
	}()
	first := true
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if c.subscribed.Swap(false) {
				c.log.Warn("invalidation subscription lost; will mark the cache stale when it is back", zap.Error(err))
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				c.subscribed.Store(true)
				if !first {
					c.Invalidate("*")
				}
				first = false
			}
		case *redis.Message:
			c.Invalidate(m.Payload)
		}
	}
}
