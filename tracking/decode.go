package tracking

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrUnsupportedVersion is wrapped by the error DecodeClick returns for an
// event whose "v" is not ClickVersion, so that consumers can set such events
// aside instead of failing on them.
var ErrUnsupportedVersion = errors.New("unsupported version")

// maxJSONDepth bounds the nesting of unknown fields that DecodeClick skips.
const maxJSONDepth = 64

// DecodeClick parses one JSON click event (as written by Click.AppendJSON)
// into dst, resetting dst first and reusing the capacity of its byte slices.
//
// It rejects malformed JSON, trailing data, a missing or unknown "v"
// (wrapping ErrUnsupportedVersion), a missing or empty "id", wrong value
// types, unknown source, device or bot_reason names and a bot flag that
// disagrees with bot_reason. Unknown fields are skipped, so that fields added
// to v1 later do not break older consumers; missing optional fields stay
// empty. Strings are unescaped and invalid UTF-8 becomes U+FFFD, so
// AppendJSON of the result decodes to the same Click.
func DecodeClick(dst *Click, data []byte) error {
	dst.Reset()
	d := jsonDecoder{data: data}
	if err := d.decodeClick(dst); err != nil {
		return fmt.Errorf("cannot decode click: %w", err)
	}
	return nil
}

type jsonDecoder struct {
	data []byte
	pos  int
	key  [16]byte
}

func (d *jsonDecoder) decodeClick(c *Click) error {
	d.skipSpace()
	if err := d.expect('{'); err != nil {
		return err
	}
	var haveV, haveID, haveBot bool
	d.skipSpace()
	if d.peek() == '}' {
		d.pos++
	} else {
		for {
			d.skipSpace()
			key, err := d.readKey()
			if err != nil {
				return err
			}
			d.skipSpace()
			if err := d.expect(':'); err != nil {
				return err
			}
			d.skipSpace()
			switch string(key) {
			case "v":
				v, err := d.readInt("v", math.MinInt64, math.MaxInt64)
				if err != nil {
					return err
				}
				if v != ClickVersion {
					return fmt.Errorf("%w %d", ErrUnsupportedVersion, v)
				}
				haveV = true
			case "id":
				c.ID, err = d.readStringField("id", c.ID[:0])
				haveID = len(c.ID) > 0
			case "ts":
				c.TS, err = d.readInt("ts", math.MinInt64, math.MaxInt64)
			case "code":
				c.Code, err = d.readStringField("code", c.Code[:0])
			case "level":
				c.Level, err = d.readStringField("level", c.Level[:0])
			case "program":
				c.Program, err = d.readStringField("program", c.Program[:0])
			case "partner":
				c.Partner, err = d.readStringField("partner", c.Partner[:0])
			case "ad":
				c.Ad, err = d.readStringField("ad", c.Ad[:0])
			case "asin":
				c.ASIN, err = d.readStringField("asin", c.ASIN[:0])
			case "marketplace":
				c.Marketplace, err = d.readStringField("marketplace", c.Marketplace[:0])
			case "method":
				c.Method, err = d.readStringField("method", c.Method[:0])
			case "status":
				var v int64
				v, err = d.readInt("status", math.MinInt32, math.MaxInt32)
				c.Status = int(v)
			case "source":
				var name []byte
				if name, err = d.readName("source"); err == nil {
					var ok bool
					if c.Source, ok = parseSource(name); !ok {
						err = unknownName("source", name)
					}
				}
			case "referrer_host":
				c.ReferrerHost, err = d.readStringField("referrer_host", c.ReferrerHost[:0])
			case "device":
				var name []byte
				if name, err = d.readName("device"); err == nil {
					var ok bool
					if c.Device, ok = parseDevice(name); !ok {
						err = unknownName("device", name)
					}
				}
			case "bot":
				c.Bot, err = d.readBool("bot")
				haveBot = true
			case "bot_reason":
				var name []byte
				if name, err = d.readName("bot_reason"); err == nil {
					var ok bool
					if c.BotReason, ok = parseBotReason(name); !ok {
						err = unknownName("bot_reason", name)
					}
				}
			case "country":
				c.Country, err = d.readStringField("country", c.Country[:0])
			case "visitor":
				c.Visitor, err = d.readStringField("visitor", c.Visitor[:0])
			case "ip_prefix":
				c.IPPrefix, err = d.readStringField("ip_prefix", c.IPPrefix[:0])
			case "subid1":
				c.SubID1, err = d.readStringField("subid1", c.SubID1[:0])
			case "subid2":
				c.SubID2, err = d.readStringField("subid2", c.SubID2[:0])
			case "subid3":
				c.SubID3, err = d.readStringField("subid3", c.SubID3[:0])
			case "sharedid":
				c.SharedID, err = d.readStringField("sharedid", c.SharedID[:0])
			case "edge":
				c.Edge, err = d.readStringField("edge", c.Edge[:0])
			default:
				err = d.skipValue(0)
			}
			if err != nil {
				return err
			}
			d.skipSpace()
			if d.peek() == ',' {
				d.pos++
				continue
			}
			if err := d.expect('}'); err != nil {
				return err
			}
			break
		}
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.syntaxError("trailing data after the object")
	}
	if !haveV {
		return errors.New(`missing "v"`)
	}
	if !haveID {
		return errors.New(`missing "id"`)
	}
	if !haveBot {
		c.Bot = c.BotReason != BotNone
	}
	if c.Bot != (c.BotReason != BotNone) {
		return fmt.Errorf(`"bot" is %t but "bot_reason" is %q`, c.Bot, c.BotReason.String())
	}
	return nil
}

