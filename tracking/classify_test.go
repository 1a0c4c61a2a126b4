package tracking

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

const (
	chromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	safariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	testKey       = "0123456789abcdef0123456789abcdef"
)

// writeTestMMDB builds a MaxMind database of the given type in a temporary
// directory: networks maps CIDR prefixes to ISO country codes ("" writes a
// record without a country).
func writeTestMMDB(t testing.TB, dbType string, networks map[string]string) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		t.Fatalf("cannot create mmdb writer: %v", err)
	}
	// Insert broad networks first: a later insert replaces what it covers.
	cidrs := make([]string, 0, len(networks))
	for cidr := range networks {
		cidrs = append(cidrs, cidr)
	}
	slices.SortFunc(cidrs, func(a, b string) int {
		return netip.MustParsePrefix(a).Bits() - netip.MustParsePrefix(b).Bits()
	})
	for _, cidr := range cidrs {
		iso := networks[cidr]
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatalf("cannot parse %q: %v", cidr, err)
		}
		rec := mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String("EU")}}
		if iso != "" {
			rec["country"] = mmdbtype.Map{
				"iso_code":   mmdbtype.String(iso),
				"geoname_id": mmdbtype.Uint32(1),
				"names":      mmdbtype.Map{"en": mmdbtype.String("Somewhere")},
			}
		}
		if err := w.Insert(n, rec); err != nil {
			t.Fatalf("cannot insert %q: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatalf("cannot write mmdb: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var testGeoNetworks = map[string]string{
	"203.0.113.0/24":  "DE",
	"198.51.100.0/24": "US",
	"192.0.2.0/24":    "",
	"2001:db8::/32":   "GB",
}

func newTestClassifier(t testing.TB, cfg Config) *Classifier {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("unexpected error from New; got %v; want nil", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("unexpected error from Close; got %v; want nil", err)
		}
	})
	return c
}

