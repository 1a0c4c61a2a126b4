package tracking

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzClassify(f *testing.F) {
	for i, tc := range append(append([]uaCase(nil), browserUAs[:20]...), botUAs[:20]...) {
		f.Add(tc.ua, "https://l.instagram.com/", "subId1=x&gclid=y", "GET", "", []byte{203, 0, 113, byte(i)})
	}
	f.Add("", "android-app://com.google.android.gm", "", "HEAD", "prefetch", []byte{})
	f.Add("CUBOT", "https://user@[::1]:80/", "%zz", "get", "prefetch;prerender", bytes.Repeat([]byte{0x20}, 16))
	f.Add("\xff\x00 bot", "https://\xff/", "&&=&", "\x00", "\xff", []byte{1, 2, 3})
	c := newTestClassifier(f, Config{
		VisitorKey:       []byte(testKey),
		GeoIPPath:        writeTestMMDB(f, "GeoLite2-Country", testGeoNetworks),
		DatacenterRanges: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:dc::/48")},
		UACacheSize:      128,
	})
	f.Fuzz(func(t *testing.T, ua, referer, query, method, secPurpose string, ip []byte) {
		var addr netip.Addr
		switch len(ip) {
		case 4:
			addr = netip.AddrFrom4([4]byte(ip))
		case 16:
			addr = netip.AddrFrom16([16]byte(ip))
		}
		req := Request{
			Method:      []byte(method),
			UserAgent:   []byte(ua),
			Referer:     []byte(referer),
			SecPurpose:  []byte(secPurpose),
			SecCHUA:     []byte(ua),
			QueryString: []byte(query),
			ClientIP:    addr,
		}
		var click Click
		c.Classify(&click, &req)
		if click.Bot != (click.BotReason != BotNone) {
			t.Fatalf("unexpected bot flag; got %v with reason %q; want them to agree", click.Bot, click.BotReason)
		}
		if int(click.Source) >= numSources || int(click.Device) >= numDevices || int(click.BotReason) >= numBotReasons {
			t.Fatalf("unexpected enum values; got %d %d %d; want them in range", click.Source, click.Device, click.BotReason)
		}
		if len(click.Visitor) != 32 {
			t.Fatalf("unexpected visitor length; got %d; want %d", len(click.Visitor), 32)
		}
		if bytes.ContainsAny(click.ReferrerHost, "/?#@ \x00ABCDEFGHIJKLMNOPQRSTUVWXYZ") || len(click.ReferrerHost) > maxHostLen+2 {
			t.Fatalf("unexpected referrer host; got %q; want a lowercase host", click.ReferrerHost)
		}
		if len(click.ReferrerHost) > 0 && !bytes.Contains(bytes.ToLower([]byte(referer)), click.ReferrerHost) {
			t.Fatalf("unexpected referrer host; got %q; want part of %q", click.ReferrerHost, referer)
		}
		if addr.IsValid() {
			if _, err := netip.ParsePrefix(string(click.IPPrefix)); err != nil {
				t.Fatalf("unexpected ip_prefix %q; got error %v; want a prefix", click.IPPrefix, err)
			}
		} else if len(click.IPPrefix) != 0 || len(click.Country) != 0 {
			t.Fatalf("unexpected address fields without an address; got %q %q; want empty", click.IPPrefix, click.Country)
		}
		// Classification is deterministic, cached or not.
		var again Click
		c.Classify(&again, &req)
		if !reflect.DeepEqual(trimmed(again), trimmed(click)) {
			t.Fatalf("unexpected second classification; got %+v; want %+v", again, click)
		}
		// The event always encodes to something DecodeClick reads back.
		click.ID = append(click.ID, 'x')
		click.SetSubIDs([]byte(query))
		data := click.AppendJSON(nil)
		var back Click
		if err := DecodeClick(&back, data); err != nil {
			t.Fatalf("unexpected error decoding %s; got %v; want nil", data, err)
		}
		if !reflect.DeepEqual(trimmed(back), trimmed(click)) {
			t.Fatalf("unexpected round trip; got %+v; want %+v", back, click)
		}
	})
}

