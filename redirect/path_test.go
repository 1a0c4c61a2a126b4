package redirect

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	f := func(path, wantKey string, wantOK bool) {
		t.Helper()
		key, ok := ParsePath([]byte(path))
		if ok != wantOK || string(key) != wantKey {
			t.Fatalf("unexpected ParsePath(%q); got %q, %v; want %q, %v", path, key, ok, wantKey, wantOK)
		}
	}
	f("/abc", "abc", true)
	f("/abc/", "abc", true)
	f("/A-b_9", "A-b_9", true)
	f("/c", "c", true)
	f("/"+strings.Repeat("x", 64), strings.Repeat("x", 64), true)
	f("/c/partner/0/program", "c/partner/0/program", true)
	f("/c/partner/ad-1/program/", "c/partner/ad-1/program", true)

	f("", "", false)
	f("/", "", false)
	f("//", "", false)
	f("abc", "", false)
	f("/"+strings.Repeat("x", 65), "", false)
	f("/a.b", "", false)
	f("/a b", "", false)
	f("/a%20b", "", false)
	f("/abc//", "", false)
	f("/a/b", "", false)
	f("/c/", "c", true) // the code "c" with a trailing slash
	f("/c/p/0", "", false)
	f("/c/p/0/q/r", "", false)
	f("/c//0/q", "", false)
	f("/c/p/0/", "", false)
	f("/c/p/0/q//", "", false)
	f("/c/p/0/q\r\n", "", false)
	f("/c/p/0/"+strings.Repeat("q", 65), "", false)
	f("/é", "", false)
}
