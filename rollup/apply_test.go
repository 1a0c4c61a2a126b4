package rollup

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/linkcache/redistest"
	"github.com/clickedge/clickedge/tracking"
)

// base is a Saturday afternoon in New York, the test program's zone. The
// clicks of these tests happen around it; the applier's clock is the real
// one, as Redis's is, so the keys it expires relative to now (visitors' unique
// windows, click IDs) live as long as they would in production.
var base = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

// testRetention keeps the hourly rollups and closed windows of clicks at
// base for as long as the tests run, whatever the date.
const testRetention = 100 * 365 * 24 * time.Hour

type testEnv struct {
	t     *testing.T
	store *linkcache.Store
	a     *Applier
	r     *Reader
	set   *metrics.Set
	off   int64
	seq   int
}

// newTestEnv starts Redis and seeds program "shop" (America/New_York) with
// partners alice (the contract given), bob (no contract) and ad "spring".
func newTestEnv(t *testing.T, contract string) *testEnv {
	t.Helper()
	srv := redistest.Start(t)
	store, err := linkcache.NewStore(linkcache.StoreConfig{Addr: srv.Addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("cannot create store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("cannot seed: %v", err)
		}
	}
	must(store.PutProgram(ctx, "shop", &linkcache.Program{Name: "Shop", Marketplace: "US", ASIN: "B000000001", Timezone: "America/New_York"}))
	must(store.PutAd(ctx, "shop", "spring", &linkcache.Ad{Name: "Spring", ASIN: "B000000002"}))
	must(store.PutPartner(ctx, "alice", &linkcache.Partner{Name: "Alice"}))
	must(store.PutPartner(ctx, "bob", &linkcache.Partner{Name: "Bob"}))
	c, err := linkcache.ParseContract([]byte(contract))
	must(err)
	must(store.PutPartnership(ctx, "shop", "alice", &linkcache.Partnership{Attribution: linkcache.Attribution{Tag: "alice-20"}, Contract: c}))
	must(store.PutPartnership(ctx, "shop", "bob", &linkcache.Partnership{Attribution: linkcache.Attribution{Tag: "bob-20"}}))
	set := metrics.NewSet()
	a, err := New(Config{Store: store, Metrics: set, Retention: testRetention})
	if err != nil {
		t.Fatalf("cannot create applier: %v", err)
	}
	return &testEnv{t: t, store: store, a: a, r: NewReader(store), set: set}
}

// ev describes a click; zero fields get defaults: alice, a human on mobile
// from social in the US, served a 302 at base.
type ev struct {
	partner, visitor, country, ad, id string
	device                            tracking.Device
	source                            tracking.Source
	at                                time.Duration // after base
	bot                               bool
	status                            int
}

// msg encodes e as the next message of the partition.
func (te *testEnv) msg(e ev) Message {
	te.seq++
	c := &tracking.Click{
		ID:      []byte(e.id),
		TS:      base.Add(e.at).UnixMilli(),
		Level:   []byte("program"),
		Program: []byte("shop"), Partner: []byte(e.partner),
		Method: []byte("GET"), Status: e.status,
		Source: e.source, Device: e.device, Country: []byte(e.country),
		Visitor: []byte(e.visitor), Ad: []byte(e.ad),
	}
	if len(c.ID) == 0 {
		c.ID = fmt.Appendf(nil, "click%021d", te.seq)
	}
	if e.partner == "" {
		c.Partner = []byte("alice")
	}
	if e.visitor == "" {
		c.Visitor = fmt.Appendf(nil, "visitor%d", te.seq)
	}
	if e.country == "" {
		c.Country = []byte("US")
	}
	if e.status == 0 {
		c.Status = 302
	}
	if e.ad != "" {
		c.Level = []byte("ad")
	}
	if e.bot {
		c.Bot, c.BotReason, c.Device = true, tracking.BotCrawler, tracking.DeviceBot
	}
	te.off++
	return Message{Offset: te.off - 1, Value: c.AppendJSON(nil)}
}

func (te *testEnv) apply(msgs ...Message) []Result {
	te.t.Helper()
	res, err := te.a.Apply(context.Background(), 0, msgs)
	if err != nil {
		te.t.Fatalf("cannot apply: %v", err)
	}
	return res
}

func (te *testEnv) usage(partner string) *Usage {
	te.t.Helper()
	u, err := te.r.Usage(context.Background(), "shop", partner, base)
	if err != nil {
		te.t.Fatalf("cannot read usage: %v", err)
	}
	return u
}

func statuses(res []Result) string {
	s := ""
	for _, r := range res {
		switch r.Skip {
		case Applied:
			s += string(statusCodes[r.Status])
		case Redelivered:
			s += "w"
		case DuplicateID:
			s += "i"
		case Malformed:
			s += "m"
		}
	}
	return s
}

func TestEveryStatus(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10",
		"restrictions":{"country":["US","CA"]},
		"limits":[{"metric":"clicks","max":2,"period":"day"}]}`)
	res := te.apply(
		te.msg(ev{status: 404}),                             // U unknown link
		te.msg(ev{bot: true}),                               // B bot
		te.msg(ev{partner: "bob"}),                          // N no contract
		te.msg(ev{visitor: "v1"}),                           // P payable
		te.msg(ev{visitor: "v1", at: 10 * time.Minute}),     // D duplicate inside 30m
		te.msg(ev{country: "DE"}),                           // R restricted
		te.msg(ev{visitor: "v2"}),                           // P payable: the day's 2nd
		te.msg(ev{visitor: "v3"}),                           // O over the day's clicks
		te.msg(ev{visitor: "v1", at: 30 * time.Minute}),     // the window is over: O
		Message{Offset: te.next(), Value: []byte(`{"v":1`)}, // malformed
	)
	if got, want := statuses(res), "UBNPDRPOOm"; got != want {
		t.Fatalf("unexpected statuses; got %s; want %s", got, want)
	}
	for i, r := range res[:9] {
		want := int64(0)
		if r.Status == StatusPayable {
			want = 100_000
		}
		if r.PayoutMicros != want {
			t.Fatalf("unexpected payout of event %d (%s); got %d; want %d", i, r.Status, r.PayoutMicros, want)
		}
	}
	if len(res[3].Limits) != 1 || res[3].Limits[0].Period != "day" || len(res[7].Limits) != 1 {
		t.Fatalf("unexpected limits touched; got %+v and %+v", res[3].Limits, res[7].Limits)
	}
	u := te.usage("alice")
	want := Counts{Payable: 2, Duplicate: 1, Bot: 1, Restricted: 1, OverLimit: 2}
	if u.Clicks != 7 || u.PayoutMicros != 200_000 || u.Payout != "0.20" || u.Counts != want {
		t.Fatalf("unexpected usage of alice; got %+v; want 7 clicks, 200000 micros, %+v", u, want)
	}
	if l := u.Limits[0]; l.Used != 2 || l.Max != 2 || !l.Reached || l.WindowStart != "2026-11-21T00:00:00-05:00" || l.WindowEnd != "2026-11-22T00:00:00-05:00" {
		t.Fatalf("unexpected limit usage; got %+v", l)
	}
	if u := te.usage("bob"); u.Clicks != 1 || u.Counts.NoContract != 1 || len(u.Limits) != 0 {
		t.Fatalf("unexpected usage of bob; got %+v", u)
	}
	for name, want := range map[string]int{
		`clickedge_rollup_clicks_total{status="payable"}`:      2,
		`clickedge_rollup_clicks_total{status="unknown_link"}`: 1,
		`clickedge_rollup_skipped_total{reason="malformed"}`:   1,
		`clickedge_rollup_limit_reached_total`:                 2,
		`clickedge_rollup_payout_micros_total`:                 200_000,
	} {
		if got := te.set.GetOrCreateCounter(name).Get(); got != uint64(want) {
			t.Fatalf("unexpected %s; got %d; want %d", name, got, want)
		}
	}
}

func (te *testEnv) next() int64 { te.off++; return te.off - 1 }

func TestClicksLimitHitExactlyPerDay(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","unique_window":"0s",
		"limits":[{"metric":"clicks","max":3,"period":"day"}]}`)
	var msgs []Message
	for i := 0; i < 5; i++ {
		msgs = append(msgs, te.msg(ev{}))
	}
	// 04:59 UTC is still Saturday in New York; 05:00 is Sunday.
	msgs = append(msgs, te.msg(ev{at: 13*time.Hour + 59*time.Minute}), te.msg(ev{at: 14 * time.Hour}), te.msg(ev{at: 14 * time.Hour}))
	if got, want := statuses(te.apply(msgs...)), "PPPOOOPP"; got != want {
		t.Fatalf("unexpected statuses; got %s; want %s", got, want)
	}
}

