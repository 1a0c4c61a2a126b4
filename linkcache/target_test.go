package linkcache

import (
	"net/url"
	"testing"
	"unsafe"

	"github.com/clickedge/clickedge/tracking"
)

func TestNewTarget(t *testing.T) {
	assoc := &Partnership{Attribution: Attribution{Tag: "name-20", LinkCode: "ll1", AscSubtag: "post 42&x=y"}}
	maas := &Partnership{Attribution: Attribution{MAAS: "maas_adg_api_1", CampaignID: "c1", AdGroupID: "g1", CreativeID: "r1"}}
	us := &Program{Marketplace: "US", ASIN: "B000000001"}
	uk := &Program{Marketplace: "UK", StoreURL: "https://www.amazon.co.uk/stores/page/ABC", Passthrough: true}
	mx := &Program{Marketplace: "MX", ASIN: "B000000009"}
	ad := &Ad{ASIN: "B000000002"}
	storeAd := &Ad{StoreURL: "https://www.amazon.co.uk/stores/page/SPRING"}

	f := func(r Resolution, wantLoc, wantASIN string) {
		t.Helper()
		tg, err := NewTarget(&r)
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		checkTarget(t, tg, &r, wantLoc, wantASIN)
		// The cache's copy: the same fields, after the key's bytes in one
		// buffer, with the bytes a redirect reads back to back.
		key := "c/" + r.Partner + "/" + r.Code
		e := newEntry(key, tg)
		if e.key != key || e.t == tg || e.t.Size() != tg.Size()+len(key) {
			t.Fatalf("unexpected cache entry: key %q, a copy %v, size %d (original %d)", e.key, e.t != tg, e.t.Size(), tg.Size())
		}
		checkTarget(t, e.t, &r, wantLoc, wantASIN)
		at := func(off int) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(unsafe.StringData(e.key)), off) }
		if unsafe.Pointer(unsafe.SliceData(e.t.Location)) != at(len(key)) ||
			unsafe.Pointer(unsafe.SliceData(e.t.ClickLink)) != at(len(key)+len(tg.Location)) ||
			unsafe.Pointer(unsafe.SliceData(e.t.ClickKey)) != at(len(key)+len(tg.Location)+len(tg.ClickLink)) ||
			e.hot != uintptr(len(key)+len(tg.Location)+len(tg.ClickLink)+len(tg.ClickKey)) {
			t.Fatalf("the key, Location, ClickLink and ClickKey are not back to back in %d bytes", e.hot)
		}
	}
	f(Resolution{Code: "x", Level: LevelProgram, Program: "p", Partner: "r", Prog: us, Partnership: assoc},
		"https://www.amazon.com/dp/B000000001?tag=name-20&linkCode=ll1&ascsubtag=post%2042%26x%3Dy", "B000000001")
	f(Resolution{Level: LevelProgram, Program: "p", Partner: "r", Prog: mx, Partnership: maas},
		"https://www.amazon.com.mx/dp/B000000009?maas=maas_adg_api_1&ref_=aa_maas&tag=maas&aa_campaignid=c1&aa_adgroupid=g1&aa_creativeid=r1", "B000000009")
	f(Resolution{Code: "y", Level: LevelPartner, Program: "p", Partner: "r", Prog: uk, Partnership: assoc, ASIN: "B000000003"},
		"https://www.amazon.co.uk/dp/B000000003?tag=name-20&linkCode=ll1&ascsubtag=post%2042%26x%3Dy", "B000000003")
	f(Resolution{Level: LevelProgram, Program: "p", Partner: "r", Prog: uk, Partnership: &Partnership{Attribution: Attribution{Tag: "t-21"}}},
		"https://www.amazon.co.uk/stores/page/ABC?tag=t-21", "")
	f(Resolution{Level: LevelAd, Program: "p", Partner: "r", Ad: "a", Prog: us, Partnership: maas, AdDef: ad},
		"https://www.amazon.com/dp/B000000002?maas=maas_adg_api_1&ref_=aa_maas&tag=maas&aa_campaignid=c1&aa_adgroupid=g1&aa_creativeid=r1", "B000000002")
	f(Resolution{Level: LevelAd, Program: "p", Partner: "r", Ad: "a", Prog: uk, Partnership: assoc, AdDef: storeAd},
		"https://www.amazon.co.uk/stores/page/SPRING?tag=name-20&linkCode=ll1&ascsubtag=post%2042%26x%3Dy", "")
}

