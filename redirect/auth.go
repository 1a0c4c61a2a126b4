package redirect

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickedge/clickedge/linkcache"
)

// principal is who calls the admin API: the admin (the -admin.token) or a
// partner through one of its tokens.
type principal struct {
	admin   bool
	partner string // the partner a partner token acts for
	token   string // that token's ID
}

// String is the principal as the audit log records it.
func (p principal) String() string {
	switch {
	case p.admin:
		return "admin"
	case p.partner != "":
		return "partner:" + p.partner + "/token:" + p.token
	}
	return "anonymous"
}

// route is an admin API route: a method and a path pattern relative to
// /api/v1, with {placeholders} for IDs.
type route struct {
	method, pattern string
}

// patternOf returns the pattern of the path segments after /api/v1/, or ""
// for a path no route has.
func patternOf(seg []string) string {
	n := len(seg)
	switch {
	case n == 1 && seg[0] == "programs":
		return "/programs"
	case n == 2 && seg[0] == "programs":
		return "/programs/{program}"
	case n == 2 && seg[0] == "partners":
		return "/partners/{partner}"
	case n == 4 && seg[0] == "programs" && seg[2] == "ads":
		return "/programs/{program}/ads/{ad}"
	case n == 4 && seg[0] == "programs" && seg[2] == "partners":
		return "/programs/{program}/partners/{partner}"
	case n == 5 && seg[0] == "programs" && seg[2] == "partners" && seg[4] == "usage":
		return "/programs/{program}/partners/{partner}/usage"
	case n == 1 && seg[0] == "stats":
		return "/stats"
	case n == 1 && seg[0] == "links":
		return "/links"
	case n == 2 && seg[0] == "links":
		return "/links/{code}"
	case n == 3 && seg[0] == "partners" && seg[2] == "tokens":
		return "/partners/{partner}/tokens"
	case n == 4 && seg[0] == "partners" && seg[2] == "tokens":
		return "/partners/{partner}/tokens/{id}"
	}
	return ""
}

// partnerRoutes are the routes a partner token may call, each only for
// resources of its own partner; every other route is the admin's alone.
var partnerRoutes = map[route]bool{
	{fasthttp.MethodPost, "/links"}:                                      true, // body partner must be its own
	{fasthttp.MethodGet, "/links"}:                                       true, // lists its own links only
	{fasthttp.MethodGet, "/links/{code}"}:                                true, // its own link
	{fasthttp.MethodDelete, "/links/{code}"}:                             true, // its own link
	{fasthttp.MethodGet, "/programs/{program}/partners/{partner}/usage"}: true, // partner in the path
	{fasthttp.MethodGet, "/stats"}:                                       true, // partner= forced to its own
}

// ownerPending is the owner passed to authorize before the resource is read:
// routes a partner may call pass, and the handler asks again with the owner.
const ownerPending = "\x00pending"

// authorize is the one place that decides who may do what. owner is the
// partner the resource belongs to (a link's partner, the partner in a usage
// path, the partner of a stats query), or ownerPending. The admin may do
// everything; a partner token only the partnerRoutes, and only for itself.
func authorize(p principal, r route, owner string) error {
	if p.admin {
		return nil
	}
	if p.partner == "" {
		return errorf(fasthttp.StatusUnauthorized, "missing or wrong bearer token")
	}
	if !partnerRoutes[r] {
		return errorf(fasthttp.StatusForbidden, "forbidden: a partner token cannot %s %s; it may create, list, read and delete its own links and read its own usage and stats", r.method, "/api/v1"+r.pattern)
	}
	if owner != ownerPending && owner != p.partner {
		return errorf(fasthttp.StatusForbidden, "forbidden: this token acts for partner %q and the resource belongs to partner %q", p.partner, owner)
	}
	return nil
}

// authenticate finds the principal of the request's bearer token: the admin
// token (compared in constant time) or a live partner token, looked up by
// its SHA-256.
func (i *Internal) authenticate(c context.Context, ctx *fasthttp.RequestCtx) (principal, error) {
	if len(i.token) == 0 {
		return principal{}, errorf(fasthttp.StatusUnauthorized, "admin API disabled: start the edge with -admin.token")
	}
	auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	const prefix = "Bearer "
	if len(auth) <= len(prefix) || !strings.EqualFold(string(auth[:len(prefix)]), prefix) {
		return principal{}, errorf(fasthttp.StatusUnauthorized, "missing bearer token; send Authorization: Bearer <token>")
	}
	tok := auth[len(prefix):]
	if subtle.ConstantTimeCompare(tok, i.token) == 1 {
		return principal{admin: true}, nil
	}
	if !strings.HasPrefix(string(tok), linkcache.TokenPrefix) {
		return principal{}, errorf(fasthttp.StatusUnauthorized, "wrong bearer token")
	}
	t, err := i.store.TokenByHash(c, linkcache.HashToken(string(tok)))
	if errors.Is(err, linkcache.ErrNotFound) {
		return principal{}, errorf(fasthttp.StatusUnauthorized, "unknown or revoked partner token")
	}
	if err != nil {
		return principal{}, err
	}
	return principal{partner: t.Partner, token: t.ID}, nil
}
