package redirect

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandlerHit measures a cached redirect end to end through the
// handler (no network): parse, cache hit, Location and headers.
func BenchmarkHandlerHit(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"code", "/hot"},
		{"structured", "/c/bob/spring/us"},
		{"passthrough", "/hot?utm_source=news&utm_medium=social&tag=evil"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newBenchEdge(b)
			ctx := newHitCtx(b, e, bc.path)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ctx.Response.Reset()
				e.handler.HandleRequest(ctx)
			}
		})
	}
}

func BenchmarkHandlerHitParallel(b *testing.B) {
	e := newBenchEdge(b)
	newHitCtx(b, e, "/hot")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := newHitCtx(b, e, "/hot")
		for pb.Next() {
			ctx.Response.Reset()
			e.handler.HandleRequest(ctx)
		}
	})
}

func BenchmarkParsePath(b *testing.B) {
	p := []byte("/c/partner-123/ad-9/program-77")
	b.ReportAllocs()
	for b.Loop() {
		ParsePath(p)
	}
}

func BenchmarkAppendPassthrough(b *testing.B) {
	loc := []byte("https://www.amazon.com/dp/B000000001?tag=t-20")
	q := []byte("utm_source=news&utm_medium=email&utm_campaign=spring%20sale&tag=evil")
	var dst, scratch []byte
	b.ReportAllocs()
	for b.Loop() {
		dst, scratch = AppendPassthrough(append(dst[:0], loc...), q, scratch)
	}
}

// BenchmarkHandlerHitWithEvent is the full per-click work: cached redirect,
// classification of a seen user agent, event encoding and Emit.
func BenchmarkHandlerHitWithEvent(b *testing.B) {
	e := newEventEdge(b, "")
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"hot"}`, 201)
	ctx := newHitCtx(b, e.testEdge, "/hot?subId1=bench")
	ctx.Request.Header.Set("Referer", "https://www.google.com/")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		e.handler.HandleRequest(ctx)
	}
}

// BenchmarkClientIP is the client address of a request from a trusted
// proxy: with X-Forwarded-For (one line, as a CDN sends it) naming one
// client for every request (xff) or a client per request (xff-many), and
// without the header.
func BenchmarkClientIP(b *testing.B) {
	h := clientIPHandler(b, "127.0.0.1", fasthttp.HeaderXForwardedFor)
	rng := rand.New(rand.NewPCG(1, 2))
	var many []string
	for range 1024 {
		many = append(many, fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)))
	}
	for _, bc := range []struct {
		name string
		xff  []string // one request per value; none: no header
	}{
		{"xff", []string{"203.0.113.9"}},
		{"xff-many", many}, // a client address per request, as behind a CDN
		{"none", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ctxs []*fasthttp.RequestCtx
			var want []netip.Addr
			for i := 0; i == 0 || i < len(bc.xff); i++ {
				headers := "User-Agent: Mozilla/5.0\r\nReferer: https://t.co/\r\n"
				if bc.xff != nil {
					headers += "X-Forwarded-For: " + bc.xff[i] + "\r\n"
				}
				req := new(fasthttp.Request)
				if err := req.Read(bufio.NewReader(strings.NewReader("GET /x HTTP/1.1\r\nHost: e\r\n" + headers + "\r\n"))); err != nil {
					b.Fatal(err)
				}
				ctx := new(fasthttp.RequestCtx)
				ctx.Init(req, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1234}, nil)
				ctxs, want = append(ctxs, ctx), append(want, h.ClientIP(ctx))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if h.ClientIP(ctxs[i]) != want[i] {
					b.Fatal("client IP changed")
				}
				if i++; i == len(ctxs) {
					i = 0
				}
			}
		})
	}
}
