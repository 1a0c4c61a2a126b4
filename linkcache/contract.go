package linkcache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clickedge/clickedge/tracking"
)

// Contract is the CPC contract of a partnership: what a click pays, which
// clicks count, and the limits no window may pass. The rollup enforces it.
//
// On the wire money is a decimal string ("0.25"); inside it is an integer
// number of micros (millionths of the currency unit), so sums are exact.
type Contract struct {
	// Currency is the ISO 4217 code the payouts are in ("USD").
	Currency string
	// DefaultPayout is what a payable click pays when no payout group
	// matches, in micros. It may be 0: track only.
	DefaultPayout int64
	// PayoutGroups are tried in order; the first that matches sets the payout.
	PayoutGroups []PayoutGroup
	// Restrictions, when set, credit only clicks that match them; others are
	// restricted.
	Restrictions *Criteria
	// UniqueWindow is how long a repeat click of the same visitor on the
	// partnership is a duplicate. 0 turns duplicate detection off.
	UniqueWindow time.Duration
	// Limits must all hold: no window's usage passes its Max.
	Limits []Limit
}

// PayoutGroup pays Payout micros for clicks that match Match.
type PayoutGroup struct {
	Name   string
	Match  Criteria
	Payout int64
}

// Criteria match a click: every non-empty list must contain the click's value.
// An empty Criteria matches every click.
type Criteria struct {
	Source  []string `json:"source,omitempty"`
	Country []string `json:"country,omitempty"`
	Device  []string `json:"device,omitempty"`
	Ad      []string `json:"ad,omitempty"`
	Level   []string `json:"level,omitempty"`
}

// Limit metrics.
const (
	MetricClicks = "clicks"
	MetricPayout = "payout"
)

// Periods of limit windows, in the program's time zone.
const (
	PeriodDay      = "day"
	PeriodWeek     = "week" // from Monday
	PeriodMonth    = "month"
	PeriodQuarter  = "quarter"
	PeriodContract = "contract" // lifetime
)

// Periods lists every period in the order of their length.
var Periods = []string{PeriodDay, PeriodWeek, PeriodMonth, PeriodQuarter, PeriodContract}

// Limit bounds the payable clicks (Metric "clicks") or the payout in micros
// (Metric "payout") of each Period window to Max.
type Limit struct {
	Metric string
	Max    int64
	Period string
}

// DefaultUniqueWindow applies when a contract gives no unique_window.
const DefaultUniqueWindow = 30 * time.Minute

// MaxUniqueWindow bounds unique_window.
const MaxUniqueWindow = 30 * 24 * time.Hour

// maxMoneyMicros bounds any amount: a trillion currency units.
const maxMoneyMicros = 1e18

// maxContractLists bounds the payout groups, limits and each criteria list.
const maxContractLists = 100

// Matches reports whether a click with these values matches c.
func (c *Criteria) Matches(source, country, device, ad, level []byte) bool {
	return matchList(c.Source, source) && matchList(c.Country, country) &&
		matchList(c.Device, device) && matchList(c.Ad, ad) && matchList(c.Level, level)
}

func matchList(list []string, v []byte) bool {
	if len(list) == 0 {
		return true
	}
	for _, s := range list {
		if s == string(v) {
			return true
		}
	}
	return false
}

// Payout returns the payout of a click with these values: the first matching
// group's, else DefaultPayout.
func (c *Contract) Payout(source, country, device, ad, level []byte) int64 {
	for i := range c.PayoutGroups {
		if c.PayoutGroups[i].Match.Matches(source, country, device, ad, level) {
			return c.PayoutGroups[i].Payout
		}
	}
	return c.DefaultPayout
}

