package redirect

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"
	"go.uber.org/zap"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/rollup"
)

// InternalConfig configures the internal listener.
type InternalConfig struct {
	// Store backs the admin API and readiness. Required.
	Store *linkcache.Store
	// AdminToken is the bearer token of the admin API. Default: "" (the admin
	// API refuses every call).
	AdminToken string
	// PublicURL is the base of short URLs returned by the admin API, without a
	// trailing slash. Default: "http://localhost:8080".
	PublicURL string
	// Metrics are written, in order, by /metrics after the process metrics.
	// Default: none.
	Metrics []func(io.Writer)
	// Logger receives the admin API's writes (audit) and errors. Default: no logging.
	Logger *zap.Logger
	// NoAPI turns /api/v1/ off, for processes whose internal listener only
	// serves health and metrics (the rollup). Default: false.
	NoAPI bool
}

// Internal serves the internal listener: /health, /ready, /metrics,
// /debug/pprof/ and the admin API under /api/v1/. Safe for concurrent use.
type Internal struct {
	cfg   InternalConfig
	store *linkcache.Store
	log   *zap.Logger
	token []byte
	ready atomic.Bool
	usage *rollup.Reader

	metrics  *metrics.Set
	rejected map[string]*metrics.Counter
	admin    map[int]*metrics.Counter
}

// NewInternal creates the internal handler. It is not ready until SetReady(true).
func NewInternal(cfg InternalConfig) (*Internal, error) {
	if cfg.Store == nil {
		return nil, errors.New("cannot create internal handler: Store is required")
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	i := &Internal{
		cfg:      cfg,
		store:    cfg.Store,
		log:      cfg.Logger,
		token:    []byte(cfg.AdminToken),
		usage:    rollup.NewReader(cfg.Store),
		metrics:  metrics.NewSet(),
		rejected: map[string]*metrics.Counter{},
		admin:    map[int]*metrics.Counter{},
	}
	for _, r := range rejectReasons {
		i.rejected[r] = i.metrics.NewCounter(`clickedge_http_rejected_total{listener="internal",reason="` + r + `"}`)
	}
	for _, c := range []int{200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 500, 503} {
		i.admin[c] = i.metrics.NewCounter(`clickedge_admin_requests_total{code="` + itoa(c) + `"}`)
	}
	return i, nil
}

func itoa(n int) string {
	return string(fasthttp.AppendUint(nil, n))
}

// SetReady switches /ready; main sets it after start-up and clears it first
// thing on shutdown so load balancers drain the edge.
func (i *Internal) SetReady(ready bool) { i.ready.Store(ready) }

// Server returns the internal listener's server with the given limits.
func (i *Internal) Server(l Limits) *Server {
	return newServer("clickedge-internal", i.HandleRequest, l, 1<<20, true, i.log, i.rejected)
}

// HandleRequest is the fasthttp.RequestHandler of the internal listener.
func (i *Internal) HandleRequest(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case bytes.Equal(path, []byte("/health")):
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok\n")
	case bytes.Equal(path, []byte("/ready")):
		i.serveReady(ctx)
	case bytes.Equal(path, []byte("/metrics")):
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		w := ctx.Response.BodyWriter()
		metrics.WriteProcessMetrics(w)
		i.metrics.WritePrometheus(w)
		for _, m := range i.cfg.Metrics {
			m(w)
		}
	case bytes.HasPrefix(path, []byte("/debug/pprof/")):
		pprofhandler.PprofHandler(ctx)
	case bytes.HasPrefix(path, []byte("/api/v1/")) && !i.cfg.NoAPI:
		i.serveAdmin(ctx)
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("not found; see /health, /ready, /metrics, /debug/pprof/, /api/v1/\n")
	}
}

// serveReady answers from atomics kept fresh by background loops; no I/O.
// Readiness does not follow Redis: while Redis is away the edge still serves
// cached links, and pulling every edge out of the load balancer would turn a
// degraded service into an outage.
func (i *Internal) serveReady(ctx *fasthttp.RequestCtx) {
	ready := i.ready.Load() && i.store.Reached()
	redis := "down"
	if i.store.Up() {
		redis = "up"
	}
	ctx.SetContentType("application/json")
	if !ready {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	ctx.SetBodyString(`{"ready":` + boolStr(ready) + `,"redis":"` + redis + `"}` + "\n")
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
