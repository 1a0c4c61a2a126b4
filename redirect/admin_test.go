package redirect

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
)

func TestAdminAuth(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	for _, tok := range []string{"", "wrong", testToken + "x", strings.ToUpper(testToken)} {
		code, out := e.apiToken("PUT", "/api/v1/partners/p", `{"name":"P"}`, tok)
		if code != 401 || out["error"] == nil {
			t.Fatalf("unexpected answer with token %q; got %d %v; want 401 with an error", tok, code, out)
		}
	}
	if _, err := e.store.GetPartner(context.Background(), "p"); err == nil {
		t.Fatalf("unexpected partner written without a token")
	}
	// Probes need no token; the admin API always does.
	for _, p := range []string{"/health", "/ready", "/metrics"} {
		resp, err := e.client.Get(e.admin + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("unexpected answer to %s; got %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
}

func TestAdminDisabledWithoutToken(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.internal.token = nil
	code, out := e.api("GET", "/api/v1/partners/p", "")
	if code != 401 || !strings.Contains(out["error"].(string), "-admin.token") {
		t.Fatalf("unexpected answer with the admin API disabled; got %d %v", code, out)
	}
}

// TestAdminValidation sends bad bodies and checks each gets a 4xx naming what
// is wrong, and that nothing was written.
func TestAdminValidation(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	before := e.keys()
	f := func(method, path, body string, wantCode int, wantInError string) {
		t.Helper()
		code, out := e.api(method, path, body)
		msg, _ := out["error"].(string)
		if code != wantCode || !strings.Contains(msg, wantInError) {
			t.Fatalf("unexpected answer to %s %s %s; got %d %q; want %d with %q", method, path, body, code, msg, wantCode, wantInError)
		}
	}
	f("PUT", "/api/v1/programs/x", ``, 400, "empty")
	f("PUT", "/api/v1/programs/x", `{`, 400, "cannot parse JSON")
	f("PUT", "/api/v1/programs/x", `[]`, 400, "want a JSON object")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","asin":"B000000001"} {}`, 400, "trailing data")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","asin":"B000000001","color":"red"}`, 400, `unknown field "color"`)
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"JP","asin":"B000000001"}`, 400, "marketplace")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","asin":"B00000001"}`, 400, "asin")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US"}`, 400, "asin")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","store_url":"https://evil.com/stores/x"}`, 400, "store_url")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","store_url":"https://www.amazon.co.uk/stores/x"}`, 400, "store_url")
	f("PUT", "/api/v1/programs/x", `{"name":"X\r\nY","marketplace":"US","asin":"B000000001"}`, 400, "name")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","asin":"B000000001","passthrough":"yes"}`, 400, "passthrough")
	f("PUT", "/api/v1/programs/x", `{"name":"X","marketplace":"US","asin":"B000000001","timezone":"Nowhere/City"}`, 400, "timezone")
	f("PUT", "/api/v1/programs/us", `{"name":"X","marketplace":"DE","asin":"B000000001"}`, 400, "marketplace")
	f("PUT", "/api/v1/programs/bad%20id", `{"name":"X","marketplace":"US","asin":"B000000001"}`, 400, "program")
	f("PUT", "/api/v1/programs/"+strings.Repeat("x", 65), `{"name":"X","marketplace":"US","asin":"B000000001"}`, 400, "program")
	f("PUT", "/api/v1/partners/x", `{"name":""}`, 400, "name")
	f("PUT", "/api/v1/partners/x", `{"name":"a\u0000b"}`, 400, "name")
	f("PUT", "/api/v1/programs/us/ads/0", `{"name":"A","asin":"B000000001"}`, 400, "ad")
	f("PUT", "/api/v1/programs/nope/ads/a", `{"name":"A","asin":"B000000001"}`, 400, "program")
	f("PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{"tag":"a-20","maas":"m"}}`, 400, "not both")
	f("PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{}}`, 400, "attribution")
	f("PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{"tag":"a-20"},"contract":"pay"}`, 400, "contract")
	f("PUT", "/api/v1/programs/us/partners/alice", `{"attribution":{"tag":"a-20","evil":"x"}}`, 400, `unknown field "evil"`)
	contract := func(c string) string { return `{"attribution":{"tag":"a-20"},"contract":` + c + `}` }
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"default_payout":"0.10"}`), 400, "contract.currency: required")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":0.1}`), 400, "contract.default_payout: want money as a decimal string")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"-1"}`), 400, "contract.default_payout")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","payout_groups":[{"name":"g","match":{"device":["mobile","phone"]},"payout":"1"}]}`), 400, `contract.payout_groups[0].match.device[1]: unknown device "phone"`)
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","restrictions":{"country":["usa"]}}`), 400, "contract.restrictions.country[0]")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","unique_window":"forever"}`), 400, "contract.unique_window")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","limits":[{"metric":"clicks","max":1.5,"period":"day"}]}`), 400, "contract.limits[0].max")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","limits":[{"metric":"payout","max":"5","period":"fortnight"}]}`), 400, "contract.limits[0].period")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","limits":[{"metric":"visits","max":5,"period":"day"}]}`), 400, "contract.limits[0].metric")
	f("PUT", "/api/v1/programs/us/partners/alice", contract(`{"currency":"USD","default_payout":"0.1","bonus":"1"}`), 400, `contract: unknown field "bonus"`)
	f("PUT", "/api/v1/programs/us/partners/nobody", `{"attribution":{"tag":"a-20"}}`, 400, "partner")
	f("POST", "/api/v1/links", `{"program":"us","partner":"alice","ad":"spring","asin":"B000000001"}`, 400, "asin")
	f("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"has space"}`, 400, "code")
	f("POST", "/api/v1/links", `{"program":"us","partner":"alice","level":"ad"}`, 400, "level")
	f("POST", "/api/v1/links", `{"program":"us","partner":"nobody"}`, 400, "partner")
	f("POST", "/api/v1/links", `{"program":"us","partner":"alice","ad":"nope"}`, 400, "ad")
	f("POST", "/api/v1/links", `{"program":"de","partner":"bob"}`, 400, "partner")
	f("GET", "/api/v1/links/nope", ``, 404, "not found")
	f("DELETE", "/api/v1/links/nope", ``, 404, "not found")
	f("GET", "/api/v1/programs/nope", ``, 404, "not found")
	f("GET", "/api/v1/links", ``, 400, "program")
	f("PATCH", "/api/v1/programs/us", `{}`, 405, "PATCH")
	f("GET", "/api/v1/nothing", ``, 404, "no such route")
	// An oversized body is refused from its Content-Length, before it is
	// read; send only the head, so the early answer cannot race the upload.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.admin, "http://"))
	if err != nil {
		t.Fatalf("cannot connect: %v", err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v1/partners/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", testToken, 70<<10)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 413 {
		t.Fatalf("unexpected answer to an oversized body; got %v, %v; want 413", resp, err)
	}
	if after := e.keys(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("unexpected keys after refused writes; got %q; want %q", after, before)
	}
}