// FormatMoney formats micros as a decimal string with at least two decimals:
// 250000 → "0.25", 1 → "0.000001".
func FormatMoney(micros int64) string {
	neg := micros < 0
	if neg {
		micros = -micros
	}
	s := fmt.Sprintf("%d.%06d", micros/1e6, micros%1e6)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i < 3 {
		s += strings.Repeat("0", 3-(len(s)-i))
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseMoney parses a non-negative decimal string with at most 6 decimals
// ("0.25", "50", "12.000001") into micros.
func ParseMoney(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (dot && (frac == "" || len(frac) > 6)) {
		return 0, fmt.Errorf("want a decimal string such as \"0.25\" with at most 12 digits before and 6 after the point, got %q", truncate(s))
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("want a decimal string such as \"0.25\", got %q", truncate(s))
			}
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	return w*1e6 + f, nil
}

// contractJSON is the wire form of Contract.
type contractJSON struct {
	Currency      string      `json:"currency"`
	DefaultPayout string      `json:"default_payout"`
	PayoutGroups  []groupJSON `json:"payout_groups,omitempty"`
	Restrictions  *Criteria   `json:"restrictions,omitempty"`
	UniqueWindow  string      `json:"unique_window"`
	Limits        []limitJSON `json:"limits,omitempty"`
}

type groupJSON struct {
	Name   string   `json:"name"`
	Match  Criteria `json:"match"`
	Payout string   `json:"payout"`
}

type limitJSON struct {
	Metric string `json:"metric"`
	Max    any    `json:"max"`
	Period string `json:"period"`
}

// MarshalJSON writes the wire form: money as decimal strings, a clicks
// limit's max as a number.
func (c *Contract) MarshalJSON() ([]byte, error) {
	out := contractJSON{
		Currency:      c.Currency,
		DefaultPayout: FormatMoney(c.DefaultPayout),
		Restrictions:  c.Restrictions,
		UniqueWindow:  c.UniqueWindow.String(),
	}
	for _, g := range c.PayoutGroups {
		out.PayoutGroups = append(out.PayoutGroups, groupJSON{Name: g.Name, Match: g.Match, Payout: FormatMoney(g.Payout)})
	}
	for _, l := range c.Limits {
		lj := limitJSON{Metric: l.Metric, Period: l.Period, Max: l.Max}
		if l.Metric == MetricPayout {
			lj.Max = FormatMoney(l.Max)
		}
		out.Limits = append(out.Limits, lj)
	}
	return json.Marshal(out)
}

// UnmarshalJSON parses and validates a contract. Its errors are FieldErrors
// naming the field from "contract" down ("contract.limits[1].max").
func (c *Contract) UnmarshalJSON(data []byte) error {
	parsed, err := ParseContract(data)
	if err != nil {
		return err
	}
	*c = *parsed
	return nil
}

// ParseContract parses and validates the JSON object of a contract. Unknown
// fields, wrong types and values out of range are FieldErrors that name the
// field ("contract.payout_groups[0].match.device[1]").
func ParseContract(data []byte) (*Contract, error) {
	p := contractParser{}
	top, err := p.object("contract", data, "currency", "default_payout", "payout_groups", "restrictions", "unique_window", "limits")
	if err != nil {
		return nil, err
	}
	c := &Contract{UniqueWindow: DefaultUniqueWindow}
	if c.Currency, err = p.str("contract.currency", top["currency"], true); err != nil {
		return nil, err
	}
	if len(c.Currency) != 3 || strings.ToUpper(c.Currency) != c.Currency || !isLetters(c.Currency) {
		return nil, fieldErr("contract.currency", "want an ISO 4217 code such as \"USD\", got %q", truncate(c.Currency))
	}
	if top["default_payout"] == nil {
		return nil, fieldErr("contract.default_payout", "required; use \"0\" to track clicks without paying")
	}
	if c.DefaultPayout, err = p.money("contract.default_payout", top["default_payout"]); err != nil {
		return nil, err
	}
	groups, err := p.array("contract.payout_groups", top["payout_groups"])
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for i, raw := range groups {
		path := fmt.Sprintf("contract.payout_groups[%d]", i)
		g, err := p.object(path, raw, "name", "match", "payout")
		if err != nil {
			return nil, err
		}
		var pg PayoutGroup
		if pg.Name, err = p.str(path+".name", g["name"], true); err != nil {
			return nil, err
		}
		if err := checkText(path+".name", pg.Name, 128, true); err != nil {
			return nil, err
		}
		if names[pg.Name] {
			return nil, fieldErr(path+".name", "duplicate payout group name %q", pg.Name)
		}
		names[pg.Name] = true
		if g["match"] == nil {
			return nil, fieldErr(path+".match", "required; a group matches on source, country, device, ad or level")
		}
		m, err := p.criteria(path+".match", g["match"])
		if err != nil {
			return nil, err
		}
		pg.Match = *m
		if g["payout"] == nil {
			return nil, fieldErr(path+".payout", "required")
		}
		if pg.Payout, err = p.money(path+".payout", g["payout"]); err != nil {
			return nil, err
		}
		c.PayoutGroups = append(c.PayoutGroups, pg)
	}
	if raw := top["restrictions"]; raw != nil && !isNull(raw) {
		if c.Restrictions, err = p.criteria("contract.restrictions", raw); err != nil {
			return nil, err
		}
	}
	if raw := top["unique_window"]; raw != nil && !isNull(raw) {
		s, err := p.str("contract.unique_window", raw, false)
		if err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > MaxUniqueWindow {
			return nil, fieldErr("contract.unique_window", "want a duration from \"0s\" (off) to \"720h\" such as \"30m\", got %q", truncate(s))
		}
		c.UniqueWindow = d
	}
	limits, err := p.array("contract.limits", top["limits"])
	if err != nil {
		return nil, err
	}
	seen := map[[2]string]bool{}
	for i, raw := range limits {
		path := fmt.Sprintf("contract.limits[%d]", i)
		lm, err := p.object(path, raw, "metric", "max", "period")
		if err != nil {
			return nil, err
		}
		var l Limit
		if l.Metric, err = p.str(path+".metric", lm["metric"], true); err != nil {
			return nil, err
		}
		if l.Period, err = p.str(path+".period", lm["period"], true); err != nil {
			return nil, err
		}
		if !slices.Contains(Periods, l.Period) {
			return nil, fieldErr(path+".period", "unknown period %q; want one of %s", truncate(l.Period), strings.Join(Periods, ", "))
		}
		if lm["max"] == nil {
			return nil, fieldErr(path+".max", "required")
		}
		switch l.Metric {
		case MetricClicks:
			var n json.Number
			dec := json.NewDecoder(bytes.NewReader(lm["max"]))
			dec.UseNumber()
			if err := dec.Decode(&n); err != nil || bytes.TrimSpace(lm["max"])[0] == '"' {
				return nil, fieldErr(path+".max", "want a whole number of clicks such as 100, got %s", truncate(string(lm["max"])))
			}
			v, err := strconv.ParseInt(n.String(), 10, 64)
			if err != nil || v < 1 || v > maxMoneyMicros {
				return nil, fieldErr(path+".max", "want a whole number of clicks from 1 to 10^18, got %s", truncate(n.String()))
			}
			l.Max = v
		case MetricPayout:
			if l.Max, err = p.money(path+".max", lm["max"]); err != nil {
				return nil, err
			}
			if l.Max == 0 {
				return nil, fieldErr(path+".max", "want a positive amount such as \"50.00\"")
			}
		default:
			return nil, fieldErr(path+".metric", "unknown metric %q; want clicks or payout", truncate(l.Metric))
		}
		key := [2]string{l.Metric, l.Period}
		if seen[key] {
			return nil, fieldErr(path, "a second %s limit per %s; keep one", l.Metric, l.Period)
		}
		seen[key] = true
		c.Limits = append(c.Limits, l)
	}
	return c, nil
}

type contractParser struct{}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// object decodes raw as a JSON object whose keys are among allowed.
func (contractParser) object(path string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if raw == nil || isNull(raw) || json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, fieldErr(path, "want a JSON object")
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return nil, fieldErr(path, "unknown field %q; want %s", truncate(k), strings.Join(allowed, ", "))
		}
	}
	return m, nil
}

