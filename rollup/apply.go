package rollup

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/tracking"
)

//go:embed script.lua
var applySource string

var applyScript = redis.NewScript(applySource)

// Status is the one status a click gets.
type Status uint8

// Statuses, in the order they are decided.
const (
	StatusUnknownLink Status = iota
	StatusBot
	StatusNoContract
	StatusDuplicate
	StatusRestricted
	StatusOverLimit
	StatusPayable

	numStatuses = iota
)

var statusNames = [numStatuses]string{"unknown_link", "bot", "no_contract", "duplicate", "restricted", "over_limit", "payable"}

// statusCodes are the one-letter codes the script stores.
const statusCodes = "UBNDROP"

// statusOf returns the status of a one-letter code of the script.
func statusOf(code byte) (Status, bool) {
	i := strings.IndexByte(statusCodes, code)
	return Status(i), i >= 0
}

// String returns the wire name of s ("payable", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// AllStatuses returns every status in decision order.
func AllStatuses() []Status {
	s := make([]Status, numStatuses)
	for i := range s {
		s[i] = Status(i)
	}
	return s
}

// Skip says why an event was not applied by this call.
type Skip uint8

// Skip reasons.
const (
	// Applied: the event was counted now.
	Applied Skip = iota
	// Redelivered: the offset is at or below the contract's watermark; the
	// event was applied before (its decision is in the Result when kept).
	Redelivered
	// DuplicateID: the click ID was applied before at another offset (a
	// producer retry); the event is dropped.
	DuplicateID
	// Malformed: the event cannot be decoded; it is dropped and counted.
	Malformed
)

var skipNames = [...]string{"applied", "redelivered", "duplicate_id", "malformed"}

// String returns the metric label of s.
func (s Skip) String() string { return skipNames[s] }

// Message is one Kafka record of the clicks topic.
type Message struct {
	Offset int64
	Value  []byte
}

// LimitRef names a limit window a click touched.
type LimitRef struct {
	Metric      string    `json:"metric"`
	Period      string    `json:"period"`
	WindowStart time.Time `json:"window_start"`
}

// Result is what became of one message.
type Result struct {
	Skip Skip
	// Decided is false for a redelivered event whose decision has expired.
	Decided bool
	// The click, for the ledger; empty for a malformed event.
	ID, Program, Partner string
	TS                   int64
	Status               Status
	PayoutMicros         int64
	// Limits are the windows a payable click consumed, or the windows an
	// over_limit click would have passed.
	Limits []LimitRef
}

// Config configures an Applier.
type Config struct {
	// Store reads contracts and programs and gives the Redis client. Required.
	Store *linkcache.Store
	// Topic is the clicks topic; watermarks are kept per topic and partition.
	// Default: "clicks".
	Topic string
	// Retention is how long hourly rollups and closed limit windows are kept.
	// Default: 90 days.
	Retention time.Duration
	// ContractTTL is how long a loaded contract is used before it is read
	// again: contract edits apply within it. Default: 2s.
	ContractTTL time.Duration
	// Logger receives errors. Default: no logging.
	Logger *zap.Logger
	// Metrics receives the rollup metrics. Default: metrics' default set.
	Metrics *metrics.Set
}

// minIDHorizon is the shortest time a click ID is kept for de-duplication.
const minIDHorizon = 24 * time.Hour

// Applier applies batches of click events to the Redis counters, exactly once
// in effect. Safe for concurrent use by one goroutine per partition.
type Applier struct {
	cfg   Config
	store *linkcache.Store
	rdb   redis.UniversalClient
	log   *zap.Logger
	now   func() time.Time

	mu        sync.Mutex
	contracts map[string]*contractEntry

	clicks   [numStatuses]*metrics.Counter
	skipped  [len(skipNames)]*metrics.Counter
	payout   *metrics.Counter
	reached  *metrics.Counter
	lag      *metrics.PrometheusHistogram
	applyErr *metrics.Counter
}

type contractEntry struct {
	contract *linkcache.Contract // nil: no contract
	loc      *time.Location
	loaded   time.Time
}