func TestNewConfig(t *testing.T) {
	c := newTestClassifier(t, Config{})
	if !c.VisitorKeyGenerated() {
		t.Errorf("unexpected VisitorKeyGenerated without a key; got %v; want %v", false, true)
	}
	// An empty key, as main passes for an unset -tracking.visitorKey, is no key.
	c = newTestClassifier(t, Config{VisitorKey: []byte("")})
	if !c.VisitorKeyGenerated() {
		t.Errorf("unexpected VisitorKeyGenerated with an empty key; got %v; want %v", false, true)
	}
	c = newTestClassifier(t, Config{VisitorKey: []byte(testKey)})
	if c.VisitorKeyGenerated() {
		t.Errorf("unexpected VisitorKeyGenerated with a key; got %v; want %v", true, false)
	}

	dir := t.TempDir()
	notMMDB := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(notMMDB, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	asnDB := writeTestMMDB(t, "GeoLite2-ASN", map[string]string{"203.0.113.0/24": "DE"})
	bad := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"short key", Config{VisitorKey: []byte("short")}, "VisitorKey has 5 bytes"},
		{"negative cache", Config{UACacheSize: -1}, "UACacheSize is -1"},
		{"invalid prefix", Config{DatacenterRanges: []netip.Prefix{{}}}, "DatacenterRanges"},
		{"missing database", Config{GeoIPPath: filepath.Join(dir, "missing.mmdb")}, "cannot open GeoIP database"},
		{"garbage database", Config{GeoIPPath: notMMDB}, "cannot open GeoIP database"},
		{"ASN database", Config{GeoIPPath: asnDB}, `type "GeoLite2-ASN" has no country data`},
	}
	for _, tc := range bad {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: unexpected error; got %v; want one containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestClassifyPrecedence(t *testing.T) {
	c := newTestClassifier(t, Config{
		VisitorKey:       []byte(testKey),
		DatacenterRanges: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:dc::/48")},
	})
	const dcIP = "198.51.100.10"
	const homeIP = "203.0.113.10"
	tests := []struct {
		name       string
		req        Request
		wantReason BotReason
		wantDevice Device
	}{
		{"browser", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows)}, BotNone, DeviceDesktop},
		{"HEAD beats everything", Request{Method: []byte("HEAD"), UserAgent: []byte("curl/8.4.0"), Purpose: []byte("prefetch"), ClientIP: netip.MustParseAddr(dcIP)}, BotHead, DeviceBot},
		{"HEAD from a browser keeps its device", Request{Method: []byte("head"), UserAgent: []byte(safariIPhone)}, BotHead, DeviceMobile},
		{"Purpose prefetch", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), Purpose: []byte("prefetch")}, BotPrefetch, DeviceDesktop},
		{"Sec-Purpose prefetch", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), SecPurpose: []byte("prefetch;prerender")}, BotPrefetch, DeviceDesktop},
		{"Sec-Purpose upper case", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), SecPurpose: []byte("Prefetch")}, BotPrefetch, DeviceDesktop},
		{"prefetch beats empty UA", Request{Method: []byte("GET"), SecPurpose: []byte("prefetch")}, BotPrefetch, DeviceBot},
		{"empty UA", Request{Method: []byte("GET")}, BotEmptyUA, DeviceBot},
		{"blank UA", Request{Method: []byte("GET"), UserAgent: []byte(" \t ")}, BotEmptyUA, DeviceBot},
		{"empty UA beats datacenter", Request{Method: []byte("GET"), ClientIP: netip.MustParseAddr(dcIP)}, BotEmptyUA, DeviceBot},
		{"preview beats crawler and library", Request{Method: []byte("GET"), UserAgent: []byte("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)")}, BotPreview, DeviceBot},
		{"crawler", Request{Method: []byte("GET"), UserAgent: []byte("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")}, BotCrawler, DeviceBot},
		{"crawler beats datacenter", Request{Method: []byte("GET"), UserAgent: []byte("GPTBot/1.2"), ClientIP: netip.MustParseAddr(dcIP)}, BotCrawler, DeviceBot},
		{"library", Request{Method: []byte("POST"), UserAgent: []byte("python-requests/2.31.0")}, BotLibrary, DeviceBot},
		{"headless UA", Request{Method: []byte("GET"), UserAgent: []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36")}, BotHeadless, DeviceBot},
		{"headless client hint", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), SecCHUA: []byte(`"HeadlessChrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`)}, BotHeadless, DeviceBot},
		{"headless client hint beats datacenter", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), SecCHUA: []byte(`"HeadlessChrome";v="131"`), ClientIP: netip.MustParseAddr(dcIP)}, BotHeadless, DeviceBot},
		{"normal client hint", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), SecCHUA: []byte(`"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`)}, BotNone, DeviceDesktop},
		{"datacenter IPv4", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), ClientIP: netip.MustParseAddr(dcIP)}, BotDatacenter, DeviceDesktop},
		{"datacenter IPv4-mapped", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), ClientIP: netip.MustParseAddr("::ffff:" + dcIP)}, BotDatacenter, DeviceDesktop},
		{"datacenter IPv6", Request{Method: []byte("GET"), UserAgent: []byte(safariIPhone), ClientIP: netip.MustParseAddr("2001:db8:dc::5")}, BotDatacenter, DeviceMobile},
		{"home IPv4", Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), ClientIP: netip.MustParseAddr(homeIP)}, BotNone, DeviceDesktop},
	}
	var click Click
	for _, tc := range tests {
		// Twice: the second time the user agent comes from the cache.
		for i := 0; i < 2; i++ {
			c.Classify(&click, &tc.req)
			if click.BotReason != tc.wantReason {
				t.Errorf("%s: unexpected bot reason; got %q; want %q", tc.name, click.BotReason, tc.wantReason)
			}
			if click.Bot != (tc.wantReason != BotNone) {
				t.Errorf("%s: unexpected bot flag; got %v; want %v", tc.name, click.Bot, tc.wantReason != BotNone)
			}
			if click.Device != tc.wantDevice {
				t.Errorf("%s: unexpected device; got %q; want %q", tc.name, click.Device, tc.wantDevice)
			}
		}
	}
}