func FuzzDecodeClick(f *testing.F) {
	c := sampleClick()
	f.Add(c.AppendJSON(nil))
	f.Add([]byte(`{"v":1,"id":"a"}`))
	f.Add([]byte(`{"v":2,"id":"a"}`))
	f.Add([]byte(`{"id":"\ud83d\ude00\ud800","v":1,"x":[{"y":null},-1.5e+3,true]}`))
	f.Add([]byte(`{"v":1,"id":"a","ts":-9223372036854775808,"status":2147483647}`))
	f.Add([]byte(`{"v":1,"id":"a","bot":true,"bot_reason":"head","source":"paid","device":"bot"}`))
	f.Add([]byte("{\"v\":1,\"id\":\"\xff\"}"))
	f.Add([]byte(`[[[[[[`))
	f.Add([]byte(`{"v":1,"\u0069d":"a\"b","visitor":"0123456789abcdef\u00e9","id":"x","a_key_longer_than_sixteen":"y"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Click
		if err := DecodeClick(&c, data); err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("unexpected acceptance of invalid JSON %q", data)
		}
		if len(c.ID) == 0 || c.Bot != (c.BotReason != BotNone) {
			t.Fatalf("unexpected click accepted from %q: %+v", data, c)
		}
		// Every string field holds what encoding/json reads for its key.
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("unexpected error from encoding/json on accepted %q: %v", data, err)
		}
		for name, field := range map[string][]byte{
			"id": c.ID, "code": c.Code, "level": c.Level, "program": c.Program, "partner": c.Partner,
			"ad": c.Ad, "asin": c.ASIN, "marketplace": c.Marketplace, "method": c.Method,
			"referrer_host": c.ReferrerHost, "country": c.Country, "visitor": c.Visitor,
			"ip_prefix": c.IPPrefix, "subid1": c.SubID1, "subid2": c.SubID2, "subid3": c.SubID3,
			"sharedid": c.SharedID, "edge": c.Edge,
		} {
			want, _ := m[name].(string)
			if string(field) != want {
				t.Fatalf("unexpected %q decoded from %q; got %q; want %q (encoding/json)", name, data, field, want)
			}
		}
		enc := c.AppendJSON(nil)
		var c2 Click
		if err := DecodeClick(&c2, enc); err != nil {
			t.Fatalf("unexpected error decoding the re-encoding %s; got %v; want nil", enc, err)
		}
		if !reflect.DeepEqual(trimmed(c2), trimmed(c)) {
			t.Fatalf("unexpected round trip of %q; got %+v; want %+v", data, c2, c)
		}
		if enc2 := c2.AppendJSON(nil); !bytes.Equal(enc2, enc) {
			t.Fatalf("unexpected re-encoding; got %s; want %s", enc2, enc)
		}
		for _, s := range [][]byte{c.ID, c.Code, c.SubID1, c.Edge, c.ReferrerHost} {
			if !utf8.Valid(s) {
				t.Fatalf("unexpected invalid UTF-8 in a decoded field; got %q", s)
			}
		}
	})
}

func FuzzSubIDs(f *testing.F) {
	f.Add("subId1=a&subId2=b&subId3=c&sharedid=d", "value")
	f.Add("subId1=%E2%9C%93+%ff%0a", "\xe2\x9c x\x00\u0085é")
	f.Add("SUBID1=&&subid1=x", string(bytes.Repeat([]byte("é"), 200)))
	f.Fuzz(func(t *testing.T, query, value string) {
		var c Click
		c.SetSubIDs([]byte(query))
		for _, s := range [][]byte{c.SubID1, c.SubID2, c.SubID3, c.SharedID} {
			if len(s) > MaxSubIDLen {
				t.Fatalf("unexpected sub-ID length; got %d; want at most %d", len(s), MaxSubIDLen)
			}
			if !utf8.Valid(s) {
				t.Fatalf("unexpected invalid UTF-8; got %q", s)
			}
			for _, r := range string(s) {
				if !isPrintable(r) {
					t.Fatalf("unexpected control character %U in %q", r, s)
				}
			}
		}
		// An escaped value comes back cleaned and cut, and nothing else.
		c.SetSubIDs([]byte("x=1&sharedid=" + url.QueryEscape(value) + "&sharedid=other"))
		if want := cleanSubID(value); string(c.SharedID) != want {
			t.Fatalf("unexpected sharedid for %q; got %q; want %q", value, c.SharedID, want)
		}
	})
}

// cleanSubID is the reference for what SetSubIDs keeps of a decoded value.
func cleanSubID(v string) string {
	var out []byte
	for len(v) > 0 {
		r, size := utf8.DecodeRuneInString(v)
		if !(r == utf8.RuneError && size == 1) && isPrintable(r) {
			if len(out)+size > MaxSubIDLen {
				break
			}
			out = append(out, v[:size]...)
		}
		v = v[size:]
	}
	return string(out)
}

// FuzzAppendJSONString: the event's strings are encoded as encoding/json
// encodes them without HTML escaping (invalid UTF-8 as U+FFFD, U+2028 and
// U+2029 escaped), at any offset of the eight-byte fast path.
func FuzzAppendJSONString(f *testing.F) {
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \"quoted\" back\\slash")
	f.Add("plain ascii, exactly 16b")
	f.Add("tab\there\x00\x1f\x7f\x80\xff é ✓ 😀 \u2028\u2029")
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatalf("unexpected error from encoding/json; got %v; want nil", err)
		}
		for off := 0; off < 8 && off <= len(s); off++ {
			got := appendJSONString([]byte("x"), []byte(s[off:]))
			want.Reset()
			if err := enc.Encode(s[off:]); err != nil {
				t.Fatalf("unexpected error from encoding/json; got %v; want nil", err)
			}
			if w := "x" + strings.TrimSuffix(want.String(), "\n"); string(got) != w {
				t.Fatalf("unexpected JSON string for %q; got %s; want %s", s[off:], got, w)
			}
		}
	})
}
