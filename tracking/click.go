package tracking

import (
	"encoding/binary"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ClickVersion is the version of the click event wire format written by
// Click.AppendJSON and accepted by DecodeClick.
const ClickVersion = 1

// MaxSubIDLen is the longest sub-ID value kept on a click, in bytes.
const MaxSubIDLen = 255

// Click is one click event (the JSON object on the Kafka topic "clicks").
//
// Byte-slice fields own their memory: setters and decoders append into the
// existing capacity and Reset keeps it, so a pooled Click is reused without
// allocating. A Click is not safe for concurrent use.
type Click struct {
	// ID is the unique click ID (see IDGenerator).
	ID []byte
	// TS is the time of the click in Unix milliseconds.
	TS int64
	// Code is the short code of the link, empty for the structured form.
	Code []byte
	// Level is the link level: "program", "partner" or "ad".
	Level []byte
	// Program is the program ID.
	Program []byte
	// Partner is the partner ID.
	Partner []byte
	// Ad is the ad ID, empty below ad level.
	Ad []byte
	// ASIN is the product the click was sent to, empty for a Store page.
	ASIN []byte
	// Marketplace is the Amazon marketplace ("US", "DE", ...).
	Marketplace []byte
	// Method is the HTTP method of the request.
	Method []byte
	// Status is the HTTP status served.
	Status int

	// Source is where the click came from.
	Source Source
	// ReferrerHost is the lowercase referrer host (the package name for
	// Android app referrers), empty when there is none or it cannot be parsed.
	ReferrerHost []byte
	// Device is the kind of device.
	Device Device
	// Bot is true when BotReason is not BotNone. Bots get the redirect but are
	// never paid.
	Bot bool
	// BotReason says why the click is a bot.
	BotReason BotReason
	// Country is the ISO 3166-1 alpha-2 code of the client's country, empty
	// when unknown.
	Country []byte
	// Visitor is the keyed hash of the client IP and user agent (32 hex digits).
	Visitor []byte
	// IPPrefix is the client's IPv4 /24 or IPv6 /48 ("203.0.113.0/24").
	IPPrefix []byte

	// SubID1, SubID2, SubID3 and SharedID are the partner's tracking values
	// from the query (subId1..subId3, sharedid); see SetSubIDs.
	SubID1   []byte
	SubID2   []byte
	SubID3   []byte
	SharedID []byte

	// Edge is the name of the edge instance that served the click.
	Edge []byte
}

// Reset clears c, keeping the capacity of its byte slices.
func (c *Click) Reset() {
	// Field by field: each slice keeps its array and only its length
	// changes, so the reset writes no pointer (a composite literal is
	// built aside and copied in with a write barrier per slice).
	// TestReset fails when a field is left out.
	c.ID = c.ID[:0]
	c.Code = c.Code[:0]
	c.Level = c.Level[:0]
	c.Program = c.Program[:0]
	c.Partner = c.Partner[:0]
	c.Ad = c.Ad[:0]
	c.ASIN = c.ASIN[:0]
	c.Marketplace = c.Marketplace[:0]
	c.Method = c.Method[:0]
	c.ReferrerHost = c.ReferrerHost[:0]
	c.Country = c.Country[:0]
	c.Visitor = c.Visitor[:0]
	c.IPPrefix = c.IPPrefix[:0]
	c.SubID1 = c.SubID1[:0]
	c.SubID2 = c.SubID2[:0]
	c.SubID3 = c.SubID3[:0]
	c.SharedID = c.SharedID[:0]
	c.Edge = c.Edge[:0]
	c.TS, c.Status = 0, 0
	c.Source, c.Device, c.Bot, c.BotReason = 0, 0, false, 0
}

// AppendKey appends the Kafka message key of c to dst:
// "<program>:<partner>", or "unknown" when Program is empty, so that one
// contract's clicks stay ordered on one partition.
func (c *Click) AppendKey(dst []byte) []byte { return AppendClickKey(dst, c.Program, c.Partner) }

// AppendClickKey appends the Kafka message key of a click on program and
// partner to dst (see Click.AppendKey).
func AppendClickKey(dst, program, partner []byte) []byte {
	if len(program) == 0 {
		return append(dst, "unknown"...)
	}
	dst = append(dst, program...)
	dst = append(dst, ':')
	return append(dst, partner...)
}

// AppendLinkJSON appends the link fields of a click event as AppendJSON
// writes them, from "code" to "marketplace" with the comma before "code".
// A link's fields are the same on every click: a cache that keeps this
// encoding with the link lets AppendJSONWithLink skip encoding them per click.
func AppendLinkJSON(dst, code, level, program, partner, ad, asin, marketplace []byte) []byte {
	dst = append(dst, `,"code":`...)
	dst = appendJSONString(dst, code)
	dst = append(dst, `,"level":`...)
	dst = appendJSONString(dst, level)
	dst = append(dst, `,"program":`...)
	dst = appendJSONString(dst, program)
	dst = append(dst, `,"partner":`...)
	dst = appendJSONString(dst, partner)
	dst = append(dst, `,"ad":`...)
	dst = appendJSONString(dst, ad)
	dst = append(dst, `,"asin":`...)
	dst = appendJSONString(dst, asin)
	dst = append(dst, `,"marketplace":`...)
	return appendJSONString(dst, marketplace)
}

// AppendJSON appends c to dst as one JSON object of the click event v1 and
// returns the extended buffer. Every field is written, in this order:
// v, id, ts, code, level, program, partner, ad, asin, marketplace, method,
// status, source, referrer_host, device, bot, bot_reason, country, visitor,
// ip_prefix, subid1, subid2, subid3, sharedid, edge. Strings are escaped per
// RFC 8259; invalid UTF-8 is written as U+FFFD. It uses no reflection and
// does not allocate when dst has capacity.
func (c *Click) AppendJSON(dst []byte) []byte {
	dst = c.appendJSONHead(dst)
	dst = AppendLinkJSON(dst, c.Code, c.Level, c.Program, c.Partner, c.Ad, c.ASIN, c.Marketplace)
	return c.appendJSONTail(dst)
}

// AppendJSONWithLink is AppendJSON with the link fields (Code to
// Marketplace) taken from link, as encoded by AppendLinkJSON, instead of
// from c.
func (c *Click) AppendJSONWithLink(dst, link []byte) []byte {
	dst = c.appendJSONHead(dst)
	dst = append(dst, link...)
	return c.appendJSONTail(dst)
}

// appendJSONHead appends the event's fields before the link's: v, id, ts.
func (c *Click) appendJSONHead(dst []byte) []byte {
	off := len(dst)
	n := len(jHead) + len(c.ID) + len(jTS) + maxInt64Digits
	dst = slices.Grow(dst, n)
	b := dst[off : off+n]
	i := put(b, 0, jHead)
	i, ok := copyPlain(b, i, c.ID)
	if !ok {
		return c.appendJSONHeadAny(dst)
	}
	i = put(b, i, jTS)
	i += len(strconv.AppendInt(b[i:i], c.TS, 10))
	return dst[:off+i]
}

// appendJSONHeadAny is appendJSONHead for any ID: jHead and jTS without the
// ID's quotes, which appendJSONString writes.
func (c *Click) appendJSONHeadAny(dst []byte) []byte {
	dst = append(dst, jHead[:len(jHead)-1]...)
	dst = appendJSONString(dst, c.ID)
	dst = append(dst, jTS[1:]...)
	return strconv.AppendInt(dst, c.TS, 10)
}

// The constant parts of an event, each string field's quotes included: the
// encoder writes them with stores of their own (put) instead of a copy.
const (
	jHead      = `{"v":` + jVersion + `,"id":"`
	jVersion   = "1" // ClickVersion; TestAppendJSONPlainAndEscaped checks they agree
	jTS        = `","ts":`
	jMethod    = `,"method":"`
	jStatus    = `","status":`
	jSource    = `,"source":"`
	jReferrer  = `","referrer_host":"`
	jDevice    = `","device":"`
	jBotTrue   = `","bot":true,"bot_reason":"`
	jBotFalse  = `","bot":false,"bot_reason":"`
	jCountry   = `","country":"`
	jVisitor   = `","visitor":"`
	jIPPrefix  = `","ip_prefix":"`
	jSubID1    = `","subid1":"`
	jSubID2    = `","subid2":"`
	jSubID3    = `","subid3":"`
	jSharedID  = `","sharedid":"`
	jEdge      = `","edge":"`
	jEnd       = `"}`
	jTailFixed = len(jMethod) + len(jStatus) + 3 + len(jSource) + len(jReferrer) + len(jDevice) +
		len(jBotFalse) + len(jCountry) + len(jVisitor) + len(jIPPrefix) + len(jSubID1) + len(jSubID2) +
		len(jSubID3) + len(jSharedID) + len(jEdge) + len(jEnd)
	maxInt64Digits = len("-9223372036854775808")
)

// put writes s at b[i:] and returns the index after it. Inlined with a
// constant s, the copy compiles to a few stores.
func put(b []byte, i int, s string) int { return i + copy(b[i:i+len(s)], s) }

// appendJSONTail appends the event's fields after the link's, from method
// to edge, and closes the object.
//
// Most events need no escape and have a three-digit status: their tail is
// written in one pass into room reserved at once, each field name with its
// quotes a constant (put), each string checked and copied eight bytes at a
// time (copyPlain) (BenchmarkEncodeClick 180 -> 153 ns). When a string
// needs an escape, the tail is written again by appendJSONTailAny. The
// fields are spelled out on purpose: a helper writing a name and its string
// is not inlined, and each constant name then becomes a copy (197 ns).
func (c *Click) appendJSONTail(dst []byte) []byte {
	if c.Status < 100 || c.Status > 999 {
		return c.appendJSONTailAny(dst)
	}
	source, device, reason := c.Source.String(), c.Device.String(), c.BotReason.String()
	n := jTailFixed + len(source) + len(device) + len(reason) + len(c.Method) + len(c.ReferrerHost) +
		len(c.Country) + len(c.Visitor) + len(c.IPPrefix) + len(c.SubID1) + len(c.SubID2) + len(c.SubID3) +
		len(c.SharedID) + len(c.Edge)
	off := len(dst)
	dst = slices.Grow(dst, n)
	b := dst[off : off+n]
	i := put(b, 0, jMethod)
	i, ok1 := copyPlain(b, i, c.Method)
	i = put(b, i, jStatus)
	st := c.Status
	b[i], b[i+1], b[i+2] = '0'+byte(st/100), '0'+byte(st/10%10), '0'+byte(st%10)
	i = put(b, i+3, jSource)
	i += copy(b[i:], source)
	i = put(b, i, jReferrer)
	i, ok2 := copyPlain(b, i, c.ReferrerHost)
	i = put(b, i, jDevice)
	i += copy(b[i:], device)
	if c.Bot {
		i = put(b, i, jBotTrue)
	} else {
		i = put(b, i, jBotFalse)
	}
	i += copy(b[i:], reason)
	i = put(b, i, jCountry)
	i, ok3 := copyPlain(b, i, c.Country)
	i = put(b, i, jVisitor)
	i, ok4 := copyPlain(b, i, c.Visitor)
	i = put(b, i, jIPPrefix)
	i, ok5 := copyPlain(b, i, c.IPPrefix)
	i = put(b, i, jSubID1)
	i, ok6 := copyPlain(b, i, c.SubID1)
	i = put(b, i, jSubID2)
	i, ok7 := copyPlain(b, i, c.SubID2)
	i = put(b, i, jSubID3)
	i, ok8 := copyPlain(b, i, c.SubID3)
	i = put(b, i, jSharedID)
	i, ok9 := copyPlain(b, i, c.SharedID)
	i = put(b, i, jEdge)
	i, ok10 := copyPlain(b, i, c.Edge)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9 && ok10) {
		return c.appendJSONTailAny(dst)
	}
	i = put(b, i, jEnd)
	return dst[:off+i]
}

