package redirect

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter"
	"github.com/clickedge/clickedge/emitter/kafkatest"
	"github.com/clickedge/clickedge/tracking"
)

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
	slackUA  = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
	curlUA   = "curl/8.4.0"
)

// eventEdge is a test edge whose clicks go to a kfake broker over TCP.
type eventEdge struct {
	*testEdge
	broker  string
	emitter *emitter.Writer
}

func newEventEdge(t testing.TB, brokerAddr string) *eventEdge {
	t.Helper()
	if brokerAddr == "" {
		brokerAddr, _ = kafkatest.Start(t, "clicks", 3)
	}
	em, err := emitter.New(emitter.Config{
		Brokers:      []string{brokerAddr},
		Topic:        "clicks",
		SpoolDir:     t.TempDir(),
		WriteTimeout: 300 * time.Millisecond, // outage tests see the spool take over quickly
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			em.Close(context.Background())
		}
	})
	cl, err := tracking.New(tracking.Config{
		VisitorKey:       []byte("0123456789abcdef"),
		DatacenterRanges: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	trusted, _ := ParseTrustedProxies("127.0.0.1")
	e := newTestEdge(t, nil, Config{Classifier: cl, Emitter: em, EdgeName: "edge-test", TrustedProxies: trusted})
	return &eventEdge{testEdge: e, broker: brokerAddr, emitter: em}
}

// events closes the emitter (draining it) and reads back every click event.
func (e *eventEdge) events() []tracking.Click {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.emitter.Close(ctx); err != nil {
		e.t.Fatalf("cannot drain the emitter: %v", err)
	}
	var out []tracking.Click
	for _, r := range kafkatest.ReadAll(e.t, e.broker, "clicks") {
		var c tracking.Click
		if err := tracking.DecodeClick(&c, r.Value); err != nil {
			e.t.Fatalf("cannot decode event %q: %v", r.Value, err)
		}
		var want []byte
		if want = c.AppendKey(nil); string(r.Key) != string(want) {
			e.t.Fatalf("unexpected message key; got %q; want %q", r.Key, want)
		}
		out = append(out, c)
	}
	return out
}

func TestClickEventsFieldByField(t *testing.T) {
	e := newEventEdge(t, "")
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","asin":"B000000003","code":"pick"}`, 201)
	e.click("GET", "/pick?subId1=run-1&subId2=b&sharedid=s-9&gclid=abc", map[string]string{
		"User-Agent": chromeUA, "Referer": "https://www.google.com/search?q=x", "X-Forwarded-For": "6.6.6.6, 198.51.100.23",
	})
	e.click("GET", "/c/bob/spring/us", map[string]string{
		"User-Agent": iPhoneUA, "Referer": "https://t.co/abc", "X-Forwarded-For": "2001:db8:1:2::7",
	})
	e.click("HEAD", "/c/bob/spring/us", map[string]string{"User-Agent": slackUA})
	e.click("GET", "/nope", map[string]string{"User-Agent": curlUA})
	e.click("GET", "/pick", map[string]string{"User-Agent": chromeUA, "Sec-Purpose": "prefetch;prerender"})
	e.click("GET", "/pick", map[string]string{"User-Agent": chromeUA, "X-Forwarded-For": "192.0.2.55"})
	// Header names in any case: the legacy prefetch header and a headless
	// browser's client hint.
	e.click("GET", "/c/bob/spring/us", map[string]string{"User-Agent": chromeUA, "PURPOSE": "prefetch"})
	e.click("GET", "/pick", map[string]string{"User-Agent": chromeUA, "sec-ch-ua": `"HeadlessChrome";v="131"`})
	e.click("GET", "/not.a.link", map[string]string{"User-Agent": chromeUA})
	e.click("POST", "/pick", map[string]string{"User-Agent": chromeUA})

	got := e.events()
	if len(got) != 8 {
		t.Fatalf("unexpected number of events; got %d; want 8 (no event for bad paths or methods)", len(got))
	}
	byOrder := map[string]*tracking.Click{}
	ids := map[string]bool{}
	for i := range got {
		c := &got[i]
		ids[string(c.ID)] = true
		k := fmt.Sprintf("%s %s %s %s", c.Method, c.Code, c.Program, c.BotReason)
		byOrder[k] = c
		if string(c.Edge) != "edge-test" || c.TS == 0 || len(c.ID) != tracking.IDLen {
			t.Fatalf("unexpected edge, ts or id in %+v", c)
		}
	}
	if len(ids) != 8 {
		t.Fatalf("unexpected click IDs; got %d distinct; want 8", len(ids))
	}
	eq := func(what string, got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Fatalf("unexpected %s; got %q; want %q", what, got, want)
		}
	}

	c := byOrder["GET pick us "]
	if c == nil {
		t.Fatalf("missing the partner-level click in %v", keys(byOrder))
	}
	eq("level", c.Level, "partner")
	eq("partner", c.Partner, "alice")
	eq("asin", c.ASIN, "B000000003")
	eq("marketplace", c.Marketplace, "US")
	eq("referrer_host", c.ReferrerHost, "www.google.com")
	eq("subid1", c.SubID1, "run-1")
	eq("subid2", c.SubID2, "b")
	eq("sharedid", c.SharedID, "s-9")
	eq("ip_prefix", c.IPPrefix, "198.51.100.0/24")
	if c.Status != 302 || c.Source != tracking.SourcePaid || c.Device != tracking.DeviceDesktop || c.Bot || len(c.Visitor) != 32 {
		t.Fatalf("unexpected classification %+v", c)
	}

	c = byOrder["GET  us "]
	if c == nil {
		t.Fatalf("missing the structured click in %v", keys(byOrder))
	}
	eq("level", c.Level, "ad")
	eq("ad", c.Ad, "spring")
	eq("partner", c.Partner, "bob")
	eq("referrer_host", c.ReferrerHost, "t.co")
	eq("ip_prefix", c.IPPrefix, "2001:db8:1::/48")
	if c.Source != tracking.SourceSocial || c.Device != tracking.DeviceMobile || c.Bot {
		t.Fatalf("unexpected classification %+v", c)
	}

	c = byOrder["HEAD  us head"]
	if c == nil || !c.Bot || c.Status != 302 {
		t.Fatalf("unexpected HEAD click %+v in %v", c, keys(byOrder))
	}
	c = byOrder["GET nope  library"]
	if c == nil || c.Status != 404 || len(c.Partner) != 0 || string(c.AppendKey(nil)) != "unknown" {
		t.Fatalf("unexpected unknown-link click %+v in %v", c, keys(byOrder))
	}
	if c := byOrder["GET  us prefetch"]; c == nil || !c.Bot {
		t.Fatalf("missing the legacy prefetch click in %v", keys(byOrder))
	}
	if c := byOrder["GET pick us headless"]; c == nil || !c.Bot || c.Device != tracking.DeviceBot {
		t.Fatalf("missing the headless click in %v", keys(byOrder))
	}
	if c := byOrder["GET pick us prefetch"]; c == nil || !c.Bot {
		t.Fatalf("missing the prefetch click in %v", keys(byOrder))
	}
	if c := byOrder["GET pick us datacenter"]; c == nil || !c.Bot {
		t.Fatalf("missing the datacenter click in %v", keys(byOrder))
	}
}

