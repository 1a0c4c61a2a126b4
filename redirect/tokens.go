package redirect

import (
	"bytes"
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickedge/clickedge/linkcache"
)

// serveTokens answers the partner token routes (the admin's alone, see
// authorize):
//
//	POST   /api/v1/partners/{partner}/tokens       {"name"?} → 201 with the secret, shown once
//	GET    /api/v1/partners/{partner}/tokens       the partner's tokens, without secrets
//	DELETE /api/v1/partners/{partner}/tokens/{id}  revokes at once → 204
func (i *Internal) serveTokens(c context.Context, ctx *fasthttp.RequestCtx, seg []string) (int, any, error) {
	partner := seg[1]
	if err := linkcache.CheckID("partner", partner); err != nil {
		return 0, nil, err
	}
	method := string(ctx.Method())
	if len(seg) == 4 {
		if method != fasthttp.MethodDelete {
			return 0, nil, methodNotAllowed(ctx, "DELETE")
		}
		if err := i.store.DeleteToken(c, partner, seg[3]); err != nil {
			return 0, nil, err
		}
		return fasthttp.StatusNoContent, nil, nil
	}
	switch method {
	case fasthttp.MethodPost:
		var body struct {
			Name string `json:"name"`
		}
		if len(bytes.TrimSpace(ctx.PostBody())) > 0 {
			if err := decodeBody(ctx, &body); err != nil {
				return 0, nil, err
			}
		}
		secret, id, hash := linkcache.NewTokenSecret()
		t := &linkcache.Token{ID: id, Partner: partner, Name: body.Name, Hash: hash, Created: time.Now().UnixMilli()}
		if err := i.store.PutToken(c, t); err != nil {
			return 0, nil, err
		}
		v := tokenView(t)
		v["token"] = secret
		v["note"] = "the token is shown only now; store it, it cannot be read back"
		return fasthttp.StatusCreated, v, nil
	case fasthttp.MethodGet:
		if _, err := i.store.GetPartner(c, partner); err != nil {
			return 0, nil, err
		}
		ts, err := i.store.ListTokens(c, partner)
		if err != nil {
			return 0, nil, err
		}
		list := make([]map[string]any, 0, len(ts))
		for k := range ts {
			list = append(list, tokenView(&ts[k]))
		}
		return fasthttp.StatusOK, map[string]any{"partner": partner, "tokens": list}, nil
	}
	return 0, nil, methodNotAllowed(ctx, "GET, POST")
}

// tokenView is a token as the API shows it: never its hash or secret.
func tokenView(t *linkcache.Token) map[string]any {
	m := map[string]any{
		"id":      t.ID,
		"partner": t.Partner,
		"created": time.UnixMilli(t.Created).UTC().Format(time.RFC3339),
	}
	if t.Name != "" {
		m["name"] = t.Name
	}
	return m
}
