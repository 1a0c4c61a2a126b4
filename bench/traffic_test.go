package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseLinks(t *testing.T) {
	f := func(in string, want []string, wantErr string) {
		t.Helper()
		got, err := parseLinks(strings.NewReader(in))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("unexpected error for %q; got %v; want one containing %q", in, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("unexpected error for %q: %v", in, err)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("unexpected links for %q; got %q; want %q", in, got, want)
		}
	}
	f("alice\n/bob\n\n# comment\n  /c/p1/0/demo  \n", []string{"/alice", "/bob", "/c/p1/0/demo"}, "")
	f("a_b-9\n", []string{"/a_b-9"}, "")
	f("", nil, "no links")
	f("# only a comment\n", nil, "no links")
	f("alice\nbad code\n", nil, "line 2")
	f("/c/p1/demo\n", nil, "/c/<partner>/<ad>/<program>")
	f("/c/p1//demo\n", nil, "1 to 64")
	f("/a/b\n", nil, "short code")
	f(strings.Repeat("x", 65)+"\n", nil, "1 to 64")
	f("ok\n/al%ice\n", nil, "line 2")
}

func TestNewTrafficRejectsBadConfig(t *testing.T) {
	links := []string{"/a"}
	for _, tc := range []struct {
		cfg  TrafficConfig
		want string
	}{
		{TrafficConfig{}, "no links"},
		{TrafficConfig{Links: links, Zipf: -1}, "Zipf"},
		{TrafficConfig{Links: links, Zipf: math.NaN()}, "Zipf"},
		{TrafficConfig{Links: links, Bots: 1.5}, "Bots"},
		{TrafficConfig{Links: links, Head: -0.1}, "Head"},
		{TrafficConfig{Links: links, Clients: -3}, "Clients"},
		{TrafficConfig{Links: links, RunID: "has space"}, "run ID"},
		{TrafficConfig{Links: links, RunID: strings.Repeat("a", 65)}, "run ID"},
		{TrafficConfig{Links: []string{"nope"}}, "link"},
	} {
		if _, err := NewTraffic(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("unexpected error for %+v; got %v; want one containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestTrafficDraw(t *testing.T) {
	links := make([]string, 100)
	for i := range links {
		links[i] = "/l" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	tr, err := NewTraffic(TrafficConfig{Links: links, Zipf: 1, Bots: 0.1, Head: 0.05, Clients: 500, RunID: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.ips) != 500 {
		t.Fatalf("unexpected client count; got %d; want 500", len(tr.ips))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	var perLink [100]int
	var bots, heads, referred, query int
	ips := map[string]bool{}
	var r Request
	for i := 0; i < n; i++ {
		tr.Draw(rng, &r)
		perLink[r.Link]++
		if !strings.HasPrefix(string(r.PathBase), links[r.Link]+"?subId1=run-1") {
			t.Fatalf("unexpected path %q for link %q", r.PathBase, links[r.Link])
		}
		if r.Bot {
			bots++
			if len(r.Referer) > 0 {
				t.Fatalf("unexpected referrer %q on a bot request", r.Referer)
			}
		} else if len(r.UserAgent) == 0 {
			t.Fatalf("browser request without a user agent")
		}
		if r.Head {
			heads++
		}
		if len(r.Referer) > 0 {
			referred++
		}
		if len(r.Query) > 0 {
			query++
		}
		ips[string(r.ClientIP)] = true
	}
	// Zipf s=1 over 100 links: rank 1 gets 1/H(100) ≈ 19.3%, rank 2 half of
	// it, rank 100 a hundredth.
	h := 0.0
	for k := 1; k <= 100; k++ {
		h += 1 / float64(k)
	}
	near := func(what string, got int, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 0.05*want+50 {
			t.Fatalf("unexpected %s; got %d; want about %.0f", what, got, want)
		}
	}
	near("rank 1 draws", perLink[0], n/h)
	near("rank 2 draws", perLink[1], n/h/2)
	near("rank 100 draws", perLink[99], n/h/100)
	near("bot requests", bots, 0.1*n)
	near("HEAD requests", heads, 0.05*n)
	if len(ips) != 500 {
		t.Fatalf("unexpected distinct client IPs; got %d; want 500", len(ips))
	}
	if referred == 0 || referred == n-bots || query == 0 {
		t.Fatalf("unexpected mix: %d with a referrer, %d with extra query parameters", referred, query)
	}
}

func TestTrafficUniform(t *testing.T) {
	tr, err := NewTraffic(TrafficConfig{Links: []string{"/a", "/b", "/c", "/d"}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var counts [4]int
	var r Request
	for i := 0; i < 40000; i++ {
		tr.Draw(rng, &r)
		counts[r.Link]++
		if r.Bot || r.Head {
			t.Fatalf("unexpected bot or HEAD request with Bots and Head 0")
		}
	}
	for i, c := range counts {
		if c < 9000 || c > 11000 {
			t.Fatalf("unexpected draws of link %d with Zipf 0; got %d; want about 10000", i, c)
		}
	}
	if err := CheckRunID(tr.RunID()); err != nil || !strings.HasPrefix(tr.RunID(), "cb") {
		t.Fatalf("unexpected generated run ID %q: %v", tr.RunID(), err)
	}
}