// New returns an Applier.
func New(cfg Config) (*Applier, error) {
	if cfg.Store == nil {
		return nil, errors.New("cannot create rollup applier: Config.Store is required")
	}
	if cfg.Topic == "" {
		cfg.Topic = "clicks"
	}
	if cfg.Retention == 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("cannot create rollup applier: Retention must be positive, got %s", cfg.Retention)
	}
	if cfg.ContractTTL == 0 {
		cfg.ContractTTL = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.GetDefaultSet()
	}
	a := &Applier{
		cfg: cfg, store: cfg.Store, rdb: cfg.Store.Client(), log: cfg.Logger, now: time.Now,
		contracts: map[string]*contractEntry{},
	}
	for _, s := range AllStatuses() {
		a.clicks[s] = cfg.Metrics.GetOrCreateCounter(`clickedge_rollup_clicks_total{status="` + s.String() + `"}`)
	}
	for i, n := range skipNames[1:] {
		a.skipped[i+1] = cfg.Metrics.GetOrCreateCounter(`clickedge_rollup_skipped_total{reason="` + n + `"}`)
	}
	a.payout = cfg.Metrics.GetOrCreateCounter("clickedge_rollup_payout_micros_total")
	a.reached = cfg.Metrics.GetOrCreateCounter("clickedge_rollup_limit_reached_total")
	a.lag = cfg.Metrics.GetOrCreatePrometheusHistogram("clickedge_rollup_lag_seconds")
	a.applyErr = cfg.Metrics.GetOrCreateCounter("clickedge_rollup_apply_errors_total")
	return a, nil
}

// group is one contract's events of a batch.
type group struct {
	program, partner string
	entry            *contractEntry
	idx              []int // message indexes
	args             *scriptArgs
	// starts holds, per event of idx, the start of each contract limit's
	// window: the usage keys of the script and the ledger's limits.
	starts []time.Time
}

// Apply applies one batch of consecutive messages of a partition, in offset
// order, and returns one Result per message. It is all or nothing per
// contract: on error some contracts' events may be applied, and calling Apply
// again with the same messages applies the rest exactly once. Malformed
// events are counted and skipped.
func (a *Applier) Apply(ctx context.Context, partition int, msgs []Message) ([]Result, error) {
	res := make([]Result, len(msgs))
	sc := batchPool.Get().(*batchScratch)
	defer batchPool.Put(sc)
	// The pooled Clicks keep their arrays: decoding into them allocates
	// nothing once they have held events as large.
	sc.clicks = slices.Grow(sc.clicks[:0], len(msgs))[:len(msgs)]
	clicks := sc.clicks
	groups := map[string]*group{}
	var order []*group
	defer func() {
		for _, g := range order {
			if g.args != nil {
				scriptArgsPool.Put(g.args)
			}
		}
	}()
	for i := range msgs {
		c := &clicks[i]
		if err := tracking.DecodeClick(c, msgs[i].Value); err != nil {
			res[i].Skip = Malformed
			continue
		}
		res[i].ID, res[i].TS = string(c.ID), c.TS
		credited := isCredited(c)
		sc.key = sc.key[:0]
		if credited {
			sc.key = tracking.AppendClickKey(sc.key, c.Program, c.Partner)
		}
		g := groups[string(sc.key)] // "" for the clicks no contract credits
		if g == nil {
			g = &group{}
			if credited {
				g.program, g.partner = string(c.Program), string(c.Partner)
			}
			groups[string(sc.key)] = g
			order = append(order, g)
		}
		if credited { // one contract's results share its strings
			res[i].Program, res[i].Partner = g.program, g.partner
		} else {
			res[i].Program, res[i].Partner = string(c.Program), string(c.Partner)
		}
		g.idx = append(g.idx, i)
	}
	now := a.now()
	for _, g := range order {
		e, err := a.contract(ctx, g.program, g.partner, now)
		if err != nil {
			a.applyErr.Inc()
			return nil, err
		}
		g.entry = e
		g.args = scriptArgsPool.Get().(*scriptArgs)
		a.args(g, clicks, msgs, now)
	}
	if err := a.run(ctx, partition, order, res); err != nil {
		a.applyErr.Inc()
		return nil, err
	}
	a.count(res, now)
	return res, nil
}

// batchScratch is the working memory of one Apply, pooled.
type batchScratch struct {
	clicks []tracking.Click
	key    []byte
}

