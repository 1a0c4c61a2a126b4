package redirect

import (
	"bytes"
	"net/netip"
	"net/url"
	"testing"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/valyala/fasthttp"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/abc", "/c/p/0/q", "/c/p/a/q/", "/", "//", "/c//0/q", "/a%0d%0a", "/c/p/0/q\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, path []byte) {
		key, ok := ParsePath(path)
		if !ok {
			return
		}
		if len(key) == 0 || bytes.ContainsAny(key, "\r\n%?# ") {
			t.Fatalf("unexpected key %q from %q", key, path)
		}
		parts := bytes.Split(key, []byte("/"))
		switch len(parts) {
		case 1:
			if !linkcache.IsID(parts[0]) {
				t.Fatalf("unexpected code %q from %q", key, path)
			}
		case 4:
			if string(parts[0]) != "c" {
				t.Fatalf("unexpected structured key %q from %q", key, path)
			}
			for _, p := range parts[1:] {
				if !linkcache.IsID(p) {
					t.Fatalf("unexpected ID %q in %q", p, path)
				}
			}
		default:
			t.Fatalf("unexpected key shape %q from %q", key, path)
		}
	})
}

// FuzzPassthrough appends arbitrary request queries to a destination: the
// result stays a valid Amazon Location, keeps its attribution, and never gains
// a reserved key.
func FuzzPassthrough(f *testing.F) {
	for _, s := range []string{"a=1", "tag=evil", "x=%0d%0aSet-Cookie:a", "%74ag=x&AA_x=1", "a=1&&b", "=&=&", "x=%zz", "k=v#f"} {
		f.Add([]byte(s))
	}
	const base = "https://www.amazon.co.uk/dp/B000000001?tag=good-21&linkCode=ll1"
	f.Fuzz(func(t *testing.T, query []byte) {
		loc, _ := AppendPassthrough([]byte(base), query, nil)
		if !bytes.HasPrefix(loc, []byte(base)) {
			t.Fatalf("destination changed: %q", loc)
		}
		if !linkcache.ValidLocation(string(loc)) {
			t.Fatalf("invalid Location %q from %q", loc, query)
		}
		u, err := url.Parse(string(loc))
		if err != nil || u.Host != "www.amazon.co.uk" {
			t.Fatalf("unexpected host in %q", loc)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("cannot parse query %q: %v", u.RawQuery, err)
		}
		if len(q["tag"]) != 1 || q.Get("tag") != "good-21" || len(q["linkCode"]) != 1 {
			t.Fatalf("attribution changed in %q", loc)
		}
		for k := range q {
			if k != "tag" && k != "linkCode" && IsReservedParam([]byte(k)) {
				t.Fatalf("reserved key %q passed through in %q", k, loc)
			}
		}
		if len(loc)-len(base) > MaxPassthroughBytes {
			t.Fatalf("pass-through too long: %d bytes", len(loc)-len(base))
		}
	})
}

// FuzzClientIP: X-Forwarded-For is whatever the client sent, with the
// address a trusted proxy saw appended. Whatever the client put in front,
// the edge takes the proxy's entry, and with nothing appended it takes the
// peer or an address that is in the header, never anything else.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "6.6.6.6, 10.9.9.9", "garbage", "", ",,,", "[2001:db9::1]:443", "fe80::1%eth0", "1.2.3.4:80, ::ffff:10.0.0.1", " \t10.2.2.2 "} {
		f.Add(s)
	}
	proxies, err := ParseTrustedProxies("10.0.0.0/8,2001:db8::/32")
	if err != nil {
		f.Fatal(err)
	}
	h := &Handler{trustedProxies: proxies}
	h.setClientIPHeader(fasthttp.HeaderXForwardedFor)
	const peer = "10.1.1.1"
	clientIP := func(t *testing.T, xff ...string) netip.Addr { return clientIPOf(t, h, peer, xff...) }
	client := netip.MustParseAddr("198.51.100.7")
	f.Fuzz(func(t *testing.T, sent string) {
		if got := clientIP(t, sent, client.String()); got != client {
			t.Fatalf("unexpected client IP behind the proxy's own header for %q; got %s; want %s", sent, got, client)
		}
		if got := clientIP(t, sent+", "+client.String()); got != client {
			t.Fatalf("unexpected client IP behind the proxy's entry for %q; got %s; want %s", sent, got, client)
		}
		got := clientIP(t, sent)
		if got == netip.MustParseAddr(peer) {
			return
		}
		for _, item := range bytes.Split([]byte(sent), []byte(",")) {
			if a, ok := parseHop(bytes.TrimSpace(item)); ok && a == got {
				return
			}
		}
		t.Fatalf("unexpected client IP for %q; got %s, which is neither the peer nor in the header", sent, got)
	})
}

// FuzzScanHeaders checks the click's one pass over a request's headers
// (scanAll, also for the requests scanHeaders reads with look-ups) against
// fasthttp's look-ups, for any header block the server accepts: the same
// referrer, prefetch and client-hint headers, the client-IP header's lines
// counted up to manyLines, and the same client address as ClientIP, behind
// a trusted proxy.
func FuzzScanHeaders(f *testing.F) {
	for _, s := range []string{
		"Referer: https://t.co/\r\nX-Forwarded-For: 203.0.113.9\r\n",
		"referer: a\r\nREFERER: b\r\npurpose: prefetch\r\nsec-purpose: prefetch;prerender\r\n",
		"X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 10.2.2.2, 1.2.3.4\r\nSec-CH-UA: \"HeadlessChrome\";v=\"130\"\r\n",
		"X-Forwarded-For:\r\nCookie: a=b\r\nUser-Agent: curl/8\r\nContent-Length: 0\r\n",
		"Trailer: X-Sum\r\nReferer: https://t.co/\r\nX-Forwarded-For: 203.0.113.9\r\n",
	} {
		f.Add(s)
	}
	proxies, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		f.Fatal(err)
	}
	h := &Handler{trustedProxies: proxies}
	h.setClientIPHeader(fasthttp.HeaderXForwardedFor)
	f.Fuzz(func(t *testing.T, headers string) {
		ctx, err := wireCtx("/x", headers, "10.1.1.1")
		if err != nil {
			return
		}
		hdr := &ctx.Request.Header
		want := clickHeaders{
			referer:    hdr.Referer(),
			purpose:    hdr.Peek("Purpose"),
			secPurpose: hdr.Peek("Sec-Purpose"),
			secCHUA:    hdr.Peek("Sec-Ch-Ua"),
		}
		got := h.scanAll(hdr)
		for _, c := range []struct {
			name      string
			got, want []byte
		}{
			{"Referer", got.referer, want.referer},
			{"Purpose", got.purpose, want.purpose},
			{"Sec-Purpose", got.secPurpose, want.secPurpose},
			{"Sec-Ch-Ua", got.secCHUA, want.secCHUA},
		} {
			if !bytes.Equal(c.got, c.want) {
				t.Fatalf("unexpected %s in %q; got %q; want %q", c.name, headers, c.got, c.want)
			}
		}
		n := len(hdr.PeekAll(fasthttp.HeaderXForwardedFor))
		if lines := got.clientIPLines; lines != min(n, manyLines) || n > 0 && !bytes.Equal(got.clientIP, hdr.Peek(fasthttp.HeaderXForwardedFor)) {
			t.Fatalf("unexpected X-Forwarded-For in %q; got %d lines, the first %q; want %d", headers, lines, got.clientIP, n)
		}
		clientIPBoth(t, h, ctx)
	})
}
