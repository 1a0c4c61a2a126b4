package redirect

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// newHitCtx returns a request for path whose link is already cached.
func newHitCtx(tb testing.TB, e *testEdge, path string) *fasthttp.RequestCtx {
	h := e.handler
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI(path)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 5555}, nil)
	key, _ := ParsePath(req.URI().Path())
	e.waitCached(string(key))
	h.HandleRequest(ctx)
	if ctx.Response.StatusCode() != 302 {
		tb.Fatalf("unexpected status for %s; got %d; want 302", path, ctx.Response.StatusCode())
	}
	return ctx
}

// TestCacheHitRedirectAllocatesNothing is the hot-path contract: a cached
// redirect, with or without pass-through, allocates 0 times.
func TestCacheHitRedirectAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; make test runs this test without it")
	}
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"hot"}`, 201)
	for _, path := range []string{"/hot", "/c/bob/spring/us", "/hot?utm_source=news&tag=evil&x=%20y"} {
		ctx := newHitCtx(t, e, path)
		n := testing.AllocsPerRun(1000, func() {
			ctx.Response.Reset()
			e.handler.HandleRequest(ctx)
		})
		if n != 0 {
			t.Fatalf("unexpected allocations per cached redirect of %s; got %v; want 0", path, n)
		}
		if ctx.Response.StatusCode() != 302 {
			t.Fatalf("unexpected status; got %d", ctx.Response.StatusCode())
		}
	}
}
