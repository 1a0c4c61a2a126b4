package redirect

import (
	"strings"
	"testing"
)

func TestAppendPassthrough(t *testing.T) {
	const base = "https://www.amazon.com/dp/B000000001?tag=t-20"
	f := func(query, want string) {
		t.Helper()
		got, _ := AppendPassthrough([]byte(base), []byte(query), nil)
		if string(got) != base+want {
			t.Fatalf("unexpected pass-through of %q; got %q; want %q", query, got[len(base):], want)
		}
	}
	f("", "")
	f("utm_source=news", "&utm_source=news")
	f("a=1&b=2", "&a=1&b=2")
	f("a=hello+world&b=%26x%3Dy", "&a=hello%20world&b=%26x%3Dy")
	f("flag", "&flag=")
	f("&&a=1&", "&a=1")
	f("=x&a=1", "&a=1")
	// Reserved keys never come from the request, whatever their case or escape.
	f("tag=evil&TAG=evil&%74ag=evil&maas=x&ref_=x&REF_=x&aa_campaignid=x&AA_x=y&ascsubtag=x&linkCode=x&linkid=x&LinkId=x", "")
	f("subId1=a&subid2=b&SUBID3=c&sharedid=d&keep=1", "&keep=1")
	f("ref=ok&tags=ok&aa=ok", "&ref=ok&tags=ok&aa=ok")
	// Hostile values are escaped, never reflected raw.
	f("x=%0D%0ALocation:%20evil", "&x=%0D%0ALocation%3A%20evil")
	f("x=<script>&y=\"'", "&x=%3Cscript%3E&y=%22%27")
	f("x=%zz&y=%4", "")
	f("x=1#frag", "&x=1%23frag")
	// Bounds.
	many := strings.Repeat("k=v&", 100)
	got, _ := AppendPassthrough([]byte(base), []byte(many), nil)
	if n := strings.Count(string(got[len(base):]), "&"); n != MaxPassthroughParams {
		t.Fatalf("unexpected parameter count; got %d; want %d", n, MaxPassthroughParams)
	}
	long := "a=" + strings.Repeat("x", 200) + "&b=" + strings.Repeat("y", 200) + "&c=" + strings.Repeat("z", 200) + "&d=" + strings.Repeat("w", 200) + "&e=" + strings.Repeat("v", 200) + "&f=1"
	got, _ = AppendPassthrough([]byte(base), []byte(long), nil)
	if n := len(got) - len(base); n > MaxPassthroughBytes {
		t.Fatalf("unexpected pass-through size; got %d; want at most %d", n, MaxPassthroughBytes)
	}
	got, _ = AppendPassthrough([]byte(base), []byte("a="+strings.Repeat("x", maxParamBytes+1)+"&b=1"), nil)
	if string(got[len(base):]) != "&b=1" {
		t.Fatalf("unexpected handling of an overlong value; got %q", got[len(base):])
	}
	// A destination without a query gets '?'.
	got, _ = AppendPassthrough([]byte("https://www.amazon.com/dp/B000000001"), []byte("a=1"), nil)
	if string(got) != "https://www.amazon.com/dp/B000000001?a=1" {
		t.Fatalf("unexpected separator; got %q", got)
	}
}