func TestNewTargetRefusesBadStoredParts(t *testing.T) {
	p := &Partnership{Attribution: Attribution{Tag: "t"}}
	for _, r := range []Resolution{
		{Level: LevelProgram, Prog: &Program{Marketplace: "XX", ASIN: "B000000001"}, Partnership: p},
		{Level: LevelProgram, Prog: &Program{Marketplace: "US", StoreURL: "https://evil.example/stores/x"}, Partnership: p},
		{Level: LevelProgram, Prog: &Program{Marketplace: "US", StoreURL: "https://www.amazon.com.evil.example/stores/x"}, Partnership: p},
		{Level: LevelProgram, Prog: &Program{Marketplace: "US", StoreURL: "https://www.amazon.com/stores/a\r\nSet-Cookie: x"}, Partnership: p},
		{Level: LevelProgram, Prog: &Program{Marketplace: "US", StoreURL: "https://www.amazon.de/stores/x"}, Partnership: p},
		{Level: LevelPartner, Prog: &Program{Marketplace: "US", ASIN: "B000000001"}, Partnership: p, ASIN: "../../evil"},
		{Level: LevelAd, Prog: &Program{Marketplace: "US", ASIN: "B000000001"}, Partnership: p},
		{Level: LevelProgram, Prog: &Program{Marketplace: "US"}, Partnership: p},
	} {
		if tg, err := NewTarget(&r); err == nil {
			t.Fatalf("unexpected success for %+v; got Location %q", r.Prog, tg.Location)
		}
	}
}

func TestAppendQueryEscape(t *testing.T) {
	got := string(AppendQueryEscape(nil, "a b&c=d\r\n#é~"))
	want := "a%20b%26c%3Dd%0D%0A%23%C3%A9~"
	if got != want {
		t.Fatalf("unexpected escape; got %q; want %q", got, want)
	}
	if u, err := url.QueryUnescape(got); err != nil || u != "a b&c=d\r\n#é~" {
		t.Fatalf("unexpected round trip; got %q, %v", u, err)
	}
}

// checkTarget checks tg against the Resolution it was made from.
func checkTarget(t *testing.T, tg *Target, r *Resolution, wantLoc, wantASIN string) {
	t.Helper()
	if string(tg.Location) != wantLoc {
		t.Fatalf("unexpected Location; got %q; want %q", tg.Location, wantLoc)
	}
	if string(tg.ASIN) != wantASIN {
		t.Fatalf("unexpected ASIN; got %q; want %q", tg.ASIN, wantASIN)
	}
	if string(tg.Program) != r.Program || string(tg.Partner) != r.Partner || string(tg.Level) != r.Level || string(tg.Code) != r.Code || string(tg.Ad) != r.Ad {
		t.Fatalf("unexpected identity; got %q %q %q %q %q; want %q %q %q %q %q", tg.Program, tg.Partner, tg.Level, tg.Code, tg.Ad, r.Program, r.Partner, r.Level, r.Code, r.Ad)
	}
	if string(tg.Marketplace) != r.Prog.Marketplace || tg.Passthrough != r.Prog.Passthrough {
		t.Fatalf("unexpected marketplace or passthrough; got %q %v", tg.Marketplace, tg.Passthrough)
	}
	if !ValidLocation(string(tg.Location)) {
		t.Fatalf("Location %q is not a valid Amazon destination", tg.Location)
	}
	// The pre-encoded event part is the link's fields as a click encodes them.
	c := tracking.Click{Code: tg.Code, Level: tg.Level, Program: tg.Program, Partner: tg.Partner, Ad: tg.Ad, ASIN: tg.ASIN, Marketplace: tg.Marketplace}
	if got, want := string((&tracking.Click{}).AppendJSONWithLink(nil, tg.ClickLink)), string(c.AppendJSON(nil)); got != want {
		t.Fatalf("unexpected event with ClickLink; got %s; want %s", got, want)
	}
	if got, want := string(tg.ClickKey), string(c.AppendKey(nil)); got != want {
		t.Fatalf("unexpected ClickKey; got %q; want %q", got, want)
	}
	// The fields share one array: each is capped at its length, so an
	// append to one copies instead of overwriting its neighbour.
	for _, b := range [][]byte{tg.Location, tg.ClickLink, tg.ClickKey, tg.Code, tg.Level, tg.Program, tg.Partner, tg.Ad, tg.ASIN, tg.Marketplace} {
		if cap(b) != len(b) {
			t.Fatalf("unexpected capacity of %q; got %d; want %d", b, cap(b), len(b))
		}
	}
}
