package redirect

import (
	"bufio"
	"strings"
	"testing"
)

// TestCacheHitRedirectWithEventAllocatesNothing: with classification and the
// click event on, a cached redirect of a seen user agent still allocates 0
// times; the emitter copies the event into pooled memory.
func TestCacheHitRedirectWithEventAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; make test runs this test without it")
	}
	e := newEventEdge(t, "")
	e.seedAPI()
	e.mustAPI("POST", "/api/v1/links", `{"program":"us","partner":"alice","code":"hot"}`, 201)
	for _, c := range []struct {
		path  string
		extra [2]string // a header besides the referrer, read with look-ups
	}{
		{path: "/hot?subId1=a&gclid=x"},
		{path: "/c/bob/spring/us"},
		{"/hot", [2]string{"Cookie", "session=1; theme=dark"}},
		{"/hot", [2]string{"Trailer", "X-Checksum"}},
	} {
		ctx := newHitCtx(t, e.testEdge, c.path)
		ctx.Request.Header.Set("Referer", "https://www.google.com/")
		if c.extra[0] != "" {
			// Parsed as the server parses a request (setting a cookie
			// by hand would parse it at once, which the server never
			// does before the handler).
			raw := "GET " + c.path + " HTTP/1.1\r\nHost: e\r\nUser-Agent: " + string(ctx.Request.Header.UserAgent()) +
				"\r\nReferer: https://www.google.com/\r\n" + c.extra[0] + ": " + c.extra[1] + "\r\n\r\n"
			if err := ctx.Request.Header.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
				t.Fatal(err)
			}
		}
		n := testing.AllocsPerRun(1000, func() {
			ctx.Response.Reset()
			e.handler.HandleRequest(ctx)
		})
		if n != 0 {
			t.Fatalf("unexpected allocations per cached redirect with events of %s (%q); got %v; want 0", c.path, c.extra, n)
		}
	}
	if st := e.emitter.Stats(); st.Enqueued < 4000 {
		t.Fatalf("unexpected enqueued events; got %d; want at least 4000", st.Enqueued)
	}
}
