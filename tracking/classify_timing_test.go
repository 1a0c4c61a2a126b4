package tracking

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
)

func newBenchClassifier(b *testing.B, withGeo bool) *Classifier {
	cfg := Config{
		VisitorKey:       []byte(testKey),
		DatacenterRanges: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:dc::/48")},
	}
	if withGeo {
		cfg.GeoIPPath = writeTestMMDB(b, "GeoLite2-Country", testGeoNetworks)
	}
	return newTestClassifier(b, cfg)
}

// BenchmarkClassifySeenUA is the hot path: a user agent already in the cache,
// with referrer, query, datacenter ranges and GeoIP. Target: <= 300 ns/op and
// 0 allocs/op.
func BenchmarkClassifySeenUA(b *testing.B) {
	for _, withGeo := range []bool{false, true} {
		name := "noGeoIP"
		if withGeo {
			name = "GeoIP"
		}
		b.Run(name, func(b *testing.B) {
			c := newBenchClassifier(b, withGeo)
			req := hotRequest()
			var click Click
			c.Classify(&click, req)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Classify(&click, req)
			}
		})
	}
}

// BenchmarkClassifyNoUA classifies a request without a user agent, as
// scripts and many bots send (and load generators such as wrk).
func BenchmarkClassifyNoUA(b *testing.B) {
	c := newBenchClassifier(b, false)
	req := hotRequest()
	req.UserAgent = nil
	var click Click
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(&click, req)
	}
}

// BenchmarkClassifySeenUAParallel runs the hot path on all CPUs to show the
// cost of the sharded cache locks and the shared counters.
func BenchmarkClassifySeenUAParallel(b *testing.B) {
	c := newBenchClassifier(b, true)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := hotRequest()
		var click Click
		for pb.Next() {
			c.Classify(&click, req)
		}
	})
}

// BenchmarkClassifyUnseenUA classifies a user agent never seen before: the
// automaton scan, the user-agent digest and the cache insert.
func BenchmarkClassifyUnseenUA(b *testing.B) {
	c := newBenchClassifier(b, true)
	req := hotRequest()
	base := []byte(chromeWindows + " Build/")
	var n atomic.Uint64
	var click Click
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.UserAgent = strconv.AppendUint(base, n.Add(1), 10)
		c.Classify(&click, req)
	}
}

// BenchmarkUserAgentScan is the matcher alone over real user agents of
// typical lengths; compare with BenchmarkUserAgentNaive, a loop of
// bytes.Contains over the same tokens, which the automaton replaces.
func BenchmarkUserAgentScan(b *testing.B) {
	uas := benchUAs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		classifyUserAgent(uas[i%len(uas)])
	}
}

func BenchmarkUserAgentNaive(b *testing.B) {
	uas := benchUAs()
	lowered := make([][]byte, len(uas))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(uas)
		ua := uas[j]
		l := lowered[j][:0]
		for _, ch := range ua {
			l = append(l, lower(ch))
		}
		lowered[j] = l
		var feat uint64
		for k := range uaTokens {
			if containsToken(l, uaTokens[k].text) {
				feat |= uaTokens[k].feat
			}
		}
		_ = feat
	}
}

func containsToken(s []byte, tok string) bool {
	n := len(tok)
	for i := 0; i+n <= len(s); i++ {
		if string(s[i:i+n]) == tok {
			return true
		}
	}
	return false
}

func benchUAs() [][]byte {
	var uas [][]byte
	for _, tc := range browserUAs {
		uas = append(uas, []byte(tc.ua))
	}
	return uas
}

// BenchmarkCountry is a GeoIP lookup: "cached" hits the network cache,
// "walk" is an address whose record is smaller than its /24 and so walks the
// search tree every time (the record cache still spares the decoding).
func BenchmarkCountry(b *testing.B) {
	g, err := openGeoDB(writeTestMMDB(b, "GeoLite2-Country", map[string]string{
		"203.0.113.0/24":  "DE",
		"198.51.100.0/28": "US",
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer g.close()
	for _, tc := range []struct{ name, ip string }{{"cached", "203.0.113.9"}, {"walk", "198.51.100.9"}} {
		b.Run(tc.name, func(b *testing.B) {
			addr := netip.MustParseAddr(tc.ip)
			var buf []byte
			buf, _ = g.appendCountry(buf[:0], addr)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf, _ = g.appendCountry(buf[:0], addr)
			}
		})
	}
}

// BenchmarkEncodeClick is the event encoding of a fully populated click.
func BenchmarkEncodeClick(b *testing.B) {
	c := sampleClick()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = c.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeClick is the event decoding into a reused click.
func BenchmarkDecodeClick(b *testing.B) {
	src := sampleClick()
	data := src.AppendJSON(nil)
	var c Click
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := DecodeClick(&c, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetSubIDs parses the sub-IDs of a typical query.
func BenchmarkSetSubIDs(b *testing.B) {
	q := []byte("utm_source=ig&subId1=video-42&subId2=summer%20sale&subId3=%E2%9C%93&sharedid=abc123&fbclid=IwAR0")
	var c Click
	c.SetSubIDs(q)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.SetSubIDs(q)
	}
}

// BenchmarkIDGenerator makes click IDs.
func BenchmarkIDGenerator(b *testing.B) {
	g := NewIDGenerator()
	buf := make([]byte, 0, IDLen)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = g.Append(buf[:0])
	}
}