// readName reads a short string value (an enum name) into the decoder's
// scratch buffer; the result is valid until the next read.
func (d *jsonDecoder) readName(field string) ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.typeError(field, "string")
	}
	name, truncated, err := d.readString(d.key[:0], len(d.key))
	if err == nil && truncated {
		err = fmt.Errorf("unknown %s: name too long", field)
	}
	return name, err
}

func unknownName(field string, name []byte) error {
	return fmt.Errorf("unknown %s %q", field, string(name))
}

func (d *jsonDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *jsonDecoder) skipSpace() {
	// Every space character is below '!': anything else ends the loop at
	// the first comparison.
	for d.pos < len(d.data) && d.data[d.pos] <= ' ' {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) expect(c byte) error {
	if d.peek() != c || d.pos >= len(d.data) {
		return d.syntaxError(fmt.Sprintf("want %q", c))
	}
	d.pos++
	return nil
}

func (d *jsonDecoder) syntaxError(msg string) error {
	if d.pos >= len(d.data) {
		return fmt.Errorf("malformed JSON: unexpected end of input: %s", msg)
	}
	return fmt.Errorf("malformed JSON at offset %d: %s", d.pos, msg)
}

func (d *jsonDecoder) typeError(field, want string) error {
	if d.pos >= len(d.data) {
		return d.syntaxError("want a value")
	}
	return fmt.Errorf("field %q: want %s", field, want)
}

// readKey reads an object key into the decoder's scratch buffer; the result
// is valid until the next read. Keys longer than the buffer are unknown.
func (d *jsonDecoder) readKey() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.syntaxError("want an object key")
	}
	// A key of plain ASCII, as every key of a click is, is its own bytes.
	// Keys are short: a byte at a time finds the end soonest.
	rest := d.data[d.pos+1:]
	if len(rest) > len(d.key)+1 {
		rest = rest[:len(d.key)+1]
	}
	for i, x := range rest {
		if x == '"' {
			d.pos += 1 + i + 1
			return rest[:i], nil
		}
		if !plainByte(x) {
			break
		}
	}
	key, truncated, err := d.readString(d.key[:0], len(d.key))
	if truncated {
		// A long key is unknown: return one that matches no field.
		d.key[0] = 0
		key = d.key[:1]
	}
	return key, err
}

func (d *jsonDecoder) readStringField(field string, dst []byte) ([]byte, error) {
	if d.peek() != '"' {
		return dst, d.typeError(field, "string")
	}
	out, _, err := d.readString(dst, -1)
	return out, err
}

// readString reads a JSON string at d.pos and appends its value to dst,
// appending at most limit bytes when limit >= 0 (truncated reports a cut).
func (d *jsonDecoder) readString(dst []byte, limit int) (out []byte, truncated bool, err error) {
	d.pos++ // opening quote
	base := len(dst)
	add := func(b ...byte) {
		if limit >= 0 && len(dst)-base+len(b) > limit {
			truncated = true
			return
		}
		dst = append(dst, b...)
	}
	for {
		if d.pos >= len(d.data) {
			return dst, truncated, d.syntaxError("unterminated string")
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return dst, truncated, nil
		case c == '\\':
			r, err := d.readEscape()
			if err != nil {
				return dst, truncated, err
			}
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			add(buf[:n]...)
		case c < 0x20:
			return dst, truncated, d.syntaxError("control character in string")
		case c < utf8.RuneSelf:
			// Copy the run of plain ASCII at once.
			end := plainEnd(d.data, d.pos+1)
			if limit >= 0 {
				add(d.data[d.pos:end]...)
			} else {
				dst = append(dst, d.data[d.pos:end]...)
			}
			d.pos = end
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				add(0xef, 0xbf, 0xbd)
			} else {
				add(d.data[d.pos : d.pos+size]...)
			}
			d.pos += size
		}
	}
}

