package tracking

import "sync"

// Feature bits set by user-agent tokens.
const (
	fPreview uint64 = 1 << iota
	fCrawler
	fGenericCrawler // "crawl", "spider", a URL, ...: a crawler unless a specific token says otherwise
	fGenericBot     // "bot" anywhere: like fGenericCrawler unless cancelled by fNotBot
	fNotBot         // device names that contain "bot" (CUBOT phones)
	fLibrary
	fHeadless

	fOtherDevice // TVs, consoles, cars, VR headsets
	fIPad
	fIPhone // iPhone, iPod
	fWindowsPhone
	fKindle
	fTablet
	fTabletPC // "Tablet PC" in desktop Internet Explorer user agents
	fAndroid
	fMobile
	fDesktop
)

// uaClass is what a user agent alone says about a client.
type uaClass struct {
	device Device
	reason BotReason // BotNone, BotEmptyUA, BotPreview, BotCrawler, BotLibrary or BotHeadless
}

// uaMatcher returns the matcher of uaTokens, built on first use in about 5 ms
// (New calls it, so programs that never classify do not pay for it).
var uaMatcher = sync.OnceValue(func() *matcher { return newMatcher(uaTokens) })

// classifyUserAgent classifies a trimmed user agent. Named tokens decide in
// the order preview, crawler, library, headless; generic crawler words
// ("bot", "crawl", "spider", "slurp", a URL) only when no named token
// matched. It does not allocate.
func classifyUserAgent(ua []byte) uaClass {
	if len(ua) == 0 || len(ua) == 1 && ua[0] == '-' {
		return uaClass{device: DeviceBot, reason: BotEmptyUA}
	}
	f := uaMatcher().scan(ua)
	switch {
	case f&fPreview != 0:
		return uaClass{device: DeviceBot, reason: BotPreview}
	case f&fCrawler != 0:
		return uaClass{device: DeviceBot, reason: BotCrawler}
	case f&fLibrary != 0:
		return uaClass{device: DeviceBot, reason: BotLibrary}
	case f&fHeadless != 0:
		return uaClass{device: DeviceBot, reason: BotHeadless}
	case f&fGenericCrawler != 0, f&fGenericBot != 0 && f&fNotBot == 0:
		// Generic words come last so that "got (https://github.com/...)" stays
		// a library and "Prerender (+https://...)" a headless browser.
		return uaClass{device: DeviceBot, reason: BotCrawler}
	}
	return uaClass{device: deviceOf(f)}
}

// deviceOf picks the device from the device feature bits of a browser user agent.
func deviceOf(f uint64) Device {
	switch {
	case f&fOtherDevice != 0:
		return DeviceOther
	case f&fIPad != 0:
		return DeviceTablet
	case f&fIPhone != 0, f&fWindowsPhone != 0:
		return DeviceMobile
	case f&fKindle != 0:
		return DeviceTablet
	case f&fTablet != 0 && f&fTabletPC == 0:
		return DeviceTablet
	case f&fAndroid != 0:
		// Android phones say "Mobile"; Android tablets do not.
		if f&fMobile != 0 {
			return DeviceMobile
		}
		return DeviceTablet
	case f&fMobile != 0:
		return DeviceMobile
	case f&fDesktop != 0:
		return DeviceDesktop
	}
	return DeviceOther
}

// trimSpace trims ASCII white space on both ends of b without allocating.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// containsFold reports whether b contains the lowercase ASCII needle, ignoring
// ASCII case. It does not allocate.
func containsFold(b []byte, needle string) bool {
	n := len(needle)
	for i := 0; i+n <= len(b); i++ {
		j := 0
		for j < n && lower(b[i+j]) == needle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
