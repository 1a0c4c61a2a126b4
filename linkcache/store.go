package linkcache

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Errors callers branch on.
var (
	// ErrNotFound means the record or link does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a link with the requested code already exists.
	ErrExists = errors.New("already exists")
	// ErrUnavailable means Redis cannot be reached now; the caller should fail
	// fast rather than wait.
	ErrUnavailable = errors.New("redis unavailable")
)

// InvalidationChannel is the Redis pub/sub channel on which writes announce
// which cached entries are stale.
const InvalidationChannel = "clickedge:invalidate"

// StoreConfig configures a Store.
type StoreConfig struct {
	// Addr is host:port of Redis; several comma-separated addresses select a
	// Redis Cluster client. Default: "127.0.0.1:6379".
	Addr string
	// Username and Password authenticate to Redis. Default: none.
	Username, Password string
	// DB is the database number (ignored by Redis Cluster). Default: 0.
	DB int
	// PoolSize is the number of connections per node. Default: 32.
	PoolSize int
	// Timeout bounds one Redis call (read and write each). Default: 250ms.
	Timeout time.Duration
	// DialTimeout bounds connecting. Default: 500ms.
	DialTimeout time.Duration
	// HealthInterval is how often the store pings Redis to track its state.
	// While the last ping or call failed, lookups fail fast with ErrUnavailable.
	// Default: 250ms.
	HealthInterval time.Duration
	// Logger receives state changes. Default: no logging.
	Logger *zap.Logger
}

// Store reads and writes the link model in Redis. Keys are hash-tagged per
// program ({p:<program>}), so a program's records, ads and partnerships live in
// one Redis Cluster slot and one MGET reads them. Safe for concurrent use.
type Store struct {
	cfg    StoreConfig
	client redis.UniversalClient
	log    *zap.Logger

	down    atomic.Bool
	reached atomic.Bool
	errors  *metrics.Counter
	metrics *metrics.Set

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewStore connects to Redis lazily and starts the health loop; Close stops it.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:6379"
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 32
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 250 * time.Millisecond
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 500 * time.Millisecond
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.PoolSize < 0 || cfg.Timeout < 0 || cfg.DialTimeout < 0 || cfg.HealthInterval < 0 {
		return nil, fmt.Errorf("cannot create store: negative pool size or timeout")
	}
	redis.SetLogger(redisLogger{cfg.Logger})
	addrs := strings.Split(cfg.Addr, ",")
	for i, a := range addrs {
		addrs[i] = strings.TrimSpace(a)
		if addrs[i] == "" || !strings.Contains(addrs[i], ":") {
			return nil, fmt.Errorf("cannot use redis address %q: want host:port", a)
		}
	}
	s := &Store{
		cfg:     cfg,
		client:  newClient(addrs, &cfg),
		log:     cfg.Logger,
		metrics: metrics.NewSet(),
		stop:    make(chan struct{}),
	}
	s.errors = s.metrics.NewCounter("clickedge_redis_errors_total")
	s.metrics.NewGauge("clickedge_redis_up", func() float64 {
		if s.down.Load() {
			return 0
		}
		return 1
	})
	s.wg.Add(1)
	go s.healthLoop()
	return s, nil
}

// redisLogger routes go-redis's internal log lines (dial failures and the like,
// already counted and summarized by the store) to debug level.
type redisLogger struct{ l *zap.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Sugar().Debugf(format, v...)
}

// newClient builds a single-node or, with several addresses, a Redis Cluster
// client whose every wait is short: one dial attempt (go-redis retries five
// times with 100ms pauses by default, which would hold a click for 400ms while
// Redis is down) and one quick retry of a failed command.
func newClient(addrs []string, cfg *StoreConfig) redis.UniversalClient {
	opts := &redis.UniversalOptions{
		Addrs:                 addrs,
		Username:              cfg.Username,
		Password:              cfg.Password,
		DB:                    cfg.DB,
		PoolSize:              cfg.PoolSize,
		DialTimeout:           cfg.DialTimeout,
		ReadTimeout:           cfg.Timeout,
		WriteTimeout:          cfg.Timeout,
		PoolTimeout:           cfg.Timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            1,
		MinRetryBackoff:       time.Millisecond,
		MaxRetryBackoff:       10 * time.Millisecond,
		DisableIdentity:       true,
	}
	// UniversalOptions has no dial-retry fields; set them on what it builds.
	if len(addrs) == 1 {
		o := opts.Simple()
		o.DialerRetries, o.DialerRetryTimeout = 1, time.Millisecond
		return redis.NewClient(o)
	}
	o := opts.Cluster()
	o.DialerRetries, o.DialerRetryTimeout = 1, time.Millisecond
	return redis.NewClusterClient(o)
}

