package linkcache

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzDestination builds destinations from arbitrary stored parts: whatever
// they hold, a built Location is an https URL on the marketplace's Amazon host,
// without CR/LF, whose query holds exactly the attribution values given.
func FuzzDestination(f *testing.F) {
	f.Add(uint8(0), "B08N5WRWNW", "", "", "name-20", "ll1", "sub")
	f.Add(uint8(3), "", "https://www.amazon.co.uk/stores/page/X", "maas_1", "", "", "")
	f.Add(uint8(1), "", "https://www.amazon.ca/stores/a%0d%0aSet-Cookie:x", "m", "", "", "")
	f.Add(uint8(2), "B000000001", "", "m&tag=evil", "t", "", "a\r\nb")
	f.Add(uint8(4), "", "https://www.amazon.de.evil.com/stores/x", "", "t", "", "")
	codes := []string{"US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "NL", "XX"}
	f.Fuzz(func(t *testing.T, mi uint8, asin, store, maas, tag, linkCode, sub string) {
		market := codes[int(mi)%len(codes)]
		host, _ := MarketplaceHost(market)
		a := &Attribution{MAAS: maas, CampaignID: sub, Tag: tag, LinkCode: linkCode, AscSubtag: sub}
		loc, err := AppendDestination(nil, host, asin, store, a)
		if err != nil {
			return
		}
		if !ValidLocation(string(loc)) {
			t.Fatalf("invalid Location %q", loc)
		}
		u, err := url.Parse(string(loc))
		if err != nil || u.Host != host {
			t.Fatalf("unexpected host in %q; want %q", loc, host)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("cannot parse query of %q: %v", loc, err)
		}
		if maas != "" {
			if q.Get("maas") != maas || q.Get("tag") != "maas" || len(q["tag"]) != 1 {
				t.Fatalf("unexpected Amazon Attribution query in %q", loc)
			}
		} else if tag != "" && (q.Get("tag") != tag || len(q["tag"]) != 1) {
			t.Fatalf("unexpected tag in %q; want %q", loc, tag)
		}
	})
}

// FuzzParseContract parses arbitrary contract bodies: no input panics, an
// error is a FieldError under "contract", and what parses marshals to a wire
// form that parses to the same contract.
func FuzzParseContract(f *testing.F) {
	f.Add([]byte(exampleContract))
	f.Add([]byte(`{"currency":"USD","default_payout":"0"}`))
	f.Add([]byte(`{"currency":"USD","default_payout":"0.1","limits":[{"metric":"clicks","max":1e3,"period":"day"}]}`))
	f.Add([]byte(`{"currency":"USD","default_payout":"999999999999.999999","unique_window":"720h"}`))
	f.Add([]byte(`{"currency":"USD","default_payout":"1","payout_groups":[{"name":"a","match":{"ad":["x"],"level":["ad"]},"payout":"2"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseContract(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "contract") {
				t.Fatalf("unexpected error type for %q: %v", body, err)
			}
			return
		}
		if c.DefaultPayout < 0 || c.UniqueWindow < 0 || c.UniqueWindow > MaxUniqueWindow {
			t.Fatalf("out of range contract from %q: %+v", body, c)
		}
		for _, l := range c.Limits {
			if l.Max <= 0 {
				t.Fatalf("non-positive limit from %q: %+v", body, l)
			}
		}
		wire, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("cannot marshal a parsed contract: %v", err)
		}
		c2, err := ParseContract(wire)
		if err != nil {
			t.Fatalf("cannot parse the wire form %s of %q: %v", wire, body, err)
		}
		if wire2, _ := json.Marshal(c2); string(wire2) != string(wire) {
			t.Fatalf("unexpected round trip; got %s; want %s", wire2, wire)
		}
	})
}
