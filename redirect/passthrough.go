package redirect

import (
	"bytes"

	"github.com/clickedge/clickedge/linkcache"
)

// Pass-through bounds: what a click may add to the destination.
const (
	// MaxPassthroughParams is the most query parameters copied to Amazon.
	MaxPassthroughParams = 20
	// MaxPassthroughBytes bounds the bytes pass-through adds to Location.
	MaxPassthroughBytes = 1024
	// maxParamBytes bounds one decoded key or value; longer ones are dropped.
	maxParamBytes = 256
)

// IsReservedParam reports whether a query key (already percent-decoded) may
// never come from the request: attribution keys (tag, maas, ref_, aa_*,
// ascsubtag, linkCode, linkId, compared case-insensitively) and the sub-IDs
// clickedge records itself (subId1..3, sharedid).
func IsReservedParam(key []byte) bool {
	if len(key) >= 3 && lower(key[0]) == 'a' && lower(key[1]) == 'a' && key[2] == '_' {
		return true
	}
	for _, r := range reservedParams {
		if len(key) == len(r) && equalFold(key, r) {
			return true
		}
	}
	return false
}

var reservedParams = []string{"tag", "maas", "ref_", "ascsubtag", "linkcode", "linkid", "subid1", "subid2", "subid3", "sharedid"}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold compares b with the lowercase ASCII string s, ignoring case of b.
func equalFold(b []byte, s string) bool {
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// AppendPassthrough appends the non-reserved parameters of the raw query string
// to the destination loc already in dst, re-encoded so that nothing of the
// request reaches Location unescaped. Parameters that are reserved, empty-keyed,
// malformed or past the bounds are dropped. scratch is a buffer for decoding;
// the grown scratch is returned for reuse.
func AppendPassthrough(dst, query, scratch []byte) ([]byte, []byte) {
	sep := byte('?')
	if bytes.IndexByte(dst, '?') >= 0 {
		sep = '&'
	}
	limit := len(dst) + MaxPassthroughBytes
	n := 0
	for len(query) > 0 && n < MaxPassthroughParams {
		var pair []byte
		if i := bytes.IndexByte(query, '&'); i >= 0 {
			pair, query = query[:i], query[i+1:]
		} else {
			pair, query = query, nil
		}
		if len(pair) == 0 {
			continue
		}
		rawK, rawV := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			rawK, rawV = pair[:i], pair[i+1:]
		}
		if len(rawK) > 3*maxParamBytes || len(rawV) > 3*maxParamBytes {
			continue
		}
		var ok bool
		scratch, ok = unescape(scratch[:0], rawK)
		if !ok || len(scratch) == 0 || len(scratch) > maxParamBytes || IsReservedParam(scratch) {
			continue
		}
		kLen := len(scratch)
		scratch, ok = unescape(scratch, rawV)
		if !ok || len(scratch)-kLen > maxParamBytes {
			continue
		}
		mark := len(dst)
		dst = append(dst, sep)
		dst = linkcache.AppendQueryEscape(dst, scratch[:kLen])
		dst = append(dst, '=')
		dst = linkcache.AppendQueryEscape(dst, scratch[kLen:])
		if len(dst) > limit {
			dst = dst[:mark]
			break
		}
		sep = '&'
		n++
	}
	return dst, scratch
}

// unescape appends the query-decoded s ('+' is a space) to dst; ok is false on
// a bad escape.
func unescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(s) {
				return dst, false
			}
			h, l := unhex(s[i+1]), unhex(s[i+2])
			if h < 0 || l < 0 {
				return dst, false
			}
			dst = append(dst, byte(h<<4|l))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
