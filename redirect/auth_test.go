package redirect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clickedge/clickedge/linkcache"
)

// newToken creates a partner token through the API and returns its secret
// and ID.
func (e *testEdge) newToken(partner string) (secret, id string) {
	e.t.Helper()
	out := e.mustAPI("POST", "/api/v1/partners/"+partner+"/tokens", `{"name":"test"}`, 201)
	return out["token"].(string), out["id"].(string)
}

// TestAuthorizationTable calls every API route with the admin token, a token
// of partner alice (whose resources every request concerns), a token of
// partner bob and no token, and checks each answer.
func TestAuthorizationTable(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	alice, _ := e.newToken("alice")
	bob, _ := e.newToken("bob")
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"al"}`, 201)
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"bob","code":"bo"}`, 201)

	const (
		admin = iota
		partner
		other
		none
	)
	tokens := [...]string{admin: testToken, partner: alice, other: bob, none: ""}
	who := [...]string{"admin", "partner", "other partner", "no token"}

	// fresh gives each call its own resource where the call consumes one.
	var n int
	fresh := map[string]func() string{
		"link": func() string {
			n++
			code := fmt.Sprintf("del%d", n)
			e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"`+code+`"}`, 201)
			return code
		},
		"token": func() string {
			_, id := e.newToken("alice")
			return id
		},
	}
	rows := []struct {
		method, path, body string
		fresh              string // replaces {} in path
		want               [4]int
	}{
		{"PUT", "/api/v1/programs/us", `{"name":"US","marketplace":"US","asin":"B000000001","passthrough":true}`, "", [4]int{200, 403, 403, 401}},
		{"GET", "/api/v1/programs/us", ``, "", [4]int{200, 403, 403, 401}},
		{"GET", "/api/v1/programs", ``, "", [4]int{200, 403, 403, 401}},
		{"PUT", "/api/v1/partners/alice", `{"name":"Alice"}`, "", [4]int{200, 403, 403, 401}},
		{"GET", "/api/v1/partners/alice", ``, "", [4]int{200, 403, 403, 401}},
		{"PUT", "/api/v1/programs/us/ads/spring", `{"name":"Spring","asin":"B000000002"}`, "", [4]int{200, 403, 403, 401}},
		{"GET", "/api/v1/programs/us/ads/spring", ``, "", [4]int{200, 403, 403, 401}},
		{"PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{"tag":"alice-20","linkCode":"ll1"}}`, "", [4]int{200, 403, 403, 401}},
		{"GET", "/api/v1/programs/us/partners/alice", ``, "", [4]int{200, 403, 403, 401}},
		{"POST", "/api/v1/links", `{"program":"us","partner":"alice"}`, "", [4]int{201, 201, 403, 401}},
		{"GET", "/api/v1/links?program=us", ``, "", [4]int{200, 200, 200, 401}},
		{"GET", "/api/v1/links/al", ``, "", [4]int{200, 200, 403, 401}},
		{"DELETE", "/api/v1/links/{}", ``, "link", [4]int{204, 204, 403, 401}},
		{"GET", "/api/v1/programs/us/partners/alice/usage", ``, "", [4]int{200, 200, 403, 401}},
		{"GET", "/api/v1/stats?program=us&partner=alice&by=day", ``, "", [4]int{200, 200, 403, 401}},
		{"GET", "/api/v1/stats?program=us", ``, "", [4]int{200, 200, 200, 401}}, // a partner's is limited to itself
		{"POST", "/api/v1/partners/alice/tokens", `{"name":"x"}`, "", [4]int{201, 403, 403, 401}},
		{"GET", "/api/v1/partners/alice/tokens", ``, "", [4]int{200, 403, 403, 401}},
		{"DELETE", "/api/v1/partners/alice/tokens/{}", ``, "token", [4]int{204, 403, 403, 401}},
		// A partner may not mint tokens, not even for itself.
		{"POST", "/api/v1/partners/bob/tokens", ``, "", [4]int{201, 403, 403, 401}},
	}
	for _, r := range rows {
		for p, tok := range tokens {
			path := r.path
			if r.fresh != "" {
				path = strings.Replace(path, "{}", fresh[r.fresh](), 1)
			}
			code, out := e.apiToken(r.method, path, r.body, tok)
			if code != r.want[p] {
				t.Errorf("unexpected status of %s %s as %s; got %d %v; want %d", r.method, path, who[p], code, out, r.want[p])
				continue
			}
			if code >= 400 && (out == nil || out["error"] == nil) {
				t.Errorf("unexpected answer of %s %s as %s; got %v; want a JSON error", r.method, path, who[p], out)
			}
			if code == 403 && !strings.Contains(out["error"].(string), "forbidden") {
				t.Errorf("unexpected 403 message of %s %s as %s; got %q; want it to say forbidden", r.method, path, who[p], out["error"])
			}
		}
	}
}

