package linkcache

import (
	"net/url"
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
