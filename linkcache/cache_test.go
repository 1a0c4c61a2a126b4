package linkcache

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickedge/clickedge/linkcache/redistest"
)

// seededStore starts Redis and returns it with a seeded Store holding a
// program-level link (program p, partner assoc) for each code.
func seededStore(t *testing.T, codes ...string) (*redistest.Server, *Store) {
	t.Helper()
	srv := redistest.Start(t)
	s := newTestStore(t, srv.Addr)
	seed(t, s)
	for _, code := range codes {
		if err := s.CreateLink(context.Background(), &Link{Code: code, Program: "p", Partner: "assoc"}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, s
}

func newTestCache(t *testing.T, s *Store, cfg CacheConfig) *Cache {
	t.Helper()
	cfg.Store = s
	c, err := NewCache(cfg)
	if err != nil {
		t.Fatalf("cannot create cache: %v", err)
	}
	t.Cleanup(c.Close)
	waitFor(t, "the invalidation subscription", c.Subscribed)
	return c
}

// waitFor polls cond for up to 5s; callers that assert a deadline measure it
// themselves.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(c *Cache, key string) (string, Status) {
	t, st := c.Get([]byte(key))
	if t == nil {
		return "", st
	}
	return string(t.Location), st
}

func TestCacheHitMissNegative(t *testing.T) {
	srv := redistest.Start(t)
	s := newTestStore(t, srv.Addr)
	seed(t, s)
	c := newTestCache(t, s, CacheConfig{NegativeTTL: time.Hour})
	ctx := context.Background()
	if err := s.CreateLink(ctx, &Link{Code: "x", Program: "p", Partner: "assoc"}); err != nil {
		t.Fatal(err)
	}
	// The creation's invalidation arrives asynchronously; let it land first.
	waitFor(t, "the creation's invalidation", func() bool { return c.invalidations.Get() == 1 })
	want := "https://www.amazon.com/dp/B000000001?tag=assoc-20"
	for i, wantSt := range []Status{Miss, Hit, Hit} {
		loc, st := get(c, "x")
		if st != wantSt || loc != want {
			t.Fatalf("unexpected Get #%d; got %q %s; want %q %s (gen %d epoch %d inv %d)", i, loc, st, want, wantSt, c.gen.Load(), c.epoch.Load(), c.invalidations.Get())
		}
	}
	if _, st := get(c, "later"); st != NotFound {
		t.Fatalf("unexpected status of an unknown code; got %s; want not_found", st)
	}
	// Creating the link drops the negative entry at once, despite NegativeTTL.
	if err := s.CreateLink(ctx, &Link{Code: "later", Program: "p", Partner: "maas"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new link", func() bool { _, st := get(c, "later"); return st == Miss || st == Hit })
}

// TestCacheInvalidationReachesOtherEdges runs two caches on one Redis, as two
// edges: an edit or delete made through one store shows on the other within a
// second.
func TestCacheInvalidationReachesOtherEdges(t *testing.T) {
	srv := redistest.Start(t)
	sa, sb := newTestStore(t, srv.Addr), newTestStore(t, srv.Addr)
	seed(t, sa)
	ctx := context.Background()
	for _, code := range []string{"x", "y"} {
		if err := sa.CreateLink(ctx, &Link{Code: code, Program: "p", Partner: "assoc"}); err != nil {
			t.Fatal(err)
		}
	}
	b := newTestCache(t, sb, CacheConfig{TTL: time.Hour})
	for _, key := range []string{"x", "y", "c/maas/a1/p"} {
		if _, st := get(b, key); st != Miss {
			t.Fatalf("unexpected first Get of %q; got %s; want miss", key, st)
		}
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		waitFor(t, what, cond)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%s took %s; want at most 1s", what, d)
		}
	}

	if err := sa.PutProgram(ctx, "p", &Program{Name: "P", Marketplace: "US", ASIN: "B00000000Z"}); err != nil {
		t.Fatal(err)
	}
	within("the program edit", func() bool {
		loc, _ := get(b, "x")
		return loc == "https://www.amazon.com/dp/B00000000Z?tag=assoc-20"
	})
	if err := sa.PutAd(ctx, "p", "a1", &Ad{Name: "Ad", ASIN: "B00000000Y"}); err != nil {
		t.Fatal(err)
	}
	within("the ad edit", func() bool {
		loc, _ := get(b, "c/maas/a1/p")
		return strings.HasPrefix(loc, "https://www.amazon.com/dp/B00000000Y?")
	})
	if err := sa.PutPartnership(ctx, "p", "assoc", &Partnership{Attribution: Attribution{Tag: "new-20"}}); err != nil {
		t.Fatal(err)
	}
	within("the partnership edit", func() bool {
		loc, _ := get(b, "y")
		return loc == "https://www.amazon.com/dp/B00000000Z?tag=new-20"
	})
	if err := sa.DeleteLink(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	within("the delete", func() bool { _, st := get(b, "x"); return st == NotFound })
	if loc, _ := get(b, "y"); loc != "https://www.amazon.com/dp/B00000000Z?tag=new-20" {
		t.Fatalf("unexpected Location of an untouched link; got %q", loc)
	}
}

// TestCacheOneResolutionPerConcurrentMiss counts Redis commands: many
// concurrent misses of one key make one resolution (one GET, one MGET).
func TestCacheOneResolutionPerConcurrentMiss(t *testing.T) {
	_, s := seededStore(t, "hot")
	c := newTestCache(t, s, CacheConfig{})
	before := commandCalls(t, s)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, st := get(c, "hot"); st != Miss && st != Hit {
				t.Errorf("unexpected status; got %s; want miss or hit", st)
			}
		}()
	}
	close(start)
	wg.Wait()
	after := commandCalls(t, s)
	// Concurrent callers that arrive after the first resolution finished hit
	// the cache, so at most one resolution happens in total.
	if d := after["get"] - before["get"]; d != 1 {
		t.Fatalf("unexpected GET calls; got %d; want 1", d)
	}
	if d := after["mget"] - before["mget"]; d != 1 {
		t.Fatalf("unexpected MGET calls; got %d; want 1", d)
	}
}

// commandCalls reads per-command call counts from INFO commandstats.
func commandCalls(t *testing.T, s *Store) map[string]int {
	t.Helper()
	info, err := s.client.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("cannot read commandstats: %v", err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		out[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.Atoi(n)
	}
	return out
}

// TestCacheBoundedMemory fills the cache far past MaxBytes: it stays within
// budget, counts evictions, and a key hit between inserts survives (CLOCK).
func TestCacheBoundedMemory(t *testing.T) {
	srv := redistest.Start(t)
	s := newTestStore(t, srv.Addr)
	const maxBytes = 256 << 10
	c := newTestCache(t, s, CacheConfig{MaxBytes: maxBytes})
	prog := &Program{Marketplace: "US", ASIN: "B000000001"}
	ps := &Partnership{Attribution: Attribution{Tag: "t-20"}}
	mk := func(code string) *Target {
		tg, err := NewTarget(&Resolution{Code: code, Level: LevelProgram, Program: "p", Partner: "r", Prog: prog, Partnership: ps})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	c.insert("keep", mk("keep"), 0, c.epoch.Load(), time.Hour)
	for i := range 20000 {
		code := fmt.Sprintf("code%05d", i)
		c.insert(code, mk(code), 0, c.epoch.Load(), time.Hour)
		if _, st := c.Get([]byte("keep")); st != Hit {
			t.Fatalf("unexpected status of the hot key after %d inserts; got %s; want hit", i, st)
		}
	}
	n, bytes := c.Len()
	if bytes > maxBytes {
		t.Fatalf("unexpected cache size; got %d bytes in %d entries; want at most %d", bytes, n, maxBytes)
	}
	if n < 100 || n >= 20000 {
		t.Fatalf("unexpected entry count %d", n)
	}
	if got := c.evictions.Get(); got == 0 {
		t.Fatalf("unexpected evictions; got 0; want > 0")
	}
}

// TestCacheTTLBackstop moves the cache clock past the TTL: the entry is served
// stale once and refreshed in the background; a negative entry past its TTL is
// looked up again.
func TestCacheTTLBackstop(t *testing.T) {
	_, s := seededStore(t, "x")
	ctx := context.Background()
	c := newTestCache(t, s, CacheConfig{TTL: time.Minute, NegativeTTL: time.Second})
	get(c, "x")
	get(c, "nope")
	// An edit that never reaches this cache: written under its nose.
	if err := s.client.Set(ctx, programKey("p"), `{"name":"P","marketplace":"US","asin":"B00000000Q","timezone":"UTC"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if loc, st := get(c, "x"); st != Hit || loc != "https://www.amazon.com/dp/B000000001?tag=assoc-20" {
		t.Fatalf("unexpected Get before the TTL; got %q %s", loc, st)
	}
	c.skew.Add(int64(2 * time.Minute))
	if loc, st := get(c, "x"); st != Stale || loc != "https://www.amazon.com/dp/B000000001?tag=assoc-20" {
		t.Fatalf("unexpected Get past the TTL; got %q %s; want the old target, stale", loc, st)
	}
	waitFor(t, "the background refresh", func() bool {
		loc, st := get(c, "x")
		return st == Hit && loc == "https://www.amazon.com/dp/B00000000Q?tag=assoc-20"
	})
	if _, st := get(c, "nope"); st != NotFound {
		t.Fatalf("unexpected status of an expired negative entry; got %s; want not_found", st)
	}
	// GetAt judges freshness by the caller's clock, not the cache's.
	if _, st := c.GetAt([]byte("x"), time.Now().Add(-time.Hour)); st != Hit {
		t.Fatalf("unexpected GetAt with an earlier clock; got %s; want hit", st)
	}
	if tg, st := c.GetAt([]byte("x"), time.Now().Add(time.Hour)); st != Stale || string(tg.Location) != "https://www.amazon.com/dp/B00000000Q?tag=assoc-20" {
		t.Fatalf("unexpected GetAt with a clock past the TTL; got %s; want the target, stale", st)
	}
}

// TestCacheRedisDown kills Redis: cached links keep resolving, uncached ones
// answer Unavailable at once, and after Redis is back the cache resubscribes
// and marks everything stale, since invalidations may have been missed.
func TestCacheRedisDown(t *testing.T) {
	srv, s := seededStore(t, "x")
	c := newTestCache(t, s, CacheConfig{})
	if _, st := get(c, "x"); st != Miss {
		t.Fatalf("unexpected first Get; got %s; want miss", st)
	}
	srv.Kill()
	waitFor(t, "the store to notice", func() bool { return !s.Up() })
	for range 3 {
		if loc, st := get(c, "x"); st != Hit || loc == "" {
			t.Fatalf("unexpected Get of a cached link with Redis down; got %q %s; want hit", loc, st)
		}
		start := time.Now()
		if _, st := get(c, "y"); st != Unavailable {
			t.Fatalf("unexpected Get of an uncached link with Redis down; got %s; want unavailable", st)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("an uncached link with Redis down took %s; want at most 100ms", d)
		}
	}
	// Past the TTL the entry keeps serving, stale, while refreshes fail.
	c.skew.Add(int64(time.Hour))
	if loc, st := get(c, "x"); st != Stale || loc == "" {
		t.Fatalf("unexpected Get of an expired link with Redis down; got %q %s; want stale", loc, st)
	}
	c.skew.Store(0)

	gen := c.gen.Load()
	srv.Restart()
	waitFor(t, "the resubscription", func() bool { return c.gen.Load() > gen && c.Subscribed() })
	if loc, st := get(c, "x"); st != Stale || loc == "" {
		t.Fatalf("unexpected Get after resubscribing; got %q %s; want stale", loc, st)
	}
}