func TestClassifyFields(t *testing.T) {
	for _, dbType := range []string{"GeoLite2-Country", "GeoIP2-City"} {
		t.Run(dbType, func(t *testing.T) {
			c := newTestClassifier(t, Config{
				VisitorKey: []byte(testKey),
				GeoIPPath:  writeTestMMDB(t, dbType, testGeoNetworks),
			})
			tests := []struct {
				ip, country, prefix string
			}{
				{"203.0.113.9", "DE", "203.0.113.0/24"},
				{"::ffff:203.0.113.9", "DE", "203.0.113.0/24"},
				{"198.51.100.200", "US", "198.51.100.0/24"},
				{"192.0.2.1", "", "192.0.2.0/24"},
				{"8.8.8.8", "", "8.8.8.0/24"},
				{"2001:db8:1:2::3", "GB", "2001:db8:1::/48"},
				{"2a00:1450::1", "", "2a00:1450::/48"},
			}
			var click Click
			for _, tc := range tests {
				// Twice: the second lookup comes from the record cache.
				for i := 0; i < 2; i++ {
					req := Request{
						Method:      []byte("GET"),
						UserAgent:   []byte(safariIPhone),
						Referer:     []byte("https://l.instagram.com/?u=x"),
						QueryString: []byte("subId1=a"),
						ClientIP:    netip.MustParseAddr(tc.ip),
					}
					c.Classify(&click, &req)
					if string(click.Country) != tc.country {
						t.Errorf("unexpected country of %s; got %q; want %q", tc.ip, click.Country, tc.country)
					}
					if string(click.IPPrefix) != tc.prefix {
						t.Errorf("unexpected prefix of %s; got %q; want %q", tc.ip, click.IPPrefix, tc.prefix)
					}
					if click.Source != SourceSocial || string(click.ReferrerHost) != "l.instagram.com" {
						t.Errorf("unexpected source; got %q %q; want %q %q", click.Source, click.ReferrerHost, SourceSocial, "l.instagram.com")
					}
					if len(click.Visitor) != 32 {
						t.Errorf("unexpected visitor length; got %d; want %d", len(click.Visitor), 32)
					}
					if bytes.Contains(click.AppendJSON(nil), []byte(strings.TrimPrefix(tc.ip, "::ffff:"))) {
						t.Errorf("unexpected raw address %s in the event; got it; want only the prefix", tc.ip)
					}
				}
			}
		})
	}
}

func TestClassifyWithoutGeoIPOrAddress(t *testing.T) {
	c := newTestClassifier(t, Config{VisitorKey: []byte(testKey)})
	click := Click{Country: []byte("XX"), IPPrefix: []byte("stale"), ReferrerHost: []byte("stale")}
	c.Classify(&click, &Request{UserAgent: []byte(chromeWindows)})
	if len(click.Country) != 0 || len(click.IPPrefix) != 0 || len(click.ReferrerHost) != 0 {
		t.Fatalf("unexpected leftovers; got country %q prefix %q host %q; want all empty", click.Country, click.IPPrefix, click.ReferrerHost)
	}
	if click.Source != SourceDirect {
		t.Fatalf("unexpected source; got %q; want %q", click.Source, SourceDirect)
	}
	if len(click.Visitor) != 32 {
		t.Fatalf("unexpected visitor length; got %d; want %d", len(click.Visitor), 32)
	}
}

