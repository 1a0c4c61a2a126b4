package redirect

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"
)

// ParseTrustedProxies parses a comma-separated list of CIDRs or addresses (a
// bare address is a /32 or /128), as given to -http.trustedProxies.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("cannot parse trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// setClientIPHeader sets the header trusted proxies put the client address
// in, and its name as the server normalizes it.
func (h *Handler) setClientIPHeader(name string) {
	h.clientIPHeader = name
	h.clientIPKey = fasthttp.AppendNormalizedHeaderKey(nil, name)
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address: the TCP peer, or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a
// trusted proxy. A malformed X-Forwarded-For entry stops the walk at the last
// trusted hop, so a client cannot inject an address past a proxy.
func (h *Handler) ClientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	// Most requests carry the header once or not at all: a look-up by
	// the canonical name finds out without normalizing the name per
	// request (an empty header is an empty slice, not nil;
	// TestClientIPHeaderName), and only a header that is present is
	// collected in full.
	return h.clientIP(ctx, nil, h.clientIPHeaderLines(&ctx.Request.Header))
}

// clientIPHeaderLines is 0 when the request has no client-IP header or no
// proxy is trusted (the header is then never read), else manyLines (one or
// more, not counted).
func (h *Handler) clientIPHeaderLines(hdr *fasthttp.RequestHeader) int {
	if len(h.trustedProxies) == 0 || hdr.PeekCanonical(h.clientIPKey) == nil {
		return 0
	}
	return manyLines
}

// clientIP is ClientIP given how many lines of the client-IP header the
// request has (0, 1 or manyLines) and, when it has one, that line; with
// manyLines, it collects them all.
func (h *Handler) clientIP(ctx *fasthttp.RequestCtx, first []byte, lines int) netip.Addr {
	peer := peerAddr(ctx)
	if len(h.trustedProxies) == 0 || lines == 0 || !h.trusted(peer) {
		return peer
	}
	if lines == 1 {
		return h.walkHops(peer, first)
	}
	return h.walkHops(peer, ctx.Request.Header.PeekAll(h.clientIPHeader)...)
}

// walkHops walks the client-IP header's lines from the right, from a trusted
// peer, and returns the first hop that is not a trusted proxy, or the last
// trusted one.
func (h *Handler) walkHops(peer netip.Addr, hops ...[]byte) netip.Addr {
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		v := hops[i]
		for len(v) > 0 {
			var item []byte
			if j := bytes.LastIndexByte(v, ','); j >= 0 {
				item, v = v[j+1:], v[:j]
			} else {
				item, v = v, nil
			}
			item = bytes.TrimSpace(item)
			if len(item) == 0 {
				continue
			}
			a, ok := parseHop(item)
			if !ok {
				return last
			}
			if !h.trusted(a) {
				return a
			}
			last = a
		}
	}
	return last
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with a
// port ("1.2.3.4:80", "[2001:db8::1]:80"). Zones are refused.
func parseHop(b []byte) (netip.Addr, bool) {
	if len(b) > 64 || bytes.IndexByte(b, '%') >= 0 {
		return netip.Addr{}, false
	}
	s := b2s(b)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// peerAddr returns the request's TCP peer: the address the connection
// parsed when it was accepted, or, for a connection not accepted by a
// Server (tests), ctx's remote address.
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if dc, ok := ctx.Conn().(*deadlineConn); ok {
		return dc.peer
	}
	return tcpPeer(ctx.RemoteAddr())
}

// tcpPeer returns the address of a TCP peer, IPv4 unmapped; the zero Addr
// for other networks.
func tcpPeer(addr net.Addr) netip.Addr {
	if ta, ok := addr.(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}
