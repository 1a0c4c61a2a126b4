package tracking

import (
	"strings"
	"testing"
)

func TestClassifySource(t *testing.T) {
	tests := []struct {
		referer string
		query   string
		source  Source
		host    string
	}{
		// No referrer.
		{"", "", SourceDirect, ""},
		{"   ", "", SourceDirect, ""},
		{"", "gclid=", SourceDirect, ""},

		// Search engines, including country and mobile hosts.
		{"https://www.google.com/", "", SourceSearch, "www.google.com"},
		{"https://google.com/", "", SourceSearch, "google.com"},
		{"https://www.google.co.uk/", "", SourceSearch, "www.google.co.uk"},
		{"https://www.google.de/", "", SourceSearch, "www.google.de"},
		{"https://www.google.com.br/search?q=shoes", "", SourceSearch, "www.google.com.br"},
		{"https://www.google.co.jp/", "", SourceSearch, "www.google.co.jp"},
		{"https://m.google.com/", "", SourceSearch, "m.google.com"},
		{"https://images.google.fr/", "", SourceSearch, "images.google.fr"},
		{"android-app://com.google.android.googlequicksearchbox", "", SourceSearch, "com.google.android.googlequicksearchbox"},
		{"android-app://com.google.android.googlequicksearchbox/https/www.google.com", "", SourceSearch, "com.google.android.googlequicksearchbox"},
		{"https://www.bing.com/", "", SourceSearch, "www.bing.com"},
		{"https://cn.bing.com/search?q=x", "", SourceSearch, "cn.bing.com"},
		{"https://duckduckgo.com/", "", SourceSearch, "duckduckgo.com"},
		{"https://html.duckduckgo.com/html/", "", SourceSearch, "html.duckduckgo.com"},
		{"https://yandex.ru/search/?text=x", "", SourceSearch, "yandex.ru"},
		{"https://yandex.com.tr/", "", SourceSearch, "yandex.com.tr"},
		{"https://ya.ru/", "", SourceSearch, "ya.ru"},
		{"https://www.baidu.com/link?url=abc", "", SourceSearch, "www.baidu.com"},
		{"https://m.baidu.com/", "", SourceSearch, "m.baidu.com"},
		{"https://search.yahoo.com/", "", SourceSearch, "search.yahoo.com"},
		{"https://r.search.yahoo.com/_ylt=abc", "", SourceSearch, "r.search.yahoo.com"},
		{"https://uk.search.yahoo.com/", "", SourceSearch, "uk.search.yahoo.com"},
		{"https://search.yahoo.co.jp/", "", SourceSearch, "search.yahoo.co.jp"},
		{"https://www.ecosia.org/", "", SourceSearch, "www.ecosia.org"},
		{"https://www.qwant.com/", "", SourceSearch, "www.qwant.com"},
		{"https://search.brave.com/", "", SourceSearch, "search.brave.com"},
		{"https://search.naver.com/search.naver", "", SourceSearch, "search.naver.com"},
		{"https://m.search.naver.com/", "", SourceSearch, "m.search.naver.com"},
		{"https://www.seznam.cz/", "", SourceSearch, "www.seznam.cz"},
		{"https://www.perplexity.ai/", "", SourceSearch, "www.perplexity.ai"},
		{"https://chatgpt.com/", "", SourceSearch, "chatgpt.com"},

		// Social networks, including their short and mobile hosts.
		{"https://t.co/abc123", "", SourceSocial, "t.co"},
		{"https://lm.facebook.com/", "", SourceSocial, "lm.facebook.com"},
		{"https://l.facebook.com/l.php?u=x", "", SourceSocial, "l.facebook.com"},
		{"https://m.facebook.com/", "", SourceSocial, "m.facebook.com"},
		{"https://www.facebook.com/", "", SourceSocial, "www.facebook.com"},
		{"https://l.instagram.com/", "", SourceSocial, "l.instagram.com"},
		{"https://www.instagram.com/", "", SourceSocial, "www.instagram.com"},
		{"https://out.reddit.com/t3_abc", "", SourceSocial, "out.reddit.com"},
		{"https://old.reddit.com/r/deals/", "", SourceSocial, "old.reddit.com"},
		{"https://x.com/", "", SourceSocial, "x.com"},
		{"https://twitter.com/", "", SourceSocial, "twitter.com"},
		{"https://www.linkedin.com/", "", SourceSocial, "www.linkedin.com"},
		{"https://lnkd.in/abc", "", SourceSocial, "lnkd.in"},
		{"https://www.pinterest.com/", "", SourceSocial, "www.pinterest.com"},
		{"https://www.pinterest.co.uk/", "", SourceSocial, "www.pinterest.co.uk"},
		{"https://www.pinterest.de/", "", SourceSocial, "www.pinterest.de"},
		{"https://www.tiktok.com/", "", SourceSocial, "www.tiktok.com"},
		{"https://www.youtube.com/", "", SourceSocial, "www.youtube.com"},
		{"https://m.youtube.com/watch?v=x", "", SourceSocial, "m.youtube.com"},
		{"https://youtu.be/x", "", SourceSocial, "youtu.be"},
		{"https://www.threads.net/", "", SourceSocial, "www.threads.net"},
		{"https://bsky.app/profile/x", "", SourceSocial, "bsky.app"},
		{"https://vk.com/", "", SourceSocial, "vk.com"},
		{"https://news.ycombinator.com/item?id=1", "", SourceSocial, "news.ycombinator.com"},
		{"android-app://com.facebook.katana", "", SourceSocial, "com.facebook.katana"},
		{"android-app://com.instagram.android/", "", SourceSocial, "com.instagram.android"},
		{"android-app://com.twitter.android", "", SourceSocial, "com.twitter.android"},
		{"android-app://com.reddit.frontpage", "", SourceSocial, "com.reddit.frontpage"},

		// Webmail.
		{"https://mail.google.com/", "", SourceEmail, "mail.google.com"},
		{"https://mail.google.com/mail/u/0/", "", SourceEmail, "mail.google.com"},
		{"https://outlook.live.com/", "", SourceEmail, "outlook.live.com"},
		{"https://outlook.office.com/mail/", "", SourceEmail, "outlook.office.com"},
		{"https://outlook.office365.com/", "", SourceEmail, "outlook.office365.com"},
		{"https://mail.yahoo.com/", "", SourceEmail, "mail.yahoo.com"},
		{"https://uk.mail.yahoo.com/", "", SourceEmail, "uk.mail.yahoo.com"},
		{"https://mail.aol.com/", "", SourceEmail, "mail.aol.com"},
		{"https://mail.proton.me/", "", SourceEmail, "mail.proton.me"},
		{"https://mail.yandex.ru/", "", SourceEmail, "mail.yandex.ru"},
		{"https://e.mail.ru/inbox/", "", SourceEmail, "e.mail.ru"},
		{"https://www.icloud.com/mail/", "", SourceEmail, "www.icloud.com"},
		{"https://3c.gmx.net/", "", SourceEmail, "3c.gmx.net"},
		{"https://webmail.example.org/", "", SourceEmail, "webmail.example.org"},
		{"https://mail.example.co.uk/owa/", "", SourceEmail, "mail.example.co.uk"},
		{"android-app://com.google.android.gm", "", SourceEmail, "com.google.android.gm"},
		{"android-app://com.microsoft.office.outlook", "", SourceEmail, "com.microsoft.office.outlook"},

		// Messengers.
		{"https://web.whatsapp.com/", "", SourceMessaging, "web.whatsapp.com"},
		{"https://web.telegram.org/k/", "", SourceMessaging, "web.telegram.org"},
		{"https://t.me/channel", "", SourceMessaging, "t.me"},
		{"https://discord.com/channels/1/2", "", SourceMessaging, "discord.com"},
		{"https://app.slack.com/client/T1/C1", "", SourceMessaging, "app.slack.com"},
		{"https://acme.slack.com/", "", SourceMessaging, "acme.slack.com"},
		{"https://slack-redir.net/link?url=x", "", SourceMessaging, "slack-redir.net"},
		{"https://www.messenger.com/", "", SourceMessaging, "www.messenger.com"},
		{"https://teams.microsoft.com/", "", SourceMessaging, "teams.microsoft.com"},
		{"android-app://org.telegram.messenger", "", SourceMessaging, "org.telegram.messenger"},
		{"android-app://com.whatsapp", "", SourceMessaging, "com.whatsapp"},
		{"android-app://com.discord", "", SourceMessaging, "com.discord"},

		// Paid: ad click IDs win over any referrer.
		{"https://www.google.com/", "gclid=Cj0KCQ", SourcePaid, "www.google.com"},
		{"", "gclid=Cj0KCQ", SourcePaid, ""},
		{"https://lm.facebook.com/", "fbclid=IwAR0", SourcePaid, "lm.facebook.com"},
		{"https://www.bing.com/", "q=1&msclkid=abc", SourcePaid, "www.bing.com"},
		{"", "ttclid=E.C.P", SourcePaid, ""},
		{"", "twclid=2-x", SourcePaid, ""},
		{"", "li_fat_id=abc", SourcePaid, ""},
		{"", "gbraid=0AAA", SourcePaid, ""},
		{"", "wbraid=CjkK", SourcePaid, ""},
		{"", "GCLID=upper", SourcePaid, ""},
		{"", "ScCid=abc", SourcePaid, ""},
		{"https://www.googleadservices.com/pagead/aclk?sa=L", "", SourcePaid, "www.googleadservices.com"},
		{"https://ad.doubleclick.net/ddm/clk/1", "", SourcePaid, "ad.doubleclick.net"},
		{"https://example.com/", "gclid=&utm_source=x", SourceReferral, "example.com"},
		{"https://example.com/", "xgclid=1", SourceReferral, "example.com"},

		// Referrals.
		{"https://example.com/blog/post", "", SourceReferral, "example.com"},
		{"https://docs.google.com/document/d/1", "", SourceReferral, "docs.google.com"},
		{"https://news.yahoo.com/", "", SourceReferral, "news.yahoo.com"},
		{"https://notgoogle.com/", "", SourceReferral, "notgoogle.com"},
		{"https://google.example.com/", "", SourceReferral, "google.example.com"},
		{"android-app://com.example.app", "", SourceReferral, "com.example.app"},

		// Host normalisation.
		{"HTTPS://WWW.Example.COM/Path", "", SourceReferral, "www.example.com"},
		{"https://user:pass@example.com:8443/x", "", SourceReferral, "example.com"},
		{"https://user@evil.com@example.com/", "", SourceReferral, "example.com"},
		{"https://www.google.com./", "", SourceSearch, "www.google.com"},
		{"http://[2001:db8::1]:8080/", "", SourceReferral, "[2001:db8::1]"},
		{"http://203.0.113.7/", "", SourceReferral, "203.0.113.7"},
		{"https://example.com?q=1", "", SourceReferral, "example.com"},
		{"https://example.com#frag", "", SourceReferral, "example.com"},
		{"  https://example.com/  ", "", SourceReferral, "example.com"},

		// Garbage is a referral without a host.
		{"example.com", "", SourceReferral, ""},
		{"//example.com/", "", SourceReferral, ""},
		{"ftp://example.com/", "", SourceReferral, ""},
		{"https://", "", SourceReferral, ""},
		{"https:///path", "", SourceReferral, ""},
		{"https://exa mple.com/", "", SourceReferral, ""},
		{"https://exa\x00mple.com/", "", SourceReferral, ""},
		{"https://\xff\xfe/", "", SourceReferral, ""},
		{"https://[::1/", "", SourceReferral, ""},
		{"https://[zz]/", "", SourceReferral, ""},
		{"https://a..b/", "", SourceReferral, ""},
		{"https://.example.com/", "", SourceReferral, ""},
		{"android-app://", "", SourceReferral, ""},
		{"android-app://com.exa%mple", "", SourceReferral, ""},
		{"null", "", SourceReferral, ""},
		{"about:blank", "", SourceReferral, ""},
	}
	// Each referrer twice: the first classifies and fills the cache, the
	// second must come from the cache with the same result, also after
	// the same origin with an ad click ID.
	c := newTestClassifier(t, Config{VisitorKey: []byte(testKey)})
	for _, pass := range []string{"first", "cached"} {
		for _, tc := range tests {
			src, host := c.classifySource([]byte("keep"), []byte(tc.referer), []byte(tc.query))
			if src != tc.source {
				t.Errorf("%s: unexpected source for referrer %q and query %q; got %q; want %q", pass, tc.referer, tc.query, src, tc.source)
			}
			if string(host) != "keep"+tc.host {
				t.Errorf("%s: unexpected referrer host for %q; got %q; want %q", pass, tc.referer, host, "keep"+tc.host)
			}
		}
	}
	if n := c.refs.len(); n == 0 {
		t.Fatalf("unexpected empty referrer cache; got %d entries; want some", n)
	}
}