// Client returns the underlying Redis client, shared with the rollup.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Up reports whether the last health check or call reached Redis. It does no I/O.
func (s *Store) Up() bool { return !s.down.Load() }

// Reached reports whether Redis has answered a health check since NewStore.
func (s *Store) Reached() bool { return s.reached.Load() }

// WriteMetrics writes the store's metrics in Prometheus text format.
func (s *Store) WriteMetrics(w io.Writer) {
	s.metrics.WritePrometheus(w)
}

// Close stops the health loop and closes the Redis client.
func (s *Store) Close() error {
	close(s.stop)
	s.wg.Wait()
	return s.client.Close()
}

func (s *Store) healthLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		err := s.client.Ping(ctx).Err()
		cancel()
		if err != nil {
			if !s.down.Swap(true) {
				s.log.Warn("redis is unreachable; serving cached links only", zap.Error(err))
			}
		} else {
			s.reached.Store(true)
			if s.down.Swap(false) {
				s.log.Info("redis is reachable again")
			}
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// fail records a Redis failure; redis.Nil is not one.
func (s *Store) fail(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	s.errors.Inc()
	if errors.Is(err, context.Canceled) {
		return err
	}
	if !s.down.Swap(true) {
		s.log.Warn("redis call failed; serving cached links only until it answers", zap.Error(err))
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// programsKey is the set of all program IDs, for listing them.
const programsKey = "ce:programs"

func programKey(program string) string { return "ce:{p:" + program + "}:program" }
func adKey(program, ad string) string  { return "ce:{p:" + program + "}:ad:" + ad }
func partnershipKey(program, partner string) string {
	return "ce:{p:" + program + "}:partnership:" + partner
}
func programLinksKey(program string) string { return "ce:{p:" + program + "}:links" }
func programPartnersKey(program string) string {
	return "ce:{p:" + program + "}:partners"
}
func partnerKey(partner string) string { return "ce:{r:" + partner + "}:partner" }
func linkKey(code string) string       { return "ce:{l:" + code + "}:link" }

func (s *Store) getJSON(ctx context.Context, key string, v any) error {
	b, err := s.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return s.fail(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("cannot decode %q: %w", key, err)
	}
	return nil
}

func (s *Store) setJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode record: " + err.Error())
	}
	return s.fail(s.client.Set(ctx, key, b, 0).Err())
}

// publish announces a change; a lost message is covered by the cache TTL.
func (s *Store) publish(ctx context.Context, msg string) {
	if err := s.client.Publish(ctx, InvalidationChannel, msg).Err(); err != nil {
		s.fail(err)
		s.log.Warn("cannot publish invalidation; edges catch up by TTL", zap.String("message", msg), zap.Error(err))
	}
}

// GetProgram returns the program or ErrNotFound.
func (s *Store) GetProgram(ctx context.Context, id string) (*Program, error) {
	var p Program
	if err := s.getJSON(ctx, programKey(id), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutProgram validates and stores p. A program's marketplace cannot change,
// because attribution never crosses marketplaces.
func (s *Store) PutProgram(ctx context.Context, id string, p *Program) error {
	if err := CheckID("program", id); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	old, err := s.GetProgram(ctx, id)
	switch {
	case err == nil:
		if old.Marketplace != p.Marketplace {
			return fieldErr("marketplace", "cannot change the marketplace of program %q from %s to %s; attribution never crosses marketplaces: create a new program", id, old.Marketplace, p.Marketplace)
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if err := s.setJSON(ctx, programKey(id), p); err != nil {
		return err
	}
	// Listed after it is stored, so a listed program always exists; a PUT
	// that fails here is retried like any other failed PUT.
	if err := s.client.SAdd(ctx, programsKey, id).Err(); err != nil {
		return s.fail(err)
	}
	s.publish(ctx, "p "+id)
	return nil
}

// ListPrograms returns the IDs of all programs, sorted.
func (s *Store) ListPrograms(ctx context.Context) ([]string, error) {
	ids, err := s.client.SMembers(ctx, programsKey).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	slices.Sort(ids)
	return ids, nil
}

// GetPartner returns the partner or ErrNotFound.
func (s *Store) GetPartner(ctx context.Context, id string) (*Partner, error) {
	var p Partner
	if err := s.getJSON(ctx, partnerKey(id), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutPartner validates and stores p.
func (s *Store) PutPartner(ctx context.Context, id string, p *Partner) error {
	if err := CheckID("partner", id); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	return s.setJSON(ctx, partnerKey(id), p)
}

// GetAd returns the ad or ErrNotFound.
func (s *Store) GetAd(ctx context.Context, program, id string) (*Ad, error) {
	var a Ad
	if err := s.getJSON(ctx, adKey(program, id), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// PutAd validates and stores an ad of an existing program.
func (s *Store) PutAd(ctx context.Context, program, id string, a *Ad) error {
	if err := CheckID("program", program); err != nil {
		return err
	}
	if err := CheckID("ad", id); err != nil {
		return err
	}
	if id == "0" {
		return fieldErr("ad", "\"0\" is reserved for program-level links")
	}
	p, err := s.GetProgram(ctx, program)
	if err != nil {
		return notFoundField(err, "program", program)
	}
	if err := a.Validate(p.Marketplace); err != nil {
		return err
	}
	if err := s.setJSON(ctx, adKey(program, id), a); err != nil {
		return err
	}
	s.publish(ctx, "p "+program)
	return nil
}

// GetPartnership returns the partnership or ErrNotFound.
func (s *Store) GetPartnership(ctx context.Context, program, partner string) (*Partnership, error) {
	var p Partnership
	if err := s.getJSON(ctx, partnershipKey(program, partner), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutPartnership validates and stores the partnership of an existing program
// and partner.
func (s *Store) PutPartnership(ctx context.Context, program, partner string, p *Partnership) error {
	if err := CheckID("program", program); err != nil {
		return err
	}
	if err := CheckID("partner", partner); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := s.GetProgram(ctx, program); err != nil {
		return notFoundField(err, "program", program)
	}
	if _, err := s.GetPartner(ctx, partner); err != nil {
		return notFoundField(err, "partner", partner)
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic("BUG: cannot encode partnership: " + err.Error())
	}
	pipe := s.client.TxPipeline()
	pipe.Set(ctx, partnershipKey(program, partner), b, 0)
	pipe.SAdd(ctx, programPartnersKey(program), partner)
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail(err)
	}
	s.publish(ctx, "p "+program)
	return nil
}

// ListPartnerships returns the partners that have a partnership with program.
func (s *Store) ListPartnerships(ctx context.Context, program string) ([]string, error) {
	partners, err := s.client.SMembers(ctx, programPartnersKey(program)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	return partners, nil
}

// notFoundField turns ErrNotFound of a referenced record into a FieldError.
func notFoundField(err error, field, id string) error {
	if errors.Is(err, ErrNotFound) {
		return &FieldError{Field: field, Msg: fmt.Sprintf("%s %q does not exist", field, id)}
	}
	return err
}

// codeAlphabet is what generated codes are drawn from: no look-alikes (0/O, 1/l/I).
const codeAlphabet = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// GeneratedCodeLen is the length of generated short codes: 57^8 ≈ 1.1e14 codes.
const GeneratedCodeLen = 8

func generateCode() string {
	var b [GeneratedCodeLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		// 256 % 57 bias is negligible for codes that are not secrets.
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b[:])
}

// CreateLink validates l, checks that what it points to exists and stores it
// under l.Code or, when empty, a generated code written back into l. A custom
// code that is taken gives ErrExists.
func (s *Store) CreateLink(ctx context.Context, l *Link) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if _, err := s.GetProgram(ctx, l.Program); err != nil {
		return notFoundField(err, "program", l.Program)
	}
	if _, err := s.GetPartnership(ctx, l.Program, l.Partner); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fieldErr("partner", "partner %q has no partnership with program %q", l.Partner, l.Program)
		}
		return err
	}
	if l.Ad != "" {
		if _, err := s.GetAd(ctx, l.Program, l.Ad); err != nil {
			return notFoundField(err, "ad", l.Ad)
		}
	}
	l.Created = time.Now().UnixMilli()
	custom := l.Code != ""
	for attempt := 0; ; attempt++ {
		if !custom {
			l.Code = generateCode()
		}
		b, _ := json.Marshal(l)
		ok, err := s.client.SetNX(ctx, linkKey(l.Code), b, 0).Result()
		if err != nil {
			return s.fail(err)
		}
		if ok {
			break
		}
		if custom {
			return ErrExists
		}
		if attempt == 5 {
			return fmt.Errorf("cannot generate a free code after %d attempts", attempt+1)
		}
	}
	// The index only serves listing; the link resolves without it.
	if err := s.client.SAdd(ctx, programLinksKey(l.Program), l.Code).Err(); err != nil {
		s.fail(err)
	}
	s.publish(ctx, "c "+l.Code)
	return nil
}

// GetLink returns the link with the code or ErrNotFound.
func (s *Store) GetLink(ctx context.Context, code string) (*Link, error) {
	if !IsID(code) {
		return nil, ErrNotFound
	}
	var l Link
	if err := s.getJSON(ctx, linkKey(code), &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// DeleteLink deletes the link with the code or returns ErrNotFound.
func (s *Store) DeleteLink(ctx context.Context, code string) error {
	l, err := s.GetLink(ctx, code)
	if err != nil {
		return err
	}
	n, err := s.client.Del(ctx, linkKey(code)).Result()
	if err != nil {
		return s.fail(err)
	}
	if n == 0 {
		return ErrNotFound
	}
	if err := s.client.SRem(ctx, programLinksKey(l.Program), code).Err(); err != nil {
		s.fail(err)
	}
	s.publish(ctx, "c "+code)
	return nil
}

// ListLinks returns the codes of a program's links, sorted by Redis set order.
func (s *Store) ListLinks(ctx context.Context, program string) ([]string, error) {
	codes, err := s.client.SMembers(ctx, programLinksKey(program)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	return codes, nil
}

// Resolve reads what key points to and builds its Target. key is a cache key:
// a short code, or "c/<partner>/<ad>/<program>" for the structured form (ad "0"
// for program level). It returns ErrNotFound for unknown links and fails fast
// with ErrUnavailable while Redis is down.
func (s *Store) Resolve(ctx context.Context, key string) (*Target, error) {
	if s.down.Load() {
		return nil, ErrUnavailable
	}
	r := Resolution{}
	if strings.HasPrefix(key, "c/") {
		parts := strings.Split(key[2:], "/")
		if len(parts) != 3 {
			return nil, ErrNotFound
		}
		r.Partner, r.Ad, r.Program = parts[0], parts[1], parts[2]
		if r.Ad == "0" {
			r.Ad = ""
			r.Level = LevelProgram
		} else {
			r.Level = LevelAd
		}
	} else {
		var l Link
		if err := s.getJSON(ctx, linkKey(key), &l); err != nil {
			return nil, err
		}
		r.Code, r.Program, r.Partner, r.Ad, r.ASIN, r.Level = l.Code, l.Program, l.Partner, l.Ad, l.ASIN, l.Level
	}
	keys := []string{programKey(r.Program), partnershipKey(r.Program, r.Partner)}
	if r.Ad != "" {
		keys = append(keys, adKey(r.Program, r.Ad))
	}
	vals, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	for _, v := range vals {
		if v == nil {
			return nil, ErrNotFound
		}
	}
	r.Prog = new(Program)
	r.Partnership = new(Partnership)
	dsts := []any{r.Prog, r.Partnership}
	if r.Ad != "" {
		r.AdDef = new(Ad)
		dsts = append(dsts, r.AdDef)
	}
	for i, v := range vals {
		str, _ := v.(string)
		if err := json.Unmarshal([]byte(str), dsts[i]); err != nil {
			return nil, fmt.Errorf("cannot decode %q: %w", keys[i], err)
		}
	}
	return NewTarget(&r)
}
