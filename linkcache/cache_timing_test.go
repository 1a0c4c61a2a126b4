package linkcache

import (
	"fmt"
	"testing"
	"time"

	"github.com/clickedge/clickedge/linkcache/redistest"
)

// BenchmarkCacheGetHit measures a cached lookup: shard hash, read lock, map
// lookup without allocation, freshness check.
func BenchmarkCacheGetHit(b *testing.B) {
	srv := redistest.Start(b)
	s, err := NewStore(StoreConfig{Addr: srv.Addr})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := NewCache(CacheConfig{Store: s, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	prog := &Program{Marketplace: "US", ASIN: "B000000001"}
	ps := &Partnership{Attribution: Attribution{Tag: "t-20"}}
	keys := make([][]byte, 10000)
	for i := range keys {
		code := fmt.Sprintf("code%05d", i)
		t, _ := NewTarget(&Resolution{Code: code, Level: LevelProgram, Program: "p", Partner: "r", Prog: prog, Partnership: ps})
		c.insert(code, t, 0, c.epoch.Load(), time.Hour)
		keys[i] = []byte(code)
	}
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
