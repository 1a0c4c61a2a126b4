package rollup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/segmentio/kafka-go"

	"github.com/clickedge/clickedge/emitter/kafkatest"
	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/linkcache/redistest"
	"github.com/clickedge/clickedge/tracking"
)

const killContract = `{"currency":"USD","default_payout":"0.10","unique_window":"30m",
	"payout_groups":[{"name":"mobile","match":{"device":["mobile"]},"payout":"0.25"}],
	"limits":[{"metric":"clicks","max":300,"period":"day"},{"metric":"payout","max":"45.00","period":"month"}]}`

var killPartners = []string{"alice", "bob", "carol", "dave"}

// seedKill writes program shop with a partnership per killPartners.
func seedKill(t testing.TB, addr string) *linkcache.Store {
	t.Helper()
	store, err := linkcache.NewStore(linkcache.StoreConfig{Addr: addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("cannot create store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	c, err := linkcache.ParseContract([]byte(killContract))
	if err != nil {
		t.Fatalf("cannot parse contract: %v", err)
	}
	if err := store.PutProgram(ctx, "shop", &linkcache.Program{Name: "Shop", Marketplace: "US", ASIN: "B000000001", Timezone: "America/New_York"}); err != nil {
		t.Fatalf("cannot seed: %v", err)
	}
	for _, p := range killPartners {
		if err := store.PutPartner(ctx, p, &linkcache.Partner{Name: p}); err != nil {
			t.Fatalf("cannot seed: %v", err)
		}
		if err := store.PutPartnership(ctx, "shop", p, &linkcache.Partnership{Attribution: linkcache.Attribution{Tag: p + "-20"}, Contract: c}); err != nil {
			t.Fatalf("cannot seed: %v", err)
		}
	}
	return store
}

// killEvents returns n click events with repeat visitors, bots, unknown
// links, malformed records and producer retries (the same event twice).
func killEvents(n int) []kafka.Message {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := tracking.NewIDGenerator()
	var out []kafka.Message
	start := time.Now().Add(-time.Hour)
	for i := 0; len(out) < n; i++ {
		partner := killPartners[rng.IntN(len(killPartners))]
		c := &tracking.Click{
			ID: ids.Append(nil), TS: start.Add(time.Duration(i) * 500 * time.Millisecond).UnixMilli(),
			Level: []byte("program"), Program: []byte("shop"), Partner: []byte(partner),
			Method: []byte("GET"), Status: 302, Country: []byte("US"),
			Device:  []tracking.Device{tracking.DeviceMobile, tracking.DeviceDesktop}[rng.IntN(2)],
			Visitor: fmt.Appendf(nil, "v%d", rng.IntN(1500)),
		}
		switch x := rng.IntN(100); {
		case x < 5:
			c.Bot, c.BotReason, c.Device = true, tracking.BotCrawler, tracking.DeviceBot
		case x < 8:
			c.Status, c.Program, c.Partner = 404, nil, nil
		}
		m := kafka.Message{Key: c.AppendKey(nil), Value: c.AppendJSON(nil)}
		out = append(out, m)
		switch x := rng.IntN(100); {
		case x < 2:
			out = append(out, m) // a producer retry
		case x < 3:
			out = append(out, kafka.Message{Key: m.Key, Value: []byte(`{"v":1,"id":`)})
		}
	}
	return out[:n]
}

// usages reads every partnership's usage, in killPartners' order.
func usages(t *testing.T, r *Reader) []*Usage {
	t.Helper()
	out := make([]*Usage, len(killPartners))
	for i, p := range killPartners {
		u, err := r.Usage(context.Background(), "shop", p, time.Now())
		if err != nil {
			t.Fatalf("cannot read usage: %v", err)
		}
		out[i] = u
	}
	return out
}

// usageOf reads every partnership's usage as one comparable string.
func usageOf(t *testing.T, r *Reader) string {
	t.Helper()
	var b strings.Builder
	for _, u := range usages(t, r) {
		p := u.Partner
		fmt.Fprintf(&b, "%s: %d clicks %d micros %+v", p, u.Clicks, u.PayoutMicros, u.Counts)
		for _, l := range u.Limits {
			if l.Used > l.Max {
				t.Fatalf("limit passed: %s %+v", p, l)
			}
			fmt.Fprintf(&b, " %s/%s=%d", l.Metric, l.Period, l.Used)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// reference applies the events partition by partition with one Applier and
// no Kafka: what any crash-free run must end with.
func reference(t *testing.T, events []kafka.Message, partitions int) string {
	t.Helper()
	srv := redistest.Start(t)
	store := seedKill(t, srv.Addr)
	a, err := New(Config{Store: store, Metrics: metrics.NewSet()})
	if err != nil {
		t.Fatalf("cannot create applier: %v", err)
	}
	byPart := make([][]Message, partitions)
	bal := &kafka.Hash{}
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	for _, m := range events {
		p := bal.Balance(m, parts...)
		byPart[p] = append(byPart[p], Message{Offset: int64(len(byPart[p])), Value: m.Value})
	}
	for p, msgs := range byPart {
		for len(msgs) > 0 {
			n := min(len(msgs), 97)
			if _, err := a.Apply(context.Background(), p, msgs[:n]); err != nil {
				t.Fatalf("cannot apply: %v", err)
			}
			msgs = msgs[n:]
		}
	}
	return usageOf(t, NewReader(store))
}

func produce(t testing.TB, addr string, msgs []kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "clicks", Balancer: &kafka.Hash{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("cannot produce: %v", err)
	}
}

func waitUsage(t *testing.T, r *Reader, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	got := ""
	for time.Now().Before(deadline) {
		if got = usageOf(t, r); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("unexpected usage after %s; got\n%s\nwant\n%s", within, got, want)
}

func TestConsumerAppliesTopicWithLedger(t *testing.T) {
	addr, _ := kafkatest.Start(t, "clicks", 3)
	srv := redistest.Start(t)
	store := seedKill(t, srv.Addr)
	events := killEvents(1500)
	want := reference(t, events, 3)
	produce(t, addr, events[:700])
	set := metrics.NewSet()
	a, err := New(Config{Store: store, Metrics: set})
	if err != nil {
		t.Fatalf("cannot create applier: %v", err)
	}
	c, err := NewConsumer(ConsumerConfig{Brokers: []string{addr}, LedgerTopic: "ledger", SessionTimeout: time.Second, Applier: a, Metrics: set})
	if err != nil {
		t.Fatalf("cannot create consumer: %v", err)
	}
	defer c.Close()
	produce(t, addr, events[700:])
	r := NewReader(store)
	waitUsage(t, r, want, 30*time.Second)

	// The ledger is written at least once: a batch whose Redis reply was lost
	// (a timeout under load) or that a rebalance handed on is applied again,
	// finds its decisions in Redis and writes their records again. So every
	// decodable click has a record, the records of one click are the same,
	// and the payouts of the distinct clicks add up to what Redis holds.
	clicks := map[string]bool{}
	var ck tracking.Click
	for _, e := range events {
		if tracking.DecodeClick(&ck, e.Value) == nil {
			clicks[string(ck.ID)] = true
		}
	}
	var byID map[string]ledgerRecord
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if byID = ledgerByClick(t, kafkatest.ReadAll(t, addr, "ledger"), clicks); len(byID) == len(clicks) {
			break
		}
	}
	if len(byID) != len(clicks) {
		t.Fatalf("unexpected ledger: records of %d clicks; want one for each of the %d decodable clicks", len(byID), len(clicks))
	}
	payout := int64(0)
	for _, l := range byID {
		payout += l.PayoutMicros
	}
	held := int64(0)
	for _, u := range usages(t, r) {
		held += u.PayoutMicros
	}
	if payout != held {
		t.Fatalf("unexpected ledger payout: %d micros over its distinct clicks; Redis holds %d", payout, held)
	}
	// The metrics count what this process applied: never more than the
	// ledger, less when a lost reply made a batch count as redelivered.
	if n, micros := decided(set), set.GetOrCreateCounter(`clickedge_rollup_payout_micros_total`).Get(); n == 0 || n > uint64(len(byID)) || micros > uint64(payout) {
		t.Fatalf("unexpected metrics: %d decided clicks paying %d micros; the ledger has %d clicks paying %d", n, micros, len(byID), payout)
	}
	for _, name := range []string{`clickedge_rollup_skipped_total{reason="malformed"}`, `clickedge_rollup_skipped_total{reason="duplicate_id"}`} {
		if set.GetOrCreateCounter(name).Get() == 0 {
			t.Fatalf("unexpected %s: 0", name)
		}
	}
}

// ledgerRecord is the part of a ledger record the tests check.
type ledgerRecord struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	PayoutMicros int64  `json:"payout_micros"`
	Limits       []struct {
		Metric, Period string
	} `json:"limits"`
}

// ledgerByClick decodes and checks ledger records: a known status, two
// limits on a payable click, a click that was sent, and every record of
// one click the same. It returns one record per click.
func ledgerByClick(t *testing.T, recs []kafkatest.Record, clicks map[string]bool) map[string]ledgerRecord {
	t.Helper()
	raw := map[string][]byte{}
	out := map[string]ledgerRecord{}
	for _, r := range recs {
		var l ledgerRecord
		if err := json.Unmarshal(r.Value, &l); err != nil {
			t.Fatalf("cannot decode ledger record %s: %v", r.Value, err)
		}
		if !strings.Contains("payable duplicate bot restricted over_limit no_contract unknown_link", l.Status) || l.Status == "" {
			t.Fatalf("unexpected ledger status in %s", r.Value)
		}
		if l.Status == "payable" && len(l.Limits) != 2 {
			t.Fatalf("unexpected limits of a payable click in %s", r.Value)
		}
		if !clicks[l.ID] {
			t.Fatalf("unexpected ledger record of a click that was not sent: %s", r.Value)
		}
		if prev, ok := raw[l.ID]; ok && !bytes.Equal(prev, r.Value) {
			t.Fatalf("unexpected ledger records of one click that differ:\n%s\n%s", prev, r.Value)
		}
		raw[l.ID], out[l.ID] = r.Value, l
	}
	return out
}

// TestConsumerSurvivesSIGKILL kills consumer processes with SIGKILL at random
// moments while clicks stream in; the totals must equal a crash-free run and
// no limit may be passed at any time.
func TestConsumerSurvivesSIGKILL(t *testing.T) {
	if os.Getenv("ROLLUP_KILL_CHILD") != "" {
		t.Skip("run by the parent test")
	}
	addr, _ := kafkatest.Start(t, "clicks", 3)
	srv := redistest.Start(t)
	store := seedKill(t, srv.Addr)
	r := NewReader(store)
	events := killEvents(4000)
	want := reference(t, events, 3)

	done := make(chan struct{})
	go func() { // stream the clicks in over about 3 seconds
		defer close(done)
		for i := 0; i < len(events); i += 100 {
			produce(t, addr, events[i:min(i+100, len(events))])
			time.Sleep(75 * time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConsumerChildProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "ROLLUP_KILL_CHILD=1", "ROLLUP_KILL_BROKER="+addr, "ROLLUP_KILL_REDIS="+srv.Addr)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("cannot start consumer process: %v", err)
		}
		return cmd
	}
	partial := 0
	for kill := 0; kill < 6; kill++ {
		cmd := start()
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("cannot kill: %v", err)
		}
		_ = cmd.Wait()
		if got := usageOf(t, r); got != want { // also checks that no limit is passed
			partial++
			t.Logf("after kill %d: %s", kill+1, strings.SplitN(got, "\n", 2)[0])
		}
	}
	<-done
	if partial == 0 {
		t.Fatalf("every kill came after all clicks were applied; the test proves nothing")
	}
	cmd := start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	waitUsage(t, r, want, 30*time.Second)
	time.Sleep(500 * time.Millisecond) // nothing is counted twice later
	if got := usageOf(t, r); got != want {
		t.Fatalf("unexpected usage after settling; got\n%s\nwant\n%s", got, want)
	}
}

// TestConsumerChildProcess is the consumer process TestConsumerSurvivesSIGKILL
// starts and kills.
func TestConsumerChildProcess(t *testing.T) {
	if os.Getenv("ROLLUP_KILL_CHILD") == "" {
		t.Skip("started by TestConsumerSurvivesSIGKILL")
	}
	store, err := linkcache.NewStore(linkcache.StoreConfig{Addr: os.Getenv("ROLLUP_KILL_REDIS"), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("cannot create store: %v", err)
	}
	a, err := New(Config{Store: store, Metrics: metrics.NewSet()})
	if err != nil {
		t.Fatalf("cannot create applier: %v", err)
	}
	c, err := NewConsumer(ConsumerConfig{Brokers: []string{os.Getenv("ROLLUP_KILL_BROKER")}, SessionTimeout: 500 * time.Millisecond, InstanceID: "child", BatchSize: 25, Applier: a, Metrics: metrics.NewSet()})
	if err != nil {
		t.Fatalf("cannot create consumer: %v", err)
	}
	defer c.Close()
	time.Sleep(time.Minute) // until killed
}

// TestConsumerSurvivesRedisStall stalls Redis (SIGSTOP) while clicks stream
// in: the rollup's calls time out, and Redis runs the timed-out scripts when
// it resumes, so the rollup's retries meet batches that were applied after
// all. The watermarks must make the totals equal a run without the stall.
func TestConsumerSurvivesRedisStall(t *testing.T) {
	addr, _ := kafkatest.Start(t, "clicks", 3)
	srv := redistest.Start(t)
	seedKill(t, srv.Addr)
	events := killEvents(3000)
	want := reference(t, events, 3)
	store, err := linkcache.NewStore(linkcache.StoreConfig{Addr: srv.Addr, Timeout: 200 * time.Millisecond, HealthInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("cannot create store: %v", err)
	}
	defer store.Close()
	set := metrics.NewSet()
	a, err := New(Config{Store: store, Metrics: set})
	if err != nil {
		t.Fatalf("cannot create applier: %v", err)
	}
	c, err := NewConsumer(ConsumerConfig{Brokers: []string{addr}, SessionTimeout: time.Second, BatchSize: 50, Applier: a, Metrics: set})
	if err != nil {
		t.Fatalf("cannot create consumer: %v", err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(events); i += 100 {
			produce(t, addr, events[i:min(i+100, len(events))])
			time.Sleep(30 * time.Millisecond)
		}
	}()
	for stall := 0; stall < 3; stall++ {
		time.Sleep(200 * time.Millisecond)
		srv.Pause()
		time.Sleep(700 * time.Millisecond)
		srv.Resume()
	}
	<-done
	if set.GetOrCreateCounter("clickedge_rollup_apply_errors_total").Get() == 0 {
		t.Fatalf("no apply failed during the stalls; the test proves nothing")
	}
	waitUsage(t, NewReader(store), want, 30*time.Second)
	t.Logf("apply errors %d, events skipped as applied before %d",
		set.GetOrCreateCounter("clickedge_rollup_apply_errors_total").Get(),
		set.GetOrCreateCounter(`clickedge_rollup_skipped_total{reason="redelivered"}`).Get())
}
