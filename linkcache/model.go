// Package linkcache holds the link model of clickedge (programs, partners, ads,
// partnerships and links), stores it in Redis and resolves link paths to
// redirect targets through an in-process cache kept fresh by Redis pub/sub.
package linkcache

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Levels of a link, as they appear in the admin API and on the click event.
const (
	LevelProgram = "program"
	LevelPartner = "partner"
	LevelAd      = "ad"
)

// marketplaceHosts maps a marketplace code to its Amazon host. Attribution never
// crosses marketplaces, so every destination is built on exactly one of these.
var marketplaceHosts = map[string]string{
	"US": "www.amazon.com",
	"CA": "www.amazon.ca",
	"MX": "www.amazon.com.mx",
	"UK": "www.amazon.co.uk",
	"DE": "www.amazon.de",
	"FR": "www.amazon.fr",
	"IT": "www.amazon.it",
	"ES": "www.amazon.es",
	"NL": "www.amazon.nl",
}

// marketplaceList is the list of marketplace codes used in error messages.
const marketplaceList = "US, CA, MX, UK, DE, FR, IT, ES, NL"

// MarketplaceHost returns the Amazon host of the marketplace code, such as
// "www.amazon.co.uk" for "UK".
func MarketplaceHost(code string) (string, bool) {
	h, ok := marketplaceHosts[code]
	return h, ok
}

// IsMarketplaceHost reports whether host is the Amazon host of a known marketplace.
func IsMarketplaceHost(host string) bool {
	for _, h := range marketplaceHosts {
		if h == host {
			return true
		}
	}
	return false
}