// copyPlain copies s to b[i:] while its bytes need no escape in a JSON
// string, eight at a time: it returns the index after the copy and whether
// all of s was copied. b needs room for len(s) bytes at i.
func copyPlain(b []byte, i int, s []byte) (int, bool) {
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		if !plainJSON8(x) {
			return i, false
		}
		binary.LittleEndian.PutUint64(b[i:], x)
		i, s = i+8, s[8:]
	}
	for _, c := range s {
		if !plainByte(c) {
			return i, false
		}
		b[i] = c
		i++
	}
	return i, true
}

// appendJSONTailAny is appendJSONTail for any event.
func (c *Click) appendJSONTailAny(dst []byte) []byte {
	dst = append(dst, `,"method":`...)
	dst = appendJSONString(dst, c.Method)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(c.Status), 10)
	dst = append(dst, `,"source":"`...)
	dst = append(dst, c.Source.String()...)
	dst = append(dst, `","referrer_host":`...)
	dst = appendJSONString(dst, c.ReferrerHost)
	dst = append(dst, `,"device":"`...)
	dst = append(dst, c.Device.String()...)
	dst = append(dst, `","bot":`...)
	dst = strconv.AppendBool(dst, c.Bot)
	dst = append(dst, `,"bot_reason":"`...)
	dst = append(dst, c.BotReason.String()...)
	dst = append(dst, `","country":`...)
	dst = appendJSONString(dst, c.Country)
	dst = append(dst, `,"visitor":`...)
	dst = appendJSONString(dst, c.Visitor)
	dst = append(dst, `,"ip_prefix":`...)
	dst = appendJSONString(dst, c.IPPrefix)
	dst = append(dst, `,"subid1":`...)
	dst = appendJSONString(dst, c.SubID1)
	dst = append(dst, `,"subid2":`...)
	dst = appendJSONString(dst, c.SubID2)
	dst = append(dst, `,"subid3":`...)
	dst = appendJSONString(dst, c.SubID3)
	dst = append(dst, `,"sharedid":`...)
	dst = appendJSONString(dst, c.SharedID)
	dst = append(dst, `,"edge":`...)
	dst = appendJSONString(dst, c.Edge)
	return append(dst, '}')
}

