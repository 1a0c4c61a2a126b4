package linkcache

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/clickedge/clickedge/linkcache/redistest"
)

// benchCache returns a cache with maxBytes (0: the default) holding n
// program-level links, with their keys: code<i>, attribution ps.
func benchCache(b *testing.B, maxBytes int64, n int, ps *Partnership) (*Cache, [][]byte) {
	b.Helper()
	srv := redistest.Start(b)
	s, err := NewStore(StoreConfig{Addr: srv.Addr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	c, err := NewCache(CacheConfig{Store: s, TTL: time.Hour, MaxBytes: maxBytes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	prog := &Program{Marketplace: "US", ASIN: "B000000001"}
	keys := make([][]byte, n)
	for i := range keys {
		code := fmt.Sprintf("code%06d", i)
		t, err := NewTarget(&Resolution{Code: code, Level: LevelProgram, Program: "p", Partner: "r", Prog: prog, Partnership: ps})
		if err != nil {
			b.Fatal(err)
		}
		c.insert(code, t, 0, c.epoch.Load(), time.Hour)
		keys[i] = []byte(code)
	}
	return c, keys
}

// BenchmarkCacheGetHit measures a cached lookup: shard hash, read lock, map
// lookup without allocation, freshness check.
func BenchmarkCacheGetHit(b *testing.B) {
	c, keys := benchCache(b, 0, 10000, &Partnership{Attribution: Attribution{Tag: "t-20"}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, st := c.Get(keys[i%len(keys)]); st != Hit {
				b.Fatalf("unexpected status %s", st)
			}
			i++
		}
	})
}

// BenchmarkCacheGetCold measures a hit on a link no longer in the CPU's
// caches, and the redirect's read of its Location and click fields: 200 000
// cached links (about 150 MiB, past any cache) drawn at random. At the
// edge a request's kernel work empties the core's caches between the hits
// of all but the hottest links.
func BenchmarkCacheGetCold(b *testing.B) {
	c, keys := benchCache(b, 1<<30, 200_000, &Partnership{Attribution: Attribution{Tag: "partner-20", LinkCode: "ll1", AscSubtag: "newsletter"}})
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int32, 1<<16)
	for i := range order {
		order[i] = int32(rng.IntN(len(keys)))
	}
	var sink byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, st := c.Get(keys[order[i%len(order)]])
		if st != Hit {
			b.Fatalf("unexpected status %s", st)
		}
		sink += t.Location[len(t.Location)-1] + t.ClickLink[len(t.ClickLink)-1] + t.ClickKey[0]
	}
	_ = sink
}
