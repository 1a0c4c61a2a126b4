package linkcache

import (
	"errors"
	"net/url"
	"strings"

	"github.com/clickedge/clickedge/tracking"
)

// Target is a resolved link: the destination and what the click event records
// about it. The byte fields are views into one buffer built by NewTarget; a
// Target is immutable and safe to share between goroutines. The fields a
// redirect reads come first.
type Target struct {
	// Location is the full destination URL with the partnership's attribution,
	// before any pass-through parameters of the request.
	Location []byte
	// ClickLink is the link's part of a click event (Code to Marketplace,
	// tracking.AppendLinkJSON) and ClickKey the event's Kafka key, encoded
	// once here instead of on every click.
	ClickLink, ClickKey []byte
	// Passthrough lets non-reserved request query parameters reach Amazon.
	Passthrough bool

	// Code is the short code, or empty for a structured link.
	Code []byte
	// Level is program, partner or ad.
	Level []byte
	// Program, Partner and Ad identify the link; Ad is empty below ad level.
	Program, Partner, Ad []byte
	// ASIN is the product, or empty for a Store page.
	ASIN []byte
	// Marketplace is the program's marketplace code.
	Marketplace []byte

	size int
}

// Size returns the bytes the Target holds, for cache accounting.
func (t *Target) Size() int { return t.size }

// Resolution is everything NewTarget needs, as read from the store.
type Resolution struct {
	Code, Level, Program, Partner, Ad string
	Prog                              *Program
	Partnership                       *Partnership
	// AdDef is the ad record at ad level.
	AdDef *Ad
	// ASIN is the partner-chosen product at partner level.
	ASIN string
}

// ErrBadDestination is returned by NewTarget when stored parts do not make a
// destination on the program's Amazon host. It means the store holds data that
// did not pass validation.
var ErrBadDestination = errors.New("stored link parts do not make an Amazon destination")

// NewTarget builds the Target of r: https://<marketplace host>/dp/<ASIN> or the
// Store page, plus the attribution parameters. The destination is checked
// again here, so a record that bypassed the admin API cannot produce an open
// redirect.
func NewTarget(r *Resolution) (*Target, error) {
	host, ok := MarketplaceHost(r.Prog.Marketplace)
	if !ok {
		return nil, ErrBadDestination
	}
	asin, store := r.Prog.ASIN, r.Prog.StoreURL
	switch r.Level {
	case LevelPartner:
		asin, store = r.ASIN, ""
	case LevelAd:
		if r.AdDef == nil {
			return nil, ErrBadDestination
		}
		asin, store = r.AdDef.ASIN, r.AdDef.StoreURL
	}
	loc, err := AppendDestination(nil, host, asin, store, &r.Partnership.Attribution)
	if err != nil {
		return nil, err
	}

	// Everything a click reads (Location, ClickLink, ClickKey) and the
	// fields lie in one array, in that order: a redirect touches a few
	// neighbouring cache lines instead of several allocations.
	t := &Target{Passthrough: r.Prog.Passthrough}
	fields := [][]byte{[]byte(r.Code), []byte(r.Level), []byte(r.Program), []byte(r.Partner), []byte(r.Ad), []byte(asin), []byte(r.Prog.Marketplace)}
	link := tracking.AppendLinkJSON(nil, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6])
	key := tracking.AppendClickKey(nil, fields[2], fields[3])
	t.pack(nil, append([][]byte{loc, link, key}, fields...))
	return t, nil
}

// pack points t's byte fields, in the order of views (Location, ClickLink,
// ClickKey, Code, Level, Program, Partner, Ad, ASIN, Marketplace), at copies
// in one new buffer after prefix, and sets t's size. It returns the buffer.
func (t *Target) pack(prefix []byte, parts [][]byte) []byte {
	to := t.views()
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	buf := append(make([]byte, 0, n), prefix...)
	for i, p := range parts {
		start := len(buf)
		buf = append(buf, p...)
		*to[i] = buf[start:len(buf):len(buf)]
	}
	t.size = cap(buf) + 208 // the struct and slice headers
	return buf
}

// views are t's byte fields in the order of their bytes in t's buffer.
func (t *Target) views() [10]*[]byte {
	return [10]*[]byte{&t.Location, &t.ClickLink, &t.ClickKey, &t.Code, &t.Level, &t.Program, &t.Partner, &t.Ad, &t.ASIN, &t.Marketplace}
}

// hot is the length of t's buffer a redirect reads: Location, ClickLink and
// ClickKey, which lie there first and back to back.
func (t *Target) hot() int { return len(t.Location) + len(t.ClickLink) + len(t.ClickKey) }

// AppendDestination appends the destination URL for a product (asin) or Store page
// (store, a full URL on host) with the attribution parameters to dst. It fails
// unless the result is an https URL on host with a safe path.
func AppendDestination(dst []byte, host, asin, store string, a *Attribution) ([]byte, error) {
	if !IsMarketplaceHost(host) {
		return dst, ErrBadDestination
	}
	start := len(dst)
	dst = append(dst, "https://"...)
	dst = append(dst, host...)
	switch {
	case asin != "":
		if !IsASIN(asin) {
			return dst[:start], ErrBadDestination
		}
		dst = append(dst, "/dp/"...)
		dst = append(dst, asin...)
	case store != "":
		prefix := "https://" + host + "/stores/"
		if !strings.HasPrefix(store, prefix) || len(store) == len(prefix) {
			return dst[:start], ErrBadDestination
		}
		p := store[len("https://")+len(host):]
		for i := 0; i < len(p); i++ {
			if !isPathByte(p[i]) {
				return dst[:start], ErrBadDestination
			}
		}
		dst = append(dst, p...)
	default:
		return dst[:start], ErrBadDestination
	}
	sep := byte('?')
	add := func(k, v string) {
		if v == "" {
			return
		}
		dst = append(dst, sep)
		sep = '&'
		dst = append(dst, k...)
		dst = append(dst, '=')
		dst = AppendQueryEscape(dst, v)
	}
	if a.MAAS != "" {
		add("maas", a.MAAS)
		add("ref_", "aa_maas")
		add("tag", "maas")
		add("aa_campaignid", a.CampaignID)
		add("aa_adgroupid", a.AdGroupID)
		add("aa_creativeid", a.CreativeID)
	} else {
		add("tag", a.Tag)
		add("linkCode", a.LinkCode)
		add("ascsubtag", a.AscSubtag)
	}
	return dst, nil
}

// AppendQueryEscape appends s escaped for a URL query component: everything but
// unreserved characters is percent-encoded, so the result never holds CR, LF,
// spaces, '&', '=' or '#'.
func AppendQueryEscape[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// ValidLocation reports whether loc parses as an https URL on an Amazon
// marketplace host without CR, LF or other control bytes. Tests and fuzz
// targets use it as the invariant of every Location the edge emits.
func ValidLocation(loc string) bool {
	for i := 0; i < len(loc); i++ {
		if loc[i] < 0x21 || loc[i] >= 0x7f {
			return false
		}
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" {
		return false
	}
	return IsMarketplaceHost(u.Host)
}