// appendJSONString appends s as a quoted JSON string. Control characters,
// quotes and backslashes are escaped, U+2028 and U+2029 too (so the output is
// also valid JavaScript), and invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	// Most strings of an event need no escape at all: they are checked
	// and copied between quotes in one pass.
	n := len(dst)
	dst = slices.Grow(dst, len(s)+2)
	b := dst[n : n+len(s)+2]
	b[0] = '"'
	i, ok := copyPlain(b, 1, s)
	if !ok {
		return appendJSONStringEscaped(dst, s, i-1)
	}
	b[i] = '"'
	return dst[:n+i+1]
}

// appendJSONStringEscaped is appendJSONString for a string whose byte at
// i, and none before it, needs a look of its own.
func appendJSONStringEscaped(dst, s []byte, i int) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i < len(s) {
		// Eight bytes at a time while none needs a look of its own: most
		// of a user agent or a referrer is plain ASCII.
		for i+8 <= len(s) && plainJSON8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainJSON8 reports whether none of the eight bytes in x is a control
// character, a quote, a backslash or a byte of a multi-byte character: the
// bytes appendJSONString copies as they are without a look of its own.
func plainJSON8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v } // high bit set in some byte iff v has a zero byte
	below20 := (x - 0x20*ones) &^ x                          // high bit set in some byte iff x has a byte < 0x20 (bytes < 0x80)
	return (x|below20|zero(x^'"'*ones)|zero(x^'\\'*ones))&highs == 0
}

