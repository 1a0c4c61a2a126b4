package linkcache

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const exampleContract = `{"currency": "USD", "default_payout": "0.10",
 "payout_groups": [{"name": "us-mobile-social",
    "match": {"country": ["US"], "device": ["mobile"], "source": ["social"]},
    "payout": "0.25"}],
 "restrictions": {"source": ["social", "search", "direct", "referral"], "country": ["US"]},
 "unique_window": "30m",
 "limits": [{"metric": "clicks", "max": 100, "period": "day"},
            {"metric": "payout", "max": "50.00", "period": "month"}]}`

func TestParseContractExample(t *testing.T) {
	c, err := ParseContract([]byte(exampleContract))
	if err != nil {
		t.Fatalf("cannot parse the example contract: %v", err)
	}
	if c.Currency != "USD" || c.DefaultPayout != 100_000 || c.UniqueWindow != 30*time.Minute {
		t.Fatalf("unexpected contract head; got %+v", c)
	}
	if len(c.PayoutGroups) != 1 || c.PayoutGroups[0].Payout != 250_000 || c.PayoutGroups[0].Match.Device[0] != "mobile" {
		t.Fatalf("unexpected payout groups; got %+v", c.PayoutGroups)
	}
	want := []Limit{{MetricClicks, 100, PeriodDay}, {MetricPayout, 50_000_000, PeriodMonth}}
	if len(c.Limits) != 2 || c.Limits[0] != want[0] || c.Limits[1] != want[1] {
		t.Fatalf("unexpected limits; got %+v; want %+v", c.Limits, want)
	}
	// The wire form round-trips.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("cannot marshal: %v", err)
	}
	c2, err := ParseContract(b)
	if err != nil {
		t.Fatalf("cannot parse the marshalled contract %s: %v", b, err)
	}
	b2, _ := json.Marshal(c2)
	if string(b) != string(b2) {
		t.Fatalf("unexpected round trip; got %s; want %s", b2, b)
	}
	if !strings.Contains(string(b), `"max":"50.00"`) || !strings.Contains(string(b), `"max":100`) {
		t.Fatalf("unexpected wire form of limits: %s", b)
	}
}

func TestParseContractDefaults(t *testing.T) {
	c, err := ParseContract([]byte(`{"currency":"EUR","default_payout":"0"}`))
	if err != nil {
		t.Fatalf("cannot parse: %v", err)
	}
	if c.UniqueWindow != DefaultUniqueWindow || c.DefaultPayout != 0 || c.Restrictions != nil || len(c.Limits) != 0 {
		t.Fatalf("unexpected defaults; got %+v", c)
	}
	c, err = ParseContract([]byte(`{"currency":"EUR","default_payout":"0","unique_window":"0s"}`))
	if err != nil || c.UniqueWindow != 0 {
		t.Fatalf("unexpected unique_window 0s; got %v, %v", c, err)
	}
}

