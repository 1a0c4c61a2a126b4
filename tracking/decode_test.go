package tracking

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeClickRoundTrip(t *testing.T) {
	clicks := []Click{sampleClick(), {ID: []byte("x")}}
	odd := sampleClick()
	odd.TS = -1 << 63
	odd.Status = -1 << 31
	odd.Bot, odd.BotReason = false, BotNone
	odd.SubID1 = []byte("\"\\\n\x00 ✓ 😀 \u2028")
	odd.Edge = []byte(strings.Repeat("e", 1000))
	clicks = append(clicks, odd)
	for _, src := range AllSources() {
		for _, dev := range AllDevices() {
			c := sampleClick()
			c.Source, c.Device = src, dev
			clicks = append(clicks, c)
		}
	}
	for _, r := range AllBotReasons() {
		c := sampleClick()
		c.BotReason = r
		clicks = append(clicks, c)
	}

	var got Click
	for _, want := range clicks {
		data := want.AppendJSON(nil)
		if err := DecodeClick(&got, data); err != nil {
			t.Fatalf("unexpected error decoding %s; got %v; want nil", data, err)
		}
		if !reflect.DeepEqual(trimmed(got), trimmed(want)) {
			t.Fatalf("unexpected round trip of %s; got %+v; want %+v", data, got, want)
		}
		if again := got.AppendJSON(nil); string(again) != string(data) {
			t.Fatalf("unexpected re-encoding; got %s; want %s", again, data)
		}
	}
}

func TestDecodeClickAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Click
	}{
		{"minimal", `{"v":1,"id":"a"}`, Click{ID: []byte("a")}},
		{"white space and order", " \n{ \"id\" : \"a\" ,\t\"v\" : 1 } \r\n", Click{ID: []byte("a")}},
		{"unknown fields are skipped", `{"v":1,"id":"a","future":{"x":[1,2.5e-3,true,null,"s",{"y":[]}]},"n":-0,"ts":5}`, Click{ID: []byte("a"), TS: 5}},
		{"escapes", `{"v":1,"id":"\u0041\"\\\/\b\f\n\r\t","code":"\ud83d\ude00"}`, Click{ID: []byte("A\"\\/\b\f\n\r\t"), Code: []byte("😀")}},
		{"lone surrogates", `{"v":1,"id":"\ud800x\udc00"}`, Click{ID: []byte("\ufffdx\ufffd")}},
		{"invalid UTF-8", "{\"v\":1,\"id\":\"a\xffb\"}", Click{ID: []byte("a\ufffdb")}},
		{"bot from reason", `{"v":1,"id":"a","bot_reason":"crawler"}`, Click{ID: []byte("a"), Bot: true, BotReason: BotCrawler}},
		{"last duplicate wins", `{"v":1,"id":"a","id":"b"}`, Click{ID: []byte("b")}},
		{"escaped key", `{"\u0076":1,"id":"a"}`, Click{ID: []byte("a")}},
		{"enums", `{"v":1,"id":"a","source":"paid","device":"other","bot":true,"bot_reason":"empty_ua"}`, Click{ID: []byte("a"), Source: SourcePaid, Device: DeviceOther, Bot: true, BotReason: BotEmptyUA}},
	}
	for _, tc := range tests {
		var got Click
		if err := DecodeClick(&got, []byte(tc.in)); err != nil {
			t.Errorf("%s: unexpected error; got %v; want nil", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(trimmed(got), trimmed(tc.want)) {
			t.Errorf("%s: unexpected click; got %+v; want %+v", tc.name, got, tc.want)
		}
	}
}

func TestDecodeClickRejects(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"empty", ``, "malformed JSON"},
		{"not an object", `[1]`, "malformed JSON"},
		{"unsupported version", `{"v":2,"id":"a"}`, "cannot decode click: unsupported version 2"},
		{"version zero", `{"id":"a","v":0}`, "unsupported version 0"},
		{"missing version", `{"id":"a"}`, `missing "v"`},
		{"missing id", `{"v":1}`, `missing "id"`},
		{"empty id", `{"v":1,"id":""}`, `missing "id"`},
		{"string version", `{"v":"1","id":"a"}`, `field "v": want integer`},
		{"float version", `{"v":1.0,"id":"a"}`, `field "v": want integer`},
		{"numeric id", `{"v":1,"id":7}`, `field "id": want string`},
		{"null string", `{"v":1,"id":"a","code":null}`, `field "code": want string`},
		{"string ts", `{"v":1,"id":"a","ts":"1"}`, `field "ts": want integer`},
		{"exponent ts", `{"v":1,"id":"a","ts":1e3}`, `field "ts": want integer`},
		{"ts overflow", `{"v":1,"id":"a","ts":9223372036854775808}`, `field "ts": integer out of range`},
		{"ts huge", `{"v":1,"id":"a","ts":99999999999999999999999}`, `field "ts": integer out of range`},
		{"status overflow", `{"v":1,"id":"a","status":2147483648}`, `field "status": integer out of range`},
		{"leading zero", `{"v":1,"id":"a","status":0302}`, "leading zero"},
		{"string bot", `{"v":1,"id":"a","bot":"true"}`, `field "bot": want boolean`},
		{"unknown source", `{"v":1,"id":"a","source":"tv"}`, `unknown source "tv"`},
		{"unknown device", `{"v":1,"id":"a","device":"fridge"}`, `unknown device "fridge"`},
		{"unknown reason", `{"v":1,"id":"a","bot":true,"bot_reason":"spam"}`, `unknown bot_reason "spam"`},
		{"numeric source", `{"v":1,"id":"a","source":1}`, `field "source": want string`},
		{"bot without reason", `{"v":1,"id":"a","bot":true}`, `"bot" is true but "bot_reason" is ""`},
		{"reason without bot", `{"v":1,"id":"a","bot":false,"bot_reason":"head"}`, `"bot" is false but "bot_reason" is "head"`},
		{"trailing data", `{"v":1,"id":"a"} {}`, "trailing data"},
		{"trailing comma", `{"v":1,"id":"a",}`, "want an object key"},
		{"missing colon", `{"v" 1,"id":"a"}`, "want ':'"},
		{"unterminated string", `{"v":1,"id":"a`, "unterminated string"},
		{"unterminated object", `{"v":1,"id":"a"`, "unexpected end of input"},
		{"control character", "{\"v\":1,\"id\":\"a\nb\"}", "control character"},
		{"bad escape", `{"v":1,"id":"\x"}`, "invalid escape"},
		{"bad unicode escape", `{"v":1,"id":"\u12"}`, `invalid \u escape`},
		{"bad unknown value", `{"v":1,"id":"a","x":[1,]}`, "want a value"},
		{"bad literal", `{"v":1,"id":"a","x":nul}`, "invalid literal"},
		{"bad number", `{"v":1,"id":"a","x":-}`, "invalid number"},
		{"bad fraction", `{"v":1,"id":"a","x":1.}`, "invalid number"},
		{"too deep", `{"v":1,"id":"a","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nested too deeply"},
	}
	for _, tc := range tests {
		c := sampleClick()
		err := DecodeClick(&c, []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "cannot decode click: ") {
			t.Errorf("%s: unexpected error for %q; got %v; want one containing %q", tc.name, tc.in, err, tc.wantErr)
		}
	}
	var c Click
	err := DecodeClick(&c, []byte(`{"v":3,"id":"a"}`))
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("unexpected error; got %v; want one wrapping ErrUnsupportedVersion", err)
	}
}

func TestDecodeClickLongNames(t *testing.T) {
	long := strings.Repeat("x", 40)
	var c Click
	err := DecodeClick(&c, []byte(`{"v":1,"id":"a","source":"`+long+`"}`))
	if err == nil || !strings.Contains(err.Error(), "unknown source: name too long") {
		t.Fatalf("unexpected error; got %v; want one about a long source name", err)
	}
	if err := DecodeClick(&c, []byte(`{"v":1,"id":"a","`+long+`":"y"}`)); err != nil {
		t.Fatalf("unexpected error for a long unknown key; got %v; want nil", err)
	}
}
