package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
)

// TrafficConfig describes the requests a load run sends. The zero value is
// not usable: Links is required.
type TrafficConfig struct {
	// Links are the link paths to request ("/<code>" or
	// "/c/<partner>/<ad>/<program>"), most popular first. Required.
	Links []string
	// Zipf is the exponent s of the Zipf popularity of Links: the link of
	// rank k (from 1) is requested with weight 1/k^s. 0 is uniform.
	// Default: 0 (uniform).
	Zipf float64
	// Bots is the fraction of requests sent with a bot user agent (crawlers,
	// link-preview fetchers, HTTP libraries, headless browsers, an empty
	// user agent), in [0, 1]. The rest carry real browser user agents.
	// Default: 0 (browsers only).
	Bots float64
	// Head is the fraction of requests sent as HEAD instead of GET, in [0, 1].
	// Default: 0.
	Head float64
	// Clients is the number of distinct client IPv4 addresses sent in
	// X-Forwarded-For. Default: 10000.
	Clients int
	// RunID marks every request of the run with the query parameter
	// subId1=<RunID>, so its click events can be found on the topic.
	// Letters, digits, '-' and '_', at most 64 bytes. Default: NewRunID().
	RunID string
	// Seed seeds the random choices; the same seed and config give the same
	// request sequence per worker. Default: 0.
	Seed uint64
}

// Traffic draws requests according to a TrafficConfig. It is immutable after
// NewTraffic and safe for concurrent use; each worker passes its own
// *rand.Rand.
type Traffic struct {
	cfg   TrafficConfig
	cdf   []float64 // cumulative Zipf weights of Links, last == 1
	paths [][]byte  // "/path?subId1=<run>"
	ips   [][]byte
}

// NewTraffic validates cfg and precomputes what requests are drawn from.
func NewTraffic(cfg TrafficConfig) (*Traffic, error) {
	if len(cfg.Links) == 0 {
		return nil, errors.New("cannot create traffic: no links; give a links file or the admin API to list them")
	}
	if cfg.Zipf < 0 || math.IsNaN(cfg.Zipf) || cfg.Zipf > 10 {
		return nil, fmt.Errorf("cannot create traffic: Zipf exponent %v; want 0 (uniform) to 10", cfg.Zipf)
	}
	if !isFraction(cfg.Bots) {
		return nil, fmt.Errorf("cannot create traffic: Bots fraction %v; want 0 to 1", cfg.Bots)
	}
	if !isFraction(cfg.Head) {
		return nil, fmt.Errorf("cannot create traffic: Head fraction %v; want 0 to 1", cfg.Head)
	}
	switch {
	case cfg.Clients == 0:
		cfg.Clients = 10000
	case cfg.Clients < 0 || cfg.Clients > 1<<24:
		return nil, fmt.Errorf("cannot create traffic: Clients %d; want 1 to %d", cfg.Clients, 1<<24)
	}
	if cfg.RunID == "" {
		cfg.RunID = NewRunID()
	}
	if err := CheckRunID(cfg.RunID); err != nil {
		return nil, fmt.Errorf("cannot create traffic: %w", err)
	}
	t := &Traffic{cfg: cfg}
	t.cdf = make([]float64, len(cfg.Links))
	sum := 0.0
	for i := range cfg.Links {
		sum += math.Pow(float64(i+1), -cfg.Zipf)
		t.cdf[i] = sum
	}
	for i := range t.cdf {
		t.cdf[i] /= sum
	}
	t.cdf[len(t.cdf)-1] = 1
	for _, l := range cfg.Links {
		if err := checkLinkPath(l); err != nil {
			return nil, fmt.Errorf("cannot create traffic: %w", err)
		}
		t.paths = append(t.paths, []byte(l+"?subId1="+cfg.RunID))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1bad5eed))
	seen := make(map[netip.Addr]bool, cfg.Clients)
	for len(t.ips) < cfg.Clients {
		a := publicIPv4(rng)
		if !seen[a] {
			seen[a] = true
			t.ips = append(t.ips, []byte(a.String()))
		}
	}
	return t, nil
}

// RunID returns the run ID the requests carry in subId1.
func (t *Traffic) RunID() string { return t.cfg.RunID }

func isFraction(f float64) bool { return f >= 0 && f <= 1 }

