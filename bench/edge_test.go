package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter"
	"github.com/clickedge/clickedge/emitter/kafkatest"
	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/linkcache/redistest"
	"github.com/clickedge/clickedge/redirect"
	"github.com/clickedge/clickedge/tracking"
)

const testToken = "bench-test-token"

// testEdge is a whole edge on loopback: a real redis-server, a kfake broker
// over TCP, the redirect handler with classification and events, and the
// admin API.
type testEdge struct {
	public, admin, broker string
	emitter               *emitter.Writer
}

func startEdge(t *testing.T) *testEdge {
	t.Helper()
	rs := redistest.Start(t)
	broker, _ := kafkatest.Start(t, "clicks", 3)
	store, err := linkcache.NewStore(linkcache.StoreConfig{Addr: rs.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cache, err := linkcache.NewCache(linkcache.CacheConfig{Store: store, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	em, err := emitter.New(emitter.Config{Brokers: []string{broker}, Topic: "clicks", SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close(context.Background()) })
	cl, err := tracking.New(tracking.Config{VisitorKey: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	trusted, _ := redirect.ParseTrustedProxies("127.0.0.1")
	h, err := redirect.New(redirect.Config{Cache: cache, Classifier: cl, Emitter: em, TrustedProxies: trusted, EdgeName: "bench-test"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := redirect.NewInternal(redirect.InternalConfig{Store: store, AdminToken: testToken, PublicURL: "http://edge.test", Metrics: []func(io.Writer){h.WriteMetrics}})
	if err != nil {
		t.Fatal(err)
	}
	pl, il := listenLoopback(t), listenLoopback(t)
	ps, is := h.Server(redirect.Limits{}), in.Server(redirect.Limits{})
	go ps.Serve(pl)
	go is.Serve(il)
	t.Cleanup(func() { ps.Shutdown(); is.Shutdown() })
	in.SetReady(true)
	deadline := time.Now().Add(5 * time.Second)
	for !cache.Subscribed() || !store.Reached() {
		if time.Now().After(deadline) {
			t.Fatalf("edge did not connect to redis at %s", rs.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &testEdge{public: "http://" + pl.Addr().String(), admin: "http://" + il.Addr().String(), broker: broker, emitter: em}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestSuiteAgainstEdge seeds links through the admin API, lists them back,
// loads the edge and a baseline, and finds every served click on the topic.
func TestSuiteAgainstEdge(t *testing.T) {
	e := startEdge(t)
	ctx := context.Background()
	ac := &AdminClient{URL: e.admin, Token: testToken}
	seeded, err := ac.Seed(ctx, SeedConfig{Program: "bt", Partners: 3, Links: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded) != 33 || seeded[0] != "/bt-0" || seeded[32] != "/c/bt-p2/0/bt" {
		t.Fatalf("unexpected seeded links: %q", seeded)
	}
	if _, err := ac.Seed(ctx, SeedConfig{Program: "bt", Partners: 3, Links: 30}); err != nil {
		t.Fatalf("seeding twice: %v", err)
	}
	listed, err := ac.ListLinks(ctx, []string{"bt"})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 30 {
		t.Fatalf("unexpected listed links; got %d (%q); want the 30 codes", len(listed), listed)
	}
	// Without programs, every program's links: here only bt's.
	if all, err := ac.ListLinks(ctx, nil); err != nil || !slices.Equal(all, listed) {
		t.Fatalf("unexpected links of all programs; got %q, %v; want %q", all, err, listed)
	}
	tr, err := NewTraffic(TrafficConfig{Links: seeded, Zipf: 1.1, Bots: 0.1, Head: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunSuite(ctx, SuiteConfig{
		Load:     Config{Target: e.public, Traffic: tr, Name: "edge", Connections: 4, Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond},
		Baseline: startBaseline(t), BaselineName: "baseline",
		Verify: &VerifyConfig{Brokers: []string{e.broker}, Timeout: 30 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	edge := rep.Results[0]
	if edge.Requests == 0 || edge.Status["302"] != edge.Requests || edge.ErrorCount() != 0 {
		t.Fatalf("unexpected edge answers: %d requests, status %v, errors %v", edge.Requests, edge.Status, edge.Errors)
	}
	v := rep.Verify
	if v == nil || v.Served != edge.Served || v.Delivered != v.Served || v.Lost != 0 || v.Undecodable != 0 {
		t.Fatalf("unexpected verification: %+v; want every one of %d served clicks delivered", v, edge.Served)
	}
	if len(rep.Results) != 2 || rep.Comparison == nil || rep.Comparison.RPSRatio <= 0 || rep.Comparison.Baseline != "baseline" {
		t.Fatalf("unexpected baseline comparison: %+v", rep.Comparison)
	}

	// The traffic reached classification as real traffic would: many client
	// addresses through the trusted proxy, bots, HEAD requests, referrers
	// and paid clicks, every event marked with the run ID.
	ips, bots, heads, sources := map[string]bool{}, 0, 0, map[string]bool{}
	var c tracking.Click
	for _, r := range kafkatest.ReadAll(t, e.broker, "clicks") {
		if err := tracking.DecodeClick(&c, r.Value); err != nil {
			t.Fatal(err)
		}
		if string(c.SubID1) != rep.RunID {
			t.Fatalf("unexpected subid1 %q; want the run ID %q", c.SubID1, rep.RunID)
		}
		ips[string(c.IPPrefix)] = true
		if c.Bot {
			bots++
		}
		if string(c.Method) == "HEAD" {
			heads++
		}
		sources[c.Source.String()] = true
	}
	if len(ips) < 50 || ips["127.0.0.0/24"] || bots == 0 || heads == 0 {
		t.Fatalf("unexpected traffic mix: %d client prefixes (loopback among them: %v), %d bots, %d HEAD", len(ips), ips["127.0.0.0/24"], bots, heads)
	}
	for _, src := range []string{"direct", "search", "social", "paid"} {
		if !sources[src] {
			t.Fatalf("no %s click among the sources %v", src, sources)
		}
	}

	// The check can fail: a run ID that sent nothing has every click lost.
	ver, err := NewVerifier(ctx, VerifyConfig{Brokers: []string{e.broker}, Quiet: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ver.start = map[int]int64{0: 0, 1: 0, 2: 0} // read the whole topic
	none, err := ver.Verify(ctx, "no-such-run", 5)
	if err != nil {
		t.Fatal(err)
	}
	if none.Delivered != 0 || none.Lost != 5 || none.Records < v.Delivered {
		t.Fatalf("unexpected verification of an unknown run: %+v", none)
	}
}

func TestListLinksErrors(t *testing.T) {
	e := startEdge(t)
	ctx := context.Background()
	if _, err := (&AdminClient{URL: e.admin, Token: "wrong"}).ListLinks(ctx, []string{"x"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("unexpected error with a wrong token; got %v; want a 401", err)
	}
	ac := &AdminClient{URL: e.admin, Token: testToken}
	if _, err := ac.ListLinks(ctx, nil); err == nil || !strings.Contains(err.Error(), "has no programs") {
		t.Fatalf("unexpected error listing the links of an edge without programs; got %v", err)
	}
	if _, err := ac.ListLinks(ctx, []string{"empty"}); err == nil || !strings.Contains(err.Error(), "have no links") {
		t.Fatalf("unexpected error for a program without links; got %v", err)
	}
	var ae *AdminError
	if err := ac.Do(ctx, "GET", "/api/v1/links?program=bad%20id", nil, nil); !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" {
		t.Fatalf("unexpected error for a bad program ID; got %v; want a 400 with the API's message", err)
	}
}

func TestVerifierNeedsBrokers(t *testing.T) {
	if _, err := NewVerifier(context.Background(), VerifyConfig{Brokers: []string{" "}}); err == nil || !strings.Contains(err.Error(), "no Kafka brokers") {
		t.Fatalf("unexpected error; got %v", err)
	}
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	if _, err := NewVerifier(context.Background(), VerifyConfig{Brokers: []string{addr}}); err == nil || !strings.Contains(err.Error(), "cannot read the partitions") {
		t.Fatalf("unexpected error for a broker that is down; got %v", err)
	}
}