func TestClassifyVisitorAcrossClassifiers(t *testing.T) {
	req := Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), ClientIP: netip.MustParseAddr("203.0.113.9")}
	visitor := func(cfg Config) string {
		c := newTestClassifier(t, cfg)
		var click Click
		c.Classify(&click, &req)
		return string(click.Visitor)
	}
	a := visitor(Config{VisitorKey: []byte(testKey)})
	b := visitor(Config{VisitorKey: []byte(testKey), UACacheSize: 1})
	if a != b {
		t.Errorf("unexpected visitor with the same key; got %q and %q; want equal", a, b)
	}
	if d := visitor(Config{VisitorKey: []byte("another key of sixteen+ bytes")}); d == a {
		t.Errorf("unexpected visitor with another key; got %q; want a different one", d)
	}
	if d := visitor(Config{}); d == a {
		t.Errorf("unexpected visitor with a generated key; got %q; want a different one", d)
	}
}

// TestClassifyNoUserAgent: a request without a user agent (or a blank one)
// gets the visitor of the key, the address and the empty user agent, as
// every other request gets its own: a bot class, and a visitor that changes
// with the key and the address.
func TestClassifyNoUserAgent(t *testing.T) {
	for _, key := range []string{testKey, "another key of sixteen+ bytes"} {
		c := newTestClassifier(t, Config{VisitorKey: []byte(key)})
		for _, ip := range []string{"203.0.113.9", "203.0.113.10", "2001:db8::1"} {
			for _, ua := range []string{"", " \t "} {
				var click Click
				c.Classify(&click, &Request{Method: []byte("GET"), UserAgent: []byte(ua), ClientIP: netip.MustParseAddr(ip)})
				if want := visitorOf(key, ip, ""); string(click.Visitor) != want {
					t.Fatalf("unexpected visitor for key %q, %s, user agent %q; got %q; want %q", key, ip, ua, click.Visitor, want)
				}
				if !click.Bot || click.BotReason != BotEmptyUA || click.Device != DeviceBot {
					t.Fatalf("unexpected class for user agent %q; got %v %q %q; want a bot, %q", ua, click.Bot, click.BotReason, click.Device, BotEmptyUA)
				}
			}
		}
	}
}

func TestClassifyLongUserAgent(t *testing.T) {
	c := newTestClassifier(t, Config{VisitorKey: []byte(testKey)})
	ua := chromeWindows + strings.Repeat(" x", maxCachedUALen)
	var click Click
	c.Classify(&click, &Request{UserAgent: []byte(ua)})
	if click.Bot || click.Device != DeviceDesktop {
		t.Fatalf("unexpected classification of a long user agent; got %q %q; want %q %q", click.Device, click.BotReason, DeviceDesktop, BotNone)
	}
	if n := c.uas.len(); n != 0 {
		t.Fatalf("unexpected cached user agents; got %d; want %d", n, 0)
	}
	c.Classify(&click, &Request{UserAgent: []byte(ua + " Googlebot/2.1")})
	if click.BotReason != BotCrawler {
		t.Fatalf("unexpected bot reason; got %q; want %q", click.BotReason, BotCrawler)
	}
}

func TestUACacheBounded(t *testing.T) {
	const size = 256
	c := newTestClassifier(t, Config{VisitorKey: []byte(testKey), UACacheSize: size})
	var click Click
	for i := 0; i < 20*size; i++ {
		ua := chromeWindows + " n/" + string(rune('a'+i%26)) + strings.Repeat("z", i%97) + string(rune('0'+i/26%10)) + string(rune('a'+i/260))
		c.Classify(&click, &Request{UserAgent: []byte(ua)})
		if n := c.uas.len(); n > size {
			t.Fatalf("unexpected cache size; got %d; want at most %d", n, size)
		}
		if click.Bot {
			t.Fatalf("unexpected bot verdict for %q; got %q; want none", ua, click.BotReason)
		}
	}
	var buf bytes.Buffer
	c.WriteMetrics(&buf)
	if !strings.Contains(buf.String(), "clickedge_ua_cache_evictions_total ") || strings.Contains(buf.String(), "clickedge_ua_cache_evictions_total 0\n") {
		t.Fatalf("unexpected cache eviction metric; got %q; want evictions counted", buf.String())
	}
	// Recent user agents are still found.
	ua := []byte(chromeWindows + " recent")
	c.Classify(&click, &Request{UserAgent: ua})
	if _, ok := c.uas.get(c.uas.hash(ua), ua); !ok {
		t.Fatalf("unexpected cache miss right after an insert; got a miss; want a hit")
	}
}