var batchPool = sync.Pool{New: func() any { return new(batchScratch) }}

// isCredited reports whether the click names a partnership: it was served
// a redirect. Other clicks are unknown_link.
func isCredited(c *tracking.Click) bool {
	return c.Status == 302 && linkcache.IsID(c.Program) && linkcache.IsID(c.Partner)
}

// contract returns the contract of program × partner, read again after
// ContractTTL. program "" is the bucket of unknown links.
func (a *Applier) contract(ctx context.Context, program, partner string, now time.Time) (*contractEntry, error) {
	key := program + ":" + partner
	a.mu.Lock()
	e := a.contracts[key]
	a.mu.Unlock()
	if e != nil && now.Sub(e.loaded) < a.cfg.ContractTTL {
		return e, nil
	}
	e = &contractEntry{loc: time.UTC, loaded: now}
	if program != "" {
		p, err := a.store.GetProgram(ctx, program)
		switch {
		case errors.Is(err, linkcache.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("cannot read program %q: %w", program, err)
		default:
			if loc, err := time.LoadLocation(p.Timezone); err == nil {
				e.loc = loc
			}
			ps, err := a.store.GetPartnership(ctx, program, partner)
			switch {
			case errors.Is(err, linkcache.ErrNotFound):
			case err != nil:
				return nil, fmt.Errorf("cannot read the partnership of %q and %q: %w", program, partner, err)
			default:
				e.contract = ps.Contract
			}
		}
	}
	a.mu.Lock()
	if len(a.contracts) > 100_000 { // bound: forget everything rather than grow
		clear(a.contracts)
	}
	a.contracts[key] = e
	a.mu.Unlock()
	return e, nil
}

// args builds the script arguments of one contract's events in g.args.
func (a *Applier) args(g *group, clicks []tracking.Click, msgs []Message, now time.Time) {
	c := g.entry.contract
	uniq, horizon := time.Duration(0), minIDHorizon
	var limits []linkcache.Limit
	if c != nil {
		uniq, limits = c.UniqueWindow, c.Limits
		horizon = max(horizon, uniq)
	}
	s := g.args
	s.reset(7 + 2*len(limits) + len(g.idx)*(10+2*len(limits)))
	s.str(prefix(g.program, g.partner))
	s.int(now.UnixMilli())
	s.int(uniq.Milliseconds())
	s.int(horizon.Milliseconds())
	s.int(a.cfg.Retention.Milliseconds())
	s.int(int64(len(limits)))
	for _, l := range limits {
		s.str(l.Metric[:1])
		s.int(l.Max)
	}
	s.int(int64(len(g.idx)))
	g.starts = make([]time.Time, 0, len(g.idx)*len(limits))
	for _, i := range g.idx {
		ck := &clicks[i]
		ts := time.UnixMilli(ck.TS)
		stage, restricted, payout := "?", "0", int64(0)
		switch {
		case g.program == "":
			stage = "U"
		case ck.Bot:
			stage = "B"
		case c == nil:
			stage = "N"
		default:
			src, dev := ck.Source.String(), ck.Device.String()
			if c.Restrictions != nil && !c.Restrictions.Matches([]byte(src), ck.Country, []byte(dev), ck.Ad, ck.Level) {
				restricted = "1"
			}
			payout = c.Payout([]byte(src), ck.Country, []byte(dev), ck.Ad, ck.Level)
		}
		idBucket := ck.TS / 1000
		idBucket -= mod(idBucket, 3600)
		s.int(msgs[i].Offset)
		s.bytes(ck.ID)
		s.int(idBucket)
		s.int(ck.TS)
		s.str(stage)
		if len(ck.Visitor) > 0 {
			s.bytes(ck.Visitor)
		} else { // no visitor: never a duplicate
			lo := len(s.buf)
			s.buf = append(append(s.buf, "id:"...), ck.ID...)
			s.end(lo)
		}
		s.str(restricted)
		s.int(payout)
		if g.program != "" {
			s.int(hourStart(ts, g.entry.loc).Unix())
			s.cell(ck)
		} else {
			s.str("")
			s.str("")
		}
		for _, l := range limits {
			start, end := Window(l.Period, ts, g.entry.loc)
			endMS := int64(0)
			if !end.IsZero() {
				endMS = end.UnixMilli()
			}
			lo := len(s.buf)
			s.buf = appendUsageKey(s.buf, l.Metric, l.Period, start)
			s.end(lo)
			s.int(endMS)
			g.starts = append(g.starts, start)
		}
	}
}

// appendCell appends the rollup cell of a click, source|country|device|ad,
// with values that cannot be trusted blanked.
func appendCell(dst []byte, c *tracking.Click) []byte {
	country := c.Country
	if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' {
		country = nil
	}
	ad := c.Ad
	if !linkcache.IsID(ad) {
		ad = nil
	}
	dst = append(dst, c.Source.String()...)
	dst = append(dst, '|')
	dst = append(dst, country...)
	dst = append(dst, '|')
	dst = append(dst, c.Device.String()...)
	dst = append(dst, '|')
	return append(dst, ad...)
}

