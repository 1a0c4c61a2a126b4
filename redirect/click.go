package redirect

import (
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/tracking"
)

// clickScratch is the per-click working memory: the event, its encoding and
// its key. Pooled, so a click allocates nothing once the pool is warm.
type clickScratch struct {
	click tracking.Click
	value []byte
	key   []byte
}

var clickPool = sync.Pool{New: func() any { return &clickScratch{value: make([]byte, 0, 1024), key: make([]byte, 0, 64)} }}

// clickHeaders are the request headers a click event reads besides the
// user agent.
type clickHeaders struct {
	referer, purpose, secPurpose, secCHUA []byte
	// clientIPLines is how many lines of the client-IP header the
	// request has: 0, 1 (then clientIP is that line) or manyLines.
	clientIP      []byte
	clientIPLines int
}

// manyLines is the count of a header's lines that stands for more than one,
// or for one or more when they were not counted.
const manyLines = 2

// scanHeaders finds the headers a click reads. A look-up each passes over
// the request's headers six times (a browser behind a CDN sends 15 to 20);
// scanHeaders looks for a cookie and a trailer, and then reads them all in
// one pass (scanAll). A request with a cookie or a trailer is read with
// look-ups instead: fasthttp's pass over all headers parses the cookies
// first, which costs more than the look-ups save, and builds the trailer
// names anew, an allocation per request. (The server leaves cookies
// unparsed, so looking for one is a plain scan.)
func (h *Handler) scanHeaders(hdr *fasthttp.RequestHeader) clickHeaders {
	if hdr.PeekCanonical(hdrCookie) != nil {
		return h.peekHeaders(hdr)
	}
	for range hdr.Trailers() {
		return h.peekHeaders(hdr)
	}
	return h.scanAll(hdr)
}

// scanAll is scanHeaders in one pass over fasthttp's iterator of all the
// request's headers. Names are compared in fasthttp's canonical form, which
// the server gives every header; of a repeated header the first line
// counts, as with a look-up.
func (h *Handler) scanAll(hdr *fasthttp.RequestHeader) clickHeaders {
	var c clickHeaders
	ipKey := b2s(h.clientIPKey)
	for k, v := range hdr.All() {
		switch name := b2s(k); {
		case name == ipKey && c.clientIPLines == 0:
			c.clientIP, c.clientIPLines = v, 1
		case name == ipKey:
			c.clientIPLines = manyLines
		case name == fasthttp.HeaderReferer && c.referer == nil:
			c.referer = v
		case name == headerPurpose && c.purpose == nil:
			c.purpose = v
		case name == headerSecPurpose && c.secPurpose == nil:
			c.secPurpose = v
		case name == headerSecCHUA && c.secCHUA == nil:
			c.secCHUA = v
		}
	}
	return c
}

// Header names in fasthttp's canonical form, so peeking them skips
// normalizing the name on every request.
const (
	headerPurpose    = "Purpose"
	headerSecPurpose = "Sec-Purpose"
	headerSecCHUA    = "Sec-Ch-Ua"
)

var (
	hdrCookie     = []byte(fasthttp.HeaderCookie)
	hdrPurpose    = []byte(headerPurpose)
	hdrSecPurpose = []byte(headerSecPurpose)
	hdrSecCHUA    = []byte(headerSecCHUA)
)

// peekHeaders is scanHeaders with a look-up per header.
func (h *Handler) peekHeaders(hdr *fasthttp.RequestHeader) clickHeaders {
	return clickHeaders{
		referer:       hdr.Referer(),
		purpose:       hdr.PeekCanonical(hdrPurpose),
		secPurpose:    hdr.PeekCanonical(hdrSecPurpose),
		secCHUA:       hdr.PeekCanonical(hdrSecCHUA),
		clientIPLines: h.clientIPHeaderLines(hdr),
	}
}

// emit builds the click event of this request and hands it to the emitter,
// which copies it and returns at once. Nothing from ctx outlives this call:
// the classifier and the event copy what they keep.
func (h *Handler) emit(ctx *fasthttp.RequestCtx, start time.Time, key []byte, t *linkcache.Target) {
	s := clickPool.Get().(*clickScratch)
	c := &s.click
	c.Reset()
	c.ID = h.ids.AppendAt(c.ID, start)
	c.TS = start.UnixMilli()
	if t == nil && (len(key) < 2 || key[1] != '/') {
		c.Code = append(c.Code, key...) // an unknown short code
	}
	c.Method = append(c.Method, ctx.Method()...)
	c.Status = ctx.Response.StatusCode()
	hdr := &ctx.Request.Header
	ch := h.scanHeaders(hdr)
	r := tracking.Request{
		Method:      ctx.Method(),
		UserAgent:   hdr.UserAgent(),
		Referer:     ch.referer,
		Purpose:     ch.purpose,
		SecPurpose:  ch.secPurpose,
		SecCHUA:     ch.secCHUA,
		QueryString: ctx.URI().QueryString(),
		ClientIP:    h.clientIP(ctx, ch.clientIP, ch.clientIPLines),
	}
	h.classifier.Classify(c, &r)
	c.SetSubIDs(r.QueryString)
	c.Edge = append(c.Edge, h.edgeName...)
	if t != nil {
		// The link's fields and the key come encoded with the cached link.
		s.value = c.AppendJSONWithLink(s.value[:0], t.ClickLink)
		h.emitter.Emit(t.ClickKey, s.value)
	} else {
		s.value = c.AppendJSON(s.value[:0])
		s.key = c.AppendKey(s.key[:0])
		h.emitter.Emit(s.key, s.value)
	}
	clickPool.Put(s)
}
