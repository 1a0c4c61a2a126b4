// Package redirect is clickedge's HTTP layer: the public redirect handler (the
// hot path), the internal listener with probes, metrics, pprof and the admin API.
package redirect

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickedge/clickedge/emitter"
	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/tracking"
)

// Config configures the public Handler.
type Config struct {
	// Cache resolves link paths. Required.
	Cache *linkcache.Cache
	// TrustedProxies are the peers whose client-IP header is believed.
	// Default: none (the TCP peer is the client).
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header trusted proxies put the client address in,
	// in X-Forwarded-For syntax. Default: "X-Forwarded-For".
	ClientIPHeader string
	// Classifier classifies each click for its event. Required with Emitter.
	// Default: nil (no click events).
	Classifier *tracking.Classifier
	// Emitter receives one click event per GET or HEAD on a link path,
	// whatever the answer. Required with Classifier. Default: nil (no events).
	Emitter *emitter.Writer
	// EdgeName is recorded as the event's edge. Default: the host name.
	EdgeName string
	// Logger receives sampled hot-path errors. Default: no logging.
	Logger *zap.Logger
}

// Handler serves the public link paths: GET|HEAD /<code> and
// /c/<partner>/<ad>/<program>. Safe for concurrent use.
type Handler struct {
	cache          *linkcache.Cache
	trustedProxies []netip.Prefix
	clientIPHeader string
	clientIPKey    []byte // clientIPHeader as the server normalizes header names
	log            *zap.Logger

	classifier *tracking.Classifier
	emitter    *emitter.Writer
	ids        *tracking.IDGenerator
	edgeName   []byte

	metrics  *metrics.Set
	results  [numResults]*metrics.Counter
	latency  *metrics.PrometheusHistogram
	rejected map[string]*metrics.Counter
}

// Redirect results, the label values of clickedge_redirects_total.
const (
	resultHit = iota
	resultStale
	resultMiss
	resultNotFound
	resultBadPath
	resultUnavailable
	resultMethod
	numResults
)

var resultNames = [numResults]string{"hit", "stale", "miss", "not_found", "bad_path", "unavailable", "method_not_allowed"}

// latencyBuckets are the upper bounds of clickedge_request_duration_seconds:
// fine below a millisecond, where cached redirects live.
var latencyBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// New creates a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Cache == nil {
		return nil, errors.New("cannot create redirect handler: Cache is required")
	}
	if cfg.ClientIPHeader == "" {
		cfg.ClientIPHeader = fasthttp.HeaderXForwardedFor
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if (cfg.Classifier == nil) != (cfg.Emitter == nil) {
		return nil, errors.New("cannot create redirect handler: Classifier and Emitter go together")
	}
	if cfg.EdgeName == "" {
		cfg.EdgeName, _ = os.Hostname()
	}
	h := &Handler{
		classifier:     cfg.Classifier,
		emitter:        cfg.Emitter,
		ids:            tracking.NewIDGenerator(),
		edgeName:       []byte(cfg.EdgeName),
		cache:          cfg.Cache,
		trustedProxies: cfg.TrustedProxies,
		log:            cfg.Logger,
		metrics:        metrics.NewSet(),
		rejected:       map[string]*metrics.Counter{},
	}
	h.setClientIPHeader(cfg.ClientIPHeader)
	for i, n := range resultNames {
		h.results[i] = h.metrics.NewCounter(`clickedge_redirects_total{result="` + n + `"}`)
	}
	h.latency = h.metrics.NewPrometheusHistogramExt(`clickedge_request_duration_seconds`, latencyBuckets)
	for _, r := range rejectReasons {
		h.rejected[r] = h.metrics.NewCounter(`clickedge_http_rejected_total{listener="public",reason="` + r + `"}`)
	}
	return h, nil
}

// WriteMetrics writes the handler's metrics in Prometheus text format.
func (h *Handler) WriteMetrics(w io.Writer) { h.metrics.WritePrometheus(w) }

// Response header names and values, kept as bytes so setting them copies
// without conversion.
var (
	hdrLocation     = []byte("Location")
	hdrCacheControl = []byte("Cache-Control")
	hdrRobots       = []byte("X-Robots-Tag")
	hdrRetryAfter   = []byte("Retry-After")
	hdrAllow        = []byte("Allow")
	valNoStore      = []byte("private, no-store, max-age=0")
	valNoIndex      = []byte("noindex")
	valOne          = []byte("1")
	valAllow        = []byte("GET, HEAD")
	contentTypeHTML = []byte("text/html; charset=utf-8")
	pageNotFound    = []byte("<!doctype html><meta charset=utf-8><title>Link not found</title><h1>Link not found</h1><p>This link does not exist or was removed.</p>\n")
	pageUnavailable = []byte("<!doctype html><meta charset=utf-8><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1><p>This link cannot be opened right now. Please try again in a moment.</p>\n")
	pageBadMethod   = []byte("<!doctype html><meta charset=utf-8><title>Method not allowed</title><h1>Method not allowed</h1>\n")
	methodGET       = []byte(fasthttp.MethodGet)
	methodHEAD      = []byte(fasthttp.MethodHead)
	locationBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
	scratchBufPool  = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
)

