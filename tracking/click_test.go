package tracking

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// sampleClick is a fully populated click.
func sampleClick() Click {
	return Click{
		ID:           []byte("01JD6Y3W5Q8N2R4T6V8X0Z2B4D"),
		TS:           1732000000123,
		Code:         []byte("summer-sale"),
		Level:        []byte("ad"),
		Program:      []byte("prog1"),
		Partner:      []byte("partner7"),
		Ad:           []byte("ad3"),
		ASIN:         []byte("B0C1234567"),
		Marketplace:  []byte("DE"),
		Method:       []byte("GET"),
		Status:       302,
		Source:       SourceSocial,
		ReferrerHost: []byte("l.instagram.com"),
		Device:       DeviceMobile,
		Bot:          true,
		BotReason:    BotDatacenter,
		Country:      []byte("DE"),
		Visitor:      []byte("00112233445566778899aabbccddeeff"),
		IPPrefix:     []byte("203.0.113.0/24"),
		SubID1:       []byte("video-42"),
		SubID2:       []byte("a b"),
		SubID3:       []byte(""),
		SharedID:     []byte("shared"),
		Edge:         []byte("edge-fra-1"),
	}
}

func TestAppendJSON(t *testing.T) {
	c := sampleClick()
	got := string(c.AppendJSON([]byte("prefix:")))
	want := `prefix:{"v":1,"id":"01JD6Y3W5Q8N2R4T6V8X0Z2B4D","ts":1732000000123,"code":"summer-sale","level":"ad",` +
		`"program":"prog1","partner":"partner7","ad":"ad3","asin":"B0C1234567","marketplace":"DE","method":"GET",` +
		`"status":302,"source":"social","referrer_host":"l.instagram.com","device":"mobile","bot":true,` +
		`"bot_reason":"datacenter","country":"DE","visitor":"00112233445566778899aabbccddeeff",` +
		`"ip_prefix":"203.0.113.0/24","subid1":"video-42","subid2":"a b","subid3":"","sharedid":"shared","edge":"edge-fra-1"}`
	if got != want {
		t.Fatalf("unexpected JSON; got %q; want %q", got, want)
	}

	var zero Click
	got = string(zero.AppendJSON(nil))
	want = `{"v":1,"id":"","ts":0,"code":"","level":"","program":"","partner":"","ad":"","asin":"","marketplace":"",` +
		`"method":"","status":0,"source":"direct","referrer_host":"","device":"desktop","bot":false,"bot_reason":"",` +
		`"country":"","visitor":"","ip_prefix":"","subid1":"","subid2":"","subid3":"","sharedid":"","edge":""}`
	if got != want {
		t.Fatalf("unexpected JSON of the zero click; got %q; want %q", got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"uote`, `"q\"uote"`},
		{`back\slash`, `"back\\slash"`},
		{"a\nb\rc\td\be\ff", `"a\nb\rc\td\be\ff"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"héllo wörld ✓ 😀", `"héllo wörld ✓ 😀"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"\xc3", `"\ufffd"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // encoded surrogate
		{"line\u2028sep\u2029", `"line\u2028sep\u2029"`},
		{"</script>", `"</script>"`},
	}
	for _, tc := range tests {
		got := string(appendJSONString(nil, []byte(tc.in)))
		if got != tc.want {
			t.Errorf("unexpected JSON string for %q; got %q; want %q", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("unexpected error decoding %q with encoding/json; got %v; want nil", got, err)
		}
		if utf8.ValidString(tc.in) && back != tc.in {
			t.Errorf("unexpected round trip through encoding/json; got %q; want %q", back, tc.in)
		}
	}
}

// TestAppendJSONWithLink: a pre-encoded link part gives the same event as
// the link's fields on the click, also for fields that need escaping.
func TestAppendJSONWithLink(t *testing.T) {
	for _, code := range []string{"summer-sale", "", "q\"uote\x00\xff\u2028"} {
		c := sampleClick()
		c.Code = []byte(code)
		want := string(c.AppendJSON([]byte("prefix:")))
		link := AppendLinkJSON([]byte("junk"), c.Code, c.Level, c.Program, c.Partner, c.Ad, c.ASIN, c.Marketplace)[4:]
		bare := c
		bare.Code, bare.Level, bare.Program, bare.Partner, bare.Ad, bare.ASIN, bare.Marketplace = nil, nil, nil, nil, nil, nil, nil
		if got := string(bare.AppendJSONWithLink([]byte("prefix:"), link)); got != want {
			t.Fatalf("unexpected JSON with a pre-encoded link; got %q; want %q", got, want)
		}
		if got, want := string(AppendClickKey(nil, c.Program, c.Partner)), string(c.AppendKey(nil)); got != want {
			t.Fatalf("unexpected key; got %q; want %q", got, want)
		}
	}
}

func TestAppendJSONIsValidJSON(t *testing.T) {
	c := sampleClick()
	c.SubID1 = []byte("\"}{\x00\xff")
	c.Edge = []byte("\\")
	var m map[string]any
	if err := json.Unmarshal(c.AppendJSON(nil), &m); err != nil {
		t.Fatalf("unexpected error from encoding/json; got %v; want nil", err)
	}
	if len(m) != 25 {
		t.Fatalf("unexpected number of fields; got %d; want %d", len(m), 25)
	}
	if m["subid1"] != "\"}{\x00\ufffd" {
		t.Fatalf("unexpected subid1; got %q; want %q", m["subid1"], "\"}{\x00\ufffd")
	}
}

func TestAppendKey(t *testing.T) {
	tests := []struct {
		program, partner, want string
	}{
		{"prog1", "partner7", "prog1:partner7"},
		{"prog1", "", "prog1:"},
		{"", "partner7", "unknown"},
		{"", "", "unknown"},
	}
	for _, tc := range tests {
		c := Click{Program: []byte(tc.program), Partner: []byte(tc.partner)}
		if got := string(c.AppendKey([]byte("k="))); got != "k="+tc.want {
			t.Errorf("unexpected key; got %q; want %q", got, "k="+tc.want)
		}
	}
}

func TestReset(t *testing.T) {
	c := sampleClick()
	idCap := cap(c.ID)
	c.Reset()
	if !reflect.DeepEqual(trimmed(c), trimmed(Click{})) {
		t.Fatalf("unexpected click after Reset; got %+v; want the zero click", c)
	}
	if cap(c.ID) != idCap {
		t.Fatalf("unexpected capacity after Reset; got %d; want %d", cap(c.ID), idCap)
	}
}

// trimmed returns c with empty slices set to nil for comparisons.
func trimmed(c Click) Click {
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Slice && f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return c
}

func TestSetSubIDs(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct {
		query                      string
		sub1, sub2, sub3, sharedID string
	}{
		{"", "", "", "", ""},
		{"subId1=a&subId2=b&subId3=c&sharedid=d", "a", "b", "c", "d"},
		{"SUBID1=x&subid2=y&SharedId=z", "x", "y", "", "z"},
		{"subId1=first&subId1=second", "first", "", "", ""},
		{"subId1=hello+world%21", "hello world!", "", "", ""},
		{"subId1=%E2%9C%93%20ok", "✓ ok", "", "", ""},
		{"subId1=100%25", "100%", "", "", ""},
		{"subId1=bad%zzescape%", "bad%zzescape%", "", "", ""},
		{"subId1=%0d%0aSet-Cookie:x", "Set-Cookie:x", "", "", ""},
		{"subId1=tab%09and%7Fdel%C2%85nel", "tabanddelnel", "", "", ""},
		{"subId1=%ff%fe%c3", "", "", "", ""},
		{"subId1=ok%ffok", "okok", "", "", ""},
		{"subId1=" + long, long[:255], "", "", ""},
		{"subId1=" + strings.Repeat("é", 200), strings.Repeat("é", 127), "", "", ""},
		{"subId1&subId2=&subId3==x", "", "", "=x", ""},
		{"x=1&subId4=2&sub=3&subid=4&sharedid2=5", "", "", "", ""},
		{"&&&subId2=v&&", "", "v", "", ""},
	}
	for _, tc := range tests {
		var c Click
		c.SubID1 = []byte("stale")
		c.SetSubIDs([]byte(tc.query))
		got := [4]string{string(c.SubID1), string(c.SubID2), string(c.SubID3), string(c.SharedID)}
		want := [4]string{tc.sub1, tc.sub2, tc.sub3, tc.sharedID}
		if got != want {
			t.Errorf("unexpected sub-IDs for %q; got %q; want %q", tc.query, got, want)
		}
	}
}

func TestEnumNames(t *testing.T) {
	for _, s := range AllSources() {
		if got, ok := ParseSource(s.String()); !ok || got != s {
			t.Errorf("unexpected ParseSource(%q); got %q %v; want %q true", s.String(), got, ok, s)
		}
	}
	for _, d := range AllDevices() {
		if got, ok := ParseDevice(d.String()); !ok || got != d {
			t.Errorf("unexpected ParseDevice(%q); got %q %v; want %q true", d.String(), got, ok, d)
		}
	}
	reasons := AllBotReasons()
	if len(reasons) != 8 || reasons[0] == BotNone {
		t.Fatalf("unexpected AllBotReasons; got %v; want the 8 reasons without BotNone", reasons)
	}
	for _, r := range append(reasons, BotNone) {
		if got, ok := ParseBotReason(r.String()); !ok || got != r {
			t.Errorf("unexpected ParseBotReason(%q); got %q %v; want %q true", r.String(), got, ok, r)
		}
	}
	wantNames := map[string]bool{"": true, "head": true, "prefetch": true, "preview": true, "crawler": true, "library": true, "headless": true, "empty_ua": true, "datacenter": true}
	for _, r := range append(reasons, BotNone) {
		if !wantNames[r.String()] {
			t.Errorf("unexpected bot reason name; got %q; want one of %v", r.String(), wantNames)
		}
	}
	if Source(200).String() != "invalid" || Device(200).String() != "invalid" || BotReason(200).String() != "invalid" {
		t.Errorf("unexpected name of an out-of-range value; got %q; want %q", Source(200).String(), "invalid")
	}

	// Text (un)marshaling, as used by JSON configuration.
	var v struct {
		S Source
		D Device
		R BotReason
	}
	if err := json.Unmarshal([]byte(`{"S":"email","D":"tablet","R":"empty_ua"}`), &v); err != nil {
		t.Fatalf("unexpected error; got %v; want nil", err)
	}
	if v.S != SourceEmail || v.D != DeviceTablet || v.R != BotEmptyUA {
		t.Fatalf("unexpected values; got %v; want email tablet empty_ua", v)
	}
	out, err := json.Marshal(v)
	if err != nil || string(out) != `{"S":"email","D":"tablet","R":"empty_ua"}` {
		t.Fatalf("unexpected JSON; got %s %v; want %s", out, err, `{"S":"email","D":"tablet","R":"empty_ua"}`)
	}
	if err := json.Unmarshal([]byte(`{"S":"spam"}`), &v); err == nil || !strings.Contains(err.Error(), `cannot parse source "spam"`) {
		t.Fatalf("unexpected error; got %v; want one about the unknown source", err)
	}
	if _, err := Device(99).MarshalText(); err == nil {
		t.Fatalf("unexpected error marshaling an invalid device; got nil; want an error")
	}
}

// TestPlainJSON8: the eight-byte test passes a word exactly when every byte
// is one appendJSONString copies without a look: each byte value at each
// position among plain bytes, and every pair of values side by side (a
// borrow from one byte must not hide or fake another).
func TestPlainJSON8(t *testing.T) {
	plain := func(b byte) bool { return b >= 0x20 && b < 0x80 && b != '"' && b != '\\' }
	word := func(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
	for v := 0; v < 256; v++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("abcdefgh")
			w[pos] = byte(v)
			if got, want := plainJSON8(word(w)), plain(byte(v)); got != want {
				t.Fatalf("unexpected plainJSON8 for byte %#02x at %d; got %v; want %v", v, pos, got, want)
			}
		}
	}
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			for _, pos := range []int{0, 3, 6} {
				w := []byte(" ~ ~ ~ ~")
				w[pos], w[pos+1] = byte(a), byte(b)
				if got, want := plainJSON8(word(w)), plain(byte(a)) && plain(byte(b)); got != want {
					t.Fatalf("unexpected plainJSON8 for bytes %#02x %#02x at %d; got %v; want %v", a, b, pos, got, want)
				}
			}
		}
	}
}

