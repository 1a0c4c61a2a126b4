package redirect

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// wireCtx returns a RequestCtx for "GET path" with the given header lines
// (each ending in CRLF) after "Host: e", parsed as the server parses a
// request, from a TCP peer.
func wireCtx(path, headers, peer string) (*fasthttp.RequestCtx, error) {
	req := new(fasthttp.Request)
	if err := req.Read(bufio.NewReader(strings.NewReader("GET " + path + " HTTP/1.1\r\nHost: e\r\n" + headers + "\r\n"))); err != nil {
		return nil, err
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 1234}, nil)
	return ctx, nil
}

// clientIPHandler returns a Handler that trusts proxies (as given to
// -http.trustedProxies) for the client address in header.
func clientIPHandler(t testing.TB, proxies, header string) *Handler {
	t.Helper()
	p, err := ParseTrustedProxies(proxies)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{trustedProxies: p}
	h.setClientIPHeader(header)
	return h
}

func TestClientIP(t *testing.T) {
	h := clientIPHandler(t, "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32", fasthttp.HeaderXForwardedFor)
	f := func(peer string, xff []string, want string) {
		t.Helper()
		got := clientIPOf(t, h, peer, xff...)
		if got != netip.MustParseAddr(want) {
			t.Fatalf("unexpected client IP for peer %s, XFF %q; got %s; want %s", peer, xff, got, want)
		}
	}
	// Untrusted peers are the client, whatever they claim.
	f("203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9")
	f("::ffff:203.0.113.9", nil, "203.0.113.9")
	// Trusted peer: the right-most untrusted hop.
	f("10.1.1.1", []string{"1.2.3.4"}, "1.2.3.4")
	f("10.1.1.1", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4")
	f("10.1.1.1", []string{"6.6.6.6, 1.2.3.4, 10.9.9.9, 192.0.2.7"}, "1.2.3.4")
	f("10.1.1.1", []string{"6.6.6.6", "1.2.3.4, 10.2.2.2"}, "1.2.3.4")
	f("10.1.1.1", []string{"1.2.3.4:5678"}, "1.2.3.4")
	f("10.1.1.1", []string{"[2001:db9::1]:443"}, "2001:db9::1")
	f("2001:db8::5", []string{"2001:db9::1"}, "2001:db9::1")
	// Nothing usable: the peer, or the last trusted hop before garbage.
	f("10.1.1.1", nil, "10.1.1.1")
	f("10.1.1.1", []string{""}, "10.1.1.1")
	f("10.1.1.1", []string{"6.6.6.6, garbage"}, "10.1.1.1")
	f("10.1.1.1", []string{"6.6.6.6, garbage, 10.3.3.3"}, "10.3.3.3")
	f("10.1.1.1", []string{"fe80::1%eth0"}, "10.1.1.1")
	f("10.1.1.1", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2")
}

// A header configured in any case is found as clients send it, in any
// case, once or on several lines.
func TestClientIPHeaderName(t *testing.T) {
	h := clientIPHandler(t, "10.0.0.0/8", "cf-connecting-IP")
	f := func(headers [][2]string, want string) {
		t.Helper()
		var req fasthttp.Request
		for _, kv := range headers {
			req.Header.Add(kv[0], kv[1])
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("10.1.1.1"), Port: 1234}, nil)
		if got := clientIPBoth(t, h, &ctx); got != netip.MustParseAddr(want) {
			t.Fatalf("unexpected client IP for headers %q; got %s; want %s", headers, got, want)
		}
	}
	f([][2]string{{"CF-Connecting-IP", "203.0.113.9"}}, "203.0.113.9")
	f([][2]string{{"cf-connecting-ip", "203.0.113.9"}}, "203.0.113.9")
	f([][2]string{{"Cf-Connecting-Ip", "6.6.6.6"}, {"X-Forwarded-For", "1.2.3.4"}, {"CF-CONNECTING-IP", "203.0.113.9"}}, "203.0.113.9")
	// An empty first line does not hide the line after it.
	f([][2]string{{"CF-Connecting-IP", ""}, {"CF-Connecting-IP", "203.0.113.9"}}, "203.0.113.9")
	// Another header is not the configured one: the peer is the client.
	f([][2]string{{"X-Forwarded-For", "1.2.3.4"}}, "10.1.1.1")
	f(nil, "10.1.1.1")

	// The same, parsed from the wire as the server reads requests.
	for _, raw := range []string{
		"cf-connecting-ip: 203.0.113.9\r\n",
		"CF-Connecting-IP:\r\nCF-CONNECTING-IP: 203.0.113.9\r\n",
		"Cf-Connecting-Ip: \r\nX-Forwarded-For: 1.2.3.4\r\ncf-connecting-ip: 6.6.6.6, 203.0.113.9\r\n",
	} {
		ctx, err := wireCtx("/x", raw, "10.1.1.1")
		if err != nil {
			t.Fatal(err)
		}
		if got := clientIPBoth(t, h, ctx); got != netip.MustParseAddr("203.0.113.9") {
			t.Fatalf("unexpected client IP for headers %q; got %s; want 203.0.113.9", raw, got)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies("10.0.0.1/8,::1")
	if err != nil || len(got) != 2 || got[0].String() != "10.0.0.0/8" || got[1].String() != "::1/128" {
		t.Fatalf("unexpected prefixes; got %v, %v", got, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,nope"); err == nil {
		t.Fatalf("unexpected success for a bad CIDR")
	}
}

// clientIPBoth returns ctx's client address as ClientIP finds it, after
// checking that the click's path (scanHeaders, then clientIP) finds the same.
func clientIPBoth(t testing.TB, h *Handler, ctx *fasthttp.RequestCtx) netip.Addr {
	t.Helper()
	a := h.ClientIP(ctx)
	c := h.scanHeaders(&ctx.Request.Header)
	if b := h.clientIP(ctx, c.clientIP, c.clientIPLines); b != a {
		t.Fatalf("the click's client IP %s differs from ClientIP's %s for headers %q", b, a, ctx.Request.Header.RawHeaders())
	}
	return a
}

// clientIPOf returns h's client address for a request from peer with the
// given X-Forwarded-For headers, in order.
func clientIPOf(tb testing.TB, h *Handler, peer string, xff ...string) netip.Addr {
	var req fasthttp.Request
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 1234}, nil)
	return clientIPBoth(tb, h, &ctx)
}
