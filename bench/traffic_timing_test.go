package bench

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkTrafficDraw is the load generator's per-request cost of choosing
// what to send (Zipf link, user agent, referrer, client address).
func BenchmarkTrafficDraw(b *testing.B) {
	tr := benchTraffic(b)
	rng := rand.New(rand.NewPCG(1, 2))
	var r Request
	b.ReportAllocs()
	for b.Loop() {
		tr.Draw(rng, &r)
	}
}

// benchTraffic is the suite's traffic over 1 000 links: Zipf 1, 10% bots,
// 2% HEAD.
func benchTraffic(b *testing.B) *Traffic {
	links := make([]string, 1000)
	for i := range links {
		links[i] = "/bench-" + strconv.Itoa(i)
	}
	tr, err := NewTraffic(TrafficConfig{Links: links, Zipf: 1, Bots: 0.1, Head: 0.02})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}
