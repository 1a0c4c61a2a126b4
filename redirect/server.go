package redirect

import (
	"errors"
	"net"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// Limits bound what one connection or request may take from a listener.
type Limits struct {
	// ReadTimeout bounds reading a whole request, headers and body. Default: 5s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. Default: 5s.
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection's wait for the next request.
	// Default: 60s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers. Default: 8 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body. Default: 4 KiB on the public listener
	// (links carry no body), 1 MiB on the internal one.
	MaxBodyBytes int
	// MaxConcurrency bounds concurrent connections; more are answered 503 and
	// counted. Default: 65536.
	MaxConcurrency int
	// EagerReads turns late reads off: every connection reads its next
	// request as soon as it has answered, as fasthttp does. Late reads (on
	// Unix, with GOMAXPROCS=1) wait for the network poller to report the
	// next request before reading it, saving an empty read(2) per request
	// (lateread.go).
	EagerReads bool
}

func (l *Limits) withDefaults(body int) Limits {
	out := *l
	if out.ReadTimeout == 0 {
		out.ReadTimeout = 5 * time.Second
	}
	if out.WriteTimeout == 0 {
		out.WriteTimeout = 5 * time.Second
	}
	if out.IdleTimeout == 0 {
		out.IdleTimeout = 60 * time.Second
	}
	if out.MaxHeaderBytes == 0 {
		out.MaxHeaderBytes = 8 << 10
	}
	if out.MaxBodyBytes == 0 {
		out.MaxBodyBytes = body
	}
	if out.MaxConcurrency == 0 {
		out.MaxConcurrency = 65536
	}
	return out
}

// rejectReasons label clickedge_http_rejected_total.
var rejectReasons = []string{"header_too_large", "body_too_large", "timeout", "malformed"}

// newServer builds a Server with the limits set explicitly and every
// rejected request counted under rejected[reason].
// Rejections are answered in JSON when jsonErrors is set (the admin API's
// format), else in plain text.
func newServer(name string, handler fasthttp.RequestHandler, l Limits, body int, jsonErrors bool, log *zap.Logger, rejected map[string]*metrics.Counter) *Server {
	l = l.withDefaults(body)
	return newDeadlineServer(&fasthttp.Server{
		Handler:                      handler,
		Name:                         name,
		ReadBufferSize:               l.MaxHeaderBytes,
		MaxRequestBodySize:           l.MaxBodyBytes,
		Concurrency:                  l.MaxConcurrency,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		TCPKeepalive:                 true,
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true,
		Logger:                       zapPrintf{log},
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			reason, code := "malformed", fasthttp.StatusBadRequest
			var small *fasthttp.ErrSmallBuffer
			var ne net.Error
			switch {
			case errors.As(err, &small):
				reason, code = "header_too_large", fasthttp.StatusRequestHeaderFieldsTooLarge
			case errors.Is(err, fasthttp.ErrBodyTooLarge):
				reason, code = "body_too_large", fasthttp.StatusRequestEntityTooLarge
			case errors.As(err, &ne) && ne.Timeout():
				reason, code = "timeout", fasthttp.StatusRequestTimeout
			}
			rejected[reason].Inc()
			ctx.SetStatusCode(code)
			if jsonErrors {
				ctx.SetContentType("application/json")
				ctx.SetBodyString(`{"error":"` + reason + `: ` + fasthttp.StatusMessage(code) + `"}` + "\n")
				return
			}
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString(fasthttp.StatusMessage(code) + "\n")
		},
	}, l)
}

// zapPrintf adapts zap to fasthttp's Logger at debug level: fasthttp logs
// per-connection errors that are already counted.
type zapPrintf struct{ l *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) {
	z.l.Sugar().Debugf(format, args...)
}

// Server returns the public listener's server for h with the given limits.
func (h *Handler) Server(l Limits) *Server {
	s := newServer("clickedge", h.HandleRequest, l, 4<<10, false, h.log, h.rejected)
	s.lateMissed = h.metrics.GetOrCreateCounter(`clickedge_http_late_reads_missed_total{listener="public"}`)
	h.metrics.NewGauge(`clickedge_http_rejected_connections_total{listener="public"}`, func() float64 {
		return float64(s.GetRejectedConnectionsCount())
	})
	h.metrics.NewGauge(`clickedge_http_open_connections{listener="public"}`, func() float64 {
		return float64(s.GetOpenConnectionsCount())
	})
	return s
}