func (e *testEdge) keys() []string {
	e.t.Helper()
	keys, err := e.store.Client().Keys(context.Background(), "*").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func TestAdminLinks(t *testing.T) {
	e := newTestEdge(t, nil, Config{})
	e.seedAPI()
	out := e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"bob","ad":"spring","code":"bob-1"}`, 201)
	if out["code"] != "bob-1" || out["url"] != "https://go.example.com/bob-1" || out["level"] != "ad" {
		t.Fatalf("unexpected create answer %v", out)
	}
	if code, out := e.api("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"bob-1"}`); code != 409 {
		t.Fatalf("unexpected answer for a taken code; got %d %v; want 409", code, out)
	}
	got := e.mustAPI("GET", "/api/v1/links/bob-1", "", 200)
	if got["program"] != "us" || got["partner"] != "bob" || got["ad"] != "spring" || got["url"] != "https://go.example.com/bob-1" {
		t.Fatalf("unexpected link %v", got)
	}
	list := e.mustAPI("GET", "/api/v1/links?program=us", "", 200)
	if codes, _ := list["codes"].([]any); len(codes) != 1 || codes[0] != "bob-1" {
		t.Fatalf("unexpected list %v", list)
	}
	progs := e.mustAPI("GET", "/api/v1/programs", "", 200)
	if ids, _ := progs["programs"].([]any); len(ids) != 2 || ids[0] != "de" || ids[1] != "us" {
		t.Fatalf("unexpected program list %v; want [de us]", progs)
	}
	if code, out := e.api("POST", "/api/v1/programs", `{}`); code != 405 || out["error"] == nil {
		t.Fatalf("unexpected answer to POST /api/v1/programs; got %d %v; want 405 with an error", code, out)
	}
	prog := e.mustAPI("GET", "/api/v1/programs/us", "", 200)
	if prog["id"] != "us" || prog["marketplace"] != "US" || prog["timezone"] != "UTC" {
		t.Fatalf("unexpected program %v", prog)
	}
	ps := e.mustAPI("GET", "/api/v1/programs/us/partners/alice", "", 200)
	if c, _ := ps["contract"].(map[string]any); c["default_payout"] != "0.10" {
		t.Fatalf("unexpected partnership %v", ps)
	}
	e.mustAPI("DELETE", "/api/v1/links/bob-1", "", 204)
	e.mustAPI("GET", "/api/v1/links/bob-1", "", 404)
}