func (contractParser) array(path string, raw json.RawMessage) ([]json.RawMessage, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fieldErr(path, "want a JSON array")
	}
	if len(a) > maxContractLists {
		return nil, fieldErr(path, "at most %d entries, got %d", maxContractLists, len(a))
	}
	return a, nil
}

func (contractParser) str(path string, raw json.RawMessage, required bool) (string, error) {
	if raw == nil || isNull(raw) {
		if required {
			return "", fieldErr(path, "required")
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldErr(path, "want a string, got %s", truncate(string(raw)))
	}
	if required && s == "" {
		return "", fieldErr(path, "required")
	}
	return s, nil
}

func (p contractParser) money(path string, raw json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fieldErr(path, "want money as a decimal string such as \"0.25\", got %s", truncate(string(raw)))
	}
	v, err := ParseMoney(s)
	if err != nil {
		return 0, fieldErr(path, "%v", err)
	}
	return v, nil
}

// criteria parses a match or restrictions object.
func (p contractParser) criteria(path string, raw json.RawMessage) (*Criteria, error) {
	m, err := p.object(path, raw, "source", "country", "device", "ad", "level")
	if err != nil {
		return nil, err
	}
	c := &Criteria{}
	fields := []struct {
		name  string
		dst   *[]string
		check func(string) bool
		want  string
	}{
		{"source", &c.Source, func(s string) bool { _, ok := tracking.ParseSource(s); return ok }, "one of " + enumNames(tracking.AllSources())},
		{"country", &c.Country, func(s string) bool { return len(s) == 2 && isLetters(s) && strings.ToUpper(s) == s }, "an ISO 3166-1 alpha-2 code such as \"US\""},
		{"device", &c.Device, func(s string) bool { _, ok := tracking.ParseDevice(s); return ok }, "one of " + enumNames(tracking.AllDevices())},
		{"ad", &c.Ad, IsID[string], "an ad ID"},
		{"level", &c.Level, func(s string) bool { return s == LevelProgram || s == LevelPartner || s == LevelAd }, "one of program, partner, ad"},
	}
	for _, f := range fields {
		items, err := p.array(path+"."+f.name, m[f.name])
		if err != nil {
			return nil, err
		}
		for i, raw := range items {
			ip := fmt.Sprintf("%s.%s[%d]", path, f.name, i)
			s, err := p.str(ip, raw, true)
			if err != nil {
				return nil, err
			}
			if !f.check(s) {
				return nil, fieldErr(ip, "unknown %s %q; want %s", f.name, truncate(s), f.want)
			}
			if !slices.Contains(*f.dst, s) {
				*f.dst = append(*f.dst, s)
			}
		}
	}
	return c, nil
}

func enumNames[T fmt.Stringer](vs []T) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.String()
	}
	return strings.Join(names, ", ")
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