// plainEnd returns the end of the run of plain ASCII in b from i: bytes
// that are neither a quote, a backslash, a control character nor part of a
// multi-byte character. It looks at eight bytes at a time while it can.
func plainEnd(b []byte, i int) int {
	for i+8 <= len(b) && plainJSON8(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for i < len(b) && plainByte(b[i]) {
		i++
	}
	return i
}

// plainByte reports whether x is plain ASCII in a JSON string: a byte that
// stands for itself (plainJSON8 tests eight at once).
func plainByte(x byte) bool { return plainBytes[x] }

// plainBytes is plainByte's answer for every byte: a look-up is cheaper than
// the four comparisons (BenchmarkEncodeClick 187 -> 180 ns).
var plainBytes = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// readEscape reads an escape sequence at d.pos (at the backslash), joining
// UTF-16 surrogate pairs; a lone surrogate becomes U+FFFD.
func (d *jsonDecoder) readEscape() (rune, error) {
	if d.pos+1 >= len(d.data) {
		d.pos = len(d.data)
		return 0, d.syntaxError("unterminated escape")
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := d.readHex4()
		if !ok {
			return 0, d.syntaxError(`invalid \u escape`)
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		// A high surrogate followed by an escaped low surrogate is one rune.
		if r < 0xdc00 && d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
			save := d.pos
			d.pos += 2
			r2, ok := d.readHex4()
			if ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, nil
				}
			}
			d.pos = save
		}
		return utf8.RuneError, nil
	}
	d.pos--
	return 0, d.syntaxError("invalid escape")
}

func (d *jsonDecoder) readHex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	d.pos += 4
	return r, true
}

// readInt reads a JSON integer within [min, max]; fractions and exponents are
// type errors.
func (d *jsonDecoder) readInt(field string, min, max int64) (int64, error) {
	start := d.pos
	neg := false
	if d.peek() == '-' {
		neg = true
		d.pos++
	}
	c := d.peek()
	if c < '0' || c > '9' || d.pos >= len(d.data) {
		d.pos = start
		return 0, d.typeError(field, "integer")
	}
	var u uint64
	digits := 0
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		if digits == 1 && u == 0 {
			return 0, d.syntaxError("leading zero in number")
		}
		x := uint64(d.data[d.pos] - '0')
		if u > (math.MaxUint64-x)/10 {
			return 0, fmt.Errorf("field %q: integer out of range", field)
		}
		u = u*10 + x
		digits++
		d.pos++
	}
	switch d.peek() {
	case '.', 'e', 'E':
		return 0, fmt.Errorf("field %q: want integer", field)
	}
	var v int64
	switch {
	case !neg && u <= math.MaxInt64:
		v = int64(u)
	case neg && u <= 1<<63:
		v = int64(^u + 1) // two's complement of u, exact down to math.MinInt64
	default:
		return 0, fmt.Errorf("field %q: integer out of range", field)
	}
	if v < min || v > max {
		return 0, fmt.Errorf("field %q: integer out of range", field)
	}
	return v, nil
}

func (d *jsonDecoder) readBool(field string) (bool, error) {
	switch {
	case d.hasLiteral("true"):
		d.pos += 4
		return true, nil
	case d.hasLiteral("false"):
		d.pos += 5
		return false, nil
	}
	return false, d.typeError(field, "boolean")
}

func (d *jsonDecoder) hasLiteral(lit string) bool {
	return len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit
}

// skipValue skips one JSON value of any type, validating it.
func (d *jsonDecoder) skipValue(depth int) error {
	if depth > maxJSONDepth {
		return d.syntaxError("nested too deeply")
	}
	switch c := d.peek(); {
	case d.pos >= len(d.data):
		return d.syntaxError("want a value")
	case c == '"':
		_, _, err := d.readString(d.key[:0], 0)
		return err
	case c == '{':
		d.pos++
		d.skipSpace()
		if d.peek() == '}' {
			d.pos++
			return nil
		}
		for {
			d.skipSpace()
			if d.peek() != '"' {
				return d.syntaxError("want an object key")
			}
			if _, _, err := d.readString(d.key[:0], 0); err != nil {
				return err
			}
			d.skipSpace()
			if err := d.expect(':'); err != nil {
				return err
			}
			d.skipSpace()
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipSpace()
			if d.peek() == ',' {
				d.pos++
				continue
			}
			return d.expect('}')
		}
	case c == '[':
		d.pos++
		d.skipSpace()
		if d.peek() == ']' {
			d.pos++
			return nil
		}
		for {
			d.skipSpace()
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipSpace()
			if d.peek() == ',' {
				d.pos++
				continue
			}
			return d.expect(']')
		}
	case c == 't':
		return d.skipLiteral("true")
	case c == 'f':
		return d.skipLiteral("false")
	case c == 'n':
		return d.skipLiteral("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.skipNumber()
	}
	return d.syntaxError("want a value")
}

func (d *jsonDecoder) skipLiteral(lit string) error {
	if !d.hasLiteral(lit) {
		return d.syntaxError("invalid literal")
	}
	d.pos += len(lit)
	return nil
}

// skipNumber skips a number per the JSON grammar.
func (d *jsonDecoder) skipNumber() error {
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0' && d.pos < len(d.data):
		d.pos++
	case c >= '1' && c <= '9':
		d.skipDigits()
	default:
		return d.syntaxError("invalid number")
	}
	if d.peek() == '.' {
		d.pos++
		if !d.skipDigits() {
			return d.syntaxError("invalid number")
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if !d.skipDigits() {
			return d.syntaxError("invalid number")
		}
	}
	return nil
}

func (d *jsonDecoder) skipDigits() bool {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}