func TestPayoutLimitNeverOvershot(t *testing.T) {
	// 1.00 a week; mobile clicks pay 0.25, others 0.10.
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","unique_window":"0s",
		"payout_groups":[{"name":"mobile","match":{"device":["mobile"]},"payout":"0.25"}],
		"limits":[{"metric":"payout","max":"1.00","period":"week"}]}`)
	var msgs []Message
	for i := 0; i < 3; i++ { // 0.75
		msgs = append(msgs, te.msg(ev{device: tracking.DeviceMobile}))
	}
	msgs = append(msgs,
		te.msg(ev{device: tracking.DeviceDesktop}), // 0.85
		te.msg(ev{device: tracking.DeviceMobile}),  // 1.10 would pass: over_limit
		te.msg(ev{device: tracking.DeviceDesktop}), // 0.95
		te.msg(ev{device: tracking.DeviceDesktop}), // 1.05 would pass: over_limit
		te.msg(ev{device: tracking.DeviceMobile}),  // over_limit
	)
	res := te.apply(msgs...)
	if got, want := statuses(res), "PPPPOPOO"; got != want {
		t.Fatalf("unexpected statuses; got %s; want %s", got, want)
	}
	u := te.usage("alice")
	if u.PayoutMicros != 950_000 || u.Limits[0].Used != 950_000 || u.Limits[0].Reached {
		t.Fatalf("unexpected usage; got %+v", u)
	}
	// Exactly to the limit, then nothing more.
	res = te.apply(te.msg(ev{device: tracking.DeviceTablet, country: "CA"}))
	if res[0].Status != StatusOverLimit {
		t.Fatalf("unexpected status; got %s; want over_limit", res[0].Status)
	}
	te2 := newTestEnv(t, `{"currency":"USD","default_payout":"0.05","unique_window":"0s",
		"limits":[{"metric":"payout","max":"0.10","period":"week"}]}`)
	if got := statuses(te2.apply(te2.msg(ev{}), te2.msg(ev{}), te2.msg(ev{}))); got != "PPO" {
		t.Fatalf("unexpected statuses; got %s; want PPO", got)
	}
	if u := te2.usage("alice"); u.Limits[0].Used != 100_000 || !u.Limits[0].Reached {
		t.Fatalf("unexpected usage at the limit; got %+v", u.Limits[0])
	}
}

func TestRedeliveryAppliesOnce(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","limits":[{"metric":"clicks","max":100,"period":"month"}]}`)
	batch := []Message{te.msg(ev{}), te.msg(ev{partner: "bob"}), te.msg(ev{visitor: "same"}), te.msg(ev{visitor: "same"})}
	first := te.apply(batch...)
	again := te.apply(batch...)
	if got := statuses(again); got != "wwww" {
		t.Fatalf("unexpected statuses of a redelivered batch; got %s; want wwww", got)
	}
	for i := range again {
		if !again[i].Decided || again[i].Status != first[i].Status || again[i].PayoutMicros != first[i].PayoutMicros {
			t.Fatalf("unexpected decision of redelivered event %d; got %+v; want %+v", i, again[i], first[i])
		}
	}
	// A batch that overlaps the applied one: only the new events count.
	more := te.msg(ev{})
	if got := statuses(te.apply(append(batch[2:], more)...)); got != "wwP" {
		t.Fatalf("unexpected statuses of an overlapping batch; got %s; want wwP", got)
	}
	u := te.usage("alice")
	if u.Clicks != 4 || u.Counts.Payable != 3 || u.Counts.Duplicate != 1 || u.Limits[0].Used != 3 {
		t.Fatalf("unexpected usage after redelivery; got %+v", u)
	}
}