// SetSubIDs sets SubID1, SubID2, SubID3 and SharedID from the raw query
// string of the request (without '?'): the values of subId1, subId2, subId3
// and sharedid, keys compared ignoring ASCII case, the first occurrence of a
// key winning. Values are percent-decoded ('+' is a space), cleaned of
// invalid UTF-8 and control characters, and cut to at most MaxSubIDLen bytes
// on a character boundary. Absent keys leave the fields empty. It does not
// allocate when the fields have capacity.
func (c *Click) SetSubIDs(queryString []byte) {
	c.SubID1 = c.SubID1[:0]
	c.SubID2 = c.SubID2[:0]
	c.SubID3 = c.SubID3[:0]
	c.SharedID = c.SharedID[:0]
	var seen [4]bool
	q := queryString
	for len(q) > 0 {
		var pair []byte
		pair, q = cutByte(q, '&')
		key, value := cutByte(pair, '=')
		i := subIDIndex(key)
		if i < 0 || seen[i] {
			continue
		}
		seen[i] = true
		switch i {
		case 0:
			c.SubID1 = appendQueryValue(c.SubID1, value, MaxSubIDLen)
		case 1:
			c.SubID2 = appendQueryValue(c.SubID2, value, MaxSubIDLen)
		case 2:
			c.SubID3 = appendQueryValue(c.SubID3, value, MaxSubIDLen)
		case 3:
			c.SharedID = appendQueryValue(c.SharedID, value, MaxSubIDLen)
		}
	}
}

// cutByte splits b around the first sep; after is empty when sep is absent.
func cutByte(b []byte, sep byte) (before, after []byte) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func subIDIndex(key []byte) int {
	if len(key) != 6 && len(key) != 8 {
		return -1
	}
	var buf [8]byte
	for i, c := range key {
		buf[i] = lower(c)
	}
	switch string(buf[:len(key)]) {
	case "subid1":
		return 0
	case "subid2":
		return 1
	case "subid3":
		return 2
	case "sharedid":
		return 3
	}
	return -1
}

// appendQueryValue percent-decodes the query value raw ('+' is a space;
// malformed escapes stay literal) and appends at most max bytes of printable
// UTF-8 to dst: invalid sequences and control characters (C0, DEL, C1) are
// dropped, and the value is cut on a character boundary.
func appendQueryValue(dst, raw []byte, max int) []byte {
	limit := len(dst) + max
	var buf [utf8.UTFMax]byte
	n := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '+':
			c = ' '
			i++
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 3
		default:
			i++
		}
		if n == 0 && c < utf8.RuneSelf {
			// ASCII fast path.
			if c >= 0x20 && c != 0x7f {
				if len(dst) >= limit {
					return dst
				}
				dst = append(dst, c)
			}
			continue
		}
		buf[n] = c
		n++
		// Emit every complete character in buf.
		for n > 0 && (n == len(buf) || utf8.FullRune(buf[:n])) {
			r, size := utf8.DecodeRune(buf[:n])
			if !(r == utf8.RuneError && size == 1) && isPrintable(r) {
				if len(dst)+size > limit {
					return dst
				}
				dst = append(dst, buf[:size]...)
			}
			copy(buf[:], buf[size:n])
			n -= size
		}
	}
	// A truncated sequence at the end is invalid and dropped.
	return dst
}

// isPrintable reports whether r is kept in a sub-ID: everything but C0
// controls, DEL and C1 controls.
func isPrintable(r rune) bool {
	return r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
