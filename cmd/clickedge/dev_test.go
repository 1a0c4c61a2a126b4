package main

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/clickedge/clickedge/linkcache"
)

// TestSeedDemo seeds the demo data into the embedded store dev uses, twice
// (dev must restart against a real Redis), and resolves every printed link.
func TestSeedDemo(t *testing.T) {
	mr := miniredis.RunT(t)
	s, err := linkcache.NewStore(linkcache.StoreConfig{Addr: mr.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var links []demoLink
	for range 2 {
		if links, err = seedDemo(s); err != nil {
			t.Fatalf("cannot seed: %v", err)
		}
	}
	levels := map[string]bool{}
	for _, l := range links {
		key := strings.TrimPrefix(l.path, "/")
		tg, err := s.Resolve(context.Background(), key)
		if err != nil {
			t.Fatalf("cannot resolve demo link %s (%s): %v", l.path, l.what, err)
		}
		if !linkcache.ValidLocation(string(tg.Location)) {
			t.Fatalf("unexpected Location %q", tg.Location)
		}
		levels[string(tg.Level)] = true
	}
	if len(levels) != 3 {
		t.Fatalf("unexpected demo link levels; got %v; want program, partner and ad", levels)
	}
}