// TestPartnerTokenScope checks what a partner token sees and may write:
// only its own links in lists, links created only for itself, nothing of
// the other partner's, and that the API names the reason.
func TestPartnerTokenScope(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	alice, _ := e.newToken("alice")
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"a1"}`, 201)
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"bob","code":"b1"}`, 201)
	code, out := e.apiToken("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"a2","ad":"spring"}`, alice)
	if code != 201 || out["partner"] != "alice" {
		t.Fatalf("unexpected answer to a partner creating its own link; got %d %v", code, out)
	}

	list := func(tok string) []string {
		code, out := e.apiToken("GET", "/api/v1/links?program=us", "", tok)
		if code != 200 {
			t.Fatalf("unexpected status listing links; got %d %v", code, out)
		}
		var codes []string
		for _, c := range out["codes"].([]any) {
			codes = append(codes, c.(string))
		}
		sort.Strings(codes)
		return codes
	}
	if got, want := strings.Join(list(alice), ","), "a1,a2"; got != want {
		t.Errorf("unexpected links listed for alice; got %q; want %q", got, want)
	}
	if got, want := strings.Join(list(testToken), ","), "a1,a2,b1"; got != want {
		t.Errorf("unexpected links listed for the admin; got %q; want %q", got, want)
	}
	// Another partner's link: neither created, read nor deleted.
	if code, out := e.apiToken("POST", "/api/v1/links", `{"program":"us","partner":"bob","code":"evil"}`, alice); code != 403 || !strings.Contains(out["error"].(string), `"bob"`) {
		t.Errorf("unexpected answer to alice creating a link for bob; got %d %v; want 403 naming bob", code, out)
	}
	if code, _ := e.apiToken("DELETE", "/api/v1/links/b1", "", alice); code != 403 {
		t.Errorf("unexpected status of alice deleting bob's link; got %d; want 403", code)
	}
	if _, err := e.store.GetLink(context.Background(), "b1"); err != nil {
		t.Errorf("unexpected error reading bob's link after alice's delete; got %v; want it kept", err)
	}
	if _, err := e.store.GetLink(context.Background(), "evil"); err == nil {
		t.Error("unexpected link written by alice for bob")
	}
	// Stats without a partner are limited to the token's partner; usage and
	// stats of another partner are refused.
	if code, out := e.apiToken("GET", "/api/v1/stats?program=us", "", alice); code != 200 || out["partner"] != "alice" {
		t.Errorf("unexpected stats for alice without partner=; got %d %v; want 200 for partner alice", code, out)
	}
	if code, out := e.apiToken("GET", "/api/v1/stats?program=us", "", testToken); code != 200 || out["partner"] != nil {
		t.Errorf("unexpected stats for the admin without partner=; got %d %v; want 200 for every partner", code, out)
	}
	if code, _ := e.apiToken("GET", "/api/v1/stats?program=us&partner=bob", "", alice); code != 403 {
		t.Errorf("unexpected status of alice reading bob's stats; got %d; want 403", code)
	}
	if code, _ := e.apiToken("GET", "/api/v1/programs/us/partners/bob/usage", "", alice); code != 403 {
		t.Errorf("unexpected status of alice reading bob's usage; got %d; want 403", code)
	}
	// Unknown codes stay 404 for a partner: the existence check comes first.
	if code, _ := e.apiToken("GET", "/api/v1/links/nope", "", alice); code != 404 {
		t.Errorf("unexpected status of an unknown link for alice; got %d; want 404", code)
	}
}

