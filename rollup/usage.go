package rollup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clickedge/clickedge/linkcache"
)

// Reader answers usage and stats queries from the rollup's Redis counters.
// Safe for concurrent use.
type Reader struct {
	store *linkcache.Store
	rdb   redis.UniversalClient
}

// NewReader returns a Reader over the store's Redis.
func NewReader(store *linkcache.Store) *Reader {
	return &Reader{store: store, rdb: store.Client()}
}

// Counts are clicks by status.
type Counts struct {
	Payable    int64 `json:"payable"`
	Duplicate  int64 `json:"duplicate"`
	Bot        int64 `json:"bot"`
	Restricted int64 `json:"restricted"`
	OverLimit  int64 `json:"over_limit"`
	NoContract int64 `json:"no_contract"`
}

func (c *Counts) add(code byte, n int64) {
	s, ok := statusOf(code)
	if !ok {
		return
	}
	switch s {
	case StatusPayable:
		c.Payable += n
	case StatusDuplicate:
		c.Duplicate += n
	case StatusBot:
		c.Bot += n
	case StatusRestricted:
		c.Restricted += n
	case StatusOverLimit:
		c.OverLimit += n
	case StatusNoContract:
		c.NoContract += n
	}
}

// Usage is a partnership's totals and the state of its limits' current
// windows.
type Usage struct {
	Program string `json:"program"`
	Partner string `json:"partner"`
	// Currency of the payouts, empty without a contract.
	Currency string `json:"currency,omitempty"`
	// Clicks counts every click of the partnership whatever its status.
	Clicks int64 `json:"clicks"`
	// PayoutMicros is what the payable clicks earned, in micros.
	PayoutMicros int64 `json:"payout_micros"`
	// Payout is PayoutMicros as a decimal string.
	Payout string       `json:"payout"`
	Counts Counts       `json:"counts"`
	Limits []LimitUsage `json:"limits"`
}

// LimitUsage is one limit in its current window.
type LimitUsage struct {
	Metric string `json:"metric"`
	Period string `json:"period"`
	// Unit of Max and Used: "clicks" or "micros".
	Unit string `json:"unit"`
	Max  int64  `json:"max"`
	Used int64  `json:"used"`
	// WindowStart and WindowEnd are RFC 3339 in the program's time zone;
	// empty for the contract period.
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
	// Reached is true once the window is used up: no further click can pay.
	Reached bool `json:"reached"`
}

// Usage returns the usage of program × partner at now. It returns
// linkcache.ErrNotFound when the program or partnership does not exist.
func (r *Reader) Usage(ctx context.Context, program, partner string, now time.Time) (*Usage, error) {
	prog, err := r.store.GetProgram(ctx, program)
	if err != nil {
		return nil, err
	}
	ps, err := r.store.GetPartnership(ctx, program, partner)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(prog.Timezone)
	if err != nil {
		loc = time.UTC
	}
	u := &Usage{Program: program, Partner: partner, Limits: []LimitUsage{}}
	pipe := r.rdb.Pipeline()
	totals := pipe.HGetAll(ctx, totalsKey(program, partner))
	var used []*redis.StringCmd
	if c := ps.Contract; c != nil {
		u.Currency = c.Currency
		for _, l := range c.Limits {
			start, end := Window(l.Period, now, loc)
			used = append(used, pipe.Get(ctx, prefix(program, partner)+usageKey(l.Metric, l.Period, start)))
			lu := LimitUsage{Metric: l.Metric, Period: l.Period, Unit: "clicks", Max: l.Max}
			if l.Metric == linkcache.MetricPayout {
				lu.Unit = "micros"
			}
			if !end.IsZero() {
				lu.WindowStart, lu.WindowEnd = start.Format(time.RFC3339), end.Format(time.RFC3339)
			}
			u.Limits = append(u.Limits, lu)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cannot read usage: %w", err)
	}
	for f, v := range totals.Val() {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case f == "clicks":
			u.Clicks = n
		case f == "payout":
			u.PayoutMicros = n
		case len(f) == 1:
			u.Counts.add(f[0], n)
		}
	}
	u.Payout = linkcache.FormatMoney(u.PayoutMicros)
	for i, cmd := range used {
		n, _ := strconv.ParseInt(cmd.Val(), 10, 64)
		l := &u.Limits[i]
		l.Used = n
		l.Reached = l.Used >= l.Max
	}
	return u, nil
}

// Stats dimensions.
var statsDims = []string{"hour", "day", "source", "country", "device", "ad"}

// StatsQuery selects rolled-up counts.
type StatsQuery struct {
	// Program is required.
	Program string
	// Partner narrows to one partnership; empty: every partner of the program.
	Partner string
	// From and To bound the clicks' time: RFC 3339 ("2026-11-21T10:00:00Z")
	// or a date in the program's time zone ("2026-11-21"). From is rounded
	// down to the local hour; To is exclusive, and a To date includes that
	// day. Default: the 24 hours before Now.
	From, To string
	// By lists the dimensions of the rows, from hour, day, source, country,
	// device and ad. Empty: one row with the sums.
	By []string
	// Now is the time of the query. Default: time.Now().
	Now time.Time
}

