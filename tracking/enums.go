package tracking

import "fmt"

// Source is where a click came from. The zero value is SourceDirect.
type Source uint8

// Sources in the order of their numeric values.
const (
	// SourceDirect is a click without a referrer.
	SourceDirect Source = iota
	// SourceSearch is a click from a search engine or an AI answer engine.
	SourceSearch
	// SourceSocial is a click from a social network.
	SourceSocial
	// SourceEmail is a click from webmail or a mail app.
	SourceEmail
	// SourceMessaging is a click from a messenger or team chat.
	SourceMessaging
	// SourcePaid is a click carrying an ad click ID in its query (gclid,
	// gbraid, wbraid, dclid, fbclid, msclkid, ttclid, twclid, li_fat_id,
	// yclid, ScCid, epik, rdt_cid) or coming through an ad network's click
	// tracker (googleadservices.com, doubleclick.net, ...). It wins over the
	// referrer. Note that Facebook also adds fbclid to organic outbound links.
	SourcePaid
	// SourceReferral is a click from any other site or app.
	SourceReferral

	numSources = iota
)

var sourceNames = [numSources]string{"direct", "search", "social", "email", "messaging", "paid", "referral"}

// String returns the wire name of s ("direct", "search", ...), or "invalid" for
// a value outside the defined set.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler with the wire name of s.
func (s Source) MarshalText() ([]byte, error) {
	if int(s) >= len(sourceNames) {
		return nil, fmt.Errorf("cannot marshal source %d: out of range", s)
	}
	return []byte(sourceNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler for wire names.
func (s *Source) UnmarshalText(text []byte) error {
	v, ok := parseSource(text)
	if !ok {
		return fmt.Errorf("cannot parse source %q: want one of %v", text, sourceNames)
	}
	*s = v
	return nil
}

// ParseSource returns the Source named name ("direct", "search", ...).
func ParseSource(name string) (Source, bool) {
	return parseSource([]byte(name))
}

func parseSource(b []byte) (Source, bool) {
	for i, n := range sourceNames {
		if string(b) == n {
			return Source(i), true
		}
	}
	return 0, false
}

// AllSources returns every Source in numeric order, for metric label sets and
// validation. The caller owns the returned slice.
func AllSources() []Source {
	s := make([]Source, numSources)
	for i := range s {
		s[i] = Source(i)
	}
	return s
}

// Device is the kind of device behind a click. The zero value is DeviceDesktop.
type Device uint8

// Devices in the order of their numeric values.
const (
	// DeviceDesktop is a desktop or laptop browser (Windows, macOS, Linux,
	// ChromeOS). iPadOS in its default desktop mode reports a Macintosh user
	// agent and lands here.
	DeviceDesktop Device = iota
	// DeviceMobile is a phone.
	DeviceMobile
	// DeviceTablet is a tablet: iPad, Android without "Mobile", Kindle/Silk.
	DeviceTablet
	// DeviceBot is a client whose user agent (or Sec-CH-UA client hint)
	// identifies it as a bot (preview fetcher, crawler, HTTP library,
	// headless browser), or that sent no user agent. HEAD requests, prefetches
	// and datacenter clicks keep the device of their user agent.
	DeviceBot
	// DeviceOther is a TV, console, car, VR headset or anything unrecognised.
	DeviceOther

	numDevices = iota
)

var deviceNames = [numDevices]string{"desktop", "mobile", "tablet", "bot", "other"}

// String returns the wire name of d ("desktop", "mobile", ...), or "invalid"
// for a value outside the defined set.
func (d Device) String() string {
	if int(d) < len(deviceNames) {
		return deviceNames[d]
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler with the wire name of d.
func (d Device) MarshalText() ([]byte, error) {
	if int(d) >= len(deviceNames) {
		return nil, fmt.Errorf("cannot marshal device %d: out of range", d)
	}
	return []byte(deviceNames[d]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler for wire names.
func (d *Device) UnmarshalText(text []byte) error {
	v, ok := parseDevice(text)
	if !ok {
		return fmt.Errorf("cannot parse device %q: want one of %v", text, deviceNames)
	}
	*d = v
	return nil
}

// ParseDevice returns the Device named name ("desktop", "mobile", ...).
func ParseDevice(name string) (Device, bool) {
	return parseDevice([]byte(name))
}

func parseDevice(b []byte) (Device, bool) {
	for i, n := range deviceNames {
		if string(b) == n {
			return Device(i), true
		}
	}
	return 0, false
}

// AllDevices returns every Device in numeric order, for metric label sets and
// validation. The caller owns the returned slice.
func AllDevices() []Device {
	d := make([]Device, numDevices)
	for i := range d {
		d[i] = Device(i)
	}
	return d
}

// BotReason says why a click is not a human click. The zero value BotNone
// means it is one. When several reasons apply, the classifier reports the first
// in this order: head, prefetch, empty_ua, preview, crawler, library, headless,
// datacenter.
type BotReason uint8

// Bot reasons in the order of their numeric values.
const (
	// BotNone marks a human click; its wire name is "".
	BotNone BotReason = iota
	// BotHead is a HEAD request: never a click.
	BotHead
	// BotPrefetch is a speculative fetch (Purpose or Sec-Purpose: prefetch).
	BotPrefetch
	// BotPreview is a link-preview fetcher (Slack, Discord, WhatsApp, iMessage, ...).
	BotPreview
	// BotCrawler is a search, SEO, AI, feed or monitoring crawler.
	BotCrawler
	// BotLibrary is an HTTP library or command-line client (curl, requests, ...).
	BotLibrary
	// BotHeadless is a headless or automated browser.
	BotHeadless
	// BotEmptyUA is a request without a user agent.
	BotEmptyUA
	// BotDatacenter is a request from a configured datacenter range.
	BotDatacenter

	numBotReasons = iota
)

var botReasonNames = [numBotReasons]string{"", "head", "prefetch", "preview", "crawler", "library", "headless", "empty_ua", "datacenter"}

// String returns the wire name of r ("" for BotNone, "head", "prefetch", ...),
// or "invalid" for a value outside the defined set.
func (r BotReason) String() string {
	if int(r) < len(botReasonNames) {
		return botReasonNames[r]
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler with the wire name of r.
func (r BotReason) MarshalText() ([]byte, error) {
	if int(r) >= len(botReasonNames) {
		return nil, fmt.Errorf("cannot marshal bot reason %d: out of range", r)
	}
	return []byte(botReasonNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler for wire names.
func (r *BotReason) UnmarshalText(text []byte) error {
	v, ok := parseBotReason(text)
	if !ok {
		return fmt.Errorf("cannot parse bot reason %q: want one of %q", text, botReasonNames)
	}
	*r = v
	return nil
}

// ParseBotReason returns the BotReason named name ("" for BotNone, "head", ...).
func ParseBotReason(name string) (BotReason, bool) {
	return parseBotReason([]byte(name))
}

func parseBotReason(b []byte) (BotReason, bool) {
	for i, n := range botReasonNames {
		if string(b) == n {
			return BotReason(i), true
		}
	}
	return 0, false
}

// AllBotReasons returns every bot reason except BotNone in numeric order, for
// metric label sets and validation. The caller owns the returned slice.
func AllBotReasons() []BotReason {
	r := make([]BotReason, 0, numBotReasons-1)
	for i := BotNone + 1; i < numBotReasons; i++ {
		r = append(r, i)
	}
	return r
}