// TestPartnerTokenLifecycle checks a token is shown once, stored only
// hashed, listed without secrets, and that revocation takes effect at once.
func TestPartnerTokenLifecycle(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	secret, id := e.newToken("alice")
	if !strings.HasPrefix(secret, linkcache.TokenPrefix) || len(secret) != len(linkcache.TokenPrefix)+64 {
		t.Fatalf("unexpected token %q; want %s and 64 hex digits", secret, linkcache.TokenPrefix)
	}
	// Nothing in Redis holds the secret.
	ctx := context.Background()
	for _, k := range e.keys() {
		var v string
		switch typ := e.store.Client().Type(ctx, k).Val(); typ {
		case "string":
			v = e.store.Client().Get(ctx, k).Val()
		case "hash":
			v = fmt.Sprint(e.store.Client().HGetAll(ctx, k).Val())
		}
		if strings.Contains(v, secret) || strings.Contains(k, secret) {
			t.Fatalf("unexpected secret token in Redis key %q", k)
		}
	}
	out := e.mustAPI("GET", "/api/v1/partners/alice/tokens", "", 200)
	toks := out["tokens"].([]any)
	if len(toks) != 1 || toks[0].(map[string]any)["id"] != id || toks[0].(map[string]any)["token"] != nil || toks[0].(map[string]any)["hash"] != nil {
		t.Fatalf("unexpected token list; got %v; want one token %s without secret or hash", out, id)
	}
	if code, _ := e.apiToken("GET", "/api/v1/links?program=us", "", secret); code != 200 {
		t.Fatalf("unexpected status with a live token; got %d; want 200", code)
	}
	e.mustAPI("DELETE", "/api/v1/partners/alice/tokens/"+id, "", 204)
	if code, out := e.apiToken("GET", "/api/v1/links?program=us", "", secret); code != 401 || !strings.Contains(out["error"].(string), "revoked") {
		t.Fatalf("unexpected answer with a revoked token; got %d %v; want 401", code, out)
	}
	e.mustAPI("DELETE", "/api/v1/partners/alice/tokens/"+id, "", 404)
	e.mustAPI("POST", "/api/v1/partners/nobody/tokens", "", 400)
	e.mustAPI("GET", "/api/v1/partners/nobody/tokens", "", 404)
	// A token of a forged shape, or another token's hash, is refused.
	if code, _ := e.apiToken("GET", "/api/v1/links?program=us", "", linkcache.TokenPrefix+strings.Repeat("0", 64)); code != 401 {
		t.Fatalf("unexpected status with an unknown token; got %d; want 401", code)
	}
}

// TestAuditLog checks every write is logged with who made it, what and the
// status, allowed or not, and reads are not.
func TestAuditLog(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	alice, id := e.newToken("alice")
	core, logs := observer.New(zapcore.InfoLevel)
	e.internal.log = zap.New(core)

	e.mustAPI("PUT", "/api/v1/partners/carol", `{"name":"Carol"}`, 200)
	e.apiToken("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"x1"}`, alice)
	e.apiToken("POST", "/api/v1/links", `{"program":"us","partner":"bob","code":"x2"}`, alice)
	e.apiToken("DELETE", "/api/v1/links/x1", "", "")
	e.mustAPI("GET", "/api/v1/programs/us", "", 200)

	want := []string{
		"admin PUT /api/v1/partners/carol 200",
		"partner:alice/token:" + id + " POST /api/v1/links 201",
		"partner:alice/token:" + id + " POST /api/v1/links 403",
		"anonymous DELETE /api/v1/links/x1 401",
	}
	var got []string
	for _, l := range logs.FilterMessage("api write").All() {
		f := l.ContextMap()
		if l.Time.IsZero() {
			t.Errorf("unexpected audit entry without a time: %v", f)
		}
		got = append(got, fmt.Sprintf("%v %v %v %v", f["who"], f["method"], f["path"], f["status"]))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unexpected audit log;\ngot  %q\nwant %q", got, want)
	}
}
