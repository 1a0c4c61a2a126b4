package redirect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
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
				ctx, err := wireCtx("/x", headers, "127.0.0.1")
				if err != nil {
					b.Fatal(err)
				}
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

// BenchmarkScanHeaders is the click's reading of its request headers (the
// referrer, prefetch and client-hint headers and the client address behind a
// trusted proxy) in one pass: for the suite's requests (four headers) and
// for a browser's navigation through a CDN (twenty).
func BenchmarkScanHeaders(b *testing.B) {
	h := clientIPHandler(b, "127.0.0.1", fasthttp.HeaderXForwardedFor)
	for _, bc := range []struct{ name, headers string }{
		{"suite", "User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1\r\n" +
			"Referer: https://t.co/\r\nX-Forwarded-For: 203.0.1.2\r\n"},
		{"browser-cdn", "Connection: keep-alive\r\n" +
			"sec-ch-ua: \"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\", \"Not?A_Brand\";v=\"99\"\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: \"Windows\"\r\n" +
			"Upgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n" +
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
			"Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n" +
			"Referer: https://www.google.com/\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n" +
			"X-Forwarded-For: 198.51.100.23\r\nX-Forwarded-Proto: https\r\nVia: 1.1 cdn\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, err := wireCtx("/hot?subId1=x", bc.headers, "127.0.0.1")
			if err != nil {
				b.Fatal(err)
			}
			want := h.ClientIP(ctx)
			b.ReportAllocs()
			for b.Loop() {
				c := h.scanHeaders(&ctx.Request.Header)
				if h.clientIP(ctx, c.clientIP, c.clientIPLines) != want || c.referer == nil {
					b.Fatal("headers changed")
				}
			}
		})
	}
}