// parseTime parses an RFC 3339 time or a local date; a date is its midnight,
// or the next midnight when end is true.
func parseTime(field, s string, loc *time.Location, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: want RFC 3339 (2026-11-21T10:00:00Z) or a date (2026-11-21), got %q", ErrQuery, field, s)
	}
	y, m, dd := d.Date()
	if end {
		dd++
	}
	return midnight(y, m, dd, loc), nil
}

// MaxStatsHours bounds the hours × partnerships one stats query reads.
const MaxStatsHours = 200_000

// Stats is the answer to a StatsQuery.
type Stats struct {
	Program string   `json:"program"`
	Partner string   `json:"partner,omitempty"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	By      []string `json:"by"`
	Rows    []Row    `json:"rows"`
}

// Row is one combination of the By dimensions, with its counts.
type Row map[string]any

// ParseBy parses a comma-separated list of stats dimensions.
func ParseBy(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var by []string
	for _, d := range strings.Split(s, ",") {
		if !slices.Contains(statsDims, d) {
			return nil, fmt.Errorf("unknown dimension %q; want any of %s", d, strings.Join(statsDims, ", "))
		}
		if !slices.Contains(by, d) {
			by = append(by, d)
		}
	}
	return by, nil
}

// Stats returns the counts of q. It returns linkcache.ErrNotFound for an
// unknown program or partnership.
func (r *Reader) Stats(ctx context.Context, q StatsQuery) (*Stats, error) {
	prog, err := r.store.GetProgram(ctx, q.Program)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(prog.Timezone)
	if err != nil {
		loc = time.UTC
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	to, from := q.Now, q.Now.Add(-24*time.Hour)
	if q.To != "" {
		if to, err = parseTime("to", q.To, loc, true); err != nil {
			return nil, err
		}
		if q.From == "" {
			from = to.Add(-24 * time.Hour)
		}
	}
	if q.From != "" {
		if from, err = parseTime("from", q.From, loc, false); err != nil {
			return nil, err
		}
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("%w: from must be before to", ErrQuery)
	}
	partners := []string{q.Partner}
	if q.Partner == "" {
		if partners, err = r.store.ListPartnerships(ctx, q.Program); err != nil {
			return nil, err
		}
		slices.Sort(partners)
	} else if _, err := r.store.GetPartnership(ctx, q.Program, q.Partner); err != nil {
		return nil, err
	}
	var hours []time.Time
	for t := hourStart(from, loc); t.Before(to); t = hourStart(t.Add(time.Hour), loc) {
		hours = append(hours, t)
		if len(hours)*max(1, len(partners)) > MaxStatsHours {
			return nil, fmt.Errorf("%w: the range covers more than %d hours × partnerships; narrow it or name a partner", ErrQuery, MaxStatsHours)
		}
	}
	out := &Stats{
		Program: q.Program, Partner: q.Partner,
		From: hourStart(from, loc).Format(time.RFC3339), To: to.In(loc).Format(time.RFC3339),
		By: q.By, Rows: []Row{},
	}
	if out.By == nil {
		out.By = []string{}
	}
	type agg struct {
		dims   []string
		clicks int64
		payout int64
		counts Counts
	}
	rows := map[string]*agg{}
	pipe := r.rdb.Pipeline()
	type read struct {
		hour time.Time
		cmd  *redis.MapStringStringCmd
	}
	var reads []read
	for _, p := range partners {
		for _, h := range hours {
			reads = append(reads, read{h, pipe.HGetAll(ctx, hourKey(q.Program, p, h))})
		}
	}
	if len(reads) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("cannot read stats: %w", err)
		}
	}
	for _, rd := range reads {
		for f, v := range rd.cmd.Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			parts := strings.Split(f, "|") // status|source|country|device|ad
			if len(parts) != 5 || len(parts[0]) != 1 {
				continue
			}
			dims := make([]string, len(q.By))
			for i, d := range q.By {
				switch d {
				case "hour":
					dims[i] = rd.hour.Format(time.RFC3339)
				case "day":
					y, m, dd := rd.hour.In(loc).Date()
					dims[i] = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				case "source":
					dims[i] = parts[1]
				case "country":
					dims[i] = parts[2]
				case "device":
					dims[i] = parts[3]
				case "ad":
					dims[i] = parts[4]
				}
			}
			key := strings.Join(dims, "\x00")
			a := rows[key]
			if a == nil {
				a = &agg{dims: dims}
				rows[key] = a
			}
			if parts[0] == "$" {
				a.payout += n
				continue
			}
			a.clicks += n
			a.counts.add(parts[0][0], n)
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := rows[k]
		row := Row{"clicks": a.clicks, "payout_micros": a.payout, "counts": a.counts}
		for i, d := range q.By {
			row[d] = a.dims[i]
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// ErrQuery is wrapped by errors about a query the caller should change.
var ErrQuery = errors.New("bad query")
