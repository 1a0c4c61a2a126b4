package tracking

import (
	"net/netip"
	"testing"
)

func hotRequest() *Request {
	return &Request{
		Method:      []byte("GET"),
		UserAgent:   []byte(safariIPhone),
		Referer:     []byte("https://l.instagram.com/?u=https%3A%2F%2Fgo.example%2Fx"),
		SecCHUA:     []byte(`"Chromium";v="131", "Not_A Brand";v="24"`),
		QueryString: []byte("subId1=video-42&subId2=a+b&sharedid=x%21&utm_source=ig"),
		ClientIP:    netip.MustParseAddr("203.0.113.9"),
	}
}

func TestClassifyAllocs(t *testing.T) {
	c := newTestClassifier(t, Config{
		VisitorKey:       []byte(testKey),
		GeoIPPath:        writeTestMMDB(t, "GeoLite2-Country", testGeoNetworks),
		DatacenterRanges: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
	})
	reqs := []*Request{hotRequest(), hotRequest(), hotRequest()}
	reqs[1].ClientIP = netip.MustParseAddr("2001:db8:1::7")
	reqs[1].UserAgent = []byte(chromeWindows)
	reqs[2].ClientIP = netip.MustParseAddr("198.51.100.3")
	reqs[2].UserAgent = []byte("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
	var click Click
	for _, r := range reqs {
		c.Classify(&click, r) // warm the caches and the click's buffers
	}
	for i, r := range reqs {
		allocs := testing.AllocsPerRun(100, func() {
			c.Classify(&click, r)
		})
		if allocs != 0 {
			t.Errorf("unexpected allocations in Classify of request %d with a seen user agent; got %v; want 0", i, allocs)
		}
	}
}

func TestClassifyUserAgentAllocs(t *testing.T) {
	ua := []byte(chromeWindows)
	allocs := testing.AllocsPerRun(100, func() {
		classifyUserAgent(ua)
	})
	if allocs != 0 {
		t.Fatalf("unexpected allocations in the user-agent matcher; got %v; want 0", allocs)
	}
}

func TestClickAllocs(t *testing.T) {
	src := sampleClick()
	buf := make([]byte, 0, 4096)
	var dst Click
	var ids *IDGenerator = NewIDGenerator()
	data := src.AppendJSON(nil)
	if err := DecodeClick(&dst, data); err != nil {
		t.Fatal(err)
	}
	dst.SetSubIDs([]byte("subId1=abcdefghij&subId2=xyz&subId3=%E2%9C%93&sharedid=s"))
	tests := []struct {
		name string
		f    func()
	}{
		{"AppendJSON", func() { buf = src.AppendJSON(buf[:0]) }},
		{"AppendKey", func() { buf = src.AppendKey(buf[:0]) }},
		{"DecodeClick", func() {
			if err := DecodeClick(&dst, data); err != nil {
				t.Fatal(err)
			}
		}},
		{"SetSubIDs", func() { dst.SetSubIDs([]byte("subId1=abc&subId2=x%20y&subId3=%E2%9C%93&sharedid=s")) }},
		{"IDGenerator.Append", func() { buf = ids.Append(buf[:0]) }},
		{"Reset", func() { dst.Reset() }},
	}
	for _, tc := range tests {
		if allocs := testing.AllocsPerRun(100, tc.f); allocs != 0 {
			t.Errorf("unexpected allocations in %s; got %v; want 0", tc.name, allocs)
		}
	}
}
