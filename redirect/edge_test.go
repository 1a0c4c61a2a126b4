package redirect

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/linkcache/redistest"
)

const testToken = "test-token"

// testEdge is an edge on loopback listeners over a real redis-server.
type testEdge struct {
	t        testing.TB
	redis    *redistest.Server
	store    *linkcache.Store
	cache    *linkcache.Cache
	handler  *Handler
	internal *Internal
	public   string // http://127.0.0.1:port
	admin    string // http://127.0.0.1:port
	client   *http.Client
}

// newTestEdge starts an edge on srv (a new redis-server when nil).
func newTestEdge(t testing.TB, srv *redistest.Server, cfg Config) *testEdge {
	t.Helper()
	if srv == nil {
		srv = redistest.Start(t)
	}
	e := &testEdge{t: t, redis: srv}
	var err error
	e.store, err = linkcache.NewStore(linkcache.StoreConfig{Addr: srv.Addr, HealthInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.cache, err = linkcache.NewCache(linkcache.CacheConfig{Store: e.store, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cache.Close)
	cfg.Cache = e.cache
	if e.handler, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	pl := listen(t)
	il := listen(t)
	e.public = "http://" + pl.Addr().String()
	e.admin = "http://" + il.Addr().String()
	e.internal, err = NewInternal(InternalConfig{
		Store:      e.store,
		AdminToken: testToken,
		PublicURL:  "https://go.example.com",
		Metrics:    []func(io.Writer){e.handler.WriteMetrics, e.cache.WriteMetrics, e.store.WriteMetrics},
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := e.handler.Server(Limits{MaxHeaderBytes: 4096})
	is := e.internal.Server(Limits{MaxBodyBytes: 64 << 10})
	go ps.Serve(pl)
	go is.Serve(il)
	t.Cleanup(func() { ps.Shutdown(); is.Shutdown() })
	e.internal.SetReady(true)
	e.client = &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	deadline := time.Now().Add(5 * time.Second)
	for !e.cache.Subscribed() || !e.store.Reached() {
		if time.Now().After(deadline) {
			t.Fatalf("edge did not connect to redis at %s", srv.Addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e
}

func listen(t testing.TB) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// api calls the admin API and decodes the JSON answer.
func (e *testEdge) api(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	return e.apiToken(method, path, body, testToken)
}

func (e *testEdge) apiToken(method, path, body, token string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.admin+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("cannot call %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			e.t.Fatalf("unexpected non-JSON answer to %s %s: %q", method, path, b)
		}
	}
	return resp.StatusCode, out
}

// mustAPI calls the admin API and fails unless the status is want.
func (e *testEdge) mustAPI(method, path, body string, want int) map[string]any {
	e.t.Helper()
	code, out := e.api(method, path, body)
	if code != want {
		e.t.Fatalf("unexpected status of %s %s %s; got %d %v; want %d", method, path, body, code, out, want)
	}
	return out
}

// click requests a public path and returns status, Location and the response.
func (e *testEdge) click(method, path string, hdr map[string]string) (int, string, *http.Response) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.public+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("cannot request %s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), resp
}

// seedAPI sets up, through the admin API, a US program "us" (pass-through on),
// a DE program "de" with a Store page, partners "alice" (Associates) and "bob"
// (Amazon Attribution), and an ad "spring".
func (e *testEdge) seedAPI() {
	e.t.Helper()
	e.mustAPI("PUT", "/api/v1/programs/us", `{"name":"US","marketplace":"US","asin":"B000000001","passthrough":true}`, 200)
	e.mustAPI("PUT", "/api/v1/programs/de", `{"name":"DE","marketplace":"DE","store_url":"https://www.amazon.de/stores/page/ABC"}`, 200)
	e.mustAPI("PUT", "/api/v1/partners/alice", `{"name":"Alice"}`, 200)
	e.mustAPI("PUT", "/api/v1/partners/bob", `{"name":"Bob"}`, 200)
	e.mustAPI("PUT", "/api/v1/programs/us/ads/spring", `{"name":"Spring","asin":"B000000002"}`, 200)
	e.mustAPI("PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{"tag":"alice-20","linkCode":"ll1"},"contract":{"currency":"USD","default_payout":"0.10"}}`, 200)
	e.mustAPI("PUT", "/api/v1/programs/us/partners/bob", `{"attribution":{"maas":"maas_adg_api_1","aa_campaignid":"c1","aa_adgroupid":"g1","aa_creativeid":"r1"}}`, 200)
	e.mustAPI("PUT", "/api/v1/programs/de/partners/alice", `{"attribution":{"tag":"alice-21"}}`, 200)
}

// newBenchEdge is a seeded edge with the links benchmarks use: "/hot" (US,
// pass-through on) and "/c/bob/spring/us".
func newBenchEdge(b *testing.B) *testEdge {
	e := newTestEdge(b, nil, Config{})
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"hot"}`, 201)
	return e
}

// waitCached waits until the cache answers key with a hit: invalidations of
// the setup writes arrive asynchronously and may drop a fresh entry once.
func (e *testEdge) waitCached(key string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, st := e.cache.Get([]byte(key)); st == linkcache.Hit {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("link %q never became a cache hit", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
