package tracking

import "bytes"

// maxHostLen is the longest host name accepted from a referrer (RFC 1035
// names are at most 253 bytes; Android package names are shorter in practice).
const maxHostLen = 253

// splitReferrer splits a trimmed Referer value into its origin (scheme and
// authority, as sent) and its authority, which ends at the path, query or
// fragment. ok is false unless the scheme is http, https or android-app
// (app=true).
func splitReferrer(ref []byte) (origin, auth []byte, app, ok bool) {
	var scheme int
	switch {
	case hasPrefixFold(ref, "https://"):
		scheme = len("https://")
	case hasPrefixFold(ref, "http://"):
		scheme = len("http://")
	case hasPrefixFold(ref, "android-app://"):
		scheme, app = len("android-app://"), true
	default:
		return nil, nil, false, false
	}
	rest := ref[scheme:]
	end := len(rest)
	for i, c := range rest {
		if c == '/' || c == '?' || c == '#' || c == '\\' {
			end = i
			break
		}
	}
	return ref[:scheme+end], rest[:end], app, true
}

// appendAuthorityHost appends the host of a referrer's authority (see
// splitReferrer) to dst: lowercase, without userinfo, port or trailing dot;
// for an app referrer (app=true) the app's package name. ok is false (dst
// unchanged) when it is not a valid host or package name. It does not
// allocate when dst has capacity and never panics.
func appendAuthorityHost(dst, auth []byte, app bool) (out []byte, ok bool) {
	if app {
		return appendPackageName(dst, auth)
	}
	if i := bytes.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	host := auth
	if len(host) > 0 && host[0] == '[' {
		// IPv6 literal: keep it with its brackets, drop the port.
		i := bytes.IndexByte(host, ']')
		if i < 0 {
			return dst, false
		}
		host = host[:i+1]
		if !validIPv6Literal(host[1:i]) {
			return dst, false
		}
	} else if i := bytes.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 || len(host) > maxHostLen {
		return dst, false
	}
	if host[0] == '[' {
		for _, c := range host {
			dst = append(dst, lower(c))
		}
		return dst, true
	}
	// Copy the host lowercased while checking its characters and that no
	// label is empty.
	start := len(dst)
	prev := byte('.')
	for _, c := range host {
		if !isHostByte(c) || c == '.' && prev == '.' {
			return dst[:start], false
		}
		prev = c
		dst = append(dst, lower(c))
	}
	return dst, true
}

// appendPackageName validates and appends the lowercase Android package name.
func appendPackageName(dst, name []byte) ([]byte, bool) {
	if len(name) == 0 || len(name) > maxHostLen {
		return dst, false
	}
	for _, c := range name {
		if !isAlnum(c) && c != '.' && c != '_' {
			return dst, false
		}
	}
	for _, c := range name {
		dst = append(dst, lower(c))
	}
	return dst, true
}

func isHostByte(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_'
}

func validIPv6Literal(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(b[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// hostSource classifies a lowercase referrer host. Table entries match the
// host and all its subdomains, the most specific entry winning
// ("mail.google.com" is email, "lm.facebook.com" is social). Search engines
// and networks that run one site per country ("google.co.uk", "yandex.com.tr",
// "pinterest.de") match by brand on the bare domain and a few subdomains
// ("www", "m", "search", "images"). Hosts whose first label is "mail" or
// "webmail" are webmail. Everything else is a referral.
func hostSource(host []byte) Source {
	// Every table entry has at least two labels.
	for h := host; ; {
		i := bytes.IndexByte(h, '.')
		if i < 0 {
			break
		}
		if s, ok := hostSources[string(h)]; ok {
			return s
		}
		h = h[i+1:]
	}
	if s, ok := brandSource(host); ok {
		return s
	}
	if i := bytes.IndexByte(host, '.'); i > 0 && bytes.Count(host, []byte{'.'}) >= 2 {
		switch string(host[:i]) {
		case "mail", "webmail", "email", "owa":
			return SourceEmail
		}
	}
	return SourceReferral
}

// brandSource matches "[prefix.]brand.tld" where tld is one label ("de") or a
// country second-level domain ("co.uk", "com.br").
func brandSource(host []byte) (Source, bool) {
	// Split off the public suffix.
	last := bytes.LastIndexByte(host, '.')
	if last <= 0 {
		return 0, false
	}
	rest := host[:last]
	for try := 0; try < 2; try++ {
		i := bytes.LastIndexByte(rest, '.')
		brand := rest[i+1:]
		if s, ok := brandSources[string(brand)]; ok {
			if i < 0 {
				return s, true
			}
			switch string(rest[:i]) {
			case "www", "m", "search", "images", "image", "img", "encrypted", "ipv4", "ipv6", "webcache", "scholar":
				return s, true
			}
			return 0, false
		}
		// Second try: a country second-level domain such as "co" or "com".
		if i < 0 || len(host)-last-1 != 2 || len(brand) > 3 {
			return 0, false
		}
		rest = rest[:i]
	}
	return 0, false
}

// appSource classifies a lowercase Android package name.
func appSource(pkg []byte) Source {
	if s, ok := appSources[string(pkg)]; ok {
		return s
	}
	return SourceReferral
}

// hasAdClickID reports whether the raw query carries a non-empty ad click ID
// parameter. Keys are compared ignoring ASCII case. It does not allocate.
func hasAdClickID(query []byte) bool {
	for len(query) > 0 {
		var pair []byte
		if i := bytes.IndexByte(query, '&'); i >= 0 {
			pair, query = query[:i], query[i+1:]
		} else {
			pair, query = query, nil
		}
		i := bytes.IndexByte(pair, '=')
		if i <= 0 || i == len(pair)-1 {
			continue
		}
		if isAdClickIDKey(pair[:i]) {
			return true
		}
	}
	return false
}

func isAdClickIDKey(key []byte) bool {
	// Every ad click ID key is 4 to 9 bytes long and ends in "id" or "ik";
	// checking that first keeps ordinary queries cheap.
	n := len(key)
	if n < 4 || n > 9 || lower(key[n-2]) != 'i' {
		return false
	}
	var buf [9]byte
	for i, c := range key {
		buf[i] = lower(c)
	}
	switch string(buf[:n]) {
	case "gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "twclid",
		"li_fat_id", "yclid", "sccid", "epik", "rdt_cid":
		return true
	}
	return false
}

// adClickIDKeys lists the query keys that make a click paid, for documentation
// and tests.
var adClickIDKeys = []string{"gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "twclid", "li_fat_id", "yclid", "ScCid", "epik", "rdt_cid"}