// FieldError is a validation failure of one field of an admin API body.
type FieldError struct {
	// Field is the JSON name of the field, dotted for nested fields.
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Program is one brand program on one Amazon marketplace.
type Program struct {
	// Name is the display name.
	Name string `json:"name"`
	// Marketplace is one of US, CA, MX, UK, DE, FR, IT, ES, NL.
	Marketplace string `json:"marketplace"`
	// ASIN is the default product; exactly one of ASIN and StoreURL is set.
	ASIN string `json:"asin,omitempty"`
	// StoreURL is the default Store page on the marketplace's Amazon host.
	StoreURL string `json:"store_url,omitempty"`
	// Passthrough lets non-reserved query parameters of the click reach Amazon.
	Passthrough bool `json:"passthrough"`
	// Timezone is the IANA time zone of the program's limit windows. Default: UTC.
	Timezone string `json:"timezone,omitempty"`
}

// Validate checks p and normalizes StoreURL and Timezone.
func (p *Program) Validate() error {
	if err := checkText("name", p.Name, 256, true); err != nil {
		return err
	}
	host, ok := MarketplaceHost(p.Marketplace)
	if !ok {
		return fieldErr("marketplace", "unknown marketplace %q; want one of %s", p.Marketplace, marketplaceList)
	}
	if err := checkDestination(&p.ASIN, &p.StoreURL, host); err != nil {
		return err
	}
	if p.Timezone == "" {
		p.Timezone = "UTC"
	}
	if err := checkText("timezone", p.Timezone, 64, true); err != nil {
		return err
	}
	if _, err := time.LoadLocation(p.Timezone); err != nil {
		return fieldErr("timezone", "unknown time zone %q; want an IANA name such as America/New_York", p.Timezone)
	}
	return nil
}

// Partner is a publisher or creator.
type Partner struct {
	// Name is the display name.
	Name string `json:"name"`
}

// Validate checks p.
func (p *Partner) Validate() error {
	return checkText("name", p.Name, 256, true)
}

// Ad is a brand-defined creative in a program, with its own destination.
type Ad struct {
	// Name is the display name.
	Name string `json:"name"`
	// ASIN is the ad's product; exactly one of ASIN and StoreURL is set.
	ASIN string `json:"asin,omitempty"`
	// StoreURL is the ad's Store page on the program's Amazon host.
	StoreURL string `json:"store_url,omitempty"`
}

// Validate checks a and normalizes StoreURL for the program's marketplace.
func (a *Ad) Validate(marketplace string) error {
	if err := checkText("name", a.Name, 256, true); err != nil {
		return err
	}
	host, ok := MarketplaceHost(marketplace)
	if !ok {
		return fieldErr("marketplace", "unknown marketplace %q", marketplace)
	}
	return checkDestination(&a.ASIN, &a.StoreURL, host)
}

// Attribution holds a partnership's attribution parameters: either Amazon
// Attribution (MAAS and the aa_* IDs) or Associates (Tag, LinkCode, AscSubtag),
// never both.
type Attribution struct {
	MAAS       string `json:"maas,omitempty"`
	CampaignID string `json:"aa_campaignid,omitempty"`
	AdGroupID  string `json:"aa_adgroupid,omitempty"`
	CreativeID string `json:"aa_creativeid,omitempty"`

	Tag       string `json:"tag,omitempty"`
	LinkCode  string `json:"linkCode,omitempty"`
	AscSubtag string `json:"ascsubtag,omitempty"`
}

// Validate checks that a is exactly one kind of attribution with sane values.
func (a *Attribution) Validate() error {
	maas := a.MAAS != "" || a.CampaignID != "" || a.AdGroupID != "" || a.CreativeID != ""
	assoc := a.Tag != "" || a.LinkCode != "" || a.AscSubtag != ""
	switch {
	case maas && assoc:
		return fieldErr("attribution", "set either Amazon Attribution (maas, aa_*) or Associates (tag, linkCode, ascsubtag), not both")
	case !maas && !assoc:
		return fieldErr("attribution", "required: Amazon Attribution {\"maas\":...} or Associates {\"tag\":...}")
	case maas:
		if a.MAAS == "" {
			return fieldErr("attribution.maas", "required with aa_campaignid, aa_adgroupid or aa_creativeid")
		}
		for _, f := range []struct{ name, v string }{
			{"attribution.maas", a.MAAS},
			{"attribution.aa_campaignid", a.CampaignID},
			{"attribution.aa_adgroupid", a.AdGroupID},
			{"attribution.aa_creativeid", a.CreativeID},
		} {
			if err := checkToken(f.name, f.v, 256); err != nil {
				return err
			}
		}
	default:
		if a.Tag == "" {
			return fieldErr("attribution.tag", "required with linkCode or ascsubtag")
		}
		if err := checkToken("attribution.tag", a.Tag, 128); err != nil {
			return err
		}
		if err := checkToken("attribution.linkCode", a.LinkCode, 32); err != nil {
			return err
		}
		if err := checkText("attribution.ascsubtag", a.AscSubtag, 255, false); err != nil {
			return err
		}
	}
	return nil
}

// Partnership is a program × partner pair: the partner's attribution for the
// program and its CPC contract.
type Partnership struct {
	// Attribution is required.
	Attribution Attribution `json:"attribution"`
	// Contract is the CPC contract the rollup enforces; nil: clicks are
	// counted as no_contract and never paid.
	Contract *Contract `json:"contract,omitempty"`
}

// Validate checks p. The contract is validated as it is decoded.
func (p *Partnership) Validate() error {
	return p.Attribution.Validate()
}

// Link is a short code that resolves to a program, a partner and optionally an
// ad (ad level) or a product (partner level).
type Link struct {
	Code    string `json:"code"`
	Program string `json:"program"`
	Partner string `json:"partner"`
	Ad      string `json:"ad,omitempty"`
	ASIN    string `json:"asin,omitempty"`
	// Level is program, partner or ad; derived from Ad and ASIN.
	Level string `json:"level"`
	// Created is the creation time in unix milliseconds.
	Created int64 `json:"created,omitempty"`
}

// Validate checks l and sets its Level. An empty Code is allowed: the store
// generates one.
func (l *Link) Validate() error {
	if l.Code != "" {
		if err := CheckID("code", l.Code); err != nil {
			return err
		}
	}
	if err := CheckID("program", l.Program); err != nil {
		return err
	}
	if err := CheckID("partner", l.Partner); err != nil {
		return err
	}
	switch {
	case l.Ad != "" && l.ASIN != "":
		return fieldErr("asin", "a link has either an ad or an asin, not both")
	case l.Ad != "":
		if err := CheckID("ad", l.Ad); err != nil {
			return err
		}
		if l.Ad == "0" {
			return fieldErr("ad", "\"0\" means no ad; omit the field for a program-level link")
		}
		l.Level = LevelAd
	case l.ASIN != "":
		if !IsASIN(l.ASIN) {
			return fieldErr("asin", "invalid ASIN %q; want 10 characters A-Z or 0-9", l.ASIN)
		}
		l.Level = LevelPartner
	default:
		l.Level = LevelProgram
	}
	return nil
}

// MaxIDLen is the longest ID and short code, in bytes.
const MaxIDLen = 64

// IsIDByte reports whether c may appear in an ID or a short code.
func IsIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// IsID reports whether b is a valid ID: [A-Za-z0-9_-]{1,64}.
func IsID[T string | []byte](b T) bool {
	if len(b) == 0 || len(b) > MaxIDLen {
		return false
	}
	for i := 0; i < len(b); i++ {
		if !IsIDByte(b[i]) {
			return false
		}
	}
	return true
}

// CheckID returns a FieldError when id is not a valid ID.
func CheckID(field, id string) error {
	if id == "" {
		return fieldErr(field, "required")
	}
	if !IsID(id) {
		return fieldErr(field, "invalid ID %q; want 1 to 64 characters from A-Z a-z 0-9 _ -", truncate(id))
	}
	return nil
}

// IsASIN reports whether s matches ^[A-Z0-9]{10}$.
func IsASIN(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkDestination checks that exactly one of *asin and *store is set and
// normalizes the store URL onto host.
func checkDestination(asin, store *string, host string) error {
	switch {
	case *asin != "" && *store != "":
		return fieldErr("asin", "set either asin or store_url, not both")
	case *asin != "":
		if !IsASIN(*asin) {
			return fieldErr("asin", "invalid ASIN %q; want 10 characters A-Z or 0-9", truncate(*asin))
		}
		return nil
	case *store != "":
		s, err := NormalizeStoreURL(*store, host)
		if err != nil {
			return err
		}
		*store = s
		return nil
	default:
		return fieldErr("asin", "required: an asin or a store_url")
	}
}

// NormalizeStoreURL checks that raw is an Amazon Store page on host and returns
// it as https://host/stores/... with no query, fragment, port or user info.
func NormalizeStoreURL(raw, host string) (string, error) {
	if err := checkText("store_url", raw, 1024, true); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fieldErr("store_url", "cannot parse URL: %s", strings.TrimPrefix(err.Error(), "parse "))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fieldErr("store_url", "want an https URL on %s", host)
	}
	if u.User != nil || u.Port() != "" || u.Opaque != "" {
		return "", fieldErr("store_url", "want a plain https URL on %s without user info or port", host)
	}
	h := strings.ToLower(u.Hostname())
	if h != host && "www."+h != host {
		return "", fieldErr("store_url", "host %q is not the program's Amazon host %s", truncate(h), host)
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/stores/") || len(p) <= len("/stores/") {
		return "", fieldErr("store_url", "want a Store page path starting with /stores/")
	}
	for i := 0; i < len(p); i++ {
		if !isPathByte(p[i]) {
			return "", fieldErr("store_url", "path has a character that is not allowed: %q", p[i])
		}
	}
	return "https://" + host + p, nil
}

// isPathByte reports whether c may appear in an escaped URL path we emit.
func isPathByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '/', '%', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

// checkText rejects control characters and overlong values.
func checkText(field, s string, maxLen int, required bool) error {
	if s == "" {
		if required {
			return fieldErr(field, "required")
		}
		return nil
	}
	if len(s) > maxLen {
		return fieldErr(field, "too long: %d bytes; at most %d", len(s), maxLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fieldErr(field, "has a control character")
		}
		if r == '\ufffd' {
			return fieldErr(field, "is not valid UTF-8")
		}
	}
	return nil
}

// checkToken allows an optional value of printable ASCII without spaces.
func checkToken(field, s string, maxLen int) error {
	if len(s) > maxLen {
		return fieldErr(field, "too long: %d bytes; at most %d", len(s), maxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f {
			return fieldErr(field, "has a character that is not allowed: %q; want printable ASCII without spaces", c)
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
