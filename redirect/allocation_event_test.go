package redirect

import "testing"

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
	for _, path := range []string{"/hot?subId1=a&gclid=x", "/c/bob/spring/us"} {
		ctx := newHitCtx(t, e.testEdge, path)
		ctx.Request.Header.Set("Referer", "https://www.google.com/")
		n := testing.AllocsPerRun(1000, func() {
			ctx.Response.Reset()
			e.handler.HandleRequest(ctx)
		})
		if n != 0 {
			t.Fatalf("unexpected allocations per cached redirect with events of %s; got %v; want 0", path, n)
		}
	}
	if st := e.emitter.Stats(); st.Enqueued < 2000 {
		t.Fatalf("unexpected enqueued events; got %d; want at least 2000", st.Enqueued)
	}
}