func TestProducerRetryDroppedByClickID(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","unique_window":"0s"}`)
	m := te.msg(ev{id: "01JD0000000000000000000001"})
	retry := Message{Offset: te.next(), Value: m.Value} // the same event at a later offset
	later := te.msg(ev{})
	if got := statuses(te.apply(m)); got != "P" {
		t.Fatalf("unexpected status; got %s; want P", got)
	}
	if got := statuses(te.apply(retry, later)); got != "iP" {
		t.Fatalf("unexpected statuses; got %s; want iP", got)
	}
	// Both copies in one batch.
	m2 := te.msg(ev{id: "01JD0000000000000000000002"})
	if got := statuses(te.apply(m2, Message{Offset: te.next(), Value: m2.Value})); got != "Pi" {
		t.Fatalf("unexpected statuses; got %s; want Pi", got)
	}
	if u := te.usage("alice"); u.Clicks != 3 || u.PayoutMicros != 300_000 {
		t.Fatalf("unexpected usage; got %+v", u)
	}
	if got := te.set.GetOrCreateCounter(`clickedge_rollup_skipped_total{reason="duplicate_id"}`).Get(); got != 2 {
		t.Fatalf("unexpected duplicate_id count; got %d; want 2", got)
	}
}

// TestPartialApplyCompletes covers a crash between two contracts' scripts:
// the batch applied again counts the missing contract once and the other not
// again.
func TestPartialApplyCompletes(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","unique_window":"0s"}`)
	a1, b1, a2, b2 := te.msg(ev{}), te.msg(ev{partner: "bob"}), te.msg(ev{}), te.msg(ev{partner: "bob"})
	te.apply(a1, a2) // as if alice's script ran and bob's did not
	if got := statuses(te.apply(a1, b1, a2, b2)); got != "wNwN" {
		t.Fatalf("unexpected statuses; got %s; want wNwN", got)
	}
	if ua, ub := te.usage("alice"), te.usage("bob"); ua.Clicks != 2 || ub.Clicks != 2 {
		t.Fatalf("unexpected clicks; got alice %d, bob %d; want 2 and 2", ua.Clicks, ub.Clicks)
	}
}

