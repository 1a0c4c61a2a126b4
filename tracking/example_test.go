package tracking_test

import (
	"fmt"
	"net/netip"

	"github.com/clickedge/clickedge/tracking"
)

func ExampleClassifier_Classify() {
	c, err := tracking.New(tracking.Config{VisitorKey: []byte("a secret shared by every edge")})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	// In the request handler: views into the request, a pooled Click.
	var click tracking.Click
	c.Classify(&click, &tracking.Request{
		Method:      []byte("GET"),
		UserAgent:   []byte("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
		Referer:     []byte("https://l.instagram.com/"),
		QueryString: []byte("subId1=reel-7"),
		ClientIP:    netip.MustParseAddr("203.0.113.9"),
	})
	click.SetSubIDs([]byte("subId1=reel-7"))
	fmt.Println(click.Source, string(click.ReferrerHost), click.Device, click.Bot, string(click.IPPrefix), string(click.SubID1))
	// Output: social l.instagram.com mobile false 203.0.113.0/24 reel-7
}

func ExampleDecodeClick() {
	var click tracking.Click
	err := tracking.DecodeClick(&click, []byte(`{"v":1,"id":"01JD6Y3W5Q8N2R4T6V8X0Z2B4D","program":"p1","partner":"a7","source":"search","bot":true,"bot_reason":"crawler"}`))
	fmt.Println(err, string(click.AppendKey(nil)), click.Source, click.BotReason)

	err = tracking.DecodeClick(&click, []byte(`{"v":2,"id":"x"}`))
	fmt.Println(err)
	// Output:
	// <nil> p1:a7 search crawler
	// cannot decode click: unsupported version 2
}