// run executes the script of every group in one pipeline and fills res.
func (a *Applier) run(ctx context.Context, partition int, order []*group, res []Result) error {
	for attempt := 0; ; attempt++ {
		pipe := a.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(order))
		for j, g := range order {
			keys := []string{watermarkKey(g.program, g.partner, a.cfg.Topic, partition), totalsKey(g.program, g.partner)}
			cmds[j] = applyScript.EvalSha(ctx, pipe, keys, g.args.args...)
		}
		_, err := pipe.Exec(ctx)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := applyScript.Load(ctx, a.rdb).Err(); err != nil {
				return fmt.Errorf("cannot load the rollup script: %w", err)
			}
			continue // the groups that ran are below their watermarks now
		}
		if err != nil {
			return fmt.Errorf("cannot apply clicks: %w", err)
		}
		for j, g := range order {
			out, err := cmds[j].StringSlice()
			if err != nil || len(out) != len(g.idx) {
				return fmt.Errorf("cannot read the rollup script's answer: %v", err)
			}
			n := 0
			if g.entry.contract != nil {
				n = len(g.entry.contract.Limits)
			}
			// The results' limits share one array.
			refs := make([]LimitRef, 0, len(g.idx)*n)
			for k, i := range g.idx {
				refs = decode(&res[i], out[k], g.entry.contract, g.starts[k*n:(k+1)*n], refs)
			}
		}
		return nil
	}
}

// decode fills r from the script's answer for one event; starts are the
// event's window starts of c's limits. r's limits are appended to refs,
// which it returns.
func decode(r *Result, s string, c *linkcache.Contract, starts []time.Time, refs []LimitRef) []LimitRef {
	switch {
	case s == "I":
		r.Skip = DuplicateID
		return refs
	case strings.HasPrefix(s, "W"):
		r.Skip = Redelivered
		s = s[1:]
		if s == "" {
			return refs
		}
	}
	st, rest, _ := strings.Cut(s, ":")
	pay, mask, _ := strings.Cut(rest, ":")
	status, ok := Status(0), len(st) == 1
	if ok {
		status, ok = statusOf(st[0])
	}
	if !ok {
		panic("BUG: unexpected rollup decision " + strconv.Quote(s))
	}
	r.Decided, r.Status = true, status
	r.PayoutMicros, _ = strconv.ParseInt(pay, 10, 64)
	m, _ := strconv.ParseUint(mask, 10, 64)
	if m != 0 && c != nil {
		lo := len(refs)
		for i, l := range c.Limits {
			if m&(1<<i) != 0 {
				refs = append(refs, LimitRef{Metric: l.Metric, Period: l.Period, WindowStart: starts[i]})
			}
		}
		if len(refs) > lo {
			r.Limits = refs[lo:len(refs):len(refs)]
		}
	}
	return refs
}

// count updates the metrics of one applied batch.
func (a *Applier) count(res []Result, now time.Time) {
	for i := range res {
		r := &res[i]
		if r.Skip != Applied {
			a.skipped[r.Skip].Inc()
			continue
		}
		a.clicks[r.Status].Inc()
		a.payout.Add(int(r.PayoutMicros))
		if r.Status == StatusOverLimit {
			a.reached.Inc()
		}
		a.lag.Update(max(0, now.Sub(time.UnixMilli(r.TS)).Seconds()))
	}
}