func keys(m map[string]*tracking.Click) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestClickEventsSurviveBrokerOutage freezes, then severs, the broker while
// clicks flow: every served request's event reaches the topic once the
// broker is back, with no click ID missing.
func TestClickEventsSurviveBrokerOutage(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, "clicks", 3)
	e := newEventEdge(t, addr)
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"x"}`, 201)
	e.waitCached("x")

	const perPhase = 300
	served := 0
	var mu sync.Mutex
	send := func(n int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					code, _, _ := e.click("GET", "/x?subId1=outage", map[string]string{"User-Agent": chromeUA})
					if code == 302 {
						mu.Lock()
						served++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	// Each outage lasts until the emitter has spooled events because of it.
	outage := func(start func()) {
		before := e.emitter.Stats().Spooled
		start()
		deadline := time.Now().Add(20 * time.Second)
		for e.emitter.Stats().Spooled == before {
			if time.Now().After(deadline) {
				t.Fatalf("the emitter never spooled during the outage")
			}
			send(50)
		}
	}
	send(perPhase)
	outage(gate.Freeze)
	send(perPhase)
	outage(gate.Sever)
	send(perPhase)
	gate.Open()
	send(perPhase)
	// Spooled events stay on disk across a Close (the next process replays
	// them); this test wants them on the topic, so wait for the replay.
	deadline := time.Now().Add(30 * time.Second)
	for st := e.emitter.Stats(); st.Spooling || st.SpoolBytes > 0 && st.Spooled > st.Replayed; st = e.emitter.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the spool was not replayed: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}

	got := e.events()
	ids := map[string]bool{}
	for _, c := range got {
		if string(c.SubID1) == "outage" {
			ids[string(c.ID)] = true
		}
	}
	if st := e.emitter.Stats(); st.DroppedTotal() != 0 || st.Replayed == 0 {
		t.Fatalf("unexpected emitter stats after the outage: %+v", st)
	}
	if len(ids) != served {
		t.Fatalf("unexpected distinct click IDs on the topic; got %d; want %d served", len(ids), served)
	}
}