func TestParseContractErrors(t *testing.T) {
	f := func(body, field, msg string) {
		t.Helper()
		_, err := ParseContract([]byte(body))
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("unexpected error for %s; got %v; want a FieldError", body, err)
		}
		if fe.Field != field || !strings.Contains(fe.Msg, msg) {
			t.Fatalf("unexpected error for %s; got %q: %q; want %q: ...%q...", body, fe.Field, fe.Msg, field, msg)
		}
	}
	f(`[]`, "contract", "JSON object")
	f(`null`, "contract", "JSON object")
	f(`{"currency":"usd","default_payout":"1"}`, "contract.currency", "ISO 4217")
	f(`{"currency":"USD"}`, "contract.default_payout", "required")
	f(`{"currency":"USD","default_payout":"1.1234567"}`, "contract.default_payout", "6 after")
	f(`{"currency":"USD","default_payout":"1e3"}`, "contract.default_payout", "decimal string")
	f(`{"currency":"USD","default_payout":" 1"}`, "contract.default_payout", "decimal string")
	f(`{"currency":"USD","default_payout":"1","payout_groups":{}}`, "contract.payout_groups", "array")
	f(`{"currency":"USD","default_payout":"1","payout_groups":[{"name":"a","payout":"1"}]}`, "contract.payout_groups[0].match", "required")
	f(`{"currency":"USD","default_payout":"1","payout_groups":[{"name":"a","match":{},"payout":"1"},{"name":"a","match":{},"payout":"2"}]}`, "contract.payout_groups[1].name", "duplicate")
	f(`{"currency":"USD","default_payout":"1","payout_groups":[{"name":"a","match":{"color":["red"]},"payout":"1"}]}`, "contract.payout_groups[0].match", `unknown field "color"`)
	f(`{"currency":"USD","default_payout":"1","payout_groups":[{"name":"a","match":{"level":["site"]},"payout":"1"}]}`, "contract.payout_groups[0].match.level[0]", "program, partner, ad")
	f(`{"currency":"USD","default_payout":"1","payout_groups":[{"name":"a","match":{"source":"social"},"payout":"1"}]}`, "contract.payout_groups[0].match.source", "array")
	f(`{"currency":"USD","default_payout":"1","restrictions":{"source":["tv"]}}`, "contract.restrictions.source[0]", "direct, search")
	f(`{"currency":"USD","default_payout":"1","unique_window":"-1m"}`, "contract.unique_window", "duration")
	f(`{"currency":"USD","default_payout":"1","unique_window":"1000h"}`, "contract.unique_window", "720h")
	f(`{"currency":"USD","default_payout":"1","limits":[{"metric":"clicks","max":0,"period":"day"}]}`, "contract.limits[0].max", "from 1")
	f(`{"currency":"USD","default_payout":"1","limits":[{"metric":"clicks","max":"5","period":"day"}]}`, "contract.limits[0].max", "whole number")
	f(`{"currency":"USD","default_payout":"1","limits":[{"metric":"payout","max":5,"period":"day"}]}`, "contract.limits[0].max", "decimal string")
	f(`{"currency":"USD","default_payout":"1","limits":[{"metric":"payout","max":"0","period":"day"}]}`, "contract.limits[0].max", "positive")
	f(`{"currency":"USD","default_payout":"1","limits":[{"metric":"clicks","max":5}]}`, "contract.limits[0].period", "required")
	f(`{"currency":"USD","default_payout":"1","limits":[{"metric":"clicks","max":5,"period":"day"},{"metric":"clicks","max":6,"period":"day"}]}`, "contract.limits[1]", "second clicks limit")
}

func TestMoney(t *testing.T) {
	f := func(s string, micros int64, back string) {
		t.Helper()
		got, err := ParseMoney(s)
		if err != nil || got != micros {
			t.Fatalf("unexpected ParseMoney(%q); got %d, %v; want %d", s, got, err, micros)
		}
		if b := FormatMoney(got); b != back {
			t.Fatalf("unexpected FormatMoney(%d); got %q; want %q", got, b, back)
		}
	}
	f("0", 0, "0.00")
	f("0.1", 100_000, "0.10")
	f("0.25", 250_000, "0.25")
	f("50.00", 50_000_000, "50.00")
	f("12.000001", 12_000_001, "12.000001")
	f("999999999999.999999", 999_999_999_999_999_999, "999999999999.999999")
	for _, bad := range []string{"", ".", "1.", ".5", "-1", "+1", "1,5", "0x10", "1e2", "1234567890123"} {
		if _, err := ParseMoney(bad); err == nil {
			t.Fatalf("unexpected success of ParseMoney(%q)", bad)
		}
	}
}

func TestContractPayoutFirstMatchWins(t *testing.T) {
	c, err := ParseContract([]byte(`{"currency":"USD","default_payout":"0.10","payout_groups":[
		{"name":"us-mobile","match":{"country":["US"],"device":["mobile"]},"payout":"0.30"},
		{"name":"us","match":{"country":["US"]},"payout":"0.20"},
		{"name":"ad","match":{"ad":["spring"],"level":["ad"]},"payout":"0.50"}]}`))
	if err != nil {
		t.Fatalf("cannot parse: %v", err)
	}
	f := func(source, country, device, ad, level string, want int64) {
		t.Helper()
		if got := c.Payout([]byte(source), []byte(country), []byte(device), []byte(ad), []byte(level)); got != want {
			t.Fatalf("unexpected payout of %s/%s/%s/%s/%s; got %d; want %d", source, country, device, ad, level, got, want)
		}
	}
	f("social", "US", "mobile", "", "program", 300_000)
	f("social", "US", "desktop", "spring", "ad", 200_000)
	f("social", "DE", "desktop", "spring", "ad", 500_000)
	f("social", "DE", "desktop", "spring", "partner", 100_000)
	f("social", "", "mobile", "", "program", 100_000)
}