func TestClassifyConcurrent(t *testing.T) {
	c := newTestClassifier(t, Config{
		VisitorKey:  []byte(testKey),
		GeoIPPath:   writeTestMMDB(t, "GeoLite2-Country", testGeoNetworks),
		UACacheSize: 64,
	})
	uas := make([]string, 0, len(browserUAs)+len(botUAs))
	for _, tc := range append(append([]uaCase(nil), browserUAs...), botUAs...) {
		uas = append(uas, tc.ua)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var click Click
			for i := 0; i < 2000; i++ {
				ua := uas[(i*7+g)%len(uas)]
				c.Classify(&click, &Request{Method: []byte("GET"), UserAgent: []byte(ua), ClientIP: netip.MustParseAddr("203.0.113.9")})
				if string(click.Country) != "DE" {
					t.Errorf("unexpected country; got %q; want %q", click.Country, "DE")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestWriteMetrics(t *testing.T) {
	c := newTestClassifier(t, Config{VisitorKey: []byte(testKey)})
	var click Click
	c.Classify(&click, &Request{Method: []byte("GET"), UserAgent: []byte(chromeWindows), Referer: []byte("https://www.google.com/")})
	c.Classify(&click, &Request{Method: []byte("GET"), UserAgent: []byte("curl/8.4.0")})
	c.Classify(&click, &Request{Method: []byte("HEAD"), UserAgent: []byte("curl/8.4.0")})
	var buf bytes.Buffer
	c.WriteMetrics(&buf)
	out := buf.String()
	for _, want := range []string{
		`clickedge_clicks_classified_total{source="search"} 1`,
		`clickedge_clicks_classified_total{source="direct"} 2`,
		`clickedge_clicks_classified_total{source="paid"} 0`,
		`clickedge_clicks_classified_total{device="desktop"} 1`,
		`clickedge_clicks_classified_total{device="bot"} 2`,
		`clickedge_bots_total{reason="library"} 1`,
		`clickedge_bots_total{reason="head"} 1`,
		`clickedge_bots_total{reason="datacenter"} 0`,
		`clickedge_ua_cache_misses_total 2`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("unexpected metrics; got %q; want a line %q", out, want)
		}
	}
}

func TestCountryNetworkCache(t *testing.T) {
	// Networks smaller than the cached /24 and /48 must not leak their
	// country to the rest of the network, whatever the lookup order.
	path := writeTestMMDB(t, "GeoIP2-Country", map[string]string{
		"203.0.0.0/16":      "DE",
		"203.0.113.16/28":   "FR",
		"203.0.114.0/24":    "",
		"2001:db8::/32":     "GB",
		"2001:db8:6:1::/64": "US",
	})
	g, err := openGeoDB(path)
	if err != nil {
		t.Fatalf("unexpected error; got %v; want nil", err)
	}
	defer g.close()
	tests := []struct {
		ip, want string
	}{
		{"203.0.113.1", "DE"},
		{"203.0.113.20", "FR"},
		{"203.0.113.40", "DE"},
		{"203.0.5.5", "DE"},
		{"203.0.114.7", ""},
		{"203.1.0.1", ""},
		{"2001:db8:6::1", "GB"},
		{"2001:db8:6:1::1", "US"},
		{"2001:db8:6:2::1", "GB"},
		{"2001:db8:7::1", "GB"},
	}
	for round := 0; round < 3; round++ {
		for i := range tests {
			tc := tests[(i*7+round)%len(tests)]
			got, ok := g.appendCountry(nil, netip.MustParseAddr(tc.ip))
			if !ok || string(got) != tc.want {
				t.Errorf("round %d: unexpected country of %s; got %q %v; want %q true", round, tc.ip, got, ok, tc.want)
			}
		}
	}
}
