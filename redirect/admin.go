package redirect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/rollup"
)

// adminTimeout bounds one admin API call's Redis work.
const adminTimeout = 2 * time.Second

// apiError is an admin API failure: an HTTP status and a message for
// {"error": "..."}.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// serveAdmin routes /api/v1/ with a switch on the path segments:
//
//	GET        /api/v1/programs
//	PUT|GET    /api/v1/programs/{program}
//	PUT|GET    /api/v1/partners/{partner}
//	PUT|GET    /api/v1/programs/{program}/ads/{ad}
//	PUT|GET    /api/v1/programs/{program}/partners/{partner}
//	POST       /api/v1/links
//	GET        /api/v1/links?program={program}
//	GET|DELETE /api/v1/links/{code}
//	GET        /api/v1/programs/{program}/partners/{partner}/usage
//	GET        /api/v1/stats?program=&partner=&from=&to=&by=
//	POST|GET   /api/v1/partners/{partner}/tokens
//	DELETE     /api/v1/partners/{partner}/tokens/{id}
//
// Every call is authenticated (the admin token or a partner token) and
// authorized by authorize; every write is audit-logged with who made it.
func (i *Internal) serveAdmin(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	method := string(ctx.Method())
	var (
		status = fasthttp.StatusOK
		out    any
	)
	p, err := i.authenticate(c, ctx)
	seg := strings.Split(strings.TrimSuffix(string(ctx.Path()[len("/api/v1/"):]), "/"), "/")
	rt := route{method: method, pattern: patternOf(seg)}
	if err == nil && rt.pattern != "" {
		err = authorize(p, rt, ownerPending)
	}
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.code == fasthttp.StatusUnauthorized {
			ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="clickedge"`)
		}
		i.reply(ctx, err, nil)
		i.audit(ctx, p, method)
		return
	}
	switch {
	case len(seg) == 1 && seg[0] == "programs":
		if method != fasthttp.MethodGet {
			err = methodNotAllowed(ctx, "GET")
			break
		}
		var ids []string
		if ids, err = i.store.ListPrograms(c); err == nil {
			if ids == nil {
				ids = []string{}
			}
			out = map[string]any{"programs": ids}
		}
	case len(seg) == 2 && seg[0] == "programs":
		switch method {
		case fasthttp.MethodPut:
			var p linkcache.Program
			if err = decodeBody(ctx, &p); err == nil {
				err = i.store.PutProgram(c, seg[1], &p)
				out = withID("id", seg[1], p)
			}
		case fasthttp.MethodGet:
			var p *linkcache.Program
			p, err = i.store.GetProgram(c, seg[1])
			out = withID("id", seg[1], p)
		default:
			err = methodNotAllowed(ctx, "GET, PUT")
		}
	case len(seg) == 2 && seg[0] == "partners":
		switch method {
		case fasthttp.MethodPut:
			var p linkcache.Partner
			if err = decodeBody(ctx, &p); err == nil {
				err = i.store.PutPartner(c, seg[1], &p)
				out = withID("id", seg[1], p)
			}
		case fasthttp.MethodGet:
			var p *linkcache.Partner
			p, err = i.store.GetPartner(c, seg[1])
			out = withID("id", seg[1], p)
		default:
			err = methodNotAllowed(ctx, "GET, PUT")
		}
	case len(seg) == 4 && seg[0] == "programs" && seg[2] == "ads":
		switch method {
		case fasthttp.MethodPut:
			var a linkcache.Ad
			if err = decodeBody(ctx, &a); err == nil {
				err = i.store.PutAd(c, seg[1], seg[3], &a)
				out = withID("id", seg[3], a, "program", seg[1])
			}
		case fasthttp.MethodGet:
			var a *linkcache.Ad
			a, err = i.store.GetAd(c, seg[1], seg[3])
			out = withID("id", seg[3], a, "program", seg[1])
		default:
			err = methodNotAllowed(ctx, "GET, PUT")
		}
	case len(seg) == 4 && seg[0] == "programs" && seg[2] == "partners":
		switch method {
		case fasthttp.MethodPut:
			var p linkcache.Partnership
			if err = decodeBody(ctx, &p); err == nil {
				err = i.store.PutPartnership(c, seg[1], seg[3], &p)
				out = withID("program", seg[1], p, "partner", seg[3])
			}
		case fasthttp.MethodGet:
			var p *linkcache.Partnership
			p, err = i.store.GetPartnership(c, seg[1], seg[3])
			out = withID("program", seg[1], p, "partner", seg[3])
		default:
			err = methodNotAllowed(ctx, "GET, PUT")
		}
	case len(seg) == 5 && seg[0] == "programs" && seg[2] == "partners" && seg[4] == "usage":
		if method != fasthttp.MethodGet {
			err = methodNotAllowed(ctx, "GET")
		} else if err = checkIDs("program", seg[1], "partner", seg[3]); err == nil {
			if err = authorize(p, rt, seg[3]); err == nil {
				out, err = i.usage.Usage(c, seg[1], seg[3], time.Now())
			}
		}
	case len(seg) == 1 && seg[0] == "stats":
		if method != fasthttp.MethodGet {
			err = methodNotAllowed(ctx, "GET")
		} else {
			out, err = i.stats(c, ctx.QueryArgs(), p, rt)
		}
	case len(seg) == 1 && seg[0] == "links":
		switch method {
		case fasthttp.MethodPost:
			var l linkcache.Link
			if err = decodeBody(ctx, &l); err == nil {
				if l.Level != "" || l.Created != 0 {
					err = errorf(fasthttp.StatusBadRequest, "level and created are set by the server; omit them")
				} else if err = authorize(p, rt, l.Partner); err != nil {
				} else if err = i.store.CreateLink(c, &l); err == nil {
					status = fasthttp.StatusCreated
					out = i.linkView(&l)
				}
			}
		case fasthttp.MethodGet:
			program := string(ctx.QueryArgs().Peek("program"))
			if err = linkcache.CheckID("program", program); err == nil {
				var codes []string
				if p.admin {
					codes, err = i.store.ListLinks(c, program)
				} else {
					codes, err = i.store.PartnerLinks(c, program, p.partner)
				}
				if codes == nil {
					codes = []string{}
				}
				out = map[string]any{"program": program, "codes": codes}
			}
		default:
			err = methodNotAllowed(ctx, "GET, POST")
		}
	case len(seg) == 2 && seg[0] == "links":
		switch method {
		case fasthttp.MethodGet:
			var l *linkcache.Link
			if l, err = i.store.GetLink(c, seg[1]); err == nil {
				if err = authorize(p, rt, l.Partner); err == nil {
					out = i.linkView(l)
				}
			}
		case fasthttp.MethodDelete:
			var l *linkcache.Link
			if l, err = i.store.GetLink(c, seg[1]); err == nil {
				if err = authorize(p, rt, l.Partner); err == nil {
					if err = i.store.DeleteLink(c, seg[1]); err == nil {
						status = fasthttp.StatusNoContent
					}
				}
			}
		default:
			err = methodNotAllowed(ctx, "GET, DELETE")
		}
	case rt.pattern == "/partners/{partner}/tokens" || rt.pattern == "/partners/{partner}/tokens/{id}":
		status, out, err = i.serveTokens(c, ctx, seg)
	default:
		err = errorf(fasthttp.StatusNotFound, "no such route: %s %s", method, truncatePath(ctx.Path()))
	}
	if err == nil {
		ctx.SetStatusCode(status)
	}
	i.reply(ctx, err, out)
	i.audit(ctx, p, method)
}

// audit logs every write (any method but GET and HEAD), allowed or not: who
// (admin, partner:<id>/token:<id> or anonymous), the method, the path and the
// status answered; the log entry's timestamp says when.
func (i *Internal) audit(ctx *fasthttp.RequestCtx, p principal, method string) {
	if method == fasthttp.MethodGet || method == fasthttp.MethodHead {
		return
	}
	i.log.Info("api write",
		zap.Stringer("who", p),
		zap.String("method", method),
		zap.String("path", truncatePath(ctx.Path())),
		zap.Int("status", ctx.Response.StatusCode()))
}

// stats answers GET /api/v1/stats. A partner token's query is limited to its
// own partner: partner= defaults to it, and any other is refused.
func (i *Internal) stats(c context.Context, args *fasthttp.Args, p principal, rt route) (any, error) {
	q := rollup.StatsQuery{
		Program: string(args.Peek("program")),
		Partner: string(args.Peek("partner")),
		From:    string(args.Peek("from")),
		To:      string(args.Peek("to")),
	}
	if !p.admin && q.Partner == "" {
		q.Partner = p.partner
	}
	if err := authorize(p, rt, q.Partner); err != nil {
		return nil, err
	}
	if err := linkcache.CheckID("program", q.Program); err != nil {
		return nil, err
	}
	if q.Partner != "" {
		if err := linkcache.CheckID("partner", q.Partner); err != nil {
			return nil, err
		}
	}
	by, err := rollup.ParseBy(string(args.Peek("by")))
	if err != nil {
		return nil, errorf(fasthttp.StatusBadRequest, "by: %v", err)
	}
	q.By = by
	return i.usage.Stats(c, q)
}

func checkIDs(kv ...string) error {
	for j := 0; j+1 < len(kv); j += 2 {
		if err := linkcache.CheckID(kv[j], kv[j+1]); err != nil {
			return err
		}
	}
	return nil
}

// linkView is a link as the admin API shows it, with its public short URL.
func (i *Internal) linkView(l *linkcache.Link) map[string]any {
	m := map[string]any{
		"code":    l.Code,
		"url":     i.cfg.PublicURL + "/" + l.Code,
		"level":   l.Level,
		"program": l.Program,
		"partner": l.Partner,
	}
	if l.Ad != "" {
		m["ad"] = l.Ad
	}
	if l.ASIN != "" {
		m["asin"] = l.ASIN
	}
	if l.Created != 0 {
		m["created"] = time.UnixMilli(l.Created).UTC().Format(time.RFC3339)
	}
	return m
}

// withID returns v as a JSON object with identifying fields added in front.
func withID(kv ...any) any {
	// kv is key, value, record[, key, value]...
	m := map[string]any{}
	b, _ := json.Marshal(kv[2])
	_ = json.Unmarshal(b, &m)
	if m == nil { // a nil record: the call failed and the error is answered
		m = map[string]any{}
	}
	m[kv[0].(string)] = kv[1]
	for j := 3; j+1 < len(kv); j += 2 {
		m[kv[j].(string)] = kv[j+1]
	}
	return m
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) error {
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
	return errorf(fasthttp.StatusMethodNotAllowed, "method %s not allowed; use %s", ctx.Method(), allow)
}

func truncatePath(p []byte) string {
	if len(p) > 100 {
		p = p[:100]
	}
	return strings.ToValidUTF8(string(p), "?")
}

// decodeBody decodes exactly one JSON object into v, refusing unknown fields
// and trailing data.
func decodeBody(ctx *fasthttp.RequestCtx, v any) error {
	body := ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(fasthttp.StatusBadRequest, "request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var fe *linkcache.FieldError
		switch {
		case errors.As(err, &fe):
			return fe
		case errors.As(err, &se):
			return errorf(fasthttp.StatusBadRequest, "cannot parse JSON body at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				return errorf(fasthttp.StatusBadRequest, "want a JSON object, got %s", te.Value)
			}
			return errorf(fasthttp.StatusBadRequest, "%s: want %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(fasthttp.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return errorf(fasthttp.StatusBadRequest, "cannot parse JSON body: %v", err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(fasthttp.StatusBadRequest, "cannot parse JSON body: trailing data after the object")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice":
		return "a JSON value"
	}
	return "a number"
}

// reply writes out as JSON, or err as {"error": "..."} with its status.
func (i *Internal) reply(ctx *fasthttp.RequestCtx, err error, out any) {
	ctx.SetContentType("application/json")
	if err != nil {
		code := fasthttp.StatusInternalServerError
		var ae *apiError
		var fe *linkcache.FieldError
		switch {
		case errors.As(err, &ae):
			code = ae.code
		case errors.As(err, &fe), errors.Is(err, rollup.ErrQuery):
			code = fasthttp.StatusBadRequest
		case errors.Is(err, linkcache.ErrNotFound):
			code = fasthttp.StatusNotFound
			err = errors.New("not found: " + truncatePath(ctx.Path()))
		case errors.Is(err, linkcache.ErrExists):
			code = fasthttp.StatusConflict
			err = errors.New("code: already taken; choose another or omit it to generate one")
		case errors.Is(err, linkcache.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			code = fasthttp.StatusServiceUnavailable
			err = errors.New("redis is unavailable; nothing was written, try again")
		default:
			i.log.Error("admin API call failed", zap.ByteString("path", ctx.Path()), zap.Error(err))
			err = errors.New("internal error; see the edge's log")
		}
		ctx.SetStatusCode(code)
		out = map[string]string{"error": err.Error()}
	}
	if c := i.admin[ctx.Response.StatusCode()]; c != nil {
		c.Inc()
	}
	if ctx.Response.StatusCode() == fasthttp.StatusNoContent {
		ctx.Response.ResetBody()
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		panic("BUG: cannot encode admin reply: " + err.Error())
	}
	ctx.SetBody(buf.Bytes())
}