func TestUniqueWindow(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","unique_window":"10m"}`)
	res := te.apply(
		te.msg(ev{visitor: "v"}),
		te.msg(ev{visitor: "v", at: 9*time.Minute + 59*time.Second}), // inside
		te.msg(ev{visitor: "v", at: 10 * time.Minute}),               // the window has passed
		te.msg(ev{visitor: "v", at: 15 * time.Minute}),               // inside the new window
		te.msg(ev{visitor: "v", partner: "bob"}),                     // another partnership
		te.msg(ev{visitor: "w", at: 15 * time.Minute}),
	)
	if got, want := statuses(res), "PDPDNP"; got != want {
		t.Fatalf("unexpected statuses; got %s; want %s", got, want)
	}
	// The next batch sees the window the last one opened, at 10 minutes.
	res = te.apply(
		te.msg(ev{visitor: "v", at: 19*time.Minute + 59*time.Second}), // inside
		te.msg(ev{visitor: "w", at: 24 * time.Minute}),                // inside w's window
		te.msg(ev{visitor: "v", at: 20 * time.Minute}),                // the window has passed
	)
	if got := statuses(res); got != "DDP" {
		t.Fatalf("unexpected statuses of the next batch; got %s; want DDP", got)
	}
	// Duplicates are decided before restrictions: a restricted click opens a window.
	te2 := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","restrictions":{"device":["desktop"]}}`)
	res = te2.apply(te2.msg(ev{visitor: "v", device: tracking.DeviceMobile}), te2.msg(ev{visitor: "v", device: tracking.DeviceDesktop}))
	if got := statuses(res); got != "RD" {
		t.Fatalf("unexpected statuses; got %s; want RD", got)
	}
}

func TestStats(t *testing.T) {
	te := newTestEnv(t, `{"currency":"USD","default_payout":"0.10","unique_window":"0s",
		"payout_groups":[{"name":"ads","match":{"ad":["spring"]},"payout":"0.50"}]}`)
	te.apply(
		te.msg(ev{source: tracking.SourceSocial}),
		te.msg(ev{source: tracking.SourceSocial, at: time.Hour}),
		te.msg(ev{source: tracking.SourceSearch, ad: "spring", at: time.Hour}),
		te.msg(ev{partner: "bob", source: tracking.SourceSearch, at: 2 * time.Hour}),
		te.msg(ev{bot: true, source: tracking.SourceDirect, at: 14 * time.Hour}), // 00:00 Sunday in New York
	)
	q := StatsQuery{Program: "shop", From: "2026-11-21", To: "2026-11-22", By: []string{"day", "source"}}
	s, err := te.r.Stats(context.Background(), q)
	if err != nil {
		t.Fatalf("cannot read stats: %v", err)
	}
	got := ""
	for _, r := range s.Rows {
		got += fmt.Sprintf("%s/%s:%d/%d/%d ", r["day"], r["source"], r["clicks"], r["payout_micros"], r["counts"].(Counts).Payable)
	}
	want := "2026-11-21/search:2/500000/1 2026-11-21/social:2/200000/2 2026-11-22/direct:1/0/0 "
	if got != want {
		t.Fatalf("unexpected stats rows; got %q; want %q", got, want)
	}
	q.Partner, q.By = "alice", []string{"hour", "ad"}
	q.From, q.To = base.Add(-time.Hour).Format(time.RFC3339), base.Add(90*time.Minute).Format(time.RFC3339)
	s, err = te.r.Stats(context.Background(), q)
	if err != nil {
		t.Fatalf("cannot read stats: %v", err)
	}
	got = ""
	for _, r := range s.Rows {
		got += fmt.Sprintf("%s/%s:%d ", r["hour"], r["ad"], r["clicks"])
	}
	if want := "2026-11-21T10:00:00-05:00/:1 2026-11-21T11:00:00-05:00/:1 2026-11-21T11:00:00-05:00/spring:1 "; got != want {
		t.Fatalf("unexpected stats rows; got %q; want %q", got, want)
	}
	for _, bad := range []StatsQuery{{Program: "shop", From: "yesterday"}, {Program: "shop", From: "2026-11-22", To: "2026-11-21"}} {
		if _, err := te.r.Stats(context.Background(), bad); !errors.Is(err, ErrQuery) {
			t.Fatalf("unexpected error for %+v; got %v; want ErrQuery", bad, err)
		}
	}
	if _, err := ParseBy("hour,weekday"); err == nil {
		t.Fatalf("unexpected success of ParseBy with an unknown dimension")
	}
}