// TestAppendJSONPlainAndEscaped: the encoder's one-pass path (plain strings,
// a three-digit status) writes what the field-by-field path writes, for
// every string field holding values of every length around the eight-byte
// steps, plain or needing an escape at any place, and for statuses on both
// sides of the three-digit range.
func TestAppendJSONPlainAndEscaped(t *testing.T) {
	if jVersion != strconv.Itoa(ClickVersion) {
		t.Fatalf("unexpected version in the encoder's constants; got %q; want %d", jVersion, ClickVersion)
	}
	general := func(c *Click) string {
		dst := c.appendJSONHeadAny([]byte("prefix:"))
		dst = AppendLinkJSON(dst, c.Code, c.Level, c.Program, c.Partner, c.Ad, c.ASIN, c.Marketplace)
		return string(c.appendJSONTailAny(dst))
	}
	var values []string
	for n := 0; n <= 17; n++ {
		plain := strings.Repeat("a", n)
		values = append(values, plain)
		for at := 0; at < n; at++ {
			for _, esc := range []string{`"`, `\`, "\x01", "\xff", "é"} {
				values = append(values, plain[:at]+esc+plain[at+1:])
			}
		}
	}
	fields := reflect.TypeFor[Click]()
	checked := 0
	for f := range fields.NumField() {
		if fields.Field(f).Type != reflect.TypeFor[[]byte]() {
			continue
		}
		for _, v := range values {
			c := sampleClick()
			reflect.ValueOf(&c).Elem().Field(f).SetBytes([]byte(v))
			got, want := string(c.AppendJSON([]byte("prefix:"))), general(&c)
			if got != want {
				t.Fatalf("unexpected JSON with %s = %q; got %q; want %q", fields.Field(f).Name, v, got, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("unexpected Click without byte-slice fields")
	}
	for _, status := range []int{-302, 0, 99, 100, 200, 302, 404, 999, 1000, 1 << 40} {
		for _, bot := range []bool{false, true} {
			c := sampleClick()
			c.Status, c.Bot = status, bot
			got, want := string(c.AppendJSON([]byte("prefix:"))), general(&c)
			if got != want {
				t.Fatalf("unexpected JSON with status %d, bot %v; got %q; want %q", status, bot, got, want)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(got, "prefix:")), &m); err != nil || m["status"] != float64(status) || m["bot"] != bot {
				t.Fatalf("unexpected decoding of %q; got %v, %v; want status %d, bot %v", got, m, err, status, bot)
			}
		}
	}
}
