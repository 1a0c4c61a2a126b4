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

// Header names in fasthttp's canonical form, so peeking them skips
// normalizing the name on every request.
var (
	hdrPurpose    = []byte("Purpose")
	hdrSecPurpose = []byte("Sec-Purpose")
	hdrSecCHUA    = []byte("Sec-Ch-Ua")
)

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
	r := tracking.Request{
		Method:      ctx.Method(),
		UserAgent:   hdr.UserAgent(),
		Referer:     hdr.Referer(),
		Purpose:     hdr.PeekCanonical(hdrPurpose),
		SecPurpose:  hdr.PeekCanonical(hdrSecPurpose),
		SecCHUA:     hdr.PeekCanonical(hdrSecCHUA),
		QueryString: ctx.URI().QueryString(),
		ClientIP:    h.ClientIP(ctx),
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