// TestReferrerCacheOrigins: referrers that share an origin share an entry
// and get its host; the scheme and the authority as sent are the key, so
// an app referrer and a web one with the same name stay apart, and origins
// too long to keep are classified every time.
func TestReferrerCacheOrigins(t *testing.T) {
	c := newTestClassifier(t, Config{VisitorKey: []byte(testKey)})
	for _, ref := range []string{"https://WWW.Google.com/search?q=1", "https://WWW.Google.com/", "https://WWW.Google.com#x"} {
		src, host := c.classifySource(nil, []byte(ref), nil)
		if src != SourceSearch || string(host) != "www.google.com" {
			t.Fatalf("unexpected classification of %q; got %q %q; want %q %q", ref, src, host, SourceSearch, "www.google.com")
		}
	}
	if n := c.refs.len(); n != 1 {
		t.Fatalf("unexpected referrer cache entries after one origin; got %d; want 1", n)
	}
	if src, host := c.classifySource(nil, []byte("android-app://com.google.android.gm/"), nil); src != SourceEmail || string(host) != "com.google.android.gm" {
		t.Fatalf("unexpected classification of an app referrer; got %q %q; want %q %q", src, host, SourceEmail, "com.google.android.gm")
	}
	if src, host := c.classifySource(nil, []byte("https://com.google.android.gm/"), nil); src != SourceReferral || string(host) != "com.google.android.gm" {
		t.Fatalf("unexpected classification of a web referrer named like an app; got %q %q; want %q %q", src, host, SourceReferral, "com.google.android.gm")
	}
	long := "https://" + strings.Repeat("a", maxCachedOriginLen) + ".example.com/"
	before := c.refs.len()
	if src, host := c.classifySource(nil, []byte(long), nil); src != SourceReferral || len(host) != 0 {
		t.Fatalf("unexpected classification of an over-long host; got %q %q; want %q and no host", src, host, SourceReferral)
	}
	if n := c.refs.len(); n != before {
		t.Fatalf("unexpected referrer cache entries after an over-long origin; got %d; want %d", n, before)
	}
}

func TestAdClickIDKeys(t *testing.T) {
	for _, k := range adClickIDKeys {
		if !hasAdClickID([]byte("a=1&" + k + "=x")) {
			t.Errorf("unexpected verdict for ad click ID %q; got %v; want %v", k, false, true)
		}
	}
}

func TestHostTableEntriesHaveTwoLabels(t *testing.T) {
	// hostSource does not look up top-level labels.
	for k := range hostSources {
		if !strings.Contains(k, ".") || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") {
			t.Errorf("unexpected host table key; got %q; want a domain of two or more labels", k)
		}
	}
}

func TestHostTablesAreLowercase(t *testing.T) {
	for _, table := range []map[string]Source{hostSources, brandSources, appSources} {
		for k := range table {
			for i := 0; i < len(k); i++ {
				if c := k[i]; c >= 'A' && c <= 'Z' {
					t.Errorf("unexpected table key; got %q; want lowercase", k)
					break
				}
			}
		}
	}
}