// HandleRequest is the fasthttp.RequestHandler of the public listener. A cached
// link costs no allocation and no network I/O.
func (h *Handler) HandleRequest(ctx *fasthttp.RequestCtx) {
	// The server reads the clock right before calling the handler: reusing
	// its reading saves a clock read per request (vDSO clock_gettime under
	// KVM was 2.6% of the edge's CPU profile under load, bench/RESULTS.md).
	start := ctx.Time()
	if start.IsZero() { // a RequestCtx built by hand, as in tests
		start = time.Now()
	}
	key, t, ok := h.serve(ctx, start)
	if ok && h.emitter != nil {
		h.emit(ctx, start, key, t)
	}
	// time.Since reads only the monotonic clock, one vDSO call where
	// time.Now makes two.
	took := time.Since(start)
	h.latency.Update(took.Seconds())
	// The response is written right after this returns: its write
	// deadline is counted from this reading instead of another one.
	if dc, ok := ctx.Conn().(*deadlineConn); ok {
		dc.handled = monoOf(start) + monoTime(took)
	}
}

// serve answers the request. It returns the link key and target (nil unless
// redirected) and whether the request was a click on a link path.
func (h *Handler) serve(ctx *fasthttp.RequestCtx, now time.Time) ([]byte, *linkcache.Target, bool) {
	method := ctx.Method()
	if !bytesEqual(method, methodGET) && !bytesEqual(method, methodHEAD) {
		ctx.Response.Header.SetCanonical(hdrAllow, valAllow)
		h.page(ctx, fasthttp.StatusMethodNotAllowed, pageBadMethod)
		h.results[resultMethod].Inc()
		return nil, nil, false
	}
	key, ok := ParsePath(ctx.Path())
	if !ok {
		h.page(ctx, fasthttp.StatusNotFound, pageNotFound)
		h.results[resultBadPath].Inc()
		return nil, nil, false
	}
	t, st := h.cache.GetAt(key, now)
	switch st {
	case linkcache.Hit, linkcache.Stale, linkcache.Miss:
		h.redirect(ctx, t)
		switch st {
		case linkcache.Hit:
			h.results[resultHit].Inc()
		case linkcache.Stale:
			h.results[resultStale].Inc()
		default:
			h.results[resultMiss].Inc()
		}
		return key, t, true
	case linkcache.NotFound:
		h.page(ctx, fasthttp.StatusNotFound, pageNotFound)
		h.results[resultNotFound].Inc()
	default:
		ctx.Response.Header.SetCanonical(hdrRetryAfter, valOne)
		h.page(ctx, fasthttp.StatusServiceUnavailable, pageUnavailable)
		h.results[resultUnavailable].Inc()
	}
	return key, nil, true
}

// redirect answers 302 to t's destination, with the request's non-reserved
// query parameters when the program allows pass-through.
func (h *Handler) redirect(ctx *fasthttp.RequestCtx, t *linkcache.Target) {
	ctx.SetStatusCode(fasthttp.StatusFound)
	hdr := &ctx.Response.Header
	if q := ctx.URI().QueryString(); t.Passthrough && len(q) > 0 {
		lp := locationBufPool.Get().(*[]byte)
		sp := scratchBufPool.Get().(*[]byte)
		loc := append((*lp)[:0], t.Location...)
		loc, *sp = AppendPassthrough(loc, q, *sp)
		hdr.SetCanonical(hdrLocation, loc)
		*lp = loc
		locationBufPool.Put(lp)
		scratchBufPool.Put(sp)
	} else {
		hdr.SetCanonical(hdrLocation, t.Location)
	}
	hdr.SetCanonical(hdrCacheControl, valNoStore)
	hdr.SetCanonical(hdrRobots, valNoIndex)
}

// page answers a small HTML page that neither caches nor gets indexed.
func (h *Handler) page(ctx *fasthttp.RequestCtx, code int, body []byte) {
	ctx.SetStatusCode(code)
	hdr := &ctx.Response.Header
	hdr.SetContentTypeBytes(contentTypeHTML)
	hdr.SetCanonical(hdrCacheControl, valNoStore)
	hdr.SetCanonical(hdrRobots, valNoIndex)
	ctx.Response.SetBodyRaw(body)
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
