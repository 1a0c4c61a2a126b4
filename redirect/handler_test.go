package redirect

import (
	"net"
	"strings"
	"testing"
	"time"
)

const (
	locAliceUS = "https://www.amazon.com/dp/B000000001?tag=alice-20&linkCode=ll1"
	locBobAd   = "https://www.amazon.com/dp/B000000002?maas=maas_adg_api_1&ref_=aa_maas&tag=maas&aa_campaignid=c1&aa_adgroupid=g1&aa_creativeid=r1"
)

func TestRedirectEveryLevel(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	prog := e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice"}`, 201)
	if prog["level"] != "program" || !strings.HasPrefix(prog["url"].(string), "https://go.example.com/") {
		t.Fatalf("unexpected link answer %v", prog)
	}
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","asin":"B000000003","code":"alice-pick"}`, 201)
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"bob","ad":"spring","code":"bob-ad"}`, 201)
	e.mustAPI("POST", "/api/v1/links", `{"program":"de","partner":"alice","code":"alice-de"}`, 201)

	f := func(method, path, wantLoc string) {
		t.Helper()
		code, loc, resp := e.click(method, path, nil)
		if code != 302 || loc != wantLoc {
			t.Fatalf("unexpected answer to %s %s; got %d %q; want 302 %q", method, path, code, loc, wantLoc)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store, max-age=0" {
			t.Fatalf("unexpected Cache-Control; got %q", cc)
		}
		if r := resp.Header.Get("X-Robots-Tag"); r != "noindex" {
			t.Fatalf("unexpected X-Robots-Tag; got %q", r)
		}
	}
	f("GET", "/"+prog["code"].(string), locAliceUS)
	f("HEAD", "/"+prog["code"].(string), locAliceUS)
	f("GET", "/alice-pick", "https://www.amazon.com/dp/B000000003?tag=alice-20&linkCode=ll1")
	f("GET", "/bob-ad", locBobAd)
	f("GET", "/alice-de", "https://www.amazon.de/stores/page/ABC?tag=alice-21")
	f("GET", "/c/bob/spring/us", locBobAd)
	f("GET", "/c/alice/0/us", locAliceUS)
	f("GET", "/c/alice/0/us/", locAliceUS)
	f("GET", "/c/alice/0/de", "https://www.amazon.de/stores/page/ABC?tag=alice-21")

	// Pass-through: the US program allows it, the DE program does not.
	f("GET", "/alice-pick?utm_source=yt&tag=evil&ascsubtag=x&AA_CAMPAIGNID=y&subId1=s", "https://www.amazon.com/dp/B000000003?tag=alice-20&linkCode=ll1&utm_source=yt")
	f("GET", "/alice-de?utm_source=yt&tag=evil", "https://www.amazon.de/stores/page/ABC?tag=alice-21")

	for _, path := range []string{"/nope", "/c/bob/0/de", "/c/bob/nope/us", "/c/zed/0/us", "/", "/a.b", "/favicon.ico", "/c/a/b", "/" + strings.Repeat("x", 65)} {
		code, loc, resp := e.click("GET", path, nil)
		if code != 404 || loc != "" {
			t.Fatalf("unexpected answer to %s; got %d %q; want 404", path, code, loc)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("unexpected 404 Content-Type; got %q", ct)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		code, _, resp := e.click(m, "/alice-pick", nil)
		if code != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("unexpected answer to %s; got %d Allow %q; want 405", m, code, resp.Header.Get("Allow"))
		}
	}
}

// TestRedirectEditsAndDeletes checks that admin edits reach a second edge on the
// same Redis within a second.
func TestRedirectEditsAndDeletes(t *testing.T) {
	a := newTestEdge(t, nil, Config{})
	b := newTestEdge(t, a.redis, Config{})
	a.seedAPI()
	a.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"x"}`, 201)
	if _, loc, _ := b.click("GET", "/x", nil); loc != locAliceUS {
		t.Fatalf("unexpected first Location; got %q", loc)
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s did not reach the second edge within 1s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	a.mustAPI("PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{"tag":"alice2-20"}}`, 200)
	within("the attribution edit", func() bool {
		_, loc, _ := b.click("GET", "/x", nil)
		return loc == "https://www.amazon.com/dp/B000000001?tag=alice2-20"
	})
	a.mustAPI("PUT", "/api/v1/programs/us", `{"name":"US","marketplace":"US","asin":"B00000000Z"}`, 200)
	within("the program edit", func() bool {
		_, loc, _ := b.click("GET", "/x", nil)
		return loc == "https://www.amazon.com/dp/B00000000Z?tag=alice2-20"
	})
	a.mustAPI("DELETE", "/api/v1/links/x", "", 204)
	within("the delete", func() bool {
		code, _, _ := b.click("GET", "/x", nil)
		return code == 404
	})
	// A new link under the same code works at once, negative cache or not.
	a.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"bob","ad":"spring","code":"x"}`, 201)
	within("the re-created link", func() bool {
		_, loc, _ := b.click("GET", "/x", nil)
		return strings.HasPrefix(loc, "https://www.amazon.com/dp/B000000002?maas=")
	})
}

// TestRedirectRedisOutage kills Redis under a running edge: cached links keep
// redirecting, uncached ones get a fast 503, and nothing hangs.
func TestRedirectRedisOutage(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"cached"}`, 201)
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"cold"}`, 201)
	e.waitCached("cached")
	e.redis.Kill()
	for range 5 {
		if code, loc, _ := e.click("GET", "/cached", nil); code != 302 || loc != locAliceUS {
			t.Fatalf("unexpected answer for a cached link with Redis down; got %d %q", code, loc)
		}
		start := time.Now()
		code, _, resp := e.click("GET", "/cold", nil)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("an uncached link with Redis down took %s; want at most 100ms", d)
		}
		if code != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("unexpected answer for an uncached link with Redis down; got %d; want 503 with Retry-After", code)
		}
	}
	if code, out := e.api("POST", "/api/v1/links", `{"program":"us","partner":"alice"}`); code != 503 || out["error"] == nil {
		t.Fatalf("unexpected admin answer with Redis down; got %d %v; want 503 with an error", code, out)
	}
	// Readiness does not follow Redis: the edge still serves cached links.
	if code, _ := e.apiToken("GET", "/ready", "", ""); code != 200 {
		t.Fatalf("unexpected /ready with Redis down; got %d; want 200", code)
	}
}

func TestRedirectServerLimits(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	code, _, _ := e.click("GET", "/x", map[string]string{"X-Big": strings.Repeat("a", 8000)})
	if code != 431 {
		t.Fatalf("unexpected status for oversized headers; got %d; want 431", code)
	}
	// A raw request with garbage is answered 400 and counted, not crashed on.
	c, err := net.Dial("tcp", strings.TrimPrefix(e.public, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n"))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 400") {
		t.Fatalf("unexpected answer to a malformed request; got %q", buf[:n])
	}
	body := e.metricsText()
	for _, want := range []string{
		`clickedge_http_rejected_total{listener="public",reason="header_too_large"} 1`,
		`clickedge_http_rejected_total{listener="public",reason="malformed"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("missing %q in /metrics", want)
		}
	}
}

func (e *testEdge) metricsText() string {
	e.t.Helper()
	resp, err := e.client.Get(e.admin + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String()
}

func TestMetricsAfterClicks(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"m"}`, 201)
	e.waitCached("m")
	e.click("GET", "/m", nil)
	e.click("GET", "/m", nil)
	e.click("GET", "/unknown", nil)
	e.click("GET", "/bad.path", nil)
	body := e.metricsText()
	for _, want := range []string{
		`clickedge_redirects_total{result="hit"} 2`,
		`clickedge_redirects_total{result="not_found"} 1`,
		`clickedge_redirects_total{result="bad_path"} 1`,
		`clickedge_request_duration_seconds_count 4`,
		`clickedge_cache_evictions_total 0`,
		`clickedge_redis_errors_total 0`,
		`clickedge_redis_up 1`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("missing %q in /metrics:\n%s", want, body)
		}
	}
}
