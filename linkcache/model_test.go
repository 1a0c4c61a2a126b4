package linkcache

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestProgramValidate(t *testing.T) {
	f := func(p Program, wantField string) {
		t.Helper()
		err := p.Validate()
		if wantField == "" {
			if err != nil {
				t.Fatalf("unexpected error for %+v: %v", p, err)
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("unexpected error for %+v; got %v; want a FieldError on %q", p, err, wantField)
		}
		if fe.Field != wantField {
			t.Fatalf("unexpected field; got %q (%v); want %q", fe.Field, err, wantField)
		}
	}
	f(Program{Name: "A", Marketplace: "US", ASIN: "B08N5WRWNW"}, "")
	f(Program{Name: "A", Marketplace: "NL", StoreURL: "https://www.amazon.nl/stores/page/ABC"}, "")
	f(Program{Name: "A", Marketplace: "MX", ASIN: "B08N5WRWNW", Timezone: "America/Mexico_City"}, "")
	f(Program{Name: "", Marketplace: "US", ASIN: "B08N5WRWNW"}, "name")
	f(Program{Name: "A\nB", Marketplace: "US", ASIN: "B08N5WRWNW"}, "name")
	f(Program{Name: "A", Marketplace: "us", ASIN: "B08N5WRWNW"}, "marketplace")
	f(Program{Name: "A", Marketplace: "JP", ASIN: "B08N5WRWNW"}, "marketplace")
	f(Program{Name: "A", Marketplace: "US"}, "asin")
	f(Program{Name: "A", Marketplace: "US", ASIN: "B08N5WRWN"}, "asin")
	f(Program{Name: "A", Marketplace: "US", ASIN: "b08n5wrwnw"}, "asin")
	f(Program{Name: "A", Marketplace: "US", ASIN: "B08N5WRWNW", StoreURL: "https://www.amazon.com/stores/page/X"}, "asin")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://www.amazon.de/stores/page/X"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://evil.example/stores/page/X"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://www.amazon.com.evil.example/stores/page/X"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://user@www.amazon.com/stores/page/X"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://www.amazon.com:444/stores/page/X"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://www.amazon.com/dp/B08N5WRWNW"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "javascript:alert(1)"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", StoreURL: "https://www.amazon.com/stores/a\r\nb"}, "store_url")
	f(Program{Name: "A", Marketplace: "US", ASIN: "B08N5WRWNW", Timezone: "Mars/Olympus"}, "timezone")
}

func TestNormalizeStoreURL(t *testing.T) {
	f := func(raw, host, want string) {
		t.Helper()
		got, err := NormalizeStoreURL(raw, host)
		if err != nil {
			t.Fatalf("unexpected error for %q: %v", raw, err)
		}
		if got != want {
			t.Fatalf("unexpected store URL; got %q; want %q", got, want)
		}
	}
	f("https://www.amazon.com/stores/page/ABC", "www.amazon.com", "https://www.amazon.com/stores/page/ABC")
	f("http://amazon.co.uk/stores/Brand/page/X-1?ref=x#top", "www.amazon.co.uk", "https://www.amazon.co.uk/stores/Brand/page/X-1")
	f("https://WWW.AMAZON.DE/stores/page/%C3%A4", "www.amazon.de", "https://www.amazon.de/stores/page/%C3%A4")
}

func TestPartnershipValidate(t *testing.T) {
	f := func(body string, wantField string) {
		t.Helper()
		var p Partnership
		err := json.Unmarshal([]byte(body), &p) // the contract is validated as it is decoded
		if err == nil {
			err = p.Validate()
		}
		if wantField == "" {
			if err != nil {
				t.Fatalf("unexpected error for %s: %v", body, err)
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != wantField {
			t.Fatalf("unexpected error for %s; got %v; want one on %q", body, err, wantField)
		}
	}
	f(`{"attribution":{"tag":"name-20"}}`, "")
	f(`{"attribution":{"tag":"name-20","linkCode":"ll1","ascsubtag":"post 42"}}`, "")
	f(`{"attribution":{"maas":"maas_adg_api_1","aa_campaignid":"c","aa_adgroupid":"a","aa_creativeid":"r"}}`, "")
	f(`{"attribution":{"tag":"name-20"},"contract":{"currency":"USD","default_payout":"0.10"}}`, "")
	f(`{"attribution":{"tag":"name-20"},"contract":{"default_payout":"0.10"}}`, "contract.currency")
	f(`{"attribution":{"tag":"name-20"},"contract":null}`, "")
	f(`{"attribution":{}}`, "attribution")
	f(`{"attribution":{"tag":"name-20","maas":"m"}}`, "attribution")
	f(`{"attribution":{"aa_campaignid":"c"}}`, "attribution.maas")
	f(`{"attribution":{"linkCode":"ll1"}}`, "attribution.tag")
	f(`{"attribution":{"tag":"a b"}}`, "attribution.tag")
	f(`{"attribution":{"tag":"a\r\nLocation: x"}}`, "attribution.tag")
	f(`{"attribution":{"tag":"t","ascsubtag":"a\u0000"}}`, "attribution.ascsubtag")
	f(`{"attribution":{"maas":"m","aa_creativeid":"`+strings.Repeat("x", 300)+`"}}`, "attribution.aa_creativeid")
	f(`{"attribution":{"tag":"name-20"},"contract":[1]}`, "contract")
	f(`{"attribution":{"tag":"name-20"},"contract":"x"}`, "contract")
}

func TestLinkValidate(t *testing.T) {
	f := func(l Link, wantLevel, wantField string) {
		t.Helper()
		err := l.Validate()
		if wantField != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != wantField {
				t.Fatalf("unexpected error for %+v; got %v; want one on %q", l, err, wantField)
			}
			return
		}
		if err != nil {
			t.Fatalf("unexpected error for %+v: %v", l, err)
		}
		if l.Level != wantLevel {
			t.Fatalf("unexpected level; got %q; want %q", l.Level, wantLevel)
		}
	}
	f(Link{Program: "p", Partner: "r"}, LevelProgram, "")
	f(Link{Program: "p", Partner: "r", ASIN: "B08N5WRWNW"}, LevelPartner, "")
	f(Link{Program: "p", Partner: "r", Ad: "a1", Code: "my-code_1"}, LevelAd, "")
	f(Link{Program: "p", Partner: "r", Ad: "a1", ASIN: "B08N5WRWNW"}, "", "asin")
	f(Link{Program: "p", Partner: "r", Ad: "0"}, "", "ad")
	f(Link{Program: "p", Partner: "r", ASIN: "nope"}, "", "asin")
	f(Link{Program: "", Partner: "r"}, "", "program")
	f(Link{Program: "p/x", Partner: "r"}, "", "program")
	f(Link{Program: "p", Partner: "r", Code: "a.b"}, "", "code")
	f(Link{Program: "p", Partner: "r", Code: strings.Repeat("a", 65)}, "", "code")
	f(Link{Program: "p", Partner: "r", Code: "café"}, "", "code")
}

func TestIsID(t *testing.T) {
	for _, s := range []string{"a", "A-z_09", strings.Repeat("x", 64)} {
		if !IsID(s) {
			t.Fatalf("unexpected IsID(%q); got false; want true", s)
		}
	}
	for _, s := range []string{"", "a b", "a/b", "a.b", "a%20", strings.Repeat("x", 65), "é"} {
		if IsID(s) {
			t.Fatalf("unexpected IsID(%q); got true; want false", s)
		}
	}
}