// publicIPv4 draws a unicast address outside private, loopback, link-local,
// multicast and documentation ranges, so the edge treats it as a real client.
func publicIPv4(rng *rand.Rand) netip.Addr {
	for {
		var b [4]byte
		v := rng.Uint32()
		b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		a := netip.AddrFrom4(b)
		if b[0] == 0 || b[0] >= 224 || b[0] == 100 || b[0] == 198 || b[0] == 203 || b[0] == 192 ||
			a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || b[3] == 0 || b[3] == 255 {
			continue
		}
		return a
	}
}

// Request is one drawn request. Its slices point into the Traffic's tables
// and stay valid as long as the Traffic.
type Request struct {
	// Head is true for a HEAD request, false for GET.
	Head bool
	// Link is the index of the link in TrafficConfig.Links.
	Link int
	// PathBase is the link path and subId1=<run id>.
	PathBase []byte
	// Query is appended to PathBase: campaign parameters, an ad click ID
	// ("&utm_source=...", "&gclid=...") or nothing.
	Query []byte
	// UserAgent is the User-Agent header; empty means none is sent.
	UserAgent []byte
	// Bot reports whether UserAgent is a bot's.
	Bot bool
	// Referer is the Referer header; empty means none is sent.
	Referer []byte
	// ClientIP is the X-Forwarded-For value.
	ClientIP []byte
}

// Draw fills r with the next request drawn with rng. It does not allocate.
func (t *Traffic) Draw(rng *rand.Rand, r *Request) {
	r.Link = sort.SearchFloat64s(t.cdf, rng.Float64())
	if r.Link >= len(t.cdf) {
		r.Link = len(t.cdf) - 1
	}
	r.PathBase = t.paths[r.Link]
	r.Head = t.cfg.Head > 0 && rng.Float64() < t.cfg.Head
	r.Bot = t.cfg.Bots > 0 && rng.Float64() < t.cfg.Bots
	if r.Bot {
		r.UserAgent = botUserAgents[rng.IntN(len(botUserAgents))]
		r.Referer = nil
	} else {
		r.UserAgent = browserUserAgents[rng.IntN(len(browserUserAgents))]
		r.Referer = referrers[rng.IntN(len(referrers))]
	}
	r.Query = queries[rng.IntN(len(queries))]
	r.ClientIP = t.ips[rng.IntN(len(t.ips))]
}

// NewRunID returns a fresh run ID: "cb" and 10 random base-36 digits.
func NewRunID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := []byte("cb")
	for i := 0; i < 10; i++ {
		b = append(b, digits[rand.IntN(len(digits))])
	}
	return string(b)
}

// CheckRunID reports whether id can mark a run: 1 to 64 letters, digits, '-'
// or '_', so it needs no escaping in a query or in JSON.
func CheckRunID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("run ID %q: want 1 to 64 characters", id)
	}
	for i := 0; i < len(id); i++ {
		if !isIDByte(id[i]) {
			return fmt.Errorf("run ID %q: character %s at %d; want letters, digits, '-' or '_'", id, strconv.QuoteRune(rune(id[i])), i)
		}
	}
	return nil
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// The drawn parts: each table lists a value as often as it should appear.
var (
	browserUserAgents = bytesList(
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 606557318)",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; SM-S921B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/471.0.0.35.84;]",
		"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	)
	botUserAgents = bytesList(
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Twitterbot/1.0",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"WhatsApp/2.23.20.0",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
		"curl/8.5.0",
		"python-requests/2.31.0",
		"Go-http-client/1.1",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36",
		"",
	)
	referrers = bytesList(
		"", "", "", "", // direct
		"https://www.google.com/",
		"https://www.bing.com/",
		"https://t.co/",
		"https://www.instagram.com/",
		"https://m.facebook.com/",
		"https://www.youtube.com/",
		"https://www.reddit.com/r/BuyItForLife/",
		"https://mail.google.com/",
		"android-app://com.google.android.gm/",
		"https://web.whatsapp.com/",
		"https://www.example-reviews.com/best-headphones-2024",
		"https://newsletter.example.org/issue/42",
	)
	queries = bytesList(
		"", "", "", "", "", "",
		"&utm_source=instagram&utm_medium=social",
		"&utm_source=newsletter&utm_medium=email",
		"&gclid=Cj0KCQjw",
		"&fbclid=IwAR2x",
	)
)

func bytesList(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = []byte(v)
	}
	return out
}
